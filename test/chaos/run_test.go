//go:build integration

package chaos

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/credentials"
	"github.com/stillwaters/db-concierge/test/stack"
)

// Leader election is quick, so that a killed leader is replaced within seconds; with a renew
// deadline shorter than an API server restart, the leader loses its lease then and exits, and the
// replicas' supervision starts another, as a Deployment would.
var electionArgs = []string{"--leader-elect", "--leader-election-id=db-concierge-chaos",
	"--leader-election-lease-duration=6s", "--leader-election-renew-deadline=4s", "--leader-election-retry-period=1s"}

// operatorArgs: short backoffs, frequent drift checks (so that Ready tenants are checked while
// servers are down), and debug logging (so that the password search covers every verbosity).
func operatorArgs(kubeconfig string) []string {
	return append([]string{
		"--kubeconfig=" + kubeconfig, "--platform-namespace=" + platformNS,
		"--metrics-bind-address=0", "--health-probe-bind-address=0",
		"--max-backoff=2s", "--resync-period=30s", "--cluster-check-interval=2s",
		"--conflict-recheck-period=3s", "--zap-log-level=debug",
	}, electionArgs...)
}

// tenant is one AppDatabase of the run, as the run created and deleted it.
type tenant struct {
	plan tenantPlan

	mu      sync.Mutex
	uid     types.UID
	created time.Time
	deleted time.Time
	// readyWhenDeleted: it had been seen Ready before its deletion was asked for.
	readyWhenDeleted bool
	// session is a login of the tenant's user held open across its deletion, which the deletion
	// must end.
	session     *sql.Conn
	sessionPool *sql.DB
}

func (t *tenant) key() client.ObjectKey {
	return client.ObjectKey{Namespace: t.plan.namespace, Name: t.plan.name}
}

func (t *tenant) appNamespace() string {
	if t.plan.appNamespace != "" {
		return t.plan.appNamespace
	}
	return t.plan.namespace
}

func (t *tenant) secretKey() client.ObjectKey {
	return client.ObjectKey{Namespace: t.appNamespace(), Name: dbv1.DefaultSecretName(t.plan.dbName)}
}

func (t *tenant) user() string { return dbv1.DefaultUserName(t.plan.dbName) }

func (t *tenant) isDeleted() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return !t.deleted.IsZero()
}

// faultRecord is a fault as it happened.
type faultRecord struct {
	kind      faultKind
	target    string
	created   int // AppDatabases created when it struck
	injected  time.Time
	recovered time.Time
	err       error
}

// run is one backend's chaos run.
type run struct {
	t             *testing.T
	cfg           config
	plan          plan
	kube          *stack.Kube
	db            *backend
	ops           *replicas
	obs           *observer
	adminPassword string
	bin           string
	// baseline is what the first server held before any operator ran: system schemas and accounts.
	baseline        *serverState
	stopSupervision func()
	logFile         string
	began           time.Time
	tenants         []*tenant
	created         atomic.Int64

	mu         sync.Mutex
	faults     []faultRecord
	allCreated time.Time
	// settledSince is when every AppDatabase last became as the run left it; zero while not.
	settledSince time.Time
}

// retry calls f until it succeeds or ctx ends: the API server and MySQL are expected to be away
// for a while during the run.
func retry(ctx context.Context, f func() error) error {
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %w)", ctx.Err(), err)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// drive runs the batch: creations, deletions and faults, each in its own goroutine, and returns
// once all are done.
func (r *run) drive(ctx context.Context) {
	var wg sync.WaitGroup
	for _, part := range []func(context.Context){r.createAll, r.deleteSome, r.strikeAll} {
		wg.Add(1)
		go func() { defer wg.Done(); part(ctx) }()
	}
	wg.Wait()
}

func (r *run) createAll(ctx context.Context) {
	for _, t := range r.tenants {
		time.Sleep(t.plan.createGap)
		if err := r.create(ctx, t); err != nil {
			r.t.Errorf("creating %s: %v", t.key(), err)
			return
		}
		r.created.Add(1)
	}
	r.mu.Lock()
	r.allCreated = time.Now()
	r.mu.Unlock()
}

func (r *run) create(ctx context.Context, t *tenant) error {
	return retry(ctx, func() error {
		db := &dbv1.AppDatabase{
			ObjectMeta: metav1.ObjectMeta{Namespace: t.plan.namespace, Name: t.plan.name},
			Spec: dbv1.AppDatabaseSpec{ClusterRef: r.db.clusterRef, DBName: t.plan.dbName,
				AppNamespace: t.plan.appNamespace, DeletionPolicy: t.plan.policy},
		}
		err := r.kube.Client.Create(ctx, db)
		if apierrors.IsAlreadyExists(err) {
			// The first attempt went through, but its answer was lost to a fault.
			err = r.kube.Client.Get(ctx, t.key(), db)
		}
		if err != nil {
			return err
		}
		t.mu.Lock()
		t.uid, t.created = db.UID, time.Now()
		t.mu.Unlock()
		return nil
	})
}

