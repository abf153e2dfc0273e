package controller

import (
	"context"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/cluster"
	"github.com/stillwaters/db-concierge/internal/credentials"
	"github.com/stillwaters/db-concierge/internal/metrics"
	"github.com/stillwaters/db-concierge/internal/tenant"
)

// Drift checks of Ready AppDatabases come from one sweep per cluster and period, not from a timer
// per object. A full pass costs a few round trips per tenant, and the timers of tenants created
// together fall due together; a sweep reads the whole cluster in a handful of statements
// (tenant.Engine.Sweep), compares each Ready tenant with what it read and with what the cache holds
// of its Secret, namespace and status, and queues for a full pass only the tenants that differ or
// that it cannot vouch for. The full pass decides and repairs, as it always has; a sweep writes
// nothing.

// Why a sweep sends a tenant to a full pass, on the Kubernetes side; the MySQL side's reasons are
// tenant.Finding values. Both label metrics.DriftSweepEnqueued.
const (
	// sweepPartialObject: the cache holds the AppDatabase in part (transformAppDatabase).
	sweepPartialObject = "partial_object"
	// sweepSpec: the operator refuses the spec, or it names the cluster's admin account.
	sweepSpec = "spec"
	// sweepNamespace: the target namespace is gone, or was replaced.
	sweepNamespace = "namespace"
	// sweepFinalizer: the finalizer does not match the deletion policy.
	sweepFinalizer = "finalizer"
	// sweepSecret: the Secret is missing, not this tenant's, cached in part, or does not hold the
	// connection details and a valid password.
	sweepSecret = "secret"
	// sweepStatus: a full pass would write another status.
	sweepStatus = "status"
	// sweepRotation: a password rotation is due, or a password source holds a new password, or
	// none that can be used.
	sweepRotation = "rotation"
	// sweepFailed: the cluster's reads failed, so no tenant of it was vouched for.
	sweepFailed = "sweep_failed"
)

const (
	// clusterListInterval is how often the sweeper looks for clusters configured since.
	clusterListInterval = 30 * time.Second
	// sweepTimeout bounds one cluster's sweep, so one server that hangs does not hold up the
	// others' sweeps.
	sweepTimeout = time.Minute
	// maxEnqueueSpacing is the gap between two tenants a sweep queues. A few differing tenants
	// are passed within a second; a whole cluster's (a server the sweep cannot judge) are spread
	// over half a period instead of arriving at once.
	maxEnqueueSpacing = 100 * time.Millisecond
)

// driftSweep is a source of the AppDatabase controller's queue: it sweeps each cluster once per
// ResyncPeriod and adds the tenants it finds to the queue.
type driftSweep struct {
	r *AppDatabaseReconciler
	// elected is closed once this instance leads; only the leader sweeps, as only it reconciles.
	elected <-chan struct{}
}

var _ source.Source = &driftSweep{}

// Start implements source.Source: it returns at once, and sweeps until ctx ends.
func (s *driftSweep) Start(ctx context.Context, queue workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
	if s.r.ResyncPeriod <= 0 {
		return nil
	}
	go s.run(ctx, queue)
	return nil
}

func (s *driftSweep) String() string { return "drift sweep" }

func (s *driftSweep) run(ctx context.Context, queue workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	select {
	case <-ctx.Done():
		return
	case <-s.elected:
	}
	schedule := newSweepSchedule(s.r.ResyncPeriod, rand.Float64)
	for {
		names, err := s.r.Clusters.Names(ctx)
		if err != nil {
			logf.FromContext(ctx).Error(err, "Listing clusters to sweep for drift")
		} else {
			schedule.track(names, time.Now())
		}
		for _, name := range schedule.due(time.Now()) {
			s.sweep(ctx, queue, name)
		}
		timer := time.NewTimer(min(schedule.untilNext(time.Now()), clusterListInterval))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
	}
}

// sweep checks one cluster and queues what it found.
func (s *driftSweep) sweep(ctx context.Context, queue workqueue.TypedRateLimitingInterface[reconcile.Request], name string) {
	ctx, cancel := context.WithTimeout(ctx, sweepTimeout)
	defer cancel()
	log := logf.FromContext(ctx).WithValues("cluster", name)
	start := time.Now()
	swept, err := s.r.sweepCluster(ctx, name)
	metrics.DriftSweepChecked.WithLabelValues(name).Add(float64(swept.checked))
	metrics.DriftSweepDuration.WithLabelValues(name).Observe(time.Since(start).Seconds())
	// The sweep itself is counted last, so that whoever sees it counted sees what it checked.
	metrics.DriftSweeps.WithLabelValues(name, swept.result).Inc()
	switch swept.result {
	case metrics.SweepSkipped:
		log.Info("Drift sweep skipped: the cluster cannot be read now; the next period tries again", "error", err.Error())
	case metrics.SweepFailed:
		log.Error(err, "Drift sweep could not read the cluster; its Ready tenants get full passes instead")
	}
	s.enqueue(ctx, queue, name, swept.found)
}

