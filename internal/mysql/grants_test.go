package mysql

import (
	"cmp"
	"slices"
	"testing"

	"github.com/stillwaters/db-concierge/internal/tenant"
)

var mariadb = dialect{flavor: FlavorMariaDB}

func TestPlanGrants(t *testing.T) {
	const user = "my_app_app"
	usageMariaDB := "GRANT USAGE ON *.* TO `my_app_app`@`%` IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'"
	usageMySQL := "GRANT USAGE ON *.* TO `my_app_app`@`%`"
	own := "GRANT ALL PRIVILEGES ON `my\\_app`.* TO `my_app_app`@`%`"
	cases := []struct {
		name    string
		lines   []string
		grant   bool
		revokes []string
	}{
		{"exactly right (MariaDB)", []string{usageMariaDB, own}, false, nil},
		{"exactly right (MySQL 8)", []string{usageMySQL, own}, false, nil},
		{"grant missing", []string{usageMariaDB}, true, nil},
		{"grant partly revoked", []string{usageMariaDB, "GRANT SELECT, INSERT ON `my\\_app`.* TO `my_app_app`@`%`"}, true, nil},
		{"own tables and routines are its own", []string{usageMariaDB, own,
			"GRANT SELECT ON `my_app`.`t` TO `my_app_app`@`%`",
			"GRANT EXECUTE, ALTER ROUTINE ON PROCEDURE `my_app`.`p` TO `my_app_app`@`%`"}, false, nil},
		{"unescaped wildcard grant", []string{usageMariaDB, "GRANT ALL PRIVILEGES ON `my_app`.* TO `my_app_app`@`%`"}, true,
			[]string{"REVOKE ALL PRIVILEGES ON `my_app`.* FROM `my_app_app`@`%`"}},
		{"another database", []string{usageMySQL, own, "GRANT SELECT ON `other`.* TO `my_app_app`@`%`"}, false,
			[]string{"REVOKE ALL PRIVILEGES ON `other`.* FROM `my_app_app`@`%`"}},
		{"a table elsewhere", []string{usageMySQL, own, "GRANT SELECT (`c`) ON `mysql`.`user` TO `my_app_app`@`%`"}, false,
			[]string{"REVOKE ALL PRIVILEGES ON `mysql`.`user` FROM `my_app_app`@`%`"}},
		{"a routine elsewhere", []string{usageMySQL, own, "GRANT EXECUTE ON FUNCTION `other`.`f` TO `my_app_app`@`%`"}, false,
			[]string{"REVOKE ALL PRIVILEGES ON FUNCTION `other`.`f` FROM `my_app_app`@`%`"}},
		{"global privileges", []string{"GRANT SELECT, PROCESS ON *.* TO `my_app_app`@`%`", own}, false,
			[]string{"REVOKE ALL PRIVILEGES ON *.* FROM `my_app_app`@`%`"}},
		{"grant option on its database", []string{usageMySQL, own + " WITH GRANT OPTION"}, false,
			[]string{"REVOKE GRANT OPTION ON `my\\_app`.* FROM `my_app_app`@`%`"}},
		{"a role (MariaDB)", []string{usageMariaDB, own, "GRANT `dba` TO `my_app_app`@`%`"}, false,
			[]string{"REVOKE `dba` FROM `my_app_app`@`%`"}},
		{"a name with a backtick and ' ON '", []string{usageMySQL, own, "GRANT SELECT ON `we`` ON ird`.* TO `my_app_app`@`%`"}, false,
			[]string{"REVOKE ALL PRIVILEGES ON `we`` ON ird`.* FROM `my_app_app`@`%`"}},
		{"resource limits on the usage line (MariaDB)", []string{usageMariaDB + " WITH MAX_USER_CONNECTIONS 10", own}, false, nil},
		{"roles, default role and PROXY (MariaDB)", []string{"GRANT `r1` TO `my_app_app`@`%`", usageMariaDB, own,
			"GRANT PROXY ON `root`@`localhost` TO `my_app_app`@`%`", "GRANT PROXY ON ``@`%` TO `my_app_app`@`%`",
			"SET DEFAULT ROLE `r1` FOR `my_app_app`@`%`"}, false,
			[]string{"REVOKE `r1` FROM `my_app_app`@`%`", "REVOKE PROXY ON `root`@`localhost` FROM `my_app_app`@`%`",
				"REVOKE PROXY ON ``@`%` FROM `my_app_app`@`%`", "SET DEFAULT ROLE NONE FOR `my_app_app`@`%`"}},
		{"roles with hosts, no space after the comma (MySQL 8)", []string{usageMySQL, own, "GRANT `r1`@`%`,`r2`@`localhost` TO `my_app_app`@`%`"}, false,
			[]string{"REVOKE `r1`@`%` FROM `my_app_app`@`%`", "REVOKE `r2`@`localhost` FROM `my_app_app`@`%`"}},
		{"a role with admin option", []string{usageMySQL, own, "GRANT `r1`@`%` TO `my_app_app`@`%` WITH ADMIN OPTION"}, false,
			[]string{"REVOKE `r1`@`%` FROM `my_app_app`@`%`"}},
		{"partial revokes only take away (MySQL 8)", []string{usageMySQL, own, "REVOKE INSERT ON `mysql`.* FROM `my_app_app`@`%`"}, false, nil},
		{"dynamic privileges (MySQL 8)", []string{usageMySQL, own, "GRANT APPLICATION_PASSWORD_ADMIN,ROLE_ADMIN ON *.* TO `my_app_app`@`%`"}, false,
			[]string{"REVOKE ALL PRIVILEGES ON *.* FROM `my_app_app`@`%`"}},
		{"ANSI_QUOTES or ORACLE sql_mode", []string{`GRANT "r1" TO "my_app_app"@"%"`,
			`GRANT USAGE ON *.* TO "my_app_app"@"%" IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'`,
			`GRANT ALL PRIVILEGES ON "my\_app".* TO "my_app_app"@"%"`, `GRANT SELECT ON "we"" ird".* TO "my_app_app"@"%"`,
			`GRANT PROXY ON "root"@"localhost" TO "my_app_app"@"%"`, `SET DEFAULT ROLE "r1" FOR "my_app_app"@"%"`}, false,
			[]string{"REVOKE `r1` FROM `my_app_app`@`%`", "REVOKE ALL PRIVILEGES ON `we\" ird`.* FROM `my_app_app`@`%`",
				"REVOKE PROXY ON `root`@`localhost` FROM `my_app_app`@`%`", "SET DEFAULT ROLE NONE FOR `my_app_app`@`%`"}},
		{"names printed bare (sql_quote_show_create=0)", []string{"GRANT r1 TO my_app_app@`%`", "GRANT USAGE ON *.* TO my_app_app@`%`", own,
			"GRANT PROXY ON root@localhost TO my_app_app@`%`", "SET DEFAULT ROLE r1 FOR my_app_app@`%`"}, false,
			[]string{"REVOKE `r1` FROM `my_app_app`@`%`", "REVOKE PROXY ON `root`@`localhost` FROM `my_app_app`@`%`", "SET DEFAULT ROLE NONE FOR `my_app_app`@`%`"}},
		{"single-quoted hosts (older MariaDB)", []string{"GRANT USAGE ON *.* TO 'my_app_app'@'%'", "GRANT ALL PRIVILEGES ON `my\\_app`.* TO 'my_app_app'@'%'",
			"GRANT PROXY ON 'o''brien'@'%' TO 'my_app_app'@'%'"}, false,
			[]string{"REVOKE PROXY ON `o'brien`@`%` FROM `my_app_app`@`%`"}},
	}
	for _, c := range cases {
		plan, err := planGrants(c.lines, "my_app", user, tenant.ReadWrite, mariadb)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		var revokes []string
		for _, r := range plan.revokes {
			revokes = append(revokes, r.query)
		}
		if plan.grantAll != c.grant || !slices.Equal(revokes, c.revokes) {
			t.Errorf("%s: grant=%v revokes=%q; want grant=%v revokes=%q", c.name, plan.grantAll, revokes, c.grant, c.revokes)
		}
	}
	for _, line := range []string{"REVOKE nonsense", "GRANT nothing", "SET DEFAULT ROLE `r`", "GRANT SELECT ON db.a b TO `u`@`%`", "GRANT `r` x TO `u`@`%`"} {
		if _, err := planGrants([]string{line}, "my_app", user, tenant.ReadWrite, mariadb); err == nil {
			t.Errorf("an unreadable line was accepted: %s", line)
		}
	}
}

