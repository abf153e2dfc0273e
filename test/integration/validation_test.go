//go:build integration

package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
)

// The API server itself rejects bad specs, with a message naming the problem.
func TestAPIRejectsInvalidSpecs(t *testing.T) {
	ensureNamespace(t, "invalid")
	long := func(n int) string { return strings.Repeat("a", n) }
	cases := []struct {
		name string
		spec dbv1.AppDatabaseSpec
		want string
	}{
		{"backtick in dbName", dbv1.AppDatabaseSpec{DBName: "a`b"}, "spec.dbName"},
		{"space in dbName", dbv1.AppDatabaseSpec{DBName: "a b"}, "spec.dbName"},
		{"semicolon in dbName", dbv1.AppDatabaseSpec{DBName: "a;DROP DATABASE mysql"}, "spec.dbName"},
		{"dash in dbName", dbv1.AppDatabaseSpec{DBName: "my-app"}, "spec.dbName"},
		{"65-character dbName", dbv1.AppDatabaseSpec{DBName: long(65), UserName: "u"}, "spec.dbName"},
		{"33-character userName", dbv1.AppDatabaseSpec{DBName: "x", UserName: long(33)}, "spec.userName"},
		{"29-character dbName without userName", dbv1.AppDatabaseSpec{DBName: long(29)}, "set spec.userName"},
		{"dbName starting with _ without secretName", dbv1.AppDatabaseSpec{DBName: "_x"}, "set spec.secretName"},
		{"unknown deletionPolicy", dbv1.AppDatabaseSpec{DBName: "x", DeletionPolicy: "Foo"}, "spec.deletionPolicy"},
		{"collation of another charset", dbv1.AppDatabaseSpec{DBName: "x", Charset: "latin1"}, "collation does not belong to charset"},
		{"upper-case appNamespace", dbv1.AppDatabaseSpec{DBName: "x", AppNamespace: "Team"}, "spec.appNamespace"},
		{"secretName with underscore", dbv1.AppDatabaseSpec{DBName: "x", SecretName: "a_b"}, "spec.secretName"},
		{"empty dbName", dbv1.AppDatabaseSpec{}, "spec.dbName"},
		{"negative maxUserConnections", dbv1.AppDatabaseSpec{DBName: "x", MaxUserConnections: limitOf(-1)}, "spec.maxUserConnections"},
		{"maxUserConnections over 100000", dbv1.AppDatabaseSpec{DBName: "x", MaxUserConnections: limitOf(100001)}, "spec.maxUserConnections"},
		{"an account's negative maxUserConnections", dbv1.AppDatabaseSpec{DBName: "x",
			Users: []dbv1.AppDatabaseUser{{Name: "x_ro", Access: dbv1.AccessReadOnly, MaxUserConnections: limitOf(-1)}}}, "spec.users[0].maxUserConnections"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := k8s.Create(context.Background(), newAppDB("invalid", "x", c.spec))
			if !apierrors.IsInvalid(err) {
				t.Fatalf("created or failed otherwise: %v", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error does not mention %q: %v", c.want, err)
			}
		})
	}
	if err := k8s.Create(context.Background(), newAppDB("invalid", strings.Repeat("n", 64), dbv1.AppDatabaseSpec{DBName: "x"})); !apierrors.IsInvalid(err) {
		t.Errorf("a 64-character AppDatabase name was accepted: %v", err)
	}
}