// enqueue adds the tenants a sweep found to the controller's queue, spaced out over half a period
// at most.
func (s *driftSweep) enqueue(ctx context.Context, queue workqueue.TypedRateLimitingInterface[reconcile.Request], cluster string, found map[types.NamespacedName]string) {
	if len(found) == 0 {
		return
	}
	log := logf.FromContext(ctx).WithValues("cluster", cluster)
	log.Info("Drift sweep queued tenants for a full pass", "tenants", len(found))
	spacing := enqueueSpacing(len(found), s.r.ResyncPeriod/2)
	for i, key := range slices.SortedFunc(maps.Keys(found), compareKeys) {
		log.V(1).Info("Drift sweep queued a tenant", "AppDatabase", key.String(), "reason", found[key])
		metrics.DriftSweepEnqueued.WithLabelValues(cluster, found[key]).Inc()
		queue.AddAfter(reconcile.Request{NamespacedName: key}, time.Duration(i)*spacing)
	}
}

func compareKeys(a, b types.NamespacedName) int { return strings.Compare(a.String(), b.String()) }

// enqueueSpacing is the gap between n queued tenants: at most maxEnqueueSpacing, and short
// enough that all of them are queued within window.
func enqueueSpacing(n int, window time.Duration) time.Duration {
	if n <= 1 {
		return 0
	}
	return min(maxEnqueueSpacing, window/time.Duration(n))
}

// sweptCluster is what one sweep of a cluster did.
type sweptCluster struct {
	// result is a metrics.Sweep… value.
	result string
	// checked counts the Ready tenants judged.
	checked int
	// found holds the tenants a full pass must look at, with why.
	found map[types.NamespacedName]string
}

// sweepCluster judges the Ready tenants of one cluster.
func (r *AppDatabaseReconciler) sweepCluster(ctx context.Context, name string) (sweptCluster, error) {
	skipped := sweptCluster{result: metrics.SweepSkipped}
	c, err := r.Clusters.Get(ctx, name)
	if err != nil {
		return skipped, err
	}
	defer c.Release()
	found := map[types.NamespacedName]string{}
	byUID := map[string]types.NamespacedName{}
	var expected []tenant.Expectation
	// Tenants not Ready have their own retries and rechecks.
	sweptHere := func(db *dbv1.AppDatabase) bool {
		return db.Spec.ClusterRef == name && isReady(db) && db.DeletionTimestamp.IsZero() && r.Clusters.Serves(name)
	}
	err = r.cachedAppDatabases().each(ctx, sweptHere, func(db *dbv1.AppDatabase) {
		key := client.ObjectKeyFromObject(db)
		e, reason := r.expectationOf(ctx, db, c)
		if reason != "" {
			found[key] = reason
			return
		}
		expected = append(expected, e)
		byUID[string(db.UID)] = key
	})
	if err != nil {
		return skipped, err
	}
	checked := len(found) + len(expected)
	findings, err := c.Engine.Sweep(ctx, expected)
	switch {
	case err != nil && tenant.KindOf(err) == tenant.KindUnreachable:
		return skipped, err
	case err != nil:
		for _, key := range byUID {
			found[key] = sweepFailed
		}
		return sweptCluster{result: metrics.SweepFailed, found: found}, err
	}
	for uid, finding := range findings {
		found[byUID[uid]] = string(finding)
	}
	return sweptCluster{result: metrics.SweepCompleted, checked: checked, found: found}, nil
}

// expectationOf checks, from the cache, what a full pass of a Ready tenant checks on the Kubernetes
// side, and returns what its cluster must hold; or why only a full pass can tell.
func (r *AppDatabaseReconciler) expectationOf(ctx context.Context, db *dbv1.AppDatabase, c *cluster.Cluster) (tenant.Expectation, string) {
	if isTrimmed(db) {
		return tenant.Expectation{}, sweepPartialObject
	}
	now := time.Now()
	accounts := accountsOf(db, c.Config.DefaultMaxUserConnections)
	var strategy dbv1.RotationStrategy
	if rotates(db) {
		if rotationDue(db, now) {
			return tenant.Expectation{}, sweepRotation
		}
		strategy = recordedStrategy(db)
		if strategy == dbv1.RotationAlternatingAccounts {
			withPartners(accounts)
		} else {
			useSecondPasswords(accounts, nil)
		}
	}
	spec, _ := engineSpec(db, accounts, nil, now, noPassword)
	if _, refused := refuseSpec(db, r.PlatformNamespace); refused || checkPartners(accounts) != nil || c.Engine.Validate(spec) != nil {
		return tenant.Expectation{}, sweepSpec
	}
	nsUID, ok := r.cachedNamespaceUID(ctx, db)
	if !ok {
		return tenant.Expectation{}, sweepNamespace
	}
	if (db.Spec.EffectiveDeletionPolicy() == dbv1.DeletionPolicyDelete) != controllerutil.ContainsFinalizer(db, dbv1.Finalizer) {
		return tenant.Expectation{}, sweepFinalizer
	}
	conn := credentials.Connection{Host: c.Config.App.Host, Port: c.Config.App.Port, Database: spec.Database}
	for i := range accounts {
		if !r.cachedCredentials(ctx, db, &accounts[i], conn) {
			return tenant.Expectation{}, sweepSecret
		}
	}
	given, refused, err := r.sourcePasswords(ctx, db, accounts, c.Config.PasswordPolicy)
	if refused != nil || err != nil {
		return tenant.Expectation{}, sweepRotation
	}
	for i, a := range accounts {
		if sourceChanged(db, a, given[i], inGrace(db, now)) || a.rotates() && switchedSince(db, a) {
			return tenant.Expectation{}, sweepRotation
		}
	}
	spec, _ = engineSpec(db, accounts, nil, now, noPassword)
	conn.User, conn.Password = spec.Main().Name, spec.Main().Password
	// The status a full pass that changes nothing would write: the one the object has.
	o := outcome{ready: true, appNamespaceUID: nsUID, accounts: accountStatus(accounts), rotation: rotationStatus(db, now, strategy, false)}
	if next := desiredStatus(db, o, conn.URL(false), metav1.Now()); !equality.Semantic.DeepEqual(next, db.Status) {
		return tenant.Expectation{}, sweepStatus
	}
	return tenant.Expectation{Spec: spec}, ""
}