// Under lower_case_table_names=1 the server stores and prints database names in lower case: an
// upper-case dbName's grants are its own, not drift, and the same lines are drift where names
// compare as written.
func TestPlanGrantsFoldedNames(t *testing.T) {
	lines := []string{"GRANT USAGE ON *.* TO `a`@`%`", "GRANT ALL PRIVILEGES ON `my\\_app`.* TO `a`@`%`", "GRANT SELECT ON `my_app`.`t` TO `a`@`%`"}
	if plan, err := planGrants(lines, "My_App", "a", tenant.ReadWrite, dialect{flavor: FlavorMariaDB, names: namesFolded}); err != nil || plan.grantAll || len(plan.revokes) != 0 {
		t.Errorf("folded: grant=%v revokes=%v (%v)", plan.grantAll, plan.revokes, err)
	}
	if plan, _ := planGrants(lines, "My_App", "a", tenant.ReadWrite, mariadb); !plan.grantAll || len(plan.revokes) != 2 {
		t.Errorf("as written: grant=%v revokes=%v", plan.grantAll, plan.revokes)
	}
}

// The REQUIRE clause MariaDB prints on the USAGE line is part of the checked state.
func TestPlanGrantsTLS(t *testing.T) {
	const usage = "GRANT USAGE ON *.* TO `a`@`%` IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'"
	cases := []struct {
		line   string
		want   tlsRequirement
		known  bool
		flavor string
	}{
		{usage, tlsNone, true, ""},
		{usage + " REQUIRE SSL", tlsSSL, true, ""},
		{usage + " REQUIRE SSL WITH MAX_USER_CONNECTIONS 3", tlsSSL, true, ""},
		{usage + " REQUIRE X509", tlsX509, true, ""},
		{usage + " REQUIRE ISSUER '/CN=x' AND SUBJECT '/CN=y'", tlsSpecified, true, ""},
		{"GRANT USAGE ON *.* TO `a`@`%` REQUIRE SSL", tlsSSL, true, ""},
		// A hash a user set itself, which the server prints unescaped: what follows cannot be read.
		{"GRANT USAGE ON *.* TO `a`@`%` IDENTIFIED BY PASSWORD ''2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19' REQUIRE SSL", tlsNone, false, ""},
		{"GRANT USAGE ON *.* TO `a`@`%` IDENTIFIED BY PASSWORD 'x' REQUIRE SSL WITH 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'", tlsNone, false, ""},
		{"GRANT USAGE ON *.* TO `a`@`%` IDENTIFIED VIA ed25519 USING 'abc' REQUIRE SSL", tlsNone, false, ""},
		{"GRANT ALL PRIVILEGES ON `a`.* TO `a`@`%`", tlsNone, false, ""},
		// MySQL 8 prints no REQUIRE in SHOW GRANTS: the clause is read from mysql.user.
		{"GRANT USAGE ON *.* TO `a`@`%`", tlsNone, false, FlavorMySQL},
		{"GRANT USAGE ON *.* TO `a`@`%`", tlsNone, false, FlavorPXC},
	}
	for _, c := range cases {
		plan, err := planGrants([]string{c.line}, "a", "a", tenant.ReadWrite, dialect{flavor: cmp.Or(c.flavor, FlavorMariaDB)})
		if err != nil || plan.tls != c.want || plan.tlsKnown != c.known {
			t.Errorf("%s: tls %q known %v (%v); want %q %v", c.line, plan.tls, plan.tlsKnown, err, c.want, c.known)
		}
	}
}

