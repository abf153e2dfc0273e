//go:build integration

package integration

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/test/stack"
)

// TLS to a MariaDB that serves a certificate from a test CA: the operator verifies it and
// provisions; with the wrong CA it refuses and says why; application users created with
// REQUIRE SSL cannot log in without TLS, and their REQUIRE clause follows the cluster's setting.
func TestTLS(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "tls")
	ca, err := stack.NewCA("db-concierge test CA")
	if err != nil {
		t.Fatal(err)
	}
	other, err := stack.NewCA("some other CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := ca.Issue([]net.IP{net.ParseIP("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	server, err := stack.StartMariaDB(stack.WithTLS(cert, key, ca.CertPEM))
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()

	// The admin account itself requires TLS, so provisioning proves the operator used it.
	password := randomString()
	secrets.Store(password, "tls admin password")
	rootDB, err := server.RootDB()
	if err != nil {
		t.Fatal(err)
	}
	defer rootDB.Close()
	for _, q := range []string{
		"CREATE USER tls_admin@'%' IDENTIFIED BY ? REQUIRE SSL",
		"GRANT ALL PRIVILEGES ON *.* TO tls_admin@'%' WITH GRANT OPTION",
	} {
		args := []any{}
		if strings.Contains(q, "?") {
			args = append(args, password)
		}
		if _, err := rootDB.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range map[string]map[string][]byte{
		"tls-admin":    {"MYSQL_ADMIN_USER": []byte("tls_admin"), "MYSQL_ADMIN_PASSWORD": []byte(password)},
		"tls-ca":       {"ca.crt": ca.CertPEM},
		"tls-wrong-ca": {"ca.crt": other.CertPEM},
	} {
		create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: platformNS, Name: name}, Data: data})
	}
	cluster := func(name, caSecret string) *dbv1.MySQLCluster {
		return &dbv1.MySQLCluster{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: dbv1.MySQLClusterSpec{
			AdminEndpoints:            []dbv1.Endpoint{{Host: "127.0.0.1", Port: int32(server.Port)}}, //nolint:gosec // G115: a TCP port fits in int32
			AdminCredentials:          dbv1.AdminCredentials{SecretName: "tls-admin"},
			TLS:                       &dbv1.TLSSpec{Mode: dbv1.TLSVerifyFull, CA: &dbv1.SecretKeyRef{Name: caSecret}},
			RequireTLSForApplications: true,
		}}
	}
	for _, mc := range []*dbv1.MySQLCluster{cluster("tls-good", "tls-ca"), cluster("tls-bad", "tls-wrong-ca")} {
		create(t, mc)
		defer func() { _ = k8s.Delete(context.Background(), mc) }() //nolint:revive // both clusters exist until the test ends
	}

	good := newAppDB("tls", "secure", dbv1.AppDatabaseSpec{DBName: "secure", ClusterRef: "tls-good"})
	create(t, good)
	good = waitReady(t, good)
	appPassword := string(secretOf(t, good).Data["password"])

	plain := server.Config("secure_app", appPassword, "secure")
	if err := ping(ctx, plain); err == nil {
		t.Error("the application user logged in without TLS")
	}
	secure := server.Config("secure_app", appPassword, "secure")
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.CertPEM)
	secure.TLS = &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	if err := ping(ctx, secure); err != nil {
		t.Errorf("the application user cannot log in with TLS: %v", err)
	}

	// The requirement is part of the checked state: it reaches existing users when the cluster's
	// setting changes, and is put back when changed by hand.
	sslType := func() string {
		var v string
		if err := rootDB.QueryRow("SELECT ssl_type FROM mysql.user WHERE User = 'secure_app' AND Host = '%'").Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	setRequire := func(require bool) {
		var mc dbv1.MySQLCluster
		if err := k8s.Get(ctx, client.ObjectKey{Name: "tls-good"}, &mc); err != nil {
			t.Fatal(err)
		}
		patch := client.MergeFrom(mc.DeepCopy())
		mc.Spec.RequireTLSForApplications = require
		if err := k8s.Patch(ctx, &mc, patch); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		require bool
		want    string
	}{{false, ""}, {true, "ANY"}} {
		setRequire(c.require)
		eventually(t, fmt.Sprintf("the user's REQUIRE to follow requireTLSForApplications=%v", c.require), func() error {
			if got := sslType(); got != c.want {
				return fmt.Errorf("ssl_type %q", got)
			}
			return nil
		})
	}
	if _, err := rootDB.Exec("ALTER USER secure_app@'%' REQUIRE NONE"); err != nil {
		t.Fatal(err)
	}
	forceReconcile(t, good)
	if got := sslType(); got != "ANY" {
		t.Errorf("REQUIRE NONE set by hand was not repaired: ssl_type %q", got)
	}

	bad := newAppDB("tls", "insecure", dbv1.AppDatabaseSpec{DBName: "insecure", ClusterRef: "tls-bad"})
	create(t, bad)
	failed := waitFor(t, clientKey(bad), dbv1.PhaseFailed, dbv1.ReasonClusterUnreachable)
	if !strings.Contains(failed.Status.Message, "certificate") {
		t.Errorf("the message does not say the certificate is the problem: %s", failed.Status.Message)
	}
	waitClusterStatus(t, "tls-bad", func(s dbv1.MySQLClusterStatus) error {
		if s.Reachable || !strings.Contains(s.Message, "certificate") {
			return fmt.Errorf("status: reachable=%v %s", s.Reachable, s.Message)
		}
		return nil
	})
	if schemaOn(t, server, "insecure") {
		t.Error("provisioned through a connection whose certificate did not verify")
	}
}

func ping(ctx context.Context, cfg *gomysql.Config) error {
	connector, err := gomysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return err
	}
	if cfg.TLS == nil {
		return nil
	}
	var cipher, name string
	if err := db.QueryRowContext(ctx, "SHOW STATUS LIKE 'Ssl_cipher'").Scan(&name, &cipher); err != nil || cipher == "" {
		return errors.Join(err, errors.New("the connection is not encrypted"))
	}
	return nil
}
