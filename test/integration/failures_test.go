//go:build integration

package integration

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/cluster"
)

// Self-service: an AppDatabase in the application's namespace provisions there, and may not
// target another namespace.
func TestSelfServiceNamespaces(t *testing.T) {
	ensureNamespace(t, "team-a")
	ensureNamespace(t, "team-b")
	own := newAppDB("team-a", "orders", dbv1.AppDatabaseSpec{DBName: "orders"})
	create(t, own)
	own = waitReady(t, own)
	if s := secretOf(t, own); s.Namespace != "team-a" || own.Status.AppNamespace != "team-a" {
		t.Errorf("Secret in %s, status.appNamespace %q; want team-a", s.Namespace, own.Status.AppNamespace)
	}

	across := newAppDB("team-a", "billing", dbv1.AppDatabaseSpec{DBName: "billing", AppNamespace: "team-b"})
	create(t, across)
	failed := waitFor(t, clientKey(across), dbv1.PhaseFailed, dbv1.ReasonNamespaceNotAllowed)
	if !strings.Contains(failed.Status.Message, platformNS) {
		t.Errorf("message does not say where cross-namespace AppDatabases belong: %q", failed.Status.Message)
	}
	if databaseExists(t, "billing") || userExists(t, "billing_app") {
		t.Error("a refused cross-namespace AppDatabase got MySQL objects")
	}
	var s corev1.Secret
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: "team-b", Name: "billing-mysql-creds"}, &s); err == nil {
		t.Error("a refused cross-namespace AppDatabase got a Secret in team-b")
	}
}

// A Secret the operator did not create is never overwritten.
func TestUnmanagedSecretInTheWay(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "handsecret")
	mine := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "handsecret", Name: "notes-mysql-creds", Labels: map[string]string{"team": "notes"}},
		Data:       map[string][]byte{"password": []byte("hand-written"), "other": []byte("value")},
	}
	create(t, mine)
	db := newAppDB("handsecret", "notes", dbv1.AppDatabaseSpec{DBName: "notes"})
	create(t, db)
	failed := waitFor(t, clientKey(db), dbv1.PhaseFailed, dbv1.ReasonSecretConflict)
	if !strings.Contains(failed.Status.Message, "handsecret/notes-mysql-creds") || strings.Contains(failed.Status.Message, "vanished") {
		t.Errorf("message does not name the Secret, or says more than what happened: %q", failed.Status.Message)
	}
	var after corev1.Secret
	if err := k8s.Get(ctx, clientKey(mine), &after); err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != mine.ResourceVersion || len(after.Data) != 2 ||
		!bytes.Equal(after.Data["password"], []byte("hand-written")) || len(after.Labels) != 1 {
		t.Errorf("the hand-made Secret changed: %+v", after.ObjectMeta)
	}
}

func TestNamespaceCreatedLater(t *testing.T) {
	db := newAppDB(platformNS, "later", dbv1.AppDatabaseSpec{DBName: "later", AppNamespace: "later"})
	create(t, db)
	failed := waitFor(t, clientKey(db), dbv1.PhaseFailed, dbv1.ReasonNamespaceNotFound)
	if !strings.Contains(failed.Status.Message, `"later"`) {
		t.Errorf("message does not name the namespace: %q", failed.Status.Message)
	}
	ensureNamespace(t, "later")
	waitReady(t, db)
}

func TestUnknownCluster(t *testing.T) {
	ensureNamespace(t, "lost")
	db := newAppDB("lost", "lost", dbv1.AppDatabaseSpec{DBName: "lost", ClusterRef: "nowhere"})
	create(t, db)
	failed := waitFor(t, clientKey(db), dbv1.PhaseFailed, dbv1.ReasonUnknownCluster)
	if strings.Contains(failed.Status.Message, dbv1.DefaultClusterName) || !strings.Contains(failed.Status.Message, "ask the platform team") {
		t.Errorf("the message should say what to do and name no configured cluster: %q", failed.Status.Message)
	}
}

