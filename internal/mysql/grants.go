package mysql

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/stillwaters/db-concierge/internal/tenant"
)

// grantPlan is what it takes to bring an account's grants to exactly its access on its database.
type grantPlan struct {
	// grantAll: a ReadWrite account's ALL PRIVILEGES on the database is missing (or partial).
	grantAll bool
	// grant lists the privileges of a DataOnly or ReadOnly account's preset that its database
	// line lacks; after a reset, all of them.
	grant []privilege
	// revokes take away whatever reaches beyond the database, lets the account grant to others,
	// or, inside the database, goes beyond its access. A database line holding more than the
	// preset is reset: all of it revoked, then the preset granted.
	revokes []revocation
	// tls is the account's REQUIRE clause as the lines print it (MariaDB prints it on the USAGE
	// line); tlsKnown is false when no line says (MySQL 8 prints it only in SHOW CREATE USER).
	tls      tlsRequirement
	tlsKnown bool
	// maxConnections is the account's own connection limit as MariaDB prints it on the USAGE
	// line (absent: 0); maxConnectionsKnown is false where the lines do not say (MySQL 8).
	maxConnections      int
	maxConnectionsKnown bool
}

// revocation is one statement taking away something the account must not hold, with a description
// for people (events, and the message when the admin account may not revoke it).
type revocation struct {
	statement
	what string
	// inside: it is inside the tenant's database, and goes beyond the account's access there.
	inside bool
}

// tlsRequirement is an account's REQUIRE clause, as the server stores it.
type tlsRequirement string

// The requirements DB Concierge tells apart. Anything more specific (ISSUER, SUBJECT, CIPHER) is
// "specified": it is not what DB Concierge sets, so it is put back to what the cluster asks for.
const (
	tlsNone      tlsRequirement = ""
	tlsSSL       tlsRequirement = "SSL"
	tlsX509      tlsRequirement = "X509"
	tlsSpecified tlsRequirement = "SPECIFIED"
)

// nameComparison says how the server compares database names: as written, or folded to lower
// case (lower_case_table_names 1 or 2).
type nameComparison bool

const (
	namesAsWritten nameComparison = false
	namesFolded    nameComparison = true
)

func (c nameComparison) equal(a, b string) bool {
	if c == namesFolded {
		return strings.EqualFold(a, b)
	}
	return a == b
}

// planGrants reads the lines SHOW GRANTS printed for user and decides what to grant and revoke so
// that it holds access on database and nothing more. The database line must hold exactly the
// access's privileges. Grants inside the tenant's own database (tables, columns, routines the
// user created, which the server grants automatically) are part of ReadWrite's ALL on the
// database and left alone; a DataOnly or ReadOnly account loses them. Everything else — global
// privileges, other databases, the unescaped wildcard pattern, roles, default roles, PROXY, GRANT
// OPTION — is revoked. Statements are rebuilt from the parsed names with the one quoting function
// and from the presets' privilege lists; no text of the server's output is pasted into them.
// Database names compare as the server compares them (d.names).
func planGrants(lines []string, database, user string, access tenant.Access, d dialect) (grantPlan, error) {
	names := d.names
	plan := grantPlan{}
	// held is the database line's privileges; nil when there is no such line.
	var held map[string]bool
	for _, line := range lines {
		g, err := parseGrant(line)
		if err != nil {
			return grantPlan{}, err
		}
		switch {
		case g.partialRevoke:
			// MySQL 8's partial revokes only take away.
		case g.defaultRoles:
			plan.revokes = append(plan.revokes, revocation{statement: clearDefaultRole(user), what: "its default role"})
		case g.proxy != nil:
			plan.revokes = append(plan.revokes, revocation{statement: revokeProxy(*g.proxy, user), what: "PROXY on " + g.proxy.String()})
		case len(g.roles) > 0:
			for _, role := range g.roles {
				plan.revokes = append(plan.revokes, revocation{statement: revokeRole(role, user), what: "role " + role.String()})
			}
		case g.target.global():
			if g.privileges != "USAGE" {
				plan.revokes = append(plan.revokes, revocation{statement: revokeAll(g.target, user), what: "privileges on " + g.target.sql()})
			}
			// MySQL 8 prints neither the REQUIRE clause nor the resource limits in SHOW GRANTS:
			// their absence there says nothing.
			if !d.mysqlFamily() {
				plan.tls, plan.tlsKnown = g.requirement()
				plan.maxConnections, plan.maxConnectionsKnown = g.maxUserConnections()
			}
		case g.target.table == "" && g.target.objectType == "" && names.equal(g.target.database, escapePattern(database)):
			held = privilegeSet(g.privileges)
		case g.target.table != "" && names.equal(g.target.database, database):
			// Inside its own database: covered by ReadWrite's ALL on the database, beyond the
			// other presets.
			if access != tenant.ReadWrite {
				plan.revokes = append(plan.revokes, revocation{statement: revokeAll(g.target, user), what: "privileges on " + g.target.sql(), inside: true})
			}
		default:
			plan.revokes = append(plan.revokes, revocation{statement: revokeAll(g.target, user), what: "privileges on " + g.target.sql()})
		}
		if g.grantOption && !g.defaultRoles && len(g.roles) == 0 && g.proxy == nil {
			// A database line names a pattern (the escaped name is the database itself); a
			// table or routine line names the database as it is.
			own := !g.target.global() && (g.target.table == "" && names.equal(g.target.database, escapePattern(database)) ||
				g.target.table != "" && names.equal(g.target.database, database))
			plan.revokes = append(plan.revokes, revocation{statement: revokeGrantOption(g.target, user), what: "GRANT OPTION on " + g.target.sql(), inside: own})
		}
	}
	plan.planDatabaseLine(held, database, user, access)
	return plan, nil
}

