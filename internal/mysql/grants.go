package mysql

import (
	"fmt"
	"strings"
)

// grantPlan is what it takes to bring a user's grants to exactly "ALL PRIVILEGES on its database".
type grantPlan struct {
	// grant is true when the database-level ALL PRIVILEGES grant is missing (or partial).
	grant bool
	// revokes take away whatever reaches beyond the database, or lets the user grant to others.
	revokes []statement
}

// planGrants reads the lines SHOW GRANTS printed for user and decides what to grant and revoke.
// Grants inside the tenant's own database (tables, columns, routines the user created, which the
// server grants automatically) are left alone: they are part of ALL on the database. Everything
// else — global privileges, other databases, the unescaped wildcard pattern, roles, GRANT OPTION —
// is revoked. Statements are rebuilt from the parsed names with the one quoting function; no text
// of the server's output is pasted into them.
func planGrants(lines []string, database, user string) (grantPlan, error) {
	plan := grantPlan{grant: true}
	ownPattern := grantPattern(database)
	for _, line := range lines {
		g, err := parseGrant(line)
		if err != nil {
			return grantPlan{}, err
		}
		switch {
		case len(g.roles) > 0:
			for _, role := range g.roles {
				plan.revokes = append(plan.revokes, revokeRole(role, user))
			}
			continue
		case g.target.global():
			if g.privileges != "USAGE" {
				plan.revokes = append(plan.revokes, revokeAll(g.target, user))
			}
		case g.target.table == "" && g.target.objectType == "" && quoteIdentifier(g.target.database) == ownPattern:
			if g.privileges == "ALL PRIVILEGES" {
				plan.grant = false
			}
		case g.target.table != "" && g.target.database == database:
			// Inside its own database: covered by ALL on the database.
		default:
			plan.revokes = append(plan.revokes, revokeAll(g.target, user))
		}
		if g.grantOption {
			plan.revokes = append(plan.revokes, revokeGrantOption(g.target, user))
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

type parsedGrant struct {
	privileges  string
	target      grantTarget
	roles       []string
	grantOption bool
}

// parseGrant reads one line of SHOW GRANTS, as MySQL 8 and MariaDB print it:
//
//	GRANT <privileges> ON [PROCEDURE|FUNCTION|PACKAGE ]<target> TO <account>[ <more>]
//	GRANT <role>[, <role>] TO <account>
//
// Backtick-quoted names may hold any character; outside them, " ON " and " TO " delimit.
func parseGrant(line string) (parsedGrant, error) {
	rest, ok := strings.CutPrefix(line, "GRANT ")
	if !ok {
		return parsedGrant{}, fmt.Errorf("unexpected grant line %.40q", line)
	}
	var g parsedGrant
	head, tail, found := cutOutsideQuotes(rest, " TO ")
	if !found {
		return parsedGrant{}, fmt.Errorf("unexpected grant line %.40q", line)
	}
	g.grantOption = strings.Contains(tail, "WITH GRANT OPTION") || strings.Contains(tail, " GRANT OPTION")
	privileges, target, hasTarget := cutOutsideQuotes(head, " ON ")
	if !hasTarget {
		// A role grant: GRANT `role`[@`host`], ... TO ...
		for _, part := range splitOutsideQuotes(head, ", ") {
			name, _, _ := cutOutsideQuotes(part, "@")
			role, err := unquoteIdentifier(name)
			if err != nil {
				return parsedGrant{}, err
			}
			g.roles = append(g.roles, role)
		}
		return g, nil
	}
	g.privileges = privileges
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
	if g.target.database, err = unquoteIdentifier(db); err != nil {
		return parsedGrant{}, err
	}
	if object != "*" {
		if g.target.table, err = unquoteIdentifier(object); err != nil {
			return parsedGrant{}, err
		}
	}
	return g, nil
}

// cutOutsideQuotes is strings.Cut that skips separators inside backticks or parentheses.
func cutOutsideQuotes(s, sep string) (before, after string, found bool) {
	quoted, depth := false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '`':
			quoted = !quoted // a doubled backtick toggles twice
		case !quoted && c == '(':
			depth++
		case !quoted && c == ')':
			depth--
		case !quoted && depth == 0 && strings.HasPrefix(s[i:], sep):
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

// unquoteIdentifier reverses quoteIdentifier.
func unquoteIdentifier(s string) (string, error) {
	if len(s) < 2 || s[0] != '`' || s[len(s)-1] != '`' {
		return "", fmt.Errorf("not a quoted name: %.40q", s)
	}
	return strings.ReplaceAll(s[1:len(s)-1], "``", "`"), nil
}

func revokeAll(t grantTarget, user string) statement {
	return statement{op: opRevoke, query: "REVOKE ALL PRIVILEGES ON " + t.sql() + " FROM " + quoteAccount(user, anyHost)}
}

func revokeGrantOption(t grantTarget, user string) statement {
	return statement{op: opRevoke, query: "REVOKE GRANT OPTION ON " + t.sql() + " FROM " + quoteAccount(user, anyHost)}
}

func revokeRole(role, user string) statement {
	return statement{op: opRevoke, query: "REVOKE " + quoteIdentifier(role) + " FROM " + quoteAccount(user, anyHost)}
}
