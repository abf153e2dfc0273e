//go:build integration

package flow

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
)

// spec.init runs once per database: not again on later passes, not twice when a pass stops while
// it runs (that is reported, since part of it may be done), and again in a database created anew.
func TestInitSQLRunsOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.r.RecreateMissingDatabases = true
	const sql = "CREATE TABLE t (i INT);"
	must(t, k8s.Create(e.ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: "schema", Labels: map[string]string{dbv1.LabelInitSQL: "true"}},
		Data:       map[string]string{"schema.sql": sql},
	}))
	initSpec := &dbv1.DatabaseInit{ConfigMapRef: dbv1.ConfigMapKeyRef{Name: "schema", Key: "schema.sql"}}

	db := e.ready("once", dbv1.AppDatabaseSpec{DBName: "once", DeletionPolicy: dbv1.DeletionPolicyDelete, Init: initSpec})
	if got := e.engine.Scripts(); len(got) != 1 || got[0] != sql || db.Status.Init == nil || db.Status.Init.Result != dbv1.InitSucceeded {
		t.Fatalf("after the first pass: scripts %q, status.init %+v", got, db.Status.Init)
	}
	e.reconcileOK("once")
	if n := len(e.engine.Scripts()); n != 1 {
		t.Errorf("a later pass ran the SQL again (%d runs)", n)
	}

	// Dropped by hand and created anew (deletionPolicy Delete, recreation allowed): it runs again.
	e.engine.DropDatabase("once")
	e.reconcileOK("once")
	if n := len(e.engine.Scripts()); n != 2 {
		t.Errorf("the database created anew got %d runs in all, want 2", n)
	}

	// A pass that stops while the SQL runs leaves it Running; the next reports that, and does not
	// run it again.
	e.engine.LoseScript = errors.New("tenanttest: the connection was lost")
	e.create("cut", dbv1.AppDatabaseSpec{DBName: "cut", Init: initSpec})
	if _, err := e.reconcile("cut"); err == nil {
		t.Fatal("the pass whose SQL was cut short succeeded")
	}
	if cut := e.get("cut"); cut.Status.Init == nil || cut.Status.Init.Result != dbv1.InitRunning {
		t.Fatalf("status.init after the cut: %+v", cut.Status.Init)
	}
	e.engine.LoseScript = nil
	_, _ = e.reconcile("cut") // a terminal failure
	e.expectFailed(e.get("cut"), dbv1.ReasonInitFailed, "stopped while it ran")
	if n := len(e.engine.Scripts()); n != 2 {
		t.Errorf("the SQL cut short was run again (%d runs in all)", n)
	}
	if msg := e.get("cut").Status.Message; !strings.Contains(msg, "runs again once the SQL changes") {
		t.Errorf("message %q does not say how to run it again", msg)
	}
}
