//go:build integration

package integration

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/metrics"
	"github.com/stillwaters/db-concierge/test/stack"
)

// clusterRef is the tenant's to write: made-up names add no series to /metrics, they are counted
// together as cluster "unknown".
func TestMadeUpClusterRefsAddNoSeries(t *testing.T) {
	ensureNamespace(t, "made-up")
	metricsAddr, _ := observedOperator(t)
	names := []string{"made-up-one", "made-up-two", "made-up-three"}
	for i, name := range names {
		db := newAppDB("made-up", name, dbv1.AppDatabaseSpec{DBName: fmt.Sprintf("made_up_%d", i), ClusterRef: name})
		create(t, db)
		waitFor(t, clientKey(db), dbv1.PhaseFailed, dbv1.ReasonUnknownCluster)
	}
	eventually(t, "the made-up clusters counted as unknown", func() error {
		if v := scrape(t, metricsAddr, "db_concierge_appdatabases", map[string]string{"phase": "Failed", "cluster": metrics.UnknownCluster}); v < float64(len(names)) {
			return fmt.Errorf("db_concierge_appdatabases{cluster=%q,phase=Failed} = %v", metrics.UnknownCluster, v)
		}
		return nil
	})
	body, err := stack.HTTPGet("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if strings.Contains(body, name) {
			t.Errorf("/metrics has a series naming made-up cluster %s", name)
		}
	}
}

// A tenant on a cluster whose admin password is wrong reads what to do, not the cluster's admin
// endpoint or account; the MySQLCluster's status, the platform team's, keeps the details.
func TestTenantSeesNoAdminDetails(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "exposure")
	server, _, _ := secondCluster(t, "exposed", 2)
	endpoint := fmt.Sprintf("127.0.0.1:%d", server.Port)
	var admin corev1.Secret
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: platformNS, Name: "exposed-admin"}, &admin); err != nil {
		t.Fatal(err)
	}
	admin.Data["password"] = []byte("not-the-password")
	if err := k8s.Update(ctx, &admin); err != nil {
		t.Fatal(err)
	}
	clusterStatus := waitClusterStatus(t, "exposed", func(s dbv1.MySQLClusterStatus) error {
		c := meta.FindStatusCondition(s.Conditions, dbv1.ConditionReady)
		if c == nil || c.Reason != dbv1.ReasonAdminCredentialsInvalid {
			return fmt.Errorf("status does not show the refused login yet: %+v", c)
		}
		return nil
	})
	if !strings.Contains(clusterStatus.Message, "exposed_admin") {
		t.Errorf("the MySQLCluster's status lost the details: %s", clusterStatus.Message)
	}

	db := newAppDB("exposure", "exposed", dbv1.AppDatabaseSpec{DBName: "exposed", ClusterRef: "exposed"})
	create(t, db)
	failed := waitFor(t, clientKey(db), dbv1.PhaseFailed, dbv1.ReasonAdminCredentialsInvalid)
	var events eventsv1.EventList
	eventually(t, "a Warning Event for the tenant", func() error {
		if err := k8s.List(ctx, &events, client.InNamespace("exposure")); err != nil {
			return err
		}
		for _, e := range events.Items {
			if e.Regarding.Name == db.Name && e.Reason == dbv1.ReasonAdminCredentialsInvalid {
				return nil
			}
		}
		return errors.New("none yet")
	})
	texts := []string{failed.Status.Message}
	for _, c := range failed.Status.Conditions {
		texts = append(texts, c.Message)
	}
	for _, e := range events.Items {
		if e.Regarding.Name == db.Name {
			texts = append(texts, e.Note)
		}
	}
	for _, text := range texts {
		for _, hidden := range []string{"exposed_admin", endpoint} {
			if strings.Contains(text, hidden) {
				t.Errorf("the tenant reads %q: %s", hidden, text)
			}
		}
	}
	if !strings.Contains(failed.Status.Message, "the platform team") {
		t.Errorf("the message does not say who acts: %s", failed.Status.Message)
	}
	// The platform team's log has the full error.
	eventually(t, "the full message in the operator's log", func() error {
		for _, line := range strings.Split(operator.Log(), "\n") {
			if strings.Contains(line, `"AppDatabase":{"name":"exposed"`) && strings.Contains(line, "exposed_admin") {
				return nil
			}
		}
		return errors.New("not logged")
	})
}