// planDatabaseLine brings the database line's privileges (held; nil without a line) to exactly
// the access's. ReadWrite's ALL PRIVILEGES holds every other privilege, so it only ever lacks
// something. A preset lacking privileges is granted them; holding more (CREATE or DROP given by
// hand, or ALL PRIVILEGES) it is reset: everything on the database revoked, the preset granted.
func (plan *grantPlan) planDatabaseLine(held map[string]bool, database, user string, access tenant.Access) {
	if access == tenant.ReadWrite {
		plan.grantAll = !held[allPrivileges]
		return
	}
	preset := presetPrivileges[access]
	wanted := map[string]bool{}
	var missing []privilege
	for _, p := range preset {
		wanted[p.name] = true
		if !held[p.name] {
			missing = append(missing, p)
		}
	}
	for name := range held {
		if !wanted[name] {
			target := grantTarget{database: escapePattern(database)}
			plan.revokes = append(plan.revokes, revocation{statement: revokeAll(target, user), what: "privileges on " + target.sql(), inside: true})
			plan.grant = preset
			return
		}
	}
	plan.grant = missing
}

// privilegeSet reads the privilege list of a database-level grant line ("SELECT, INSERT, ...",
// "ALL PRIVILEGES"), upper-cased. USAGE, which MariaDB prints for a line holding only GRANT
// OPTION, is no privilege.
func privilegeSet(list string) map[string]bool {
	set := map[string]bool{}
	for _, p := range splitOutsideQuotes(list, ",") {
		p = strings.ToUpper(strings.Join(strings.Fields(p), " "))
		if p != "" && p != "USAGE" {
			set[p] = true
		}
	}
	return set
}

// grantTarget is what a grant applies to: *.*, `db`.*, or `db`.`object` (a table, or a routine
// when objectType is PROCEDURE, FUNCTION or PACKAGE).
type grantTarget struct {
	objectType string
	database   string // "*" for *.*; for `db`.* a pattern as printed, '\_' escapes included
	table      string // "" for db.*
}

func (t grantTarget) global() bool { return t.database == "*" }

func (t grantTarget) sql() string {
	if t.global() {
		return "*.*"
	}
	s := quoteIdentifier(t.database) + ".*"
	if t.table != "" {
		s = quoteIdentifier(t.database) + "." + quoteIdentifier(t.table)
	}
	if t.objectType != "" {
		s = t.objectType + " " + s
	}
	return s
}

// account is a user or role as a grant line names it; host is "" for a MariaDB role.
type account struct {
	user, host string
	hasHost    bool
}

func (a account) sql() string {
	if !a.hasHost {
		return quoteIdentifier(a.user)
	}
	return quoteAccount(a.user, a.host)
}

func (a account) String() string { return a.sql() }

type parsedGrant struct {
	privileges  string
	target      grantTarget
	roles       []account
	proxy       *account
	grantOption bool
	// defaultRoles: a MariaDB "SET DEFAULT ROLE … FOR …" line.
	defaultRoles bool
	// partialRevoke: a MySQL 8 "REVOKE … ON … FROM …" line (partial_revokes).
	partialRevoke bool
	// tail is what follows the grantee: IDENTIFIED BY, REQUIRE, WITH ….
	tail string
}

