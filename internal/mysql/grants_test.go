package mysql

import (
	"slices"
	"testing"
)

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
	}
	for _, c := range cases {
		plan, err := planGrants(c.lines, "my_app", user)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		var revokes []string
		for _, st := range plan.revokes {
			revokes = append(revokes, st.query)
		}
		if plan.grant != c.grant || !slices.Equal(revokes, c.revokes) {
			t.Errorf("%s: grant=%v revokes=%q; want grant=%v revokes=%q", c.name, plan.grant, revokes, c.grant, c.revokes)
		}
	}
	if _, err := planGrants([]string{"REVOKE nonsense"}, "my_app", user); err == nil {
		t.Error("an unreadable line was accepted")
	}
}
