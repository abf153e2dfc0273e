package mysql

import (
	"slices"
	"strings"
	"testing"
)

// The admin account's grants, as each server prints them, against what it needs.
func TestMissingPrivileges(t *testing.T) {
	mariaGrant, mariaOther := AdminPrivileges(FlavorMariaDB, "10.11.19-MariaDB")
	mysqlGrant, mysqlOther := AdminPrivileges(FlavorMySQL, "8.0.39")
	withoutGrantOption := func(privileges []string) []string {
		var out []string
		for _, p := range privileges {
			out = append(out, p+" WITH GRANT OPTION")
		}
		return out
	}
	minimalMaria := "GRANT " + strings.Join(append(slices.Clone(mariaGrant), mariaOther...), ", ") + " ON *.* TO `admin`@`%` IDENTIFIED BY PASSWORD '*AB' WITH GRANT OPTION"
	cases := []struct {
		name         string
		lines        []string
		grant, other []string
		want         []string
	}{
		{"MariaDB root", []string{"GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION"}, mariaGrant, mariaOther, nil},
		{"MariaDB minimal", []string{minimalMaria}, mariaGrant, mariaOther, nil},
		{"MariaDB with a connection limit", []string{minimalMaria + " WITH MAX_USER_CONNECTIONS 50"}, mariaGrant, mariaOther, nil},
		{"MariaDB without PROCESS", []string{strings.Replace(minimalMaria, ", PROCESS", "", 1)}, mariaGrant, mariaOther, []string{"PROCESS"}},
		{"MariaDB without grant option", []string{strings.TrimSuffix(minimalMaria, " WITH GRANT OPTION")}, mariaGrant, mariaOther,
			withoutGrantOption(mariaGrant)},
		{"SUPER for CONNECTION ADMIN", []string{strings.Replace(minimalMaria, "CONNECTION ADMIN", "SUPER", 1)}, mariaGrant, mariaOther, nil},
		{"ALL without grant option", []string{"GRANT ALL PRIVILEGES ON *.* TO `a`@`%`"}, mariaGrant, mariaOther, withoutGrantOption(mariaGrant)},
		{"database grants only", []string{"GRANT ALL PRIVILEGES ON `shop`.* TO `a`@`%` WITH GRANT OPTION"}, mariaGrant, mariaOther,
			append(slices.Clone(mariaGrant), mariaOther...)},
		{"MySQL 8, dynamic privileges apart", []string{
			"GRANT " + strings.Join(append(slices.Clone(mysqlGrant), "CREATE USER", "PROCESS"), ", ") + " ON *.* TO `admin`@`%` WITH GRANT OPTION",
			"GRANT CONNECTION_ADMIN ON *.* TO `admin`@`%`",
		}, mysqlGrant, mysqlOther, nil},
		{"MySQL 8 without CONNECTION_ADMIN", []string{
			"GRANT " + strings.Join(append(slices.Clone(mysqlGrant), "CREATE USER", "PROCESS"), ", ") + " ON *.* TO `admin`@`%` WITH GRANT OPTION",
		}, mysqlGrant, mysqlOther, []string{"CONNECTION_ADMIN"}},
	}
	for _, c := range cases {
		if got := missingPrivileges(c.lines, c.grant, c.other); !slices.Equal(got, c.want) {
			t.Errorf("%s: missing %v, want %v", c.name, got, c.want)
		}
	}
	if _, other := AdminPrivileges(FlavorMariaDB, "11.4.2-MariaDB"); !slices.Contains(other, "CREATE USER") {
		t.Error("MariaDB 11.4 needs CREATE USER")
	}
	if g, _ := AdminPrivileges(FlavorMariaDB, "11.4.2-MariaDB"); !slices.Contains(g, "SHOW CREATE ROUTINE") {
		t.Error("MariaDB 11.4 grants SHOW CREATE ROUTINE with ALL on a database")
	}
}
