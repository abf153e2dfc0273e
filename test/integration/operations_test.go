//go:build integration

package integration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/controller"
	"github.com/stillwaters/db-concierge/test/stack"
)

// observedOperator replaces the suite's operator with one that checks for drift every few
// seconds and serves metrics and probes on free ports; it returns the metrics address.
func observedOperator(t *testing.T, extra ...string) (metricsAddr, probeAddr string) {
	t.Helper()
	metricsPort, err := stack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	probePort, err := stack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr, probeAddr = fmt.Sprintf("127.0.0.1:%d", metricsPort), fmt.Sprintf("127.0.0.1:%d", probePort)
	operator.Stop()
	args := append(operatorArgs("--resync-period=3s", "--metrics-bind-address="+metricsAddr, "--health-probe-bind-address="+probeAddr), extra...)
	if operator, err = stack.StartOperator(operatorBin, args, nil, operatorLog); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { restartOperator(t) })
	eventually(t, "the operator's endpoints to answer", func() error { _, err := stack.HTTPGet("http://" + metricsAddr + "/readyz"); return err })
	return metricsAddr, probeAddr
}

// scrape reads /metrics and returns the value of the sample with the given name and labels.
func scrape(t *testing.T, addr, name string, labels map[string]string) float64 {
	t.Helper()
	body, err := stack.HTTPGet("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	family, ok := families[name]
	if !ok {
		return 0
	}
	var total float64
	for _, m := range family.Metric {
		match := true
		for k, v := range labels {
			found := false
			for _, l := range m.Label {
				found = found || l.GetName() == k && l.GetValue() == v
			}
			match = match && found
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		}
	}
	return total
}

func hasEvent(ctx context.Context, namespace, name, reason, text string) error {
	var events eventsv1.EventList
	if err := k8s.List(ctx, &events, client.InNamespace(namespace)); err != nil {
		return err
	}
	for _, e := range events.Items {
		if e.Regarding.Name == name && e.Reason == reason && strings.Contains(e.Note, text) {
			return nil
		}
	}
	return fmt.Errorf("no %s Event mentioning %q", reason, text)
}

// Things changed by hand behind a Ready tenant's back are noticed by the periodic check and put
// back, each with an Event and a metric; a dropped database is not recreated empty unless the
// policy and the operator's setting allow it; and checks that find nothing write nothing.
func TestDriftRepair(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "drift")
	metricsAddr, _ := observedOperator(t, "--recreate-missing-databases")
	db := newAppDB("drift", "drift", dbv1.AppDatabaseSpec{DBName: "drift"})
	disposable := newAppDB("drift", "disposable", dbv1.AppDatabaseSpec{DBName: "drift_disposable", DeletionPolicy: dbv1.DeletionPolicyDelete})
	kept := newAppDB("drift", "kept", dbv1.AppDatabaseSpec{DBName: "drift_kept"})
	for _, d := range []*dbv1.AppDatabase{db, disposable, kept} {
		create(t, d)
	}
	db = waitReady(t, db)
	waitReady(t, disposable)
	kept = waitReady(t, kept)
	password := func() string { return string(secretOf(t, db).Data["password"]) }

	// Nothing drifted: several periodic checks go by without a single write.
	before := writeCounters(t)
	time.Sleep(8 * time.Second)
	assertNoWrites(t, before, writeCounters(t))

	cases := []struct {
		name  string
		drift func()
		kind  string // drift_repairs_total label
		check func() error
	}{
		{"user dropped", func() { mustExec(t, "DROP USER drift_app@'%'") }, "user_created",
			func() error { return canLogin(ctx, "drift_app", password(), "drift") }},
		{"password changed", func() { mustExec(t, "ALTER USER drift_app@'%' IDENTIFIED BY 'changed-by-hand'") }, "password_reset",
			func() error { return canLogin(ctx, "drift_app", password(), "drift") }},
		{"grant revoked", func() { mustExec(t, "REVOKE ALL PRIVILEGES ON `drift`.* FROM drift_app@'%'") }, "grant_restored",
			func() error { return canLogin(ctx, "drift_app", password(), "drift") }},
		{"grant widened", func() { mustExec(t, "GRANT SELECT ON mysql.* TO drift_app@'%'") }, "grant_revoked",
			func() error {
				for _, g := range grantsOf(t, "drift_app") {
					if strings.Contains(g, "`mysql`") {
						return errors.New("still granted on mysql")
					}
				}
				return nil
			}},
		{"Secret edited", func() {
			s := secretOf(t, db)
			s.Data["host"], s.Data["database"] = []byte("elsewhere"), []byte("other")
			if err := k8s.Update(ctx, s); err != nil {
				t.Fatal(err)
			}
		}, "secret_restored", func() error {
			if s := secretOf(t, db); string(s.Data["host"]) != "127.0.0.1" || string(s.Data["database"]) != "drift" {
				return errors.New("not restored")
			}
			return nil
		}},
		{"Secret deleted", func() {
			if err := k8s.Delete(ctx, secretOf(t, db)); err != nil {
				t.Fatal(err)
			}
		}, "secret_created", func() error {
			var s corev1.Secret
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: "drift", Name: "drift-mysql-creds"}, &s); err != nil {
				return err
			}
			secrets.Store(string(s.Data["password"]), "regenerated drift password")
			return canLogin(ctx, "drift_app", string(s.Data["password"]), "drift")
		}},
		{"database dropped, Delete policy, recreation allowed", func() { mustExec(t, "DROP DATABASE drift_disposable") }, "database_recreated",
			func() error {
				if !databaseExists(t, "drift_disposable") {
					return errors.New("not recreated")
				}
				return nil
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			repairs := scrape(t, metricsAddr, "db_concierge_drift_repairs_total", map[string]string{"kind": c.kind})
			c.drift()
			eventually(t, "the repair", c.check)
			eventually(t, "the metric", func() error {
				if now := scrape(t, metricsAddr, "db_concierge_drift_repairs_total", map[string]string{"kind": c.kind}); now <= repairs {
					return fmt.Errorf("drift_repairs_total{kind=%q} still %v", c.kind, now)
				}
				return nil
			})
		})
	}
	eventually(t, "a DriftRepaired Event", func() error { return hasEvent(ctx, "drift", "drift", controller.ReasonDriftRepaired, "repaired") })
	eventually(t, "the Warning about the regenerated password", func() error {
		return hasEvent(ctx, "drift", "drift", "PasswordRegenerated", "cannot be recovered")
	})

	// Retain: a dropped database is never recreated empty under the application.
	mustExec(t, "DROP DATABASE drift_kept")
	failed := waitFor(t, clientKey(kept), dbv1.PhaseFailed, dbv1.ReasonDatabaseMissing)
	if !strings.Contains(failed.Status.Message, "restore it from a backup") {
		t.Errorf("message: %s", failed.Status.Message)
	}
	if databaseExists(t, "drift_kept") {
		t.Error("a Retain tenant's dropped database was recreated")
	}
}

