package mysql

import (
	"cmp"
	"slices"
	"testing"
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
		plan, err := planGrants(c.lines, "my_app", user, mariadb)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		var revokes []string
		for _, r := range plan.revokes {
			revokes = append(revokes, r.query)
		}
		if plan.grant != c.grant || !slices.Equal(revokes, c.revokes) {
			t.Errorf("%s: grant=%v revokes=%q; want grant=%v revokes=%q", c.name, plan.grant, revokes, c.grant, c.revokes)
		}
	}
	for _, line := range []string{"REVOKE nonsense", "GRANT nothing", "SET DEFAULT ROLE `r`", "GRANT SELECT ON db.a b TO `u`@`%`", "GRANT `r` x TO `u`@`%`"} {
		if _, err := planGrants([]string{line}, "my_app", user, mariadb); err == nil {
			t.Errorf("an unreadable line was accepted: %s", line)
		}
	}
}

// Under lower_case_table_names=1 the server stores and prints database names in lower case: an
// upper-case dbName's grants are its own, not drift, and the same lines are drift where names
// compare as written.
func TestPlanGrantsFoldedNames(t *testing.T) {
	lines := []string{"GRANT USAGE ON *.* TO `a`@`%`", "GRANT ALL PRIVILEGES ON `my\\_app`.* TO `a`@`%`", "GRANT SELECT ON `my_app`.`t` TO `a`@`%`"}
	if plan, err := planGrants(lines, "My_App", "a", dialect{flavor: FlavorMariaDB, names: namesFolded}); err != nil || plan.grant || len(plan.revokes) != 0 {
		t.Errorf("folded: grant=%v revokes=%v (%v)", plan.grant, plan.revokes, err)
	}
	if plan, _ := planGrants(lines, "My_App", "a", mariadb); !plan.grant || len(plan.revokes) != 2 {
		t.Errorf("as written: grant=%v revokes=%v", plan.grant, plan.revokes)
	}
}

// The REQUIRE clause MariaDB prints on the USAGE line is part of the checked state.
func TestPlanGrantsTLS(t *testing.T) {
	const usage = "GRANT USAGE ON *.* TO `a`@`%` IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'"
	cases := []struct {
		line   string
		want   tlsRequirement
		known  bool
		flavor Flavor
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
		plan, err := planGrants([]string{c.line}, "a", "a", dialect{flavor: cmp.Or(c.flavor, FlavorMariaDB)})
		if err != nil || plan.tls != c.want || plan.tlsKnown != c.known {
			t.Errorf("%s: tls %q known %v (%v); want %q %v", c.line, plan.tls, plan.tlsKnown, err, c.want, c.known)
		}
	}
}
