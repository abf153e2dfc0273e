package controller

import (
	"maps"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/metrics"
)

func TestCountAppDatabases(t *testing.T) {
	db := func(name, cluster string, phase dbv1.Phase) client.Object {
		return &dbv1.AppDatabase{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name}, Spec: dbv1.AppDatabaseSpec{ClusterRef: cluster}, Status: dbv1.AppDatabaseStatus{Phase: phase}}
	}
	tenants := sweepingReconciler(t,
		db("a", "prod", dbv1.PhaseReady),
		db("b", "prod", dbv1.PhaseReady),
		db("c", "prod", ""),
		db("d", "made-up-1", dbv1.PhaseFailed),
		db("e", "made-up-2", dbv1.PhaseFailed),
		db("f", "staging", dbv1.PhaseReady),
	).cachedAppDatabases()
	all := func(string) bool { return true }
	got, err := countAppDatabases(t.Context(), tenants, []string{"prod", "staging"}, all)
	if err != nil {
		t.Fatal(err)
	}
	want := map[phaseAndCluster]int{
		{"Ready", "prod"}: 2, {"Pending", "prod"}: 1, {"Failed", metrics.UnknownCluster}: 2, {"Ready", "staging"}: 1,
	}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}

	// An instance limited to prod (--clusters=prod) counts prod's alone; staging is another
	// instance's, and a made-up name is nobody's.
	onlyProd := func(name string) bool { return name == "prod" }
	got, err = countAppDatabases(t.Context(), tenants, []string{"prod"}, onlyProd)
	if err != nil {
		t.Fatal(err)
	}
	want = map[phaseAndCluster]int{{"Ready", "prod"}: 2, {"Pending", "prod"}: 1}
	if !maps.Equal(got, want) {
		t.Errorf("one instance of several: got %v, want %v", got, want)
	}
}