// plannedStatements lists what a plan sends, in order: the revokes, then the grant.
func plannedStatements(plan grantPlan, database, user string) []string {
	var sent []string
	for _, r := range plan.revokes {
		sent = append(sent, r.query)
	}
	switch {
	case plan.grantAll:
		sent = append(sent, grantAllOnDatabase(database, user).query)
	case len(plan.grant) > 0:
		sent = append(sent, grantOnDatabase(database, user, plan.grant).query)
	}
	return sent
}

// Each preset's database line holds exactly its privileges: what is missing is granted, more is
// reset (everything revoked, the preset granted); grants on objects inside the database are
// ReadWrite's alone.
func TestPlanGrantsPresets(t *testing.T) {
	const (
		usage    = "GRANT USAGE ON *.* TO `u`@`%` IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'"
		all      = "GRANT ALL PRIVILEGES ON `my\\_app`.* TO `u`@`%`"
		readOnly = "GRANT SELECT, EXECUTE, SHOW VIEW ON `my\\_app`.* TO `u`@`%`"
		dataOnly = "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE ON `my\\_app`.* TO `u`@`%`"
		table    = "GRANT SELECT, INSERT ON `my_app`.`t` TO `u`@`%`"
		column   = "GRANT SELECT (`c`) ON `my_app`.`t` TO `u`@`%`"
		routine  = "GRANT EXECUTE, ALTER ROUTINE ON PROCEDURE `my_app`.`p` TO `u`@`%`"

		grantAll      = "GRANT ALL PRIVILEGES ON `my\\_app`.* TO `u`@`%`"
		grantReadOnly = "GRANT SELECT, SHOW VIEW, EXECUTE ON `my\\_app`.* TO `u`@`%`"
		grantDataOnly = "GRANT SELECT, INSERT, UPDATE, DELETE, EXECUTE, CREATE TEMPORARY TABLES, LOCK TABLES ON `my\\_app`.* TO `u`@`%`"
		reset         = "REVOKE ALL PRIVILEGES ON `my\\_app`.* FROM `u`@`%`"
	)
	cases := []struct {
		name   string
		access tenant.Access
		lines  []string
		want   []string
		// inside counts the revocations inside the database (beyond the access, not the database).
		inside int
	}{
		{"ReadWrite as it should be", tenant.ReadWrite, []string{usage, all}, nil, 0},
		{"ReadWrite without its grant", tenant.ReadWrite, []string{usage}, []string{grantAll}, 0},
		{"ReadWrite keeps its tables, columns and routines", tenant.ReadWrite, []string{usage, all, table, column, routine}, nil, 0},
		{"ReadOnly as it should be", tenant.ReadOnly, []string{usage, readOnly}, nil, 0},
		{"ReadOnly without its grant", tenant.ReadOnly, []string{usage}, []string{grantReadOnly}, 0},
		{"ReadOnly missing two privileges", tenant.ReadOnly, []string{usage, "GRANT SELECT ON `my\\_app`.* TO `u`@`%`"},
			[]string{"GRANT SHOW VIEW, EXECUTE ON `my\\_app`.* TO `u`@`%`"}, 0},
		{"ReadOnly holding ALL PRIVILEGES", tenant.ReadOnly, []string{usage, all}, []string{reset, grantReadOnly}, 1},
		{"ReadOnly holding INSERT", tenant.ReadOnly, []string{usage, "GRANT SELECT, INSERT, EXECUTE, SHOW VIEW ON `my\\_app`.* TO `u`@`%`"},
			[]string{reset, grantReadOnly}, 1},
		{"ReadOnly loses a table grant inside its database", tenant.ReadOnly, []string{usage, readOnly, table},
			[]string{"REVOKE ALL PRIVILEGES ON `my_app`.`t` FROM `u`@`%`"}, 1},
		{"ReadOnly loses a column grant inside its database", tenant.ReadOnly, []string{usage, readOnly, column},
			[]string{"REVOKE ALL PRIVILEGES ON `my_app`.`t` FROM `u`@`%`"}, 1},
		{"DataOnly as it should be, in the server's order", tenant.DataOnly, []string{usage, dataOnly}, nil, 0},
		{"DataOnly compared without regard to case or spacing", tenant.DataOnly,
			[]string{usage, "GRANT select, insert,update , delete, create  temporary tables, lock tables, execute ON `my\\_app`.* TO `u`@`%`"}, nil, 0},
		{"DataOnly without its grant", tenant.DataOnly, []string{usage}, []string{grantDataOnly}, 0},
		{"DataOnly missing LOCK TABLES", tenant.DataOnly, []string{usage, "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE TEMPORARY TABLES, EXECUTE ON `my\\_app`.* TO `u`@`%`"},
			[]string{"GRANT LOCK TABLES ON `my\\_app`.* TO `u`@`%`"}, 0},
		{"DataOnly given CREATE and DROP by hand", tenant.DataOnly,
			[]string{usage, "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE ON `my\\_app`.* TO `u`@`%`"},
			[]string{reset, grantDataOnly}, 1},
		{"DataOnly loses a routine grant inside its database", tenant.DataOnly, []string{usage, dataOnly, routine},
			[]string{"REVOKE ALL PRIVILEGES ON PROCEDURE `my_app`.`p` FROM `u`@`%`"}, 1},
		{"DataOnly with GRANT OPTION alone on its database", tenant.DataOnly, []string{usage, "GRANT USAGE ON `my\\_app`.* TO `u`@`%` WITH GRANT OPTION"},
			[]string{"REVOKE GRANT OPTION ON `my\\_app`.* FROM `u`@`%`", grantDataOnly}, 1},
		{"ReadOnly with a grant on another database", tenant.ReadOnly, []string{usage, readOnly, "GRANT SELECT ON `other`.* TO `u`@`%`"},
			[]string{"REVOKE ALL PRIVILEGES ON `other`.* FROM `u`@`%`"}, 0},
		{"ReadOnly with the unescaped pattern", tenant.ReadOnly, []string{usage, "GRANT SELECT, EXECUTE, SHOW VIEW ON `my_app`.* TO `u`@`%`"},
			[]string{"REVOKE ALL PRIVILEGES ON `my_app`.* FROM `u`@`%`", grantReadOnly}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plan, err := planGrants(c.lines, "my_app", "u", c.access, mariadb)
			if err != nil {
				t.Fatal(err)
			}
			if got := plannedStatements(plan, "my_app", "u"); !slices.Equal(got, c.want) {
				t.Errorf("statements\n got %q\nwant %q", got, c.want)
			}
			inside := 0
			for _, r := range plan.revokes {
				if r.inside {
					inside++
				}
			}
			if inside != c.inside {
				t.Errorf("%d revocations inside the database, want %d", inside, c.inside)
			}
		})
	}
}

