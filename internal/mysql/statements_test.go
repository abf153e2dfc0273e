package mysql

import "testing"

func TestStatements(t *testing.T) {
	cases := []struct {
		got    statement
		query  string
		secret bool
	}{
		{createDatabase("my_app", "utf8mb4", "utf8mb4_unicode_ci"), "CREATE DATABASE IF NOT EXISTS `my_app` CHARACTER SET `utf8mb4` COLLATE `utf8mb4_unicode_ci`", false},
		{alterDatabase("my_app", "latin1", "latin1_bin"), "ALTER DATABASE `my_app` CHARACTER SET `latin1` COLLATE `latin1_bin`", false},
		{dropDatabase("my_app"), "DROP DATABASE IF EXISTS `my_app`", false},
		{dropUser("my_app_app"), "DROP USER IF EXISTS `my_app_app`@`%`", false},
		{grantAllOnDatabase("my_app", "my_app_app"), "GRANT ALL PRIVILEGES ON `my\\_app`.* TO `my_app_app`@`%`", false},
		{showGrants("u"), "SHOW GRANTS FOR `u`@`%`", false},
	}
	for _, c := range cases {
		if c.got.query != c.query {
			t.Errorf("got  %s\nwant %s", c.got.query, c.query)
		}
		if c.got.secret != c.secret {
			t.Errorf("%s: secret = %v, want %v", c.query, c.got.secret, c.secret)
		}
	}
}
