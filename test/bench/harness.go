package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/cluster"
	"github.com/stillwaters/db-concierge/test/stack"
)

const (
	platformNS = "db-concierge"
	adminUser  = "bench_admin"
)

// bench is the local stack and the operator under measurement.
type bench struct {
	o             options
	kube          *stack.Kube
	maria         *stack.MariaDB
	client        client.WithWatch
	cfg           *rest.Config
	adminPassword string
	operatorBin   string
	cliBin        string
	binDir        string
	op            *stack.Operator
	opPID         int
	metricsAddr   string
	// opFlags are added after the run's own operator flags, so a scenario can override them
	// (the flag package keeps the last value) for every start until it puts them back.
	opFlags []string
	// tenants counts the Ready AppDatabases the operator serves.
	tenants int
	maxRSS  int64
}

func startBench(ctx context.Context, o options) (*bench, error) {
	b := &bench{o: o, adminPassword: randomHex()}
	var err error
	logf("starting kube-apiserver, etcd and MariaDB")
	if b.kube, err = stack.StartKube(stack.WithFastEtcd()); err != nil {
		return nil, err
	}
	if b.maria, err = stack.StartMariaDB(); err != nil {
		b.stop()
		return nil, err
	}
	if err := b.maria.CreateAdmin(ctx, adminUser, b.adminPassword); err != nil {
		b.stop()
		return nil, err
	}
	b.cfg = rest.CopyConfig(b.kube.Config)
	b.cfg.QPS, b.cfg.Burst = float32(o.qps), o.burst
	if b.client, err = client.NewWithWatch(b.cfg, client.Options{Scheme: b.kube.Scheme}); err != nil {
		b.stop()
		return nil, err
	}
	if b.binDir, err = os.MkdirTemp("", "db-concierge-bench-"); err != nil {
		b.stop()
		return nil, err
	}
	logf("building the operator and the CLI")
	if b.operatorBin, err = stack.BuildOperator(b.binDir, false); err != nil {
		b.stop()
		return nil, err
	}
	if b.cliBin, err = stack.Build(b.binDir, "./cmd/bootstrap-mysql-schema", "bootstrap-mysql-schema"); err != nil {
		b.stop()
		return nil, err
	}
	for _, obj := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: platformNS}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: platformNS, Name: cluster.LegacySecretName}, StringData: map[string]string{
			cluster.KeyAdminHost: "127.0.0.1", cluster.KeyAdminPort: fmt.Sprint(b.maria.Port),
			cluster.KeyAdminUser: adminUser, cluster.KeyAdminPassword: b.adminPassword,
		}},
	} {
		if err := b.client.Create(ctx, obj); err != nil {
			b.stop()
			return nil, err
		}
	}
	if err := b.startOperator(ctx); err != nil {
		b.stop()
		return nil, err
	}
	return b, nil
}

func (b *bench) stop() {
	b.stopOperator()
	if b.maria != nil {
		b.maria.Close()
	}
	if b.kube != nil {
		b.kube.Stop()
	}
	if b.binDir != "" {
		_ = os.RemoveAll(b.binDir)
	}
}

func (b *bench) startOperator(ctx context.Context) error {
	port, err := stack.FreePort()
	if err != nil {
		return err
	}
	b.metricsAddr = fmt.Sprintf("127.0.0.1:%d", port)
	args := []string{
		"--kubeconfig=" + b.kube.Kubeconfig, "--platform-namespace=" + platformNS,
		"--metrics-bind-address=" + b.metricsAddr, "--health-probe-bind-address=0",
		fmt.Sprintf("--max-concurrent-reconciles=%d", b.o.concurrency),
		"--resync-period=" + b.o.resync.String(),
		"--pprof-bind-address=" + os.Getenv("BENCH_PPROF"),
	}
	if b.o.tunedAPI {
		args = append(args, fmt.Sprintf("--kube-api-qps=%v", b.o.qps), fmt.Sprintf("--kube-api-burst=%d", b.o.burst))
	}
	args = append(args, b.opFlags...)
	b.op, err = stack.StartOperator(b.operatorBin, args, nil, nil)
	if err != nil {
		return err
	}
	b.opPID = b.op.PID()
	return waitUntil(ctx, time.Minute, func() error {
		_, err := stack.HTTPGet("http://" + b.metricsAddr + "/readyz")
		return err
	})
}

// restartOperator stops the operator and starts it again with flags over the run's own; no
// flags puts it back as the other scenarios run it.
func (b *bench) restartOperator(ctx context.Context, flags ...string) error {
	b.stopOperator()
	b.opFlags = flags
	if err := b.startOperator(ctx); err != nil {
		return fmt.Errorf("restarting the operator with %q: %w", flags, err)
	}
	return nil
}

