package mysql

import (
	"crypto/tls"
	"strings"
	"testing"
)

func TestDetectFlavor(t *testing.T) {
	cases := []struct {
		version, comment string
		wsrep            bool
		want             string
	}{
		{"10.11.19-MariaDB-0+deb12u1", "Debian 12", false, FlavorMariaDB},
		{"10.11.19-MariaDB-0+deb12u1", "Debian 12", true, FlavorMariaDBGalera},
		{"11.4.3-MariaDB-ubu2404", "mariadb.org binary distribution", false, FlavorMariaDB},
		{"8.0.39", "MySQL Community Server - GPL", false, FlavorMySQL},
		{"8.4.2", "MySQL Community Server - GPL", false, FlavorMySQL},
		{"8.0.39-30", "Percona Server (GPL), Release 30, Revision 4f7c2b1b", false, FlavorPercona},
		{"8.0.39-30.1", "Percona XtraDB Cluster (GPL), Release rel30, Revision 0f7e8f5, WSREP version 26.1.4.3", true, FlavorPXC},
		{"8.0.39-30.1", "Percona XtraDB Cluster (GPL), Release rel30", false, FlavorPXC},
	}
	for _, c := range cases {
		if got := detectFlavor(c.version, c.comment, c.wsrep); got != c.want {
			t.Errorf("detectFlavor(%q, %q, %v) = %s, want %s", c.version, c.comment, c.wsrep, got, c.want)
		}
	}
}

// Second passwords came with MySQL 8.0.14; MariaDB has none in any version.
func TestKeepsSecondPasswords(t *testing.T) {
	cases := []struct {
		flavor, version string
		want            bool
	}{
		{FlavorMySQL, "8.0.13", false},
		{FlavorMySQL, "8.0.14", true},
		{FlavorMySQL, "8.0.39", true},
		{FlavorMySQL, "8.4.2", true},
		{FlavorMySQL, "9.1.0", true},
		{FlavorMySQL, "5.7.44-log", false},
		{FlavorPercona, "8.0.39-30", true},
		{FlavorPXC, "8.0.39-30.1", true},
		{FlavorPXC, "5.7.44-31.65", false},
		{FlavorMariaDB, "11.4.3-MariaDB-ubu2404", false},
		{FlavorMariaDBGalera, "10.11.19-MariaDB-0+deb12u1", false},
		{FlavorMySQL, "unknown", false},
	}
	for _, c := range cases {
		if got := keepsSecondPasswords(c.flavor, c.version); got != c.want {
			t.Errorf("keepsSecondPasswords(%s, %s) = %v, want %v", c.flavor, c.version, got, c.want)
		}
	}
}

// The statements that differ by flavor, as each server's manual gives them. MariaDB gets the hash
// unless the password must travel in clear; MySQL 8 always gets the password (it rewrites it in
// its logs itself).
func TestDialectStatements(t *testing.T) {
	const password = "s3cret"
	hash := nativePasswordHash(password)
	cases := []struct {
		flavor     string
		requireTLS bool
		form       passwordForm
		create     string
		alter      string
		value      string
	}{
		{FlavorMariaDB, false, hashed, "CREATE USER `app`@`%` IDENTIFIED BY PASSWORD ?", "ALTER USER `app`@`%` IDENTIFIED BY PASSWORD ?", hash},
		{FlavorMariaDB, false, inClear, "CREATE USER `app`@`%` IDENTIFIED BY ?", "ALTER USER `app`@`%` IDENTIFIED BY ?", password},
		{FlavorMariaDBGalera, true, hashed, "CREATE USER `app`@`%` IDENTIFIED BY PASSWORD ? REQUIRE SSL", "ALTER USER `app`@`%` IDENTIFIED BY PASSWORD ?", hash},
		{FlavorMySQL, false, hashed, "CREATE USER `app`@`%` IDENTIFIED WITH caching_sha2_password BY ?", "ALTER USER `app`@`%` IDENTIFIED WITH caching_sha2_password BY ?", password},
		{FlavorPercona, false, inClear, "CREATE USER `app`@`%` IDENTIFIED WITH caching_sha2_password BY ?", "ALTER USER `app`@`%` IDENTIFIED WITH caching_sha2_password BY ?", password},
		{FlavorPXC, true, hashed, "CREATE USER `app`@`%` IDENTIFIED WITH caching_sha2_password BY ? REQUIRE SSL", "ALTER USER `app`@`%` IDENTIFIED WITH caching_sha2_password BY ?", password},
	}
	for _, c := range cases {
		d := dialect{flavor: c.flavor, requireTLS: c.requireTLS}
		create, alter := d.createUser("app", password, c.form, 0, false), d.alterUserPassword("app", password, c.form)
		if create.query != c.create || alter.query != c.alter {
			t.Errorf("%s:\n got %s\n     %s\nwant %s\n     %s", c.flavor, create.query, alter.query, c.create, c.alter)
		}
		// The value travels only as an argument, escaped by the driver; never in the text.
		for _, st := range []statement{create, alter} {
			if !st.secret || len(st.args) != 1 || st.args[0] != c.value || strings.Contains(st.query, password) || strings.Contains(st.query, hash) {
				t.Errorf("%s: %q carries the password wrongly (args %v, secret %v)", c.flavor, st.query, st.args, st.secret)
			}
		}
	}
	// Quoting holds in every dialect.
	if st := (dialect{flavor: FlavorMySQL}).createUser("a`b", "x", hashed, 0, false); !strings.HasPrefix(st.query, "CREATE USER `a``b`@`%`") {
		t.Errorf("unquoted user in %s", st.query)
	}
	for _, c := range []struct {
		requireTLS bool
		want       string
	}{{true, "ALTER USER `app`@`%` REQUIRE SSL"}, {false, "ALTER USER `app`@`%` REQUIRE NONE"}} {
		if got := (dialect{flavor: FlavorMariaDB, requireTLS: c.requireTLS}).alterUserTLS("app").query; got != c.want {
			t.Errorf("TLS requirement: %s, want %s", got, c.want)
		}
	}
}

func TestTLSConfig(t *testing.T) {
	if _, err := (&TLS{Mode: TLSVerifyFull}).config("db"); err == nil {
		t.Error("VerifyFull without a CA accepted")
	}
	if _, err := (&TLS{Mode: TLSVerifyCA, CA: []byte("not pem")}).config("db"); err == nil {
		t.Error("a CA without PEM accepted")
	}
	c, err := (&TLS{Mode: TLSRequired}).config("db")
	if err != nil || !c.InsecureSkipVerify || c.MinVersion != tls.VersionTLS12 {
		t.Errorf("Required: %+v %v", c, err)
	}
}
