//go:build integration

// Package chaos provisions a batch of AppDatabases on the local stack — a single MariaDB or a
// 3-node Galera cluster, two operator replicas with leader election — while it SIGKILLs MySQL
// servers and operator replicas and restarts the API server at random moments, and deletes some
// AppDatabases on the way. Then it checks what MySQL and the API server hold: every AppDatabase
// Ready, every Secret logs in, deleted tenants gone without sessions, nothing orphaned, no Secret
// rewritten, no password in the operators' output.
//
// The randomness comes from one seed (CHAOS_SEED, or the clock), printed so that a run's plan can
// be repeated. `make chaos` runs the full size (CHAOS_MODE=full); without CHAOS_* variables, as in
// `make test`, a short run. CHAOS_REPORT names a file for the figures, as markdown.
package chaos

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/test/stack"
)

// runTimeout bounds one backend's run; the waits inside it (for the API server, a leader, all
// Ready) are far shorter, so a stuck run fails saying what it was waiting for.
const runTimeout = 30 * time.Minute

func TestChaos(t *testing.T) {
	cfg, err := configFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("chaos seed %d, mode %s, %d AppDatabases on %s; repeat with %s",
		cfg.seed, cfg.mode, cfg.tenants, strings.Join(cfg.backends, ", "), cfg.repeat())
	// The sessions the run holds across their tenants' deletion are ended by the operator; the
	// driver would print each one's end.
	_ = gomysql.SetLogger(log.New(io.Discard, "", 0))
	binDir := t.TempDir()
	bin, err := stack.BuildOperator(binDir, false)
	if err != nil {
		t.Fatal(err)
	}
	var reps []*report
	for _, name := range cfg.backends {
		rep := &report{backend: name, cfg: cfg, deleted: map[dbv1.DeletionPolicy]int{}}
		reps = append(reps, rep)
		t.Run(name, func(t *testing.T) { runChaos(t, cfg, bin, rep) })
	}
	if cfg.report != "" {
		if err := writeReport(cfg.report, cfg, reps); err != nil {
			t.Error(err)
		}
		t.Logf("figures written to %s", cfg.report)
	}
}

// runChaos runs the batch on one backend and fills rep.
func runChaos(t *testing.T, cfg config, bin string, rep *report) {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	t.Logf("%s: seed %d", rep.backend, cfg.seed)
	r := setUp(t, ctx, cfg, rep.backend, bin)
	defer r.closeSessions()
	defer func() { t.Log("\n" + rep.markdown()) }()

	r.began = time.Now()
	rep.began = r.began
	watchCtx, stopWatching := context.WithCancel(ctx)
	go r.watchSettled(watchCtx)
	r.drive(ctx)
	allReady, pending := r.settle(ctx)
	stopWatching()
	rep.found.notReady = pending
	if !allReady.IsZero() {
		// Zero when the last fault left every AppDatabase as it was.
		rep.lastFaultTo = max(allReady.Sub(r.lastFault()), 0)
		rep.allReady = allReady.Sub(r.began)
		rep.settled = true
	}
	for _, c := range checks {
		c.run(r, ctx, &rep.found)
	}
	r.stopOperators()
	rep.found.leaks, rep.found.crashes = r.checkLogs(ctx)
	r.fill(rep)
	r.fail(rep)
}

// setUp starts the API server, the backend and two operator replicas, and plans the run; it
// registers their shutdown with t.
func setUp(t *testing.T, ctx context.Context, cfg config, name, bin string) *run {
	// A restart then stops the API server within seconds, though clients hold watches.
	kube, err := stack.StartKube(stack.WithStopGrace(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kube.Stop)
	r := &run{t: t, cfg: cfg, kube: kube, bin: bin, adminPassword: randomHex()}
	if r.db, err = backends[name](ctx, r.adminPassword); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.db.close)
	if err := r.createConfig(ctx); err != nil {
		t.Fatal(err)
	}
	if r.baseline, err = readState(r.db.servers[0]); err != nil {
		t.Fatal(err)
	}
	if r.obs, err = startObserver(ctx, kube); err != nil {
		t.Fatal(err)
	}
	r.plan = newPlan(cfg, name, len(r.db.servers))
	t.Logf("%s plan:\n%s", name, r.plan.describe())
	for _, tp := range r.plan.tenants {
		r.tenants = append(r.tenants, &tenant{plan: tp})
	}
	r.startOperators(ctx)
	return r
}