func (b *bench) stopOperator() {
	if b.op == nil {
		return
	}
	b.recordRSS()
	b.op.Stop()
	b.op = nil
}

func (b *bench) recordRSS() {
	if rss, err := peakRSS(b.opPID); err == nil && rss > b.maxRSS {
		b.maxRSS = rss
	}
}

func (b *bench) peakRSS() int64 {
	b.recordRSS()
	return b.maxRSS
}

// operatorCPU is the operator process's CPU time so far.
func (b *bench) operatorCPU() time.Duration {
	d, _ := processCPU(b.opPID)
	return d
}

// readyWatcher records, with the monotonic clock, when each AppDatabase of a namespace is first
// seen Ready through a watch (API timestamps have one-second resolution).
type readyWatcher struct {
	mu      sync.Mutex
	readyAt map[string]time.Time
	done    chan struct{}
	w       watch.Interface
}

func (b *bench) watchReady(ctx context.Context, namespace string) (*readyWatcher, error) {
	w, err := b.client.Watch(ctx, &dbv1.AppDatabaseList{}, client.InNamespace(namespace))
	if err != nil {
		return nil, err
	}
	rw := &readyWatcher{readyAt: map[string]time.Time{}, done: make(chan struct{}), w: w}
	go func() {
		defer close(rw.done)
		for ev := range w.ResultChan() {
			db, ok := ev.Object.(*dbv1.AppDatabase)
			if !ok || !isReady(db) {
				continue
			}
			rw.mu.Lock()
			if _, seen := rw.readyAt[db.Name]; !seen {
				rw.readyAt[db.Name] = time.Now()
			}
			rw.mu.Unlock()
		}
	}()
	return rw, nil
}

func (rw *readyWatcher) count() int {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	return len(rw.readyAt)
}

func (rw *readyWatcher) at(name string) (time.Time, bool) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	t, ok := rw.readyAt[name]
	return t, ok
}

func (rw *readyWatcher) stop() { rw.w.Stop(); <-rw.done }

func isReady(db *dbv1.AppDatabase) bool {
	c := meta.FindStatusCondition(db.Status.Conditions, dbv1.ConditionReady)
	return db.Status.Phase == dbv1.PhaseReady && c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == db.Generation
}

func appDatabase(namespace, name string) *dbv1.AppDatabase {
	return &dbv1.AppDatabase{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec:       dbv1.AppDatabaseSpec{ClusterRef: dbv1.DefaultClusterName, DBName: strings.ReplaceAll(name, "-", "_")},
	}
}

// createAll creates the objects from several goroutines at once, as a burst of users would, and
// returns when each create call was made. Each created object is also sent to created, if not nil.
func (b *bench) createAll(ctx context.Context, dbs []*dbv1.AppDatabase, createdObjects chan<- *dbv1.AppDatabase) (map[string]time.Time, error) {
	var mu sync.Mutex
	created := map[string]time.Time{}
	jobs := make(chan *dbv1.AppDatabase)
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for db := range jobs {
				start := time.Now()
				if err := b.client.Create(ctx, db); err != nil {
					select {
					case errs <- err:
					default:
					}
					continue
				}
				mu.Lock()
				created[db.Name] = start
				mu.Unlock()
				if createdObjects != nil {
					createdObjects <- db
				}
			}
		}()
	}
	for _, db := range dbs {
		jobs <- db
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return created, fmt.Errorf("creating AppDatabases: %w", err)
	default:
	}
	return created, nil
}

func (b *bench) ensureNamespace(ctx context.Context, name string) error {
	err := b.client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !strings.Contains(err.Error(), "already exists") {
		return err
	}
	return nil
}

// operatorFamilies reads the operator's metrics.
func (b *bench) operatorFamilies() (map[string]*dto.MetricFamily, error) {
	body, err := stack.HTTPGet("http://" + b.metricsAddr + "/metrics")
	if err != nil {
		return nil, err
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(strings.NewReader(body))
}

// operatorMetric reads one of the operator's own metrics, summed over the given labels.
func (b *bench) operatorMetric(name string, labels map[string]string) (float64, error) {
	families, err := b.operatorFamilies()
	if err != nil {
		return 0, err
	}
	family, ok := families[name]
	if !ok {
		return 0, nil
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
		if match && m.Counter != nil {
			total += m.Counter.GetValue()
		}
	}
	return total, nil
}

func waitUntil(ctx context.Context, timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func randomHex() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
