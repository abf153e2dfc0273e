//go:build integration

package integration

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/credentials"
)

// mysqlErrorNumber returns the server error number in err, or 0.
func mysqlErrorNumber(err error) uint16 {
	var e *gomysql.MySQLError
	if errors.As(err, &e) {
		return e.Number
	}
	return 0
}

// The seed's example: an AppDatabase in the platform namespace for namespace myapp.
func TestProvisionsDatabaseUserAndSecret(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "myapp")
	db := newAppDB(platformNS, "myapp", dbv1.AppDatabaseSpec{
		DBName: "myapp", AppNamespace: "myapp", Collation: "utf8mb4_bin",
	})
	create(t, db)
	db = waitReady(t, db)

	// MySQL holds the database with the requested charset and collation.
	var charset, collation string
	if err := root(t).QueryRow("SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'myapp'").
		Scan(&charset, &collation); err != nil {
		t.Fatalf("database myapp: %v", err)
	}
	if charset != "utf8mb4" || collation != "utf8mb4_bin" {
		t.Errorf("database myapp has %s/%s, want utf8mb4/utf8mb4_bin", charset, collation)
	}

	// The Secret: exactly the seed's keys, the managed-by label, no owner reference.
	secret := secretOf(t, db)
	var keys []string
	for k := range secret.Data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"connection-string", "database", "go-dsn", "host", "jdbc-uri", "password", "port", "username"}; !slices.Equal(keys, want) {
		t.Errorf("Secret keys = %v, want %v", keys, want)
	}
	if secret.Namespace != "myapp" || secret.Name != "myapp-mysql-creds" {
		t.Errorf("Secret is %s/%s, want myapp/myapp-mysql-creds", secret.Namespace, secret.Name)
	}
	if got := secret.Labels[dbv1.LabelManagedBy]; got != dbv1.ManagedByValue {
		t.Errorf("Secret label %s = %q", dbv1.LabelManagedBy, got)
	}
	if len(secret.OwnerReferences) != 0 {
		t.Errorf("Secret has owner references %v; garbage collection would delete it", secret.OwnerReferences)
	}
	password := string(secret.Data["password"])
	if len(password) != 32 || strings.Trim(password, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~") != "" ||
		credentials.DefaultPolicy.Check(password) != nil {
		t.Errorf("password is not 32 characters of [A-Za-z0-9-._~] meeting the default policy (length %d)", len(password))
	}
	for key, want := range map[string]string{"host": "127.0.0.1", "username": "myapp_app", "database": "myapp"} {
		if got := string(secret.Data[key]); got != want {
			t.Errorf("Secret %s = %q, want %q", key, got, want)
		}
	}
	u, err := url.Parse(string(secret.Data["connection-string"]))
	if err != nil {
		t.Fatalf("connection-string does not parse: %v", err)
	}
	if pw, _ := u.User.Password(); u.Scheme != "mysql" || u.User.Username() != "myapp_app" || pw != password || u.Path != "/myapp" {
		t.Errorf("connection-string does not carry the Secret's credentials and database")
	}

	// Status carries the seed's fields, without the password.
	st := db.Status
	if st.UserName != "myapp_app" || st.SecretName != "myapp-mysql-creds" || st.AppNamespace != "myapp" ||
		st.LastReconcileTime == nil || st.ObservedGeneration != db.Generation {
		t.Errorf("status fields not set: %+v", st)
	}
	if strings.Contains(st.ConnectionString, password) || !strings.HasPrefix(st.ConnectionString, "mysql://myapp_app@127.0.0.1:") {
		t.Errorf("status.connectionString = %q", st.ConnectionString)
	}

	// The app user works in its own database and nowhere else.
	conn := login(t, "myapp_app", password, "myapp")
	if _, err := conn.ExecContext(ctx, "CREATE TABLE t (id INT PRIMARY KEY)"); err != nil {
		t.Fatalf("app user cannot create a table in its database: %v", err)
	}
	if _, err := conn.ExecContext(ctx, "INSERT INTO t VALUES (1)"); err != nil {
		t.Fatalf("app user cannot write its table: %v", err)
	}
	denied := map[string]string{
		"use another database":   "USE mysql",
		"read another database":  "SELECT COUNT(*) FROM mysql.user",
		"create a database":      "CREATE DATABASE myapp_other",
		"grant to others":        "GRANT SELECT ON myapp.* TO 'nobody'@'%'",
		"change server settings": "SET GLOBAL max_connections = 10",
	}
	for what, stmt := range denied {
		if _, err := conn.ExecContext(ctx, stmt); err == nil {
			t.Errorf("app user could %s (%s)", what, stmt)
		} else if n := mysqlErrorNumber(err); n != 1044 && n != 1142 && n != 1227 && n != 1045 && n != 1410 {
			t.Errorf("%s: expected an access-denied error, got %v", what, err)
		}
	}
	grants := grantsOf(t, "myapp_app")
	if len(grants) != 2 || !strings.HasPrefix(grants[1], "GRANT ALL PRIVILEGES ON `myapp`.* TO `myapp_app`@`%`") ||
		strings.Contains(strings.Join(grants, "\n"), "WITH GRANT OPTION") {
		t.Errorf("grants of myapp_app are not exactly USAGE + ALL on myapp: %d lines", len(grants))
	}
}