// Names are immutable, including optional ones being added or removed later.
func TestAPIRejectsNameChanges(t *testing.T) {
	ensureNamespace(t, "immutable")
	changes := []struct {
		name   string
		create dbv1.AppDatabaseSpec
		change func(*dbv1.AppDatabaseSpec)
		want   string
	}{
		{"dbName changed", dbv1.AppDatabaseSpec{DBName: "imm1"}, func(s *dbv1.AppDatabaseSpec) { s.DBName = "imm1b" }, "dbName is immutable"},
		{"userName added", dbv1.AppDatabaseSpec{DBName: "imm2"}, func(s *dbv1.AppDatabaseSpec) { s.UserName = "imm2_app" }, "userName is immutable"},
		{"userName removed", dbv1.AppDatabaseSpec{DBName: "imm3", UserName: "imm3_user"}, func(s *dbv1.AppDatabaseSpec) { s.UserName = "" }, "userName is immutable"},
		{"secretName added", dbv1.AppDatabaseSpec{DBName: "imm4"}, func(s *dbv1.AppDatabaseSpec) { s.SecretName = "other" }, "secretName is immutable"},
		{"appNamespace added", dbv1.AppDatabaseSpec{DBName: "imm5"}, func(s *dbv1.AppDatabaseSpec) { s.AppNamespace = "immutable" }, "appNamespace is immutable"},
		{"clusterRef changed", dbv1.AppDatabaseSpec{DBName: "imm6"}, func(s *dbv1.AppDatabaseSpec) { s.ClusterRef = "other" }, "clusterRef is immutable"},
		{"an account named like the main user added", dbv1.AppDatabaseSpec{DBName: "imm7"}, func(s *dbv1.AppDatabaseSpec) {
			s.Users = []dbv1.AppDatabaseUser{{Name: "IMM7_app", Access: dbv1.AccessReadOnly}}
		}, "an extra account has the name of the main user"},
		{"an account of an existing name added", dbv1.AppDatabaseSpec{DBName: "imm8", Users: []dbv1.AppDatabaseUser{{Name: "imm8_ro", Access: dbv1.AccessReadOnly}}},
			func(s *dbv1.AppDatabaseSpec) {
				s.Users = append(s.Users, dbv1.AppDatabaseUser{Name: "Imm8_RO", Access: dbv1.AccessDataOnly})
			}, "two accounts have the same name"},
		{"an account's access changed to another privilege", dbv1.AppDatabaseSpec{DBName: "imm9", Users: []dbv1.AppDatabaseUser{{Name: "imm9_ro", Access: dbv1.AccessReadOnly}}},
			func(s *dbv1.AppDatabaseSpec) { s.Users[0].Access = "ALL PRIVILEGES" }, "spec.users[0].access"},
	}
	for i, c := range changes {
		t.Run(c.name, func(t *testing.T) {
			db := newAppDB("immutable", "imm"+string(rune('a'+i)), c.create) //nolint:gosec // G115: i indexes the few cases above
			create(t, db)
			err := patchSpec(db, c.change)
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("update was not rejected with %q: %v", c.want, err)
			}
		})
	}
}

// charset and collation may change; the operator runs ALTER DATABASE.
func TestCharsetChange(t *testing.T) {
	ensureNamespace(t, "charset")
	db := newAppDB("charset", "latin", dbv1.AppDatabaseSpec{DBName: "latin"})
	create(t, db)
	db = waitReady(t, db)
	if err := patchSpec(db, func(s *dbv1.AppDatabaseSpec) { s.Charset, s.Collation = "latin1", "latin1_swedish_ci" }); err != nil {
		t.Fatal(err)
	}
	waitReady(t, db)
	var collation string
	if err := root(t).QueryRow("SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'latin'").Scan(&collation); err != nil || collation != "latin1_swedish_ci" {
		t.Errorf("collation is %q (%v), want latin1_swedish_ci", collation, err)
	}

	// A collation the server does not know is a spec error the developer must fix.
	if err := patchSpec(db, func(s *dbv1.AppDatabaseSpec) { s.Charset, s.Collation = "utf8mb4", "utf8mb4_nonexistent_ci" }); err != nil {
		t.Fatal(err)
	}
	waitFor(t, clientKey(db), dbv1.PhaseFailed, dbv1.ReasonInvalidSpec)
}

func TestAPIRejectsInvalidMySQLClusters(t *testing.T) {
	valid := func() dbv1.MySQLClusterSpec {
		return dbv1.MySQLClusterSpec{
			AdminEndpoints:   []dbv1.Endpoint{{Host: "db"}},
			AdminCredentials: dbv1.AdminCredentials{SecretName: "admin"},
		}
	}
	cases := []struct {
		name   string
		change func(*dbv1.MySQLClusterSpec)
		want   string
	}{
		{"no endpoint", func(s *dbv1.MySQLClusterSpec) { s.AdminEndpoints = nil }, "adminEndpoints"},
		{"port out of range", func(s *dbv1.MySQLClusterSpec) { s.AdminEndpoints[0].Port = 70000 }, "port"},
		{"VerifyFull without a CA", func(s *dbv1.MySQLClusterSpec) { s.TLS = &dbv1.TLSSpec{Mode: dbv1.TLSVerifyFull} }, "tls.ca is required"},
		{"unknown TLS mode", func(s *dbv1.MySQLClusterSpec) { s.TLS = &dbv1.TLSSpec{Mode: "Sometimes"} }, "spec.tls.mode"},
		{"applications on TLS without TLS", func(s *dbv1.MySQLClusterSpec) { s.RequireTLSForApplications = true }, "requireTLSForApplications needs tls"},
		{"too many connections", func(s *dbv1.MySQLClusterSpec) { s.MaxConnections = 1000 }, "maxConnections"},
		{"negative default connection cap", func(s *dbv1.MySQLClusterSpec) { s.DefaultMaxUserConnections = limitOf(-1) }, "defaultMaxUserConnections"},
	}
	for i, c := range cases {
		spec := valid()
		c.change(&spec)
		mc := &dbv1.MySQLCluster{ObjectMeta: metaFor("", fmt.Sprintf("invalid-%d", i), nil), Spec: spec}
		err := k8s.Create(context.Background(), mc)
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: not rejected with %q: %v", c.name, c.want, err)
			_ = k8s.Delete(context.Background(), mc)
		}
	}
}
