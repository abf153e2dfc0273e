package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/cluster"
	"github.com/stillwaters/db-concierge/test/stack"
)

const (
	// shippedWorkers is the default of both --max-concurrent-reconciles and
	// --max-conns-per-cluster in cmd/operator/main.go: the level the report marks.
	shippedWorkers = 4
	// maxWorkerLevel is the most admin connections a MySQLCluster may ask for (its CRD's
	// maximum of spec.maxConnections).
	maxWorkerLevel = 64
	// galeraNodes is the size of the Galera cluster: the smallest that survives losing a node.
	galeraNodes = 3
	// galeraCluster names the Galera cluster's MySQLCluster and its admin Secret.
	galeraCluster = "bench-galera"
)

// WorkersResult is the worker curve: a burst of N AppDatabases at each level of reconcile workers
// (and admin connections), on the single MariaDB server and on a Galera cluster.
type WorkersResult struct {
	N                  int           `json:"n"`
	ShippedDefault     int           `json:"shippedDefaultWorkers"`
	GaleraNodes        int           `json:"galeraNodes"`
	GaleraStartSeconds float64       `json:"galeraStartSeconds"`
	Levels             []WorkerLevel `json:"levels"`
}

// WorkerLevel is one level of the curve on both engines.
type WorkerLevel struct {
	Workers int         `json:"workers"`
	MariaDB WorkerPoint `json:"mariadb"`
	Galera  WorkerPoint `json:"galera"`
}

// WorkerPoint is one burst at one level, measured as the operator's bursts are.
type WorkerPoint struct {
	WallSeconds        float64 `json:"wallSeconds"`
	PerSecond          float64 `json:"perSecond"`
	ReadyP50Ms         float64 `json:"timeToReadyP50Ms"`
	ReadyP99Ms         float64 `json:"timeToReadyP99Ms"`
	OperatorCPUSeconds float64 `json:"operatorCPUSeconds"`
}

// workersEngine is a server the curve is measured on, as AppDatabases name it.
type workersEngine struct {
	name       string // in namespaces: workers-NAME-W
	clusterRef string
	// prefix starts tenant names, apart from every other scenario's (all database names share the
	// MariaDB server).
	prefix string
	point  func(*WorkerLevel) *WorkerPoint
}

var (
	mariadbEngine  = workersEngine{name: "mariadb", clusterRef: dbv1.DefaultClusterName, prefix: "wm", point: func(l *WorkerLevel) *WorkerPoint { return &l.MariaDB }}
	galeraEngine   = workersEngine{name: "galera", clusterRef: galeraCluster, prefix: "wg", point: func(l *WorkerLevel) *WorkerPoint { return &l.Galera }}
	workersEngines = []workersEngine{mariadbEngine, galeraEngine}
)

// workers measures the worker curve. The Galera cluster lives only as long as the scenario; at the
// end its tenants and MySQLCluster are removed and the operator runs with the run's flags again.
func (b *bench) workers(ctx context.Context) (res *WorkersResult, err error) {
	logf("worker curve: starting a %d-node Galera cluster", galeraNodes)
	g, err := b.startGalera(ctx)
	if err != nil {
		return nil, err
	}
	defer g.Close()
	res = &WorkersResult{N: b.o.workersN, ShippedDefault: shippedWorkers, GaleraNodes: galeraNodes, GaleraStartSeconds: round(g.StartupTime.Seconds())}
	galeraTenants := 0
	defer func() { err = errors.Join(err, b.endWorkers(ctx, galeraTenants)) }()
	for _, w := range b.o.workerLevels {
		level, err := b.workerLevel(ctx, w, &galeraTenants)
		if err != nil {
			return res, err
		}
		res.Levels = append(res.Levels, level)
	}
	return res, nil
}

// workerLevel restarts the operator with w workers and w admin connections per cluster and
// measures a burst on each engine. galeraTenants counts the Galera tenants made so far.
func (b *bench) workerLevel(ctx context.Context, w int, galeraTenants *int) (WorkerLevel, error) {
	// A MySQLCluster's spec.maxConnections overrides --max-conns-per-cluster, and the CRD
	// defaults it to 4: without this, the flag would not reach Galera.
	if err := b.setGaleraConnections(ctx, w); err != nil {
		return WorkerLevel{}, err
	}
	if err := b.restartOperator(ctx, fmt.Sprintf("--max-concurrent-reconciles=%d", w), fmt.Sprintf("--max-conns-per-cluster=%d", w)); err != nil {
		return WorkerLevel{}, err
	}
	level := WorkerLevel{Workers: w}
	for _, e := range workersEngines {
		logf("worker curve: burst of %d on %s with %d workers", b.o.workersN, e.name, w)
		p, err := b.workerBurst(ctx, e, w)
		if err != nil {
			return level, err
		}
		*e.point(&level) = p
		if e.name == galeraEngine.name {
			*galeraTenants += b.o.workersN
		}
	}
	return level, nil
}

func (b *bench) workerBurst(ctx context.Context, e workersEngine, w int) (WorkerPoint, error) {
	ns := workersNamespace(e, w)
	dbs := make([]*dbv1.AppDatabase, b.o.workersN)
	for i := range dbs {
		dbs[i] = appDatabase(ns, fmt.Sprintf("%s%d-%05d", e.prefix, w, i))
		dbs[i].Spec.ClusterRef = e.clusterRef
	}
	x, _, err := b.measureBurst(ctx, ns, dbs)
	if err != nil {
		return WorkerPoint{}, fmt.Errorf("burst on %s with %d workers: %w", e.name, w, err)
	}
	return WorkerPoint{WallSeconds: x.WallSeconds, PerSecond: x.PerSecond, ReadyP50Ms: x.TimeToReady.P50,
		ReadyP99Ms: x.TimeToReady.P99, OperatorCPUSeconds: x.OperatorCPUSeconds}, nil
}

