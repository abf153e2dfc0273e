//go:build integration

package flow

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
)

// Case 5b: a new tenant's status is written once, with the outcome, when its pass is quick; a
// pass that outlasts the progress delay says Creating first.
func TestCreatingOnlyWhenSlow(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name          string
		progressDelay time.Duration
		// holdProvision keeps Provision waiting until the API server shows Creating.
		holdProvision bool
		wantWrites    int
	}{
		{name: "quick pass", wantWrites: 1},
		{name: "slow pass", progressDelay: 10 * time.Millisecond, holdProvision: true, wantWrites: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			writes := &staleStatus{}
			e := newEnv(t, envOptions{progressDelay: tc.progressDelay, wrap: func(c client.Client) client.Client {
				writes.Client = c
				return writes
			}})
			var seen dbv1.AppDatabaseStatus
			if tc.holdProvision {
				e.engine.SetStepHook(func(step string) error {
					if step == "database" {
						e.waitFor("the Creating status", func() bool {
							seen = e.get("progress").Status
							return seen.Phase != ""
						})
					}
					return nil
				})
			}
			e.create("progress", dbv1.AppDatabaseSpec{DBName: "progress"})
			e.reconcileOK("progress")
			db := e.get("progress")
			e.expectReady(db)
			if got := writes.count(); got != tc.wantWrites {
				t.Errorf("the pass wrote the status %d times, want %d", got, tc.wantWrites)
			}
			if tc.holdProvision && (seen.Phase != dbv1.PhaseCreating || readyCondition(&dbv1.AppDatabase{Status: seen}).Reason != dbv1.ReasonProvisioning ||
				seen.AppNamespace != e.ns) {
				t.Errorf("while the pass ran the API server held %+v, want phase Creating, reason Provisioning, the app namespace", seen)
			}
			if ev := e.events.take(); !slices.Equal(reasons(ev), []string{dbv1.ReasonProvisioned}) {
				t.Errorf("events %v, want one Provisioned", reasons(ev))
			}
		})
	}
}

// Case 5c: an AppDatabase of the platform namespace records its target namespace's UID on the API
// server before the first credentials are written into that namespace, however quick the pass.
func TestNamespaceRecordedBeforeCredentials(t *testing.T) {
	t.Parallel()
	recorder := &uidAtSecretCreate{}
	e := newEnv(t, envOptions{wrap: func(c client.Client) client.Client {
		recorder.Client = c
		return recorder
	}})
	name := "xns-" + strings.TrimPrefix(e.ns, "flow-")
	key := types.NamespacedName{Namespace: platformNS, Name: name}
	recorder.appDatabase = key
	db := &dbv1.AppDatabase{ObjectMeta: metav1.ObjectMeta{Namespace: platformNS, Name: name},
		Spec: dbv1.AppDatabaseSpec{ClusterRef: e.cluster, DBName: strings.ReplaceAll(name, "-", "_"), AppNamespace: e.ns}}
	must(t, k8s.Create(e.ctx, db))
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), db) })
	if _, err := e.r.Reconcile(e.ctx, reconcile.Request{NamespacedName: key}); err != nil {
		t.Fatal(err)
	}
	var ns corev1.Namespace
	must(t, k8s.Get(e.ctx, client.ObjectKey{Name: e.ns}, &ns))
	must(t, k8s.Get(e.ctx, key, db))
	e.expectReady(db)
	if got := recorder.uids(); len(got) != 1 || got[0] != string(ns.UID) {
		t.Errorf("when the Secret was created the AppDatabase's status recorded namespace UIDs %q, want %q", got, ns.UID)
	}
}

// uidAtSecretCreate records, at each Secret create, the namespace UID the API server holds in
// the status of one AppDatabase.
type uidAtSecretCreate struct {
	client.Client
	appDatabase types.NamespacedName
	mu          sync.Mutex
	recorded    []string
}

func (c *uidAtSecretCreate) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	if _, ok := obj.(*corev1.Secret); ok {
		var db dbv1.AppDatabase
		if err := k8s.Get(ctx, c.appDatabase, &db); err != nil {
			return err
		}
		c.mu.Lock()
		c.recorded = append(c.recorded, db.Status.AppNamespaceUID)
		c.mu.Unlock()
	}
	return c.Client.Create(ctx, obj, opts...)
}

func (c *uidAtSecretCreate) uids() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.recorded)
}
