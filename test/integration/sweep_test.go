//go:build integration

package integration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
)

// Drift made by hand on a Ready tenant is found by its cluster's sweep, which queues the tenant
// for the full pass that repairs it: nothing else queues a Ready tenant whose Kubernetes objects
// did not change.
func TestDriftSweepRepairs(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "swept")
	metricsAddr, _ := observedOperator(t, "--recreate-missing-databases")
	db := newAppDB("swept", "swept", dbv1.AppDatabaseSpec{DBName: "swept_drift", DeletionPolicy: dbv1.DeletionPolicyDelete})
	create(t, db)
	db = waitReady(t, db)
	password := func() string { return string(secretOf(t, db).Data["password"]) }
	loginWorks := func() error { return canLogin(ctx, "swept_drift_app", password(), "swept_drift") }

	cases := []struct {
		name   string
		drift  string
		reason string // drift_sweep_enqueued_total label
		check  func() error
	}{
		{"database dropped", "DROP DATABASE swept_drift", "database_missing", func() error {
			if !databaseExists(t, "swept_drift") {
				return errors.New("not recreated")
			}
			return nil
		}},
		{"password changed", "ALTER USER swept_drift_app@'%' IDENTIFIED BY 'changed-by-hand'", "password_differs", loginWorks},
		{"grant beyond the database", "GRANT SELECT ON mysql.* TO swept_drift_app@'%'", "grant_beyond_database", func() error {
			for _, g := range grantsOf(t, "swept_drift_app") {
				if strings.Contains(g, "`mysql`") {
					return fmt.Errorf("still granted: %s", g)
				}
			}
			return nil
		}},
		{"grant revoked", "REVOKE ALL PRIVILEGES ON `swept\\_drift`.* FROM swept_drift_app@'%'", "grant_missing", loginWorks},
		{"user dropped", "DROP USER swept_drift_app@'%'", "user_missing", loginWorks},
		{"TLS required by hand", "ALTER USER swept_drift_app@'%' REQUIRE SSL", "tls_requirement_differs", func() error {
			for _, g := range grantsOf(t, "swept_drift_app") {
				if strings.Contains(g, "REQUIRE SSL") {
					return fmt.Errorf("still required: %s", g)
				}
			}
			return nil
		}},
		{"charset changed", "ALTER DATABASE swept_drift CHARACTER SET latin1 COLLATE latin1_swedish_ci", "charset_differs", func() error {
			var charset string
			if err := root(t).QueryRow("SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'swept_drift'").Scan(&charset); err != nil {
				return err
			}
			if charset != "utf8mb4" {
				return fmt.Errorf("charset is %s", charset)
			}
			return nil
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			labels := map[string]string{"cluster": dbv1.DefaultClusterName, "reason": c.reason}
			enqueued := scrape(t, metricsAddr, "db_concierge_drift_sweep_enqueued_total", labels)
			mustExec(t, c.drift)
			eventually(t, "the repair", c.check)
			eventually(t, "the sweep to have queued the tenant", func() error {
				if now := scrape(t, metricsAddr, "db_concierge_drift_sweep_enqueued_total", labels); now <= enqueued {
					return fmt.Errorf("drift_sweep_enqueued_total%v still %v", labels, now)
				}
				return nil
			})
			waitReady(t, db)
		})
	}
}

