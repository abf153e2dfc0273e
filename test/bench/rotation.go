package main

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
)

// rotationGrace is the grace period of the rotation scenario's tenants: the end of it, when the
// previous accounts are locked, is measured too.
const rotationGrace = 5 * time.Second

// RotationResult is the rotation scenario: N tenants, each with the main user and one extra
// account, all asked to rotate at once; then the end of their grace periods.
type RotationResult struct {
	N                 int     `json:"n"`
	AccountsPerTenant int     `json:"accountsPerTenant"`
	WallSeconds       float64 `json:"wallSeconds"`
	// Rotation counts the operator's requests and statements from the annotations until every
	// rotation is recorded; GraceEnd from then until every previous account is locked.
	Rotation RotationWrites `json:"rotation"`
	GraceEnd RotationWrites `json:"graceEnd"`
}

// RotationWrites are the operator's writes per rotated tenant in one phase.
type RotationWrites struct {
	APIWritesPerTenant float64            `json:"apiWritesPerTenant"`
	EventsPerTenant    float64            `json:"eventsPerTenant"`
	SQLWritesPerTenant float64            `json:"sqlWritesPerTenant"`
	APIPerTenant       map[string]float64 `json:"apiPerTenant"`
	SQLPerTenant       map[string]float64 `json:"sqlPerTenant"`
}

// rotation provisions n rotating tenants, rotates them all at once and waits for their grace
// periods to end, counting what the operator writes in each phase.
func (b *bench) rotation(ctx context.Context, n int) (*RotationResult, error) {
	ns := fmt.Sprintf("rotation-%d", n)
	grace := metav1.Duration{Duration: rotationGrace}
	dbs := make([]*dbv1.AppDatabase, n)
	for i := range dbs {
		db := appDatabase(ns, fmt.Sprintf("r%d-%05d", n, i))
		db.Spec.Users = []dbv1.AppDatabaseUser{{Name: db.Spec.DBName + "_ro", Access: dbv1.AccessReadOnly}}
		db.Spec.PasswordRotation = &dbv1.PasswordRotation{GracePeriod: &grace}
		dbs[i] = db
	}
	if _, _, err := b.measureBurst(ctx, ns, dbs); err != nil {
		return nil, err
	}

	stamp := randomHex()
	before, err := b.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	if err := b.annotateAll(ctx, dbs, dbv1.AnnotationRotatePassword, stamp); err != nil {
		return nil, err
	}
	if err := b.waitAll(ctx, ns, n, func(db *dbv1.AppDatabase) bool {
		r := db.Status.PasswordRotation
		return isReady(db) && r != nil && r.LastHandledRotateAt == stamp
	}); err != nil {
		return nil, fmt.Errorf("waiting for the rotations: %w", err)
	}
	rotated, err := b.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	// Each tenant's status is written when its previous accounts are locked (its last
	// reconcile time moves past the end of its grace period).
	if err := b.waitAll(ctx, ns, n, func(db *dbv1.AppDatabase) bool {
		r := db.Status.PasswordRotation
		return r != nil && r.PreviousValidUntil != nil && db.Status.LastReconcileTime != nil && !db.Status.LastReconcileTime.Before(r.PreviousValidUntil)
	}); err != nil {
		return nil, fmt.Errorf("waiting for the grace periods to end: %w", err)
	}
	locked, err := b.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	rotationAPI, graceAPI := delta(before.api, rotated.api), delta(rotated.api, locked.api)
	rotationAPI["PATCH appdatabases"] -= float64(n) // the harness's annotations
	// And the harness's polling.
	delete(rotationAPI, "LIST appdatabases")
	delete(graceAPI, "LIST appdatabases")
	return &RotationResult{
		N: n, AccountsPerTenant: 2, WallSeconds: round(rotated.at.Sub(before.at).Seconds()),
		Rotation: rotationWrites(rotationAPI, delta(before.sql, rotated.sql), n),
		GraceEnd: rotationWrites(graceAPI, delta(rotated.sql, locked.sql), n),
	}, nil
}

func rotationWrites(api, sqld map[string]float64, n int) RotationWrites {
	var r BurstResult
	r.perTenant(api, sqld, n, 0)
	return RotationWrites{APIWritesPerTenant: r.APIWritesPerTenant, EventsPerTenant: r.EventsPerTenant, SQLWritesPerTenant: r.SQLWritesPerTenant,
		APIPerTenant: r.APIPerTenant, SQLPerTenant: r.SQLPerTenant}
}

// annotateAll sets an annotation on every AppDatabase, 16 at a time.
func (b *bench) annotateAll(ctx context.Context, dbs []*dbv1.AppDatabase, key, value string) error {
	patch := client.RawPatch(types.MergePatchType, fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, key, value))
	jobs := make(chan *dbv1.AppDatabase)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range 16 {
		wg.Go(func() {
			for db := range jobs {
				if err := b.client.Patch(ctx, db, patch); err != nil {
					mu.Lock()
					first = cmp.Or(first, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, db := range dbs {
		jobs <- db
	}
	close(jobs)
	wg.Wait()
	return first
}

// waitAll waits until done holds for all n AppDatabases of namespace ns.
func (b *bench) waitAll(ctx context.Context, ns string, n int, done func(*dbv1.AppDatabase) bool) error {
	return waitUntil(ctx, time.Duration(n)*time.Second+2*time.Minute, func() error {
		var list dbv1.AppDatabaseList
		if err := b.client.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return err
		}
		count := 0
		for i := range list.Items {
			if done(&list.Items[i]) {
				count++
			}
		}
		if count < n {
			return fmt.Errorf("%d of %d", count, n)
		}
		return nil
	})
}

func (r *RotationResult) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n## Rotation\n\n%d tenants, each with the main user and one extra account (so %d accounts, each with a partner), asked to rotate at once "+
		"with the rotate-password annotation: all rotations recorded in %.1f s. Then the end of their %s grace periods, when the previous accounts are locked.\n\n",
		r.N, r.N*r.AccountsPerTenant, r.WallSeconds, rotationGrace)
	fmt.Fprintln(&b, "| per rotated tenant | API writes (Events apart) | Events | SQL writes | API requests | SQL statements |\n|---|---|---|---|---|---|")
	row := func(what string, w RotationWrites) {
		fmt.Fprintf(&b, "| %s | %.2f | %.2f | %.2f | %s | %s |\n", what, w.APIWritesPerTenant, w.EventsPerTenant, w.SQLWritesPerTenant, formatCounts(w.APIPerTenant), formatCounts(w.SQLPerTenant))
	}
	row("rotation", r.Rotation)
	row("end of the grace period", r.GraceEnd)
	return b.String()
}