// cachedNamespaceUID finds the target namespace in the cache and returns the UID a full pass would
// record (checkAppNamespace); ok is false when it is missing or replaced.
func (r *AppDatabaseReconciler) cachedNamespaceUID(ctx context.Context, db *dbv1.AppDatabase) (uid string, ok bool) {
	var ns metav1.PartialObjectMetadata
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	if err := r.Client.Get(ctx, client.ObjectKey{Name: db.EffectiveAppNamespace()}, &ns, client.UnsafeDisableDeepCopy); err != nil || ns.DeletionTimestamp != nil {
		return "", false
	}
	uid, refusal := checkAppNamespace(db, ns.UID, r.PlatformNamespace)
	return uid, refusal == nil
}

// cachedCredentials sets a's user and password (and rotation, for second passwords) from its
// Secret as the cache holds it, and reports whether the Secret is this tenant's and holds exactly
// what a full pass writes into it (conn, for the account of a's pair the Secret names).
func (r *AppDatabaseReconciler) cachedCredentials(ctx context.Context, db *dbv1.AppDatabase, a *account, conn credentials.Connection) bool {
	var s corev1.Secret
	key := client.ObjectKey{Namespace: db.EffectiveAppNamespace(), Name: a.secretName}
	// Read only, like every cached object here: a copy per tenant would be garbage by the next.
	if err := r.Client.Get(ctx, key, &s, client.UnsafeDisableDeepCopy); err != nil || isTrimmed(&s) {
		return false
	}
	if checkSecretOwner(&s, db, false, func(tenant.Owner) bool { return false }) != nil {
		return false
	}
	conn.User = activeUser(*a, secretUser(&s))
	conn.Password = string(s.Data[credentials.KeyPassword])
	if tenant.ValidatePassword(conn.User, conn.Password) != nil {
		return false
	}
	data, labels, annotations, err := secretContent(db, conn)
	// A password set aside by a rotation fails this too: only a full pass finishes the rotation.
	if err != nil || !secretHolds(&s, data, labels, annotations) {
		return false
	}
	a.user, a.Password = conn.User, conn.Password
	if a.dual {
		a.readRotation(&s)
	}
	return true
}

// sweepSchedule keeps when each cluster's next sweep is due: once per period, each cluster at a
// phase of its own, drawn when the cluster is first seen, so that clusters do not sweep together.
type sweepSchedule struct {
	period time.Duration
	next   map[string]time.Time
	// phase draws a number in [0, 1).
	phase func() float64
}

func newSweepSchedule(period time.Duration, phase func() float64) *sweepSchedule {
	return &sweepSchedule{period: period, next: map[string]time.Time{}, phase: phase}
}

// track schedules the clusters first seen now within the coming period, and forgets those no
// longer configured.
func (s *sweepSchedule) track(names []string, now time.Time) {
	for name := range s.next {
		if !slices.Contains(names, name) {
			delete(s.next, name)
		}
	}
	for _, name := range names {
		if _, known := s.next[name]; !known {
			s.next[name] = now.Add(time.Duration(s.phase() * float64(s.period)))
		}
	}
}

// due returns, in name order, the clusters whose sweep is due, and schedules their next one a
// period on; one that is late keeps no debt, so it is not swept twice in a row.
func (s *sweepSchedule) due(now time.Time) []string {
	var names []string
	for name, at := range s.next {
		if at.After(now) {
			continue
		}
		names = append(names, name)
		next := at.Add(s.period)
		if !next.After(now) {
			next = now.Add(s.period)
		}
		s.next[name] = next
	}
	slices.Sort(names)
	return names
}

// untilNext is the time until the next sweep is due; a period when no cluster is known.
func (s *sweepSchedule) untilNext(now time.Time) time.Duration {
	wait := s.period
	for _, at := range s.next {
		wait = min(wait, at.Sub(now))
	}
	return max(wait, 0)
}
