package mysql

import "testing"

func TestNativePasswordIs(t *testing.T) {
	// The server's PASSWORD('password').
	const hashOfPassword = "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"
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