// requirement reads the REQUIRE clause of the line's tail, if it has one. MariaDB prints an
// account's authentication string between quotes without escaping it, and a user may set its own
// (SET PASSWORD = '…'), so only a well-formed mysql_native_password hash is stepped over; after any
// other, the rest of the line cannot be trusted and the clause is unknown (read from mysql.user).
func (g parsedGrant) requirement() (tlsRequirement, bool) {
	tail, ok := g.trustedTail()
	if !ok {
		return tlsNone, false
	}
	_, clause, found := cutOutsideQuotes(" "+tail, " REQUIRE ")
	if !found {
		return tlsNone, true
	}
	clause, _, _ = cutOutsideQuotes(clause, " WITH ")
	return parseTLSRequirement(clause), true
}

// maxUserConnections reads the account's own connection limit from the WITH clause of the line's
// tail (MariaDB: "WITH [GRANT OPTION] [MAX_QUERIES_PER_HOUR n ...] MAX_USER_CONNECTIONS n"); no
// such option is 0, no limit of its own. As for requirement, a tail that cannot be trusted
// leaves it unknown.
func (g parsedGrant) maxUserConnections() (int, bool) {
	tail, ok := g.trustedTail()
	if !ok {
		return 0, false
	}
	_, options, found := cutOutsideQuotes(" "+tail, " WITH ")
	if !found {
		return 0, true
	}
	words := strings.Fields(options)
	for i, w := range words {
		if w == "MAX_USER_CONNECTIONS" && i+1 < len(words) {
			n, err := strconv.Atoi(words[i+1])
			return n, err == nil
		}
	}
	return 0, true
}

// trustedTail is the line's tail after a well-formed mysql_native_password hash, if any; false
// when the tail starts with another authentication clause, after which nothing can be trusted.
func (g parsedGrant) trustedTail() (string, bool) {
	tail := g.tail
	if rest, ok := strings.CutPrefix(tail, "IDENTIFIED BY PASSWORD '"); ok {
		if len(rest) < nativeHashLength+1 || !isNativeHash(rest[:nativeHashLength]) || rest[nativeHashLength] != '\'' {
			return "", false
		}
		return rest[nativeHashLength+1:], true
	}
	return tail, !strings.HasPrefix(tail, "IDENTIFIED ")
}

// parseTLSRequirement reads a requirement in either of the server's words for it: a REQUIRE
// clause (NONE, SSL, X509, ISSUER … ) or mysql.user.ssl_type (empty, ANY, X509, SPECIFIED).
func parseTLSRequirement(s string) tlsRequirement {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "", "NONE":
		return tlsNone
	case "SSL", "ANY":
		return tlsSSL
	case "X509":
		return tlsX509
	}
	return tlsSpecified
}