// A forced reconcile (the seed's annotation) changes nothing but lastReconcileTime: no SQL write,
// no new Secret revision, the same password.
func TestForcedReconcileChangesNothing(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "forced")
	db := newAppDB("forced", "forced", dbv1.AppDatabaseSpec{DBName: "forced"})
	create(t, db)
	db = waitReady(t, db)
	secretBefore := secretOf(t, db)
	before := writeCounters(t)

	patch := client.MergeFrom(db.DeepCopy())
	db.Annotations = map[string]string{dbv1.AnnotationReconcile: "1700000000"}
	if err := k8s.Patch(ctx, db, patch); err != nil {
		t.Fatal(err)
	}
	var after dbv1.AppDatabase
	eventually(t, "the forced reconcile to be handled", func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(db), &after); err != nil {
			return err
		}
		if after.Status.LastHandledReconcileAt != "1700000000" {
			return errors.New("not yet")
		}
		return nil
	})
	assertNoWrites(t, before, writeCounters(t))
	secretAfter := secretOf(t, db)
	if secretAfter.ResourceVersion != secretBefore.ResourceVersion {
		t.Errorf("Secret was rewritten (resourceVersion %s -> %s)", secretBefore.ResourceVersion, secretAfter.ResourceVersion)
	}
	if after.Status.Phase != dbv1.PhaseReady || after.Status.LastReconcileTime.Before(db.Status.LastReconcileTime) {
		t.Errorf("status after forced reconcile: %+v", after.Status)
	}
	login(t, db.Spec.EffectiveUserName(), string(secretBefore.Data["password"]), "forced")
}

// The Secret is the source of truth for the password: a password edited in the Secret is applied
// to MySQL; a deleted Secret is recreated with a new password (the old one cannot be recovered),
// with a Warning Event.
func TestSecretIsSourceOfTruth(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "truth")
	db := newAppDB("truth", "truth", dbv1.AppDatabaseSpec{DBName: "truth"})
	create(t, db)
	db = waitReady(t, db)

	secret := secretOf(t, db)
	edited := "EditedByHand0123456789abcdefghij"
	secrets.Store(edited, "edited password")
	secret.Data["password"] = []byte(edited)
	secret.Data["host"] = []byte("somewhere.else")
	if err := k8s.Update(ctx, secret); err != nil {
		t.Fatal(err)
	}
	eventually(t, "MySQL to accept the edited password and the host to be restored", func() error {
		s := secretOf(t, db)
		if string(s.Data["host"]) != "127.0.0.1" {
			return errors.New("host not restored")
		}
		return canLogin(ctx, "truth_app", edited, "truth")
	})
	if s := secretOf(t, db); string(s.Data["password"]) != edited {
		t.Error("the operator overwrote the password set in the Secret")
	}

	if err := k8s.Delete(ctx, secret); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a new Secret whose password logs in", func() error {
		var s corev1.Secret
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(secret), &s); err != nil {
			return err
		}
		pw := string(s.Data["password"])
		secrets.Store(pw, "regenerated password")
		if pw == edited {
			return errors.New("same password")
		}
		return canLogin(ctx, "truth_app", pw, "truth")
	})
	eventually(t, "a Warning Event about the new password", func() error {
		var events eventsv1.EventList
		if err := k8s.List(ctx, &events, client.InNamespace("truth")); err != nil {
			return err
		}
		for _, e := range events.Items {
			if e.Reason == "PasswordRegenerated" && e.Type == corev1.EventTypeWarning && e.Regarding.Name == "truth" {
				return nil
			}
		}
		return errors.New("no PasswordRegenerated event")
	})
}
