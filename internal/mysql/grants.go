package mysql

import (
	"fmt"
	"regexp"
	"strings"
)

// grantPlan is what it takes to bring a user's grants to exactly "ALL PRIVILEGES on its database".
type grantPlan struct {
	// grant is true when the database-level ALL PRIVILEGES grant is missing (or partial).
	grant bool
	// revokes take away whatever reaches beyond the database, or lets the user grant to others.
	revokes []revocation
	// tls is the account's REQUIRE clause as the lines print it (MariaDB prints it on the USAGE
	// line); tlsKnown is false when no line says (MySQL 8 prints it only in SHOW CREATE USER).
	tls      tlsRequirement
	tlsKnown bool
}

// revocation is one statement taking away something the tenant must not hold, with a description
// for people (events, and the message when the admin account may not revoke it).
type revocation struct {
	statement
	what string
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

// planGrants reads the lines SHOW GRANTS printed for user and decides what to grant and revoke.
// Grants inside the tenant's own database (tables, columns, routines the user created, which the
// server grants automatically) are left alone: they are part of ALL on the database. Everything
// else — global privileges, other databases, the unescaped wildcard pattern, roles, default roles,
// PROXY, GRANT OPTION — is revoked. Statements are rebuilt from the parsed names with the one
// quoting function; no text of the server's output is pasted into them. Database names compare as
// the server compares them (d.names).
func planGrants(lines []string, database, user string, d dialect) (grantPlan, error) {
	names := d.names
	plan := grantPlan{grant: true}
	for _, line := range lines {
		g, err := parseGrant(line)
		if err != nil {
			return grantPlan{}, err
		}
		switch {
		case g.partialRevoke:
			// MySQL 8's partial revokes only take away.
		case g.defaultRoles:
			plan.revokes = append(plan.revokes, revocation{
				clearDefaultRole(user), "its default role"})
		case g.proxy != nil:
			plan.revokes = append(plan.revokes, revocation{
				revokeProxy(*g.proxy, user), "PROXY on " + g.proxy.String()})
		case len(g.roles) > 0:
			for _, role := range g.roles {
				plan.revokes = append(plan.revokes, revocation{
					revokeRole(role, user), "role " + role.String()})
			}
		case g.target.global():
			if g.privileges != "USAGE" {
				plan.revokes = append(plan.revokes, revocation{revokeAll(g.target, user), "privileges on " + g.target.sql()})
			}
			// MySQL 8 prints no REQUIRE clause in SHOW GRANTS: its absence there says nothing.
			if tls, found := g.requirement(); found && !d.mysqlFamily() {
				plan.tls, plan.tlsKnown = tls, true
			}
		case g.target.table == "" && g.target.objectType == "" && names.equal(g.target.database, escapePattern(database)):
			if g.privileges == "ALL PRIVILEGES" {
				plan.grant = false
			}
		case g.target.table != "" && names.equal(g.target.database, database):
			// Inside its own database: covered by ALL on the database.
		default:
			plan.revokes = append(plan.revokes, revocation{revokeAll(g.target, user), "privileges on " + g.target.sql()})
		}
		if g.grantOption && !g.defaultRoles && len(g.roles) == 0 && g.proxy == nil {
			plan.revokes = append(plan.revokes, revocation{revokeGrantOption(g.target, user), "GRANT OPTION on " + g.target.sql()})
		}
	}
	return plan, nil
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
	tail := g.tail
	if rest, ok := strings.CutPrefix(tail, "IDENTIFIED BY PASSWORD '"); ok {
		if len(rest) < nativeHashLength+1 || !isNativeHash(rest[:nativeHashLength]) || rest[nativeHashLength] != '\'' {
			return tlsNone, false
		}
		tail = rest[nativeHashLength+1:]
	} else if strings.HasPrefix(tail, "IDENTIFIED ") {
		return tlsNone, false
	}
	_, clause, found := cutOutsideQuotes(" "+tail, " REQUIRE ")
	if !found {
		return tlsNone, true
	}
	clause, _, _ = cutOutsideQuotes(clause, " WITH ")
	return parseTLSRequirement(clause), true
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