// parseGrant reads one line of SHOW GRANTS, in any form MariaDB 10.x/11.x and MySQL 8 print, with
// names quoted by backticks or, under ANSI_QUOTES or ORACLE sql_mode, double quotes:
//
//	GRANT <privileges> ON [PROCEDURE|FUNCTION|PACKAGE [BODY] ]<target> TO <account>[ <more>]
//	GRANT <role>[,<role>] TO <account>[ WITH ADMIN OPTION]
//	GRANT PROXY ON <account> TO <account>[ WITH GRANT OPTION]
//	SET DEFAULT ROLE <role> FOR <account>
//	REVOKE <privileges> ON <target> FROM <account>
//
// Quoted names may hold any character; outside them, " ON " and " TO " delimit.
func parseGrant(line string) (parsedGrant, error) {
	unexpected := fmt.Errorf("unexpected grant line %.40q", line)
	if rest, ok := strings.CutPrefix(line, "SET DEFAULT ROLE "); ok {
		if _, _, found := cutOutsideQuotes(rest, " FOR "); !found {
			return parsedGrant{}, unexpected
		}
		return parsedGrant{defaultRoles: true}, nil
	}
	if rest, ok := strings.CutPrefix(line, "REVOKE "); ok {
		if _, _, found := cutOutsideQuotes(rest, " FROM "); !found {
			return parsedGrant{}, unexpected
		}
		return parsedGrant{partialRevoke: true}, nil
	}
	rest, ok := strings.CutPrefix(line, "GRANT ")
	if !ok {
		return parsedGrant{}, unexpected
	}
	var g parsedGrant
	head, tail, found := cutOutsideQuotes(rest, " TO ")
	if !found {
		return parsedGrant{}, unexpected
	}
	// The grantee, then what the server prints after it.
	_, g.tail, _ = cutOutsideQuotes(tail, " ")
	g.grantOption = strings.Contains(g.tail, "WITH GRANT OPTION") || strings.Contains(g.tail, " GRANT OPTION")
	privileges, target, hasTarget := cutOutsideQuotes(head, " ON ")
	if !hasTarget {
		// A role grant: GRANT `role`[@`host`][, …] TO …
		for _, part := range splitOutsideQuotes(head, ",") {
			role, err := parseAccount(strings.TrimSpace(part))
			if err != nil {
				return parsedGrant{}, err
			}
			g.roles = append(g.roles, role)
		}
		return g, nil
	}
	g.privileges = privileges
	if privileges == "PROXY" {
		proxied, err := parseAccount(target)
		if err != nil {
			return parsedGrant{}, err
		}
		g.proxy = &proxied
		return g, nil
	}
	for _, kind := range []string{"PROCEDURE ", "FUNCTION ", "PACKAGE BODY ", "PACKAGE "} {
		if after, ok := strings.CutPrefix(target, kind); ok {
			g.target.objectType, target = strings.TrimSpace(kind), after
			break
		}
	}
	if target == "*.*" {
		g.target.database = "*"
		return g, nil
	}
	db, object, ok := cutOutsideQuotes(target, ".")
	if !ok {
		return parsedGrant{}, fmt.Errorf("unexpected grant target in %.40q", line)
	}
	var err error
	if g.target.database, err = unquoteName(db); err != nil {
		return parsedGrant{}, err
	}
	if object != "*" {
		if g.target.table, err = unquoteName(object); err != nil {
			return parsedGrant{}, err
		}
	}
	return g, nil
}

// parseAccount reads `user`@`host`, or a MariaDB role `role` without a host.
func parseAccount(s string) (account, error) {
	name, host, hasHost := cutOutsideQuotes(s, "@")
	user, err := unquoteName(name)
	if err != nil {
		return account{}, err
	}
	a := account{user: user, hasHost: hasHost}
	if hasHost {
		if a.host, err = unquoteName(host); err != nil {
			return account{}, err
		}
	}
	return a, nil
}

// isQuote reports whether c opens a quoted name or string in SHOW GRANTS output.
func isQuote(c byte) bool { return c == '`' || c == '"' || c == '\'' }

// cutOutsideQuotes is strings.Cut that skips separators inside quotes (backticks, double or
// single quotes; a doubled quote character stays inside) or parentheses.
func cutOutsideQuotes(s, sep string) (before, after string, found bool) {
	var quote byte
	depth := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' && quote == '\'' {
				i++ // a backslash escape inside a string
			} else if c == quote {
				quote = 0 // a doubled quote closes and reopens
			}
		case isQuote(c):
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
		case depth == 0 && strings.HasPrefix(s[i:], sep):
			return s[:i], s[i+len(sep):], true
		}
	}
	return s, "", false
}

func splitOutsideQuotes(s, sep string) []string {
	var parts []string
	for {
		before, after, found := cutOutsideQuotes(s, sep)
		parts = append(parts, before)
		if !found {
			return parts
		}
		s = after
	}
}

// bareName is a name the server prints without quotes (under sql_quote_show_create=0, for roles,
// users and hosts that need none).
var bareName = regexp.MustCompile(`^[A-Za-z0-9_$]+$`)

// unquoteName reverses the server's quoting of a name: backticks, double quotes (ANSI_QUOTES,
// ORACLE) or single quotes, with the quote character doubled inside; or none, for a plain name.
func unquoteName(s string) (string, error) {
	if bareName.MatchString(s) {
		return s, nil
	}
	if len(s) < 2 || !isQuote(s[0]) || s[len(s)-1] != s[0] {
		return "", fmt.Errorf("not a quoted name: %.40q", s)
	}
	q := string(s[0])
	inner := strings.ReplaceAll(s[1:len(s)-1], q+q, q)
	if q == "'" {
		inner = strings.NewReplacer(`\\`, `\`, `\'`, `'`).Replace(inner)
	}
	return inner, nil
}