// createConfig creates the namespaces and the objects that tell the operator about the backend.
func (r *run) createConfig(ctx context.Context) error {
	var objs []client.Object
	for _, ns := range append([]string{platformNS}, appNamespaces...) {
		objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}
	for _, obj := range append(objs, r.db.config...) {
		if err := r.kube.Client.Create(ctx, obj); err != nil {
			return fmt.Errorf("creating %T %s: %w", obj, obj.GetName(), err)
		}
	}
	return nil
}

// startOperators starts two replicas and their supervision, and waits for one to lead.
func (r *run) startOperators(ctx context.Context) {
	r.ops = newReplicas(r.bin, operatorArgs(r.kube.Kubeconfig))
	for range 2 {
		if _, err := r.ops.start(); err != nil {
			r.t.Fatal(err)
		}
	}
	superviseCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); r.ops.supervise(superviseCtx, func(err error) { r.t.Error(err) }) }()
	r.stopSupervision = func() { stop(); <-done }
	r.t.Cleanup(r.stopOperators)
	if _, err := r.ops.waitLeader(ctx, 2*time.Minute); err != nil {
		r.t.Fatal(err)
	}
}

// stopOperators ends supervision, then stops every replica and keeps their output in a file.
func (r *run) stopOperators() {
	if r.stopSupervision == nil {
		return
	}
	r.stopSupervision()
	r.stopSupervision = nil
	r.ops.stopAll()
	r.logFile = filepath.Join(os.TempDir(), fmt.Sprintf("db-concierge-chaos-%s-%d.log", r.db.name, r.cfg.seed))
	var b strings.Builder
	for _, out := range r.ops.logs() {
		for _, line := range strings.SplitAfter(out.log, "\n") {
			if line != "" {
				b.WriteString(out.name + " " + line)
			}
		}
	}
	if err := os.WriteFile(r.logFile, []byte(b.String()), 0o600); err != nil {
		r.t.Log(err)
	}
}

func (r *run) closeSessions() {
	for _, t := range r.tenants {
		if t.session != nil {
			t.session.Close()
			t.sessionPool.Close()
		}
	}
}

// fill puts the run's figures into rep.
func (r *run) fill(rep *report) {
	rep.duration = time.Since(r.began)
	r.mu.Lock()
	rep.faults = append(rep.faults, r.faults...)
	rep.allCreated = r.allCreated.Sub(r.began)
	r.mu.Unlock()
	for _, t := range r.tenants {
		if t.isDeleted() {
			rep.deleted[t.plan.effectivePolicy()]++
		}
		if t.session != nil {
			rep.heldSessions++
		}
		if at, ok := r.obs.readyAt(t.key()); ok && !t.created.IsZero() {
			rep.ttr = append(rep.ttr, at.Sub(t.created))
		}
	}
	histories, readyLost := r.obs.snapshot()
	for _, h := range histories {
		rep.rewrites += len(h.rewrites) + max(h.creates-1, 0)
		rep.pwChanges += max(len(h.passwords)-1, 0)
	}
	rep.readyLost = readyLost
	rep.reconcileErrs = r.reconcileErrors()
	rep.unaskedTotal, rep.unasked = r.ops.unaskedExits()
	rep.logFile = r.logFile
	for _, f := range rep.faults {
		if f.err != nil {
			rep.found.crashes = append(rep.found.crashes, fmt.Sprintf("%s on %s: %v", f.kind, f.target, f.err))
		}
	}
}

// fail reports every finding as a test failure.
func (r *run) fail(rep *report) {
	for _, c := range rep.found.categories() {
		for _, f := range c.list {
			r.t.Errorf("%s: %s", c.name, f)
		}
	}
}

func randomHex() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