func workersNamespace(e workersEngine, w int) string { return fmt.Sprintf("workers-%s-%d", e.name, w) }

// startGalera starts the Galera cluster with the bench's admin account, and tells the API server
// about it: a MySQLCluster listing every node, so the operator fails over as it would in
// production, and its admin Secret.
func (b *bench) startGalera(ctx context.Context) (*stack.Galera, error) {
	g, err := stack.StartGalera(galeraNodes)
	if err != nil {
		return nil, err
	}
	if err := g.CreateAdmin(ctx, adminUser, b.adminPassword); err != nil {
		g.Close()
		return nil, fmt.Errorf("galera: %w", err)
	}
	endpoints := make([]dbv1.Endpoint, 0, len(g.Nodes))
	for _, n := range g.Nodes {
		endpoints = append(endpoints, dbv1.Endpoint{Host: "127.0.0.1", Port: int32(n.Port)}) //nolint:gosec // G115: a TCP port fits in int32
	}
	for _, obj := range []client.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: platformNS, Name: galeraCluster},
			StringData: map[string]string{cluster.KeyAdminUser: adminUser, cluster.KeyAdminPassword: b.adminPassword}},
		&dbv1.MySQLCluster{ObjectMeta: metav1.ObjectMeta{Name: galeraCluster}, Spec: dbv1.MySQLClusterSpec{
			AdminEndpoints: endpoints, AdminCredentials: dbv1.AdminCredentials{SecretName: galeraCluster},
		}},
	} {
		if err := b.client.Create(ctx, obj); err != nil {
			g.Close()
			return nil, fmt.Errorf("creating %T %s for Galera: %w", obj, obj.GetName(), err)
		}
	}
	logf("worker curve: Galera Synced in %.1f s", g.StartupTime.Seconds())
	return g, nil
}

func (b *bench) setGaleraConnections(ctx context.Context, w int) error {
	mc := &dbv1.MySQLCluster{ObjectMeta: metav1.ObjectMeta{Name: galeraCluster}}
	patch := client.RawPatch(client.Merge.Type(), fmt.Appendf(nil, `{"spec":{"maxConnections":%d}}`, w))
	if err := b.client.Patch(ctx, mc, patch); err != nil {
		return fmt.Errorf("setting MySQLCluster %s's maxConnections to %d: %w", galeraCluster, w, err)
	}
	return nil
}

// endWorkers leaves the operator as the other scenarios run it: the Galera tenants (Retain, so
// deleted at once and their databases left to the cluster, which goes) and the MySQLCluster are
// removed before the cluster stops, and the operator gets the run's flags again.
func (b *bench) endWorkers(ctx context.Context, galeraTenants int) error {
	var errs []error
	for _, w := range b.o.workerLevels {
		if err := b.client.DeleteAllOf(ctx, &dbv1.AppDatabase{}, client.InNamespace(workersNamespace(galeraEngine, w))); err != nil {
			errs = append(errs, fmt.Errorf("deleting the Galera tenants with %d workers: %w", w, err))
		}
	}
	b.tenants -= galeraTenants
	for _, obj := range []client.Object{
		&dbv1.MySQLCluster{ObjectMeta: metav1.ObjectMeta{Name: galeraCluster}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: platformNS, Name: galeraCluster}},
	} {
		if err := b.client.Delete(ctx, obj); client.IgnoreNotFound(err) != nil {
			errs = append(errs, fmt.Errorf("deleting %T %s: %w", obj, obj.GetName(), err))
		}
	}
	return errors.Join(append(errs, b.restartOperator(ctx))...)
}

func (w *WorkersResult) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n## Worker curve\n\nA burst of %d AppDatabases, all created at once, at each level W, on the single MariaDB server and on a %d-node Galera cluster on loopback "+
		"(Synced in %.1f s). The operator was restarted at each level with --max-concurrent-reconciles=W and --max-conns-per-cluster=W "+
		"(and the Galera MySQLCluster's spec.maxConnections=W, which overrides the flag), so the admin pool is never the narrower limit; "+
		"each burst is measured as the operator's bursts are, after the restart's re-verification. Ready p50 and operator CPU are in report.json. %s\n\n",
		w.N, w.GaleraNodes, w.GaleraStartSeconds, w.defaultNote())
	fmt.Fprintln(&b, "| W | MariaDB wall | per s | Ready p99 | Galera wall | per s | Ready p99 |\n|---|---|---|---|---|---|---|")
	for _, l := range w.Levels {
		label := fmt.Sprint(l.Workers)
		if l.Workers == w.ShippedDefault {
			label += " (shipped default)"
		}
		fmt.Fprintf(&b, "| %s | %.1f s | %.1f | %.0f ms | %.1f s | %.1f | %.0f ms |\n", label,
			l.MariaDB.WallSeconds, l.MariaDB.PerSecond, l.MariaDB.ReadyP99Ms, l.Galera.WallSeconds, l.Galera.PerSecond, l.Galera.ReadyP99Ms)
	}
	return b.String()
}

// defaultNote says which level is what the operator ships with, or that it was not measured.
func (w *WorkersResult) defaultNote() string {
	for _, l := range w.Levels {
		if l.Workers == w.ShippedDefault {
			return fmt.Sprintf("W = %d is the shipped default (both flags default to %d).", w.ShippedDefault, w.ShippedDefault)
		}
	}
	return fmt.Sprintf("The shipped default, W = %d (both flags), was not among the levels.", w.ShippedDefault)
}