// waitCreated waits until n AppDatabases have been created.
func (r *run) waitCreated(ctx context.Context, n int) bool {
	for int(r.created.Load()) < n {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
	return true
}

func (r *run) deleteSome(ctx context.Context) {
	var doomed []*tenant
	for _, t := range r.tenants {
		if t.plan.deleteAt > 0 {
			doomed = append(doomed, t)
		}
	}
	slices.SortStableFunc(doomed, func(a, b *tenant) int { return a.plan.deleteAt - b.plan.deleteAt })
	for _, t := range doomed {
		if !r.waitCreated(ctx, t.plan.deleteAt) {
			return
		}
		if err := r.delete(ctx, t); err != nil {
			r.t.Errorf("deleting %s: %v", t.key(), err)
			return
		}
	}
}

func (r *run) delete(ctx context.Context, t *tenant) error {
	_, ready := r.obs.readyAt(t.key())
	if ready && t.plan.effectivePolicy() == dbv1.DeletionPolicyDelete {
		r.holdSession(ctx, t)
	}
	err := retry(ctx, func() error {
		err := r.kube.Client.Delete(ctx, &dbv1.AppDatabase{ObjectMeta: metav1.ObjectMeta{Namespace: t.plan.namespace, Name: t.plan.name}})
		return client.IgnoreNotFound(err)
	})
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.deleted, t.readyWhenDeleted = time.Now(), ready
	t.mu.Unlock()
	return nil
}

// holdSession logs in as the tenant, with its Secret, on one of the servers, and keeps the session.
// A server that is down at that moment just means no session is held.
func (r *run) holdSession(ctx context.Context, t *tenant) {
	var s corev1.Secret
	if err := r.kube.Client.Get(ctx, t.secretKey(), &s); err != nil {
		return
	}
	srv := r.db.servers[int(r.created.Load())%len(r.db.servers)]
	pool, err := connect("127.0.0.1", srv.port, t.user(), string(s.Data[credentials.KeyPassword]), t.plan.dbName)
	if err != nil {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pool.Conn(cctx)
	if err != nil {
		pool.Close()
		return
	}
	t.mu.Lock()
	t.session, t.sessionPool = conn, pool
	t.mu.Unlock()
}

// strikeAll injects the planned faults. Faults of one kind strike one after another, each once
// the previous one has been recovered from (a second Galera node lost before the first is back
// would cost the cluster its quorum); faults of different kinds may overlap, so that all strike
// while the batch is still arriving.
func (r *run) strikeAll(ctx context.Context) {
	lanes := map[faultKind][]faultPlan{}
	for _, f := range r.plan.faults {
		lanes[f.kind] = append(lanes[f.kind], f)
	}
	var wg sync.WaitGroup
	for _, lane := range lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, f := range lane {
				if !r.waitCreated(ctx, f.at) {
					return
				}
				r.record(r.strike(ctx, f))
			}
		}()
	}
	wg.Wait()
}

func (r *run) record(rec faultRecord) {
	r.t.Logf("+%5.1fs %s: %s, back after %.1fs (error: %v)", rec.injected.Sub(r.began).Seconds(), rec.kind, rec.target,
		rec.recovered.Sub(rec.injected).Seconds(), rec.err)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.faults = append(r.faults, rec)
	slices.SortFunc(r.faults, func(a, b faultRecord) int { return a.injected.Compare(b.injected) })
}

// strikers inject one kind of fault each, and return once the system has what it needs to recover
// (the server is back, a replacement replica runs and some replica leads, the API server answers).
var strikers = map[faultKind]func(r *run, ctx context.Context, f faultPlan, rec *faultRecord) error{
	serverCrash:  (*run).crashServer,
	operatorKill: (*run).killOperator,
	apiRestart:   (*run).restartAPIServer,
}

func (r *run) strike(ctx context.Context, f faultPlan) faultRecord {
	rec := faultRecord{kind: f.kind, created: int(r.created.Load())}
	rec.err = strikers[f.kind](r, ctx, f, &rec)
	rec.recovered = time.Now()
	return rec
}

func (r *run) crashServer(ctx context.Context, f faultPlan, rec *faultRecord) error {
	rec.target = r.db.servers[f.victim].name
	rec.injected = time.Now()
	r.db.crash(f.victim)
	time.Sleep(f.downtime)
	return r.db.recover(ctx, f.victim)
}

