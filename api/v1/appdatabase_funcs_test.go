package v1

import "testing"

func TestEffectiveNames(t *testing.T) {
	cases := []struct {
		spec                  AppDatabaseSpec
		user, secret, charset string
	}{
		{AppDatabaseSpec{DBName: "myapp"}, "myapp_app", "myapp-mysql-creds", "utf8mb4"},
		{AppDatabaseSpec{DBName: "My_App"}, "My_App_app", "my-app-mysql-creds", "utf8mb4"},
		{AppDatabaseSpec{DBName: "x", UserName: "u", SecretName: "s", Charset: "latin1"}, "u", "s", "latin1"},
	}
	for _, c := range cases {
		if got := c.spec.EffectiveUserName(); got != c.user {
			t.Errorf("%s: user %q, want %q", c.spec.DBName, got, c.user)
		}
		if got := c.spec.EffectiveSecretName(); got != c.secret {
			t.Errorf("%s: secret %q, want %q", c.spec.DBName, got, c.secret)
		}
		if got := c.spec.EffectiveCharset(); got != c.charset {
			t.Errorf("%s: charset %q, want %q", c.spec.DBName, got, c.charset)
		}
	}
	if got := DBNameFor("my-app"); got != "my_app" {
		t.Errorf("DBNameFor(my-app) = %q", got)
	}
	db := &AppDatabase{}
	db.Namespace = "team-a"
	if got := db.EffectiveAppNamespace(); got != "team-a" {
		t.Errorf("appNamespace defaults to %q", got)
	}
}

func TestReasonsAreTerminalOrRetrying(t *testing.T) {
	terminal := []string{ReasonInvalidSpec, ReasonNamespaceNotAllowed, ReasonOwnershipConflict, ReasonSecretConflict, ReasonUnknownCluster, ReasonDatabaseMissing, ReasonPasswordRejected, ReasonNamespaceReplaced}
	retrying := []string{ReasonClusterUnreachable, ReasonAdminCredentialsInvalid, ReasonNamespaceNotFound, ReasonProvisioningError}
	for _, r := range terminal {
		if !IsTerminalReason(r) {
			t.Errorf("%s should be terminal", r)
		}
	}
	for _, r := range retrying {
		if IsTerminalReason(r) {
			t.Errorf("%s should be retrying", r)
		}
	}
}