// A quiet cluster with Ready tenants costs one sweep per period and no full pass: no reconcile,
// no SHOW GRANTS, no login, no write.
func TestDriftSweepOfAQuietCluster(t *testing.T) {
	const name, tenants = "sweep-quiet", 20
	ensureNamespace(t, name)
	sameServerCluster(t, name)
	metricsAddr, _ := observedOperator(t, "--clusters="+name, "--resync-period=2s")
	dbs := make([]*dbv1.AppDatabase, tenants)
	for i := range dbs {
		dbs[i] = newAppDB(name, fmt.Sprintf("quiet-%02d", i), dbv1.AppDatabaseSpec{DBName: fmt.Sprintf("sweep_quiet_%02d", i), ClusterRef: name})
		create(t, dbs[i])
	}
	for _, db := range dbs {
		waitReady(t, db)
	}
	completed := map[string]string{"cluster": name, "result": "completed"}
	sweepsAfter := func(n float64) {
		t.Helper()
		eventually(t, fmt.Sprintf("%v sweeps", n), func() error {
			if got := scrape(t, metricsAddr, "db_concierge_drift_sweeps_total", completed); got < n {
				return fmt.Errorf("%v sweeps", got)
			}
			return nil
		})
	}
	// One sweep after every tenant is Ready, so that none of their first passes is still running.
	sweepsAfter(scrape(t, metricsAddr, "db_concierge_drift_sweeps_total", completed) + 1)

	passes := scrape(t, metricsAddr, "db_concierge_appdatabase_reconciles_total", nil)
	checked := scrape(t, metricsAddr, "db_concierge_drift_sweep_checked_total", map[string]string{"cluster": name})
	enqueued := scrape(t, metricsAddr, "db_concierge_drift_sweep_enqueued_total", map[string]string{"cluster": name})
	checks := statusCounter(t, "Com_show_grants")
	logins := statusCounter(t, "Connections")
	writes := writeCounters(t)
	// Four, so that three whole sweeps fall inside the window, whichever was running at its start.
	sweepsAfter(scrape(t, metricsAddr, "db_concierge_drift_sweeps_total", completed) + 4)

	if now := scrape(t, metricsAddr, "db_concierge_drift_sweep_checked_total", map[string]string{"cluster": name}); now-checked < 3*tenants {
		t.Errorf("four sweeps compared %v tenants, want every one of the %d in at least three", now-checked, tenants)
	}
	if now := scrape(t, metricsAddr, "db_concierge_appdatabase_reconciles_total", nil); now != passes {
		t.Errorf("%v full passes over four sweeps of a quiet cluster", now-passes)
	}
	if now := scrape(t, metricsAddr, "db_concierge_drift_sweep_enqueued_total", map[string]string{"cluster": name}); now != enqueued {
		t.Errorf("the sweeps queued %v tenants of a quiet cluster", now-enqueued)
	}
	if now := statusCounter(t, "Com_show_grants"); now != checks {
		t.Errorf("%d SHOW GRANTS over four sweeps", now-checks)
	}
	// The test's own reads open a few connections, and the operator's pool may renew one: a
	// login per tenant would be many more.
	if now := statusCounter(t, "Connections"); now-logins >= tenants {
		t.Errorf("%d new connections over four sweeps: tenants logged in", now-logins)
	}
	assertNoWrites(t, writes, writeCounters(t))
	for _, db := range dbs {
		deleteAndWait(t, db)
	}
}

// sameServerCluster describes the suite's MariaDB, with the suite's admin account, as one more
// MySQLCluster: an operator serving it alone (--clusters) sees none of the other tests' tenants.
func sameServerCluster(t *testing.T, name string) {
	t.Helper()
	create(t, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: platformNS, Name: name + "-admin"},
		StringData: map[string]string{"username": adminUser, "password": adminPassword},
	})
	mc := &dbv1.MySQLCluster{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: dbv1.MySQLClusterSpec{
			AdminEndpoints:   []dbv1.Endpoint{{Host: "127.0.0.1", Port: int32(maria.Port)}}, //nolint:gosec // G115: a TCP port fits in int32
			AdminCredentials: dbv1.AdminCredentials{SecretName: name + "-admin", UsernameKey: "username", PasswordKey: "password"},
		},
	}
	create(t, mc)
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), mc) })
}

// statusCounter reads one of the server's global status counters.
func statusCounter(t *testing.T, name string) int64 {
	t.Helper()
	var variable string
	var value int64
	if err := root(t).QueryRow("SHOW GLOBAL STATUS LIKE ?", name).Scan(&variable, &value); err != nil {
		t.Fatal(err)
	}
	return value
}