func (r *run) killOperator(ctx context.Context, f faultPlan, rec *faultRecord) error {
	victim, role := r.pickReplica(ctx, f.victim)
	if victim == nil {
		return fmt.Errorf("no live operator replica to kill")
	}
	rec.target = fmt.Sprintf("%s (%s)", victim.name, role)
	rec.injected = time.Now()
	r.ops.kill(victim)
	if _, err := r.ops.start(); err != nil {
		return err
	}
	_, err := r.ops.waitLeader(ctx, 2*time.Minute)
	return err
}

// pickReplica returns the leader (victim -1; waiting a while for one after a handover), or the
// victim-th live replica.
func (r *run) pickReplica(ctx context.Context, victim int) (*replica, string) {
	if victim < 0 {
		if l, err := r.ops.waitLeader(ctx, 30*time.Second); err == nil {
			return l, "leader"
		}
	}
	live := r.ops.live()
	if len(live) == 0 {
		return nil, ""
	}
	v := live[max(victim, 0)%len(live)]
	if v.leads() {
		return v, "leader"
	}
	return v, "standby"
}

func (r *run) restartAPIServer(_ context.Context, _ faultPlan, rec *faultRecord) error {
	rec.target = "kube-apiserver"
	rec.injected = time.Now()
	return r.kube.RestartAPIServer()
}

// lastFault is when the last fault struck.
func (r *run) lastFault() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	var last time.Time
	for _, f := range r.faults {
		if f.injected.After(last) {
			last = f.injected
		}
	}
	return last
}

// watchSettled follows, on the watch's copy of the AppDatabases, since when every AppDatabase has
// been as the run left it (created and Ready, or deleted and gone), until ctx ends. The time all
// turned Ready may fall before the last fault has been recovered from (a Galera node takes a while
// to rejoin), so it is followed during the run rather than looked for afterwards.
func (r *run) watchSettled(ctx context.Context) {
	for ctx.Err() == nil {
		pending, err := r.pending(ctx, r.obs.reader)
		r.mu.Lock()
		switch {
		case err != nil || len(pending) > 0:
			r.settledSince = time.Time{}
		case r.settledSince.IsZero():
			r.settledSince = time.Now()
		}
		r.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// settle waits until every AppDatabase the run kept is Ready and every one it deleted is gone, as
// the API server confirms; it returns since when that has been so, or the AppDatabases still
// pending.
func (r *run) settle(ctx context.Context) (time.Time, []string) {
	deadline, lastLog := time.Now().Add(r.cfg.settle), time.Now()
	for {
		pending, err := r.pending(ctx, r.kube.Client)
		r.mu.Lock()
		since := r.settledSince
		r.mu.Unlock()
		if err == nil && len(pending) == 0 && !since.IsZero() {
			return since, nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				pending = append(pending, err.Error())
			}
			return time.Time{}, pending
		}
		if time.Since(lastLog) > 30*time.Second {
			r.t.Logf("waiting for %d AppDatabases, e.g. %v (error: %v)", len(pending), pending[:min(3, len(pending))], err)
			lastLog = time.Now()
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// pending lists the AppDatabases that are not yet as the run left them, as from says.
func (r *run) pending(ctx context.Context, from client.Reader) ([]string, error) {
	var list dbv1.AppDatabaseList
	if err := from.List(ctx, &list); err != nil {
		return nil, err
	}
	byKey := map[client.ObjectKey]*dbv1.AppDatabase{}
	for i := range list.Items {
		byKey[client.ObjectKeyFromObject(&list.Items[i])] = &list.Items[i]
	}
	var pending []string
	for _, t := range r.tenants {
		db, exists := byKey[t.key()]
		switch {
		case t.isDeleted() && exists:
			pending = append(pending, fmt.Sprintf("%s deleted but still there (finalizers %v, phase %s: %s)", t.key(), db.Finalizers, db.Status.Phase, db.Status.Message))
		case !t.isDeleted() && !exists:
			pending = append(pending, fmt.Sprintf("%s missing from the API server", t.key()))
		case !t.isDeleted() && !isReady(db):
			cond := ""
			if c := findReady(db); c != nil {
				cond = c.Reason
			}
			pending = append(pending, fmt.Sprintf("%s %s/%s: %s", t.key(), db.Status.Phase, cond, db.Status.Message))
		}
	}
	return pending, nil
}

func findReady(db *dbv1.AppDatabase) *metav1.Condition {
	for i := range db.Status.Conditions {
		if db.Status.Conditions[i].Type == dbv1.ConditionReady {
			return &db.Status.Conditions[i]
		}
	}
	return nil
}