// The admin password is changed in MariaDB, then in the Secret: the operator picks the new one up
// without a restart.
func TestAdminPasswordRotation(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "rotate")
	newPassword := randomString()
	secrets.Store(newPassword, "new admin password")
	if _, err := root(t).Exec("ALTER USER `"+adminUser+"`@'%' IDENTIFIED BY ?", newPassword); err != nil {
		t.Fatal(err)
	}
	killSessions(t, adminUser)

	// The operator still holds the old password: a new tenant fails, and says why.
	first := newAppDB("rotate", "first", dbv1.AppDatabaseSpec{DBName: "rotate_first"})
	create(t, first)
	failed := waitFor(t, clientKey(first), dbv1.PhaseFailed, dbv1.ReasonAdminCredentialsInvalid)
	if strings.Contains(failed.Status.Message, newPassword) || strings.Contains(failed.Status.Message, adminPassword) {
		t.Fatal("status message carries an admin password")
	}

	var s corev1.Secret
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: platformNS, Name: cluster.LegacySecretName}, &s); err != nil {
		t.Fatal(err)
	}
	s.Data[cluster.KeyAdminPassword] = []byte(newPassword)
	if err := k8s.Update(ctx, &s); err != nil {
		t.Fatal(err)
	}
	adminPassword = newPassword
	waitReady(t, first)

	// Old sessions are gone; new work logs in with the new password.
	killSessions(t, adminUser)
	second := newAppDB("rotate", "second", dbv1.AppDatabaseSpec{DBName: "rotate_second"})
	create(t, second)
	waitReady(t, second)
}

// statusLeftAsReady says whether the operator logged, after offset start of its output, that it
// left the named tenant's status as Ready during an outage.
func statusLeftAsReady(start int, name string) error {
	for _, line := range strings.Split(operatorLog.String()[start:], "\n") {
		if strings.Contains(line, "status left as Ready") && strings.Contains(line, `"name":"`+name+`"`) {
			return nil
		}
	}
	return fmt.Errorf("no pass of %s met the outage yet", name)
}

func killSessions(t *testing.T, user string) { t.Helper(); killSessionsOn(t, root(t), user) }

// killSessionsOn ends every session of user on a server, so pooled connections cannot hide a
// stale password.
func killSessionsOn(t *testing.T, db *sql.DB, user string) {
	t.Helper()
	rows, err := db.Query("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?", user)
	if err != nil {
		t.Fatal(err)
	}
	// The loop's last Next closes the rows; the deferred Close covers a Fatal inside it.
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		_, _ = db.Exec(fmt.Sprintf("KILL %d", id))
	}
}

// MySQL stops: a tenant being provisioned fails with ClusterUnreachable and recovers by itself when
// MySQL is back; a Ready tenant is not rewritten meanwhile; a Ready tenant whose Secret was deleted
// during the outage gets its new password applied as soon as MySQL is back, not at the next
// periodic check.
func TestClusterOutage(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "outage")
	steady := newAppDB("outage", "steady", dbv1.AppDatabaseSpec{DBName: "steady"})
	rebuilt := newAppDB("outage", "rebuilt", dbv1.AppDatabaseSpec{DBName: "rebuilt"})
	create(t, steady)
	create(t, rebuilt)
	steady, rebuilt = waitReady(t, steady), waitReady(t, rebuilt)
	oldSecret := secretOf(t, rebuilt)

	maria.Stop()
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			_ = maria.Start()
		}
	})

	during := newAppDB("outage", "during", dbv1.AppDatabaseSpec{DBName: "during"})
	create(t, during)
	failed := waitFor(t, clientKey(during), dbv1.PhaseFailed, dbv1.ReasonClusterUnreachable)
	if !strings.Contains(failed.Status.Message, "cannot reach MySQL cluster "+dbv1.DefaultClusterName) {
		t.Errorf("message: %q", failed.Status.Message)
	}

	// A forced check of the Ready tenant during the outage leaves its status alone.
	logStart := len(operatorLog.String())
	patch := client.MergeFrom(steady.DeepCopy())
	steady.Annotations = map[string]string{dbv1.AnnotationReconcile: "outage"}
	if err := k8s.Patch(ctx, steady, patch); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the Ready tenant to be checked during the outage", func() error { return statusLeftAsReady(logStart, "steady") })
	var current dbv1.AppDatabase
	if err := k8s.Get(ctx, clientKey(steady), &current); err != nil {
		t.Fatal(err)
	}
	if current.Status.Phase != dbv1.PhaseReady {
		t.Errorf("Ready tenant rewritten during the outage: %+v", current.Status)
	}

	// The Secret is deleted meanwhile: the pass it causes cannot get through to MySQL.
	logStart = len(operatorLog.String())
	if err := k8s.Delete(ctx, oldSecret); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the pass for the deleted Secret to meet the outage", func() error { return statusLeftAsReady(logStart, "rebuilt") })

	if err := maria.Start(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	waitReady(t, during)
	waitReady(t, steady)
	// The periodic check is an hour away in the tests: only the requeue on recovery repairs it.
	eventually(t, "the recreated Secret's password to log in", func() error {
		var s corev1.Secret
		if err := k8s.Get(ctx, clientKey(oldSecret), &s); err != nil {
			return err
		}
		secrets.Store(string(s.Data["password"]), "outage/rebuilt recreated password")
		return canLogin(ctx, "rebuilt_app", string(s.Data["password"]), "rebuilt")
	})
}

