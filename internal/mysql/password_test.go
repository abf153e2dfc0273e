package mysql

import (
	"strings"
	"testing"
)

func TestNativePasswordIs(t *testing.T) {
	// The server's PASSWORD('password').
	const hashOfPassword = "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19" //nolint:gosec // G101: the server's published hash of the word "password"
	grant := "GRANT ALL PRIVILEGES ON `app`.* TO `app_user`@`%`"
	for _, tc := range []struct {
		name   string
		grants []string
		want   bool
	}{
		{"MariaDB, the same password", []string{"GRANT USAGE ON *.* TO `app_user`@`%` IDENTIFIED BY PASSWORD '" + hashOfPassword + "'", grant}, true},
		{"lower-case hex", []string{"GRANT USAGE ON *.* TO `app_user`@`%` IDENTIFIED BY PASSWORD '*2470c0c06dee42fd1618bb99005adca2ec9d1e19'"}, true},
		{"another password", []string{"GRANT USAGE ON *.* TO `app_user`@`%` IDENTIFIED BY PASSWORD '*0000000000000000000000000000000000000000'", grant}, false},
		{"MySQL 8 prints no hash", []string{"GRANT USAGE ON *.* TO `app_user`@`%`", grant}, false},
		{"another plugin", []string{"GRANT USAGE ON *.* TO `app_user`@`%` IDENTIFIED VIA ed25519 USING 'abc'"}, false},
		{"the marker inside a quoted name", []string{"GRANT USAGE ON *.* TO `x IDENTIFIED BY PASSWORD '" + hashOfPassword + "'`@`%`"}, false},
		{"unterminated", []string{"GRANT USAGE ON *.* TO `app_user`@`%` IDENTIFIED BY PASSWORD '" + hashOfPassword}, false},
		{"no grants", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := nativePasswordIs(tc.grants, "password"); got != tc.want {
				t.Errorf("nativePasswordIs = %v, want %v", got, tc.want)
			}
		})
	}
}

// The session every admin connection starts with pins what the escaping of values and the
// parsing of SHOW GRANTS depend on.
func TestSessionSetup(t *testing.T) {
	for _, want := range []string{"SET NAMES utf8mb4 ", "sql_mode = 'STRICT_ALL_TABLES,", "lock_wait_timeout = 10", "innodb_lock_wait_timeout = 10"} {
		if !strings.Contains(sessionSetup, want) {
			t.Errorf("session setup %q lacks %q", sessionSetup, want)
		}
	}
	for _, mode := range []string{"ANSI_QUOTES", "NO_BACKSLASH_ESCAPES", "ORACLE", "ANSI,", "PIPES_AS_CONCAT"} {
		if strings.Contains(sessionSQLMode, mode) {
			t.Errorf("the pinned sql_mode has %s", mode)
		}
	}
}
