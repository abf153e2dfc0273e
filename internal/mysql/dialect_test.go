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
		want             Flavor
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

// The statements that differ by flavor, as each server's manual gives them.
func TestDialectStatements(t *testing.T) {
	cases := []struct {
		flavor     Flavor
		requireTLS bool
		create     string
		alter      string
	}{
		{FlavorMariaDB, false, "CREATE USER `app`@`%` IDENTIFIED BY ?", "ALTER USER `app`@`%` IDENTIFIED BY ?"},
		{FlavorMariaDBGalera, true, "CREATE USER `app`@`%` IDENTIFIED BY ? REQUIRE SSL", "ALTER USER `app`@`%` IDENTIFIED BY ?"},
		{FlavorMySQL, false, "CREATE USER `app`@`%` IDENTIFIED WITH caching_sha2_password BY ?", "ALTER USER `app`@`%` IDENTIFIED WITH caching_sha2_password BY ?"},
		{FlavorPercona, false, "CREATE USER `app`@`%` IDENTIFIED WITH caching_sha2_password BY ?", "ALTER USER `app`@`%` IDENTIFIED WITH caching_sha2_password BY ?"},
		{FlavorPXC, true, "CREATE USER `app`@`%` IDENTIFIED WITH caching_sha2_password BY ? REQUIRE SSL", "ALTER USER `app`@`%` IDENTIFIED WITH caching_sha2_password BY ?"},
	}
	for _, c := range cases {
		d := dialect{flavor: c.flavor, requireTLS: c.requireTLS}
		create, alter := d.createUser("app", "s3cret"), d.alterUserPassword("app", "s3cret")
		if create.query != c.create || alter.query != c.alter {
			t.Errorf("%s:\n got %s\n     %s\nwant %s\n     %s", c.flavor, create.query, alter.query, c.create, c.alter)
		}
		// The password travels only as an argument, escaped by the driver; never in the text.
		for _, st := range []statement{create, alter} {
			if !st.secret || len(st.args) != 1 || st.args[0] != "s3cret" || strings.Contains(st.query, "s3cret") {
				t.Errorf("%s: %q carries the password wrongly (args %v, secret %v)", c.flavor, st.query, st.args, st.secret)
			}
		}
	}
	// Quoting holds in every dialect.
	if st := (dialect{flavor: FlavorMySQL}).createUser("a`b", "x"); !strings.HasPrefix(st.query, "CREATE USER `a``b`@`%`") {
		t.Errorf("unquoted user in %s", st.query)
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