func mustExec(t *testing.T, query string) {
	t.Helper()
	if _, err := root(t).Exec(query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// The metrics tell the story of a scenario, and the probes answer where the manifests point.
func TestMetricsAndProbes(t *testing.T) {
	ensureNamespace(t, "observed")
	metricsAddr, probeAddr := observedOperator(t)
	for _, url := range []string{"http://" + metricsAddr + "/healthz", "http://" + metricsAddr + "/readyz",
		"http://" + probeAddr + "/healthz", "http://" + probeAddr + "/readyz"} {
		if _, err := stack.HTTPGet(url); err != nil {
			t.Errorf("%s: %v", url, err)
		}
	}
	ops := scrape(t, metricsAddr, "db_concierge_sql_operations_total", map[string]string{"cluster": dbv1.DefaultClusterName, "operation": "create_database"})
	ready := newAppDB("observed", "observed", dbv1.AppDatabaseSpec{DBName: "observed"})
	lost := newAppDB("observed", "lost", dbv1.AppDatabaseSpec{DBName: "observed_lost", ClusterRef: "nowhere"})
	create(t, ready)
	create(t, lost)
	waitReady(t, ready)
	waitFor(t, clientKey(lost), dbv1.PhaseFailed, dbv1.ReasonUnknownCluster)

	var list dbv1.AppDatabaseList
	if err := k8s.List(context.Background(), &list); err != nil {
		t.Fatal(err)
	}
	// AppDatabases naming no configured cluster are counted together, as cluster "unknown".
	var clusters dbv1.MySQLClusterList
	if err := k8s.List(context.Background(), &clusters); err != nil {
		t.Fatal(err)
	}
	configured := map[string]bool{dbv1.DefaultClusterName: true}
	for _, c := range clusters.Items {
		configured[c.Name] = true
	}
	readyCount, lostCount := 0, 0
	for _, d := range list.Items {
		switch {
		case d.Status.Phase == dbv1.PhaseReady && d.Spec.ClusterRef == dbv1.DefaultClusterName:
			readyCount++
		case d.Status.Phase == dbv1.PhaseFailed && !configured[d.Spec.ClusterRef]:
			lostCount++
		}
	}
	// Every log line about an AppDatabase names it.
	for _, line := range strings.Split(operatorLog.String(), "\n") {
		for _, msg := range []string{`"msg":"Changed MySQL"`, `"msg":"Created Secret"`, `"msg":"Updated Secret"`, `"msg":"Reconciler error","controller":"appdatabase"`} {
			if strings.Contains(line, msg) && !strings.Contains(line, `"AppDatabase":{"name":`) {
				t.Errorf("a log line about an AppDatabase does not name it: %.200s", line)
			}
		}
	}
	eventually(t, "the metrics", func() error {
		checks := []struct {
			name   string
			labels map[string]string
			want   func(float64) bool
		}{
			{"db_concierge_appdatabases", map[string]string{"phase": "Ready", "cluster": dbv1.DefaultClusterName}, func(v float64) bool { return v == float64(readyCount) }},
			{"db_concierge_appdatabases", map[string]string{"phase": "Failed", "cluster": "unknown"}, func(v float64) bool { return v == float64(lostCount) }},
			{"db_concierge_sql_operations_total", map[string]string{"cluster": dbv1.DefaultClusterName, "operation": "create_database"}, func(v float64) bool { return v == ops+1 }},
			{"db_concierge_appdatabase_reconciles_total", map[string]string{"outcome": dbv1.ReasonUnknownCluster}, func(v float64) bool { return v >= 1 }},
			{"db_concierge_appdatabase_time_to_ready_seconds", nil, func(v float64) bool { return v >= 1 }},
			{"db_concierge_appdatabase_reconcile_duration_seconds", map[string]string{"outcome": dbv1.ReasonProvisioned}, func(v float64) bool { return v >= 1 }},
			{"db_concierge_cluster_reachable", map[string]string{"cluster": dbv1.DefaultClusterName}, func(v float64) bool { return v == 1 }},
			{"controller_runtime_reconcile_total", map[string]string{"controller": "appdatabase"}, func(v float64) bool { return v >= 2 }},
		}
		for _, c := range checks {
			if v := scrape(t, metricsAddr, c.name, c.labels); !c.want(v) {
				return fmt.Errorf("%s%v = %v", c.name, c.labels, v)
			}
		}
		return nil
	})
}