// MariaDB prints an account's own connection limit on its USAGE line; MySQL 8 does not.
func TestPlanGrantsConnectionLimit(t *testing.T) {
	const usage = "GRANT USAGE ON *.* TO `a`@`%` IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'"
	cases := []struct {
		line   string
		want   int
		known  bool
		flavor string
	}{
		{usage, 0, true, ""},
		{usage + " WITH MAX_USER_CONNECTIONS 10", 10, true, ""},
		{usage + " REQUIRE SSL WITH MAX_USER_CONNECTIONS 3", 3, true, ""},
		{usage + " WITH GRANT OPTION MAX_QUERIES_PER_HOUR 5 MAX_USER_CONNECTIONS 7", 7, true, ""},
		{usage + " WITH MAX_QUERIES_PER_HOUR 5", 0, true, ""},
		{usage + " REQUIRE ISSUER '/CN= WITH MAX_USER_CONNECTIONS 9' WITH MAX_USER_CONNECTIONS 2", 2, true, ""},
		{"GRANT USAGE ON *.* TO `a`@`%` WITH MAX_USER_CONNECTIONS 4", 4, true, ""},
		// A hash a user set itself, or another plugin: what follows cannot be read.
		{"GRANT USAGE ON *.* TO `a`@`%` IDENTIFIED BY PASSWORD 'x' WITH MAX_USER_CONNECTIONS 4", 0, false, ""},
		{"GRANT USAGE ON *.* TO `a`@`%` IDENTIFIED VIA ed25519 USING 'abc' WITH MAX_USER_CONNECTIONS 4", 0, false, ""},
		{"GRANT USAGE ON *.* TO `a`@`%`", 0, false, FlavorMySQL},
	}
	for _, c := range cases {
		plan, err := planGrants([]string{c.line}, "a", "a", tenant.ReadWrite, dialect{flavor: cmp.Or(c.flavor, FlavorMariaDB)})
		if err != nil || plan.maxConnections != c.want || plan.maxConnectionsKnown != c.known {
			t.Errorf("%s: limit %d known %v (%v); want %d %v", c.line, plan.maxConnections, plan.maxConnectionsKnown, err, c.want, c.known)
		}
	}
}