// Restarting the operator changes nothing for existing tenants: no SQL write, no Secret
// revision, no status change beyond a forced reconcile's timestamps.
func TestOperatorRestartChangesNothing(t *testing.T) {
	ctx := ctxFor(t)
	var before dbv1.AppDatabaseList
	if err := k8s.List(ctx, &before); err != nil {
		t.Fatal(err)
	}
	secretsBefore := managedSecretVersions(t)
	counters := writeCounters(t)
	logStart := len(operatorLog.String())

	operator.Kill()
	restartOperator(t)

	// Force a full pass over every AppDatabase, and wait until each was handled.
	stamp := fmt.Sprint(time.Now().UnixNano())
	for i := range before.Items {
		db := before.Items[i].DeepCopy()
		patch := client.MergeFrom(db.DeepCopy())
		metav1.SetMetaDataAnnotation(&db.ObjectMeta, dbv1.AnnotationReconcile, stamp)
		if err := k8s.Patch(ctx, db, patch); err != nil {
			t.Fatal(err)
		}
	}
	for _, db := range before.Items {
		if db.Status.Phase != dbv1.PhaseReady {
			continue
		}
		eventually(t, "forced reconcile of "+db.Name, func() error {
			var now dbv1.AppDatabase
			if err := k8s.Get(ctx, clientKey(&db), &now); err != nil {
				return err
			}
			if now.Status.LastHandledReconcileAt != stamp {
				return fmt.Errorf("not yet")
			}
			if now.Status.Phase != db.Status.Phase || now.Status.Message != db.Status.Message {
				t.Errorf("%s changed from %s to %s", db.Name, db.Status.Phase, now.Status.Phase)
			}
			return nil
		})
	}
	assertNoWrites(t, counters, writeCounters(t))
	after := managedSecretVersions(t)
	for key, rv := range secretsBefore {
		if after[key] != rv {
			t.Errorf("Secret %s was rewritten after the restart", key)
		}
	}
	for _, line := range strings.Split(operatorLog.String()[logStart:], "\n") {
		if strings.Contains(line, "Changed MySQL") || strings.Contains(line, "Created Secret") || strings.Contains(line, "Updated Secret") {
			t.Errorf("after the restart the operator logged: %s", line)
		}
	}
}

func managedSecretVersions(t *testing.T) map[string]string {
	t.Helper()
	var list corev1.SecretList
	if err := k8s.List(context.Background(), &list, client.MatchingLabels{dbv1.LabelManagedBy: dbv1.ManagedByValue}); err != nil {
		t.Fatal(err)
	}
	versions := map[string]string{}
	for _, s := range list.Items {
		versions[s.Namespace+"/"+s.Name] = s.ResourceVersion
	}
	return versions
}
