//go:build integration

// Package flow drives the AppDatabase reconciler in-process, one Reconcile at a time, against a
// real kube-apiserver and etcd and the in-memory engine of internal/tenant/tenanttest. Each test
// asserts on what the API server holds (status, Secrets, finalizers) and what the fake engine
// holds (databases, accounts, the ownership ledger, the order of calls).
package flow

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/cluster"
	"github.com/stillwaters/db-concierge/internal/controller"
	"github.com/stillwaters/db-concierge/internal/credentials"
	"github.com/stillwaters/db-concierge/internal/tenant"
	"github.com/stillwaters/db-concierge/internal/tenant/tenanttest"
	"github.com/stillwaters/db-concierge/test/stack"
)

const (
	platformNS = "db-concierge"
	// adminSecret configures every test's MySQLCluster; the fake engine never logs in with it.
	adminSecret = "flow-mysql-admin" //nolint:gosec // G101: the name of a Secret, not a credential
	adminUser   = "concierge_admin"
	// appHost and appPort are what the MySQLClusters tell applications.
	appHost = "mysql.flow.invalid"
	appPort = 3306

	resyncPeriod          = time.Hour
	conflictRecheckPeriod = 3 * time.Second
)

var (
	kube *stack.Kube
	// k8s is the API server itself, past any wrapper a test puts around the reconciler's client.
	k8s client.Client
	seq atomic.Int64
)

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "flow suite:", err)
		code = 1
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	var err error
	if kube, err = stack.StartKube(stack.WithFastEtcd()); err != nil {
		return 1, err
	}
	defer kube.Stop()
	k8s = kube.Client
	ctx := context.Background()
	if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: platformNS}}); err != nil {
		return 1, err
	}
	if err := k8s.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: platformNS, Name: adminSecret},
		StringData: map[string]string{cluster.KeyAdminUser: adminUser, cluster.KeyAdminPassword: "not-used-by-the-fake"},
	}); err != nil {
		return 1, err
	}
	return m.Run(), nil
}

// --- the environment of one test: a namespace, a cluster, a fake engine, a reconciler ---

type env struct {
	t       *testing.T
	ctx     context.Context
	ns      string
	cluster string
	engine  *tenanttest.Engine
	events  *memRecorder
	r       *controller.AppDatabaseReconciler
}

type envOptions struct {
	// defaultMaxUserConnections is the MySQLCluster's spec.defaultMaxUserConnections.
	defaultMaxUserConnections *int32
	// wrap, when set, wraps the reconciler's client (after the cache emulation).
	wrap func(client.Client) client.Client
	// progressDelay is the reconciler's ProgressDelay; its default when 0.
	progressDelay time.Duration
	// secondPasswords makes the fake server keep two passwords per account, as MySQL 8 does.
	secondPasswords bool
}

// newEnv gives a test its own namespace, MySQLCluster, fake engine, cluster registry and
// reconciler, so that no two tests share anything but the API server.
func newEnv(t *testing.T, opts envOptions) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	n := seq.Add(1)
	e := &env{
		t:       t,
		ctx:     ctx,
		ns:      fmt.Sprintf("flow-%d", n),
		cluster: fmt.Sprintf("flow-cluster-%d", n),
		engine:  tenanttest.New(),
		events:  &memRecorder{},
	}
	e.engine.AdminUser = adminUser
	e.engine.KeepsSecondPasswords = opts.secondPasswords
	must(t, k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.ns}}))
	must(t, k8s.Create(ctx, &dbv1.MySQLCluster{
		ObjectMeta: metav1.ObjectMeta{Name: e.cluster},
		Spec: dbv1.MySQLClusterSpec{
			AdminEndpoints:            []dbv1.Endpoint{{Host: "admin.flow.invalid", Port: 3306}},
			AdminCredentials:          dbv1.AdminCredentials{SecretName: adminSecret},
			ApplicationEndpoint:       &dbv1.Endpoint{Host: appHost, Port: appPort},
			DefaultMaxUserConnections: opts.defaultMaxUserConnections,
		},
	}))
	t.Cleanup(func() {
		_ = k8s.Delete(context.Background(), &dbv1.MySQLCluster{ObjectMeta: metav1.ObjectMeta{Name: e.cluster}})
	})
	registry := cluster.NewRegistry(k8s, k8s, cluster.Options{
		Namespace:  platformNS,
		OpenEngine: func(cluster.Config) (tenant.Engine, error) { return e.engine, nil },
	})
	var c client.Client = managedSecretsOnly{k8s}
	if opts.wrap != nil {
		c = opts.wrap(c)
	}
	e.r = &controller.AppDatabaseReconciler{
		Client:                c,
		APIReader:             k8s,
		Recorder:              e.events,
		Clusters:              registry,
		PlatformNamespace:     platformNS,
		ResyncPeriod:          resyncPeriod,
		ConflictRecheckPeriod: conflictRecheckPeriod,
		ProgressDelay:         opts.progressDelay,
	}
	return e
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// create creates an AppDatabase in the test's namespace on the test's cluster.
func (e *env) create(name string, spec dbv1.AppDatabaseSpec) *dbv1.AppDatabase {
	e.t.Helper()
	spec.ClusterRef = e.cluster
	db := &dbv1.AppDatabase{ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: name}, Spec: spec}
	must(e.t, k8s.Create(e.ctx, db))
	return db
}

// reconcile runs one pass of the reconciler for the AppDatabase name.
func (e *env) reconcile(name string) (reconcile.Result, error) {
	return e.r.Reconcile(e.ctx, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: e.ns, Name: name}})
}

// reconcileOK runs one pass that must not fail.
func (e *env) reconcileOK(name string) reconcile.Result {
	e.t.Helper()
	res, err := e.reconcile(name)
	if err != nil {
		e.t.Fatalf("Reconcile %s: %v", name, err)
	}
	return res
}

// ready creates an AppDatabase and reconciles it to Ready.
func (e *env) ready(name string, spec dbv1.AppDatabaseSpec) *dbv1.AppDatabase {
	e.t.Helper()
	e.create(name, spec)
	e.reconcileOK(name)
	db := e.get(name)
	e.expectReady(db)
	return db
}

// waitFor polls done until it holds, failing the test after a generous deadline.
func (e *env) waitFor(what string, done func() bool) {
	e.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !done(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			e.t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// get reads an AppDatabase from the API server.
func (e *env) get(name string) *dbv1.AppDatabase {
	e.t.Helper()
	var db dbv1.AppDatabase
	must(e.t, k8s.Get(e.ctx, types.NamespacedName{Namespace: e.ns, Name: name}, &db))
	return &db
}

// gone reports whether the AppDatabase no longer exists.
func (e *env) gone(name string) bool {
	e.t.Helper()
	var db dbv1.AppDatabase
	err := k8s.Get(e.ctx, types.NamespacedName{Namespace: e.ns, Name: name}, &db)
	if err != nil && !apierrors.IsNotFound(err) {
		e.t.Fatal(err)
	}
	return apierrors.IsNotFound(err)
}

// update changes an AppDatabase's spec, retrying on conflict.
func (e *env) update(name string, change func(*dbv1.AppDatabase)) {
	e.t.Helper()
	for {
		db := e.get(name)
		change(db)
		err := k8s.Update(e.ctx, db)
		if apierrors.IsConflict(err) {
			continue
		}
		must(e.t, err)
		return
	}
}

// secret reads a Secret of the test's namespace; nil when there is none.
func (e *env) secret(name string) *corev1.Secret {
	e.t.Helper()
	var s corev1.Secret
	err := k8s.Get(e.ctx, types.NamespacedName{Namespace: e.ns, Name: name}, &s)
	if apierrors.IsNotFound(err) {
		return nil
	}
	must(e.t, err)
	return &s
}

// foreignSecret creates a Secret DB Concierge did not make.
func (e *env) foreignSecret(name string) *corev1.Secret {
	e.t.Helper()
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: name, Labels: map[string]string{"app": "someone-else"}},
		StringData: map[string]string{"password": "theirs"},
	}
	must(e.t, k8s.Create(e.ctx, s))
	return e.secret(name)
}

func (e *env) deleteSecret(name string) {
	e.t.Helper()
	must(e.t, k8s.Delete(e.ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: name}}))
}

// --- assertions ---

func readyCondition(db *dbv1.AppDatabase) metav1.Condition {
	if c := meta.FindStatusCondition(db.Status.Conditions, dbv1.ConditionReady); c != nil {
		return *c
	}
	return metav1.Condition{}
}

// expectReady checks the status of a Ready AppDatabase, and that every account it lists has a
// Secret of DB Concierge's whose password, user and database are the engine's.
func (e *env) expectReady(db *dbv1.AppDatabase) {
	e.t.Helper()
	c := readyCondition(db)
	if db.Status.Phase != dbv1.PhaseReady || c.Status != metav1.ConditionTrue || c.Reason != dbv1.ReasonProvisioned {
		e.t.Fatalf("%s: want Ready/Provisioned, have phase %q reason %q: %s", db.Name, db.Status.Phase, c.Reason, db.Status.Message)
	}
	if db.Status.ObservedGeneration != db.Generation || c.ObservedGeneration != db.Generation {
		e.t.Fatalf("%s: status describes generation %d/%d, the object is at %d", db.Name, db.Status.ObservedGeneration, c.ObservedGeneration, db.Generation)
	}
	wantURL := fmt.Sprintf("mysql://%s@%s:%d/%s", db.Spec.EffectiveUserName(), appHost, appPort, db.Spec.DBName)
	if db.Status.ConnectionString != wantURL {
		e.t.Errorf("%s: connectionString %q, want %q", db.Name, db.Status.ConnectionString, wantURL)
	}
	if !e.engine.Database(db.Spec.DBName) {
		e.t.Errorf("%s: the engine has no database %q", db.Name, db.Spec.DBName)
	}
	for _, a := range db.Status.Accounts {
		e.expectAccountSecret(db, a.Name, a.SecretName, tenant.Access(a.Access))
	}
}

// expectAccountSecret checks that account exists in the engine with access on db's database and
// the password of its Secret, which DB Concierge made for db.
func (e *env) expectAccountSecret(db *dbv1.AppDatabase, account, secretName string, access tenant.Access) {
	e.t.Helper()
	s := e.secret(secretName)
	if s == nil {
		e.t.Fatalf("account %s: Secret %s does not exist", account, secretName)
	}
	a, ok := e.engine.Account(account)
	if !ok {
		e.t.Fatalf("account %s: the engine has no such account", account)
	}
	if pw := string(s.Data[credentials.KeyPassword]); pw == "" || pw != a.Password {
		e.t.Errorf("account %s: Secret %s holds another password than the engine's account", account, secretName)
	}
	if a.Access != access || a.Database != db.Spec.DBName {
		e.t.Errorf("account %s: engine has access %q on %q, want %q on %q", account, a.Access, a.Database, access, db.Spec.DBName)
	}
	if u := string(s.Data[credentials.KeyUsername]); u != account {
		e.t.Errorf("Secret %s: username %q, want %q", secretName, u, account)
	}
	if d := string(s.Data[credentials.KeyDatabase]); d != db.Spec.DBName {
		e.t.Errorf("Secret %s: database %q, want %q", secretName, d, db.Spec.DBName)
	}
	e.expectManagedSecret(s, db)
}

// expectManagedSecret checks the labels and annotations DB Concierge puts on its Secrets.
func (e *env) expectManagedSecret(s *corev1.Secret, db *dbv1.AppDatabase) {
	e.t.Helper()
	wantLabels := map[string]string{
		dbv1.LabelManagedBy:            dbv1.ManagedByValue,
		dbv1.LabelAppDatabaseName:      db.Name,
		dbv1.LabelAppDatabaseNamespace: db.Namespace,
	}
	for k, v := range wantLabels {
		if s.Labels[k] != v {
			e.t.Errorf("Secret %s: label %s=%q, want %q", s.Name, k, s.Labels[k], v)
		}
	}
	if s.Annotations[dbv1.AnnotationOwner] != db.Namespace+"/"+db.Name || s.Annotations[dbv1.AnnotationOwnerUID] != string(db.UID) {
		e.t.Errorf("Secret %s: owner annotations %v, want %s/%s (%s)", s.Name, s.Annotations, db.Namespace, db.Name, db.UID)
	}
}

// expectFailed checks that an AppDatabase failed for reason, with a message holding each of
// fragments.
func (e *env) expectFailed(db *dbv1.AppDatabase, reason string, fragments ...string) {
	e.t.Helper()
	c := readyCondition(db)
	if db.Status.Phase != dbv1.PhaseFailed || c.Status != metav1.ConditionFalse || c.Reason != reason {
		e.t.Fatalf("%s: want Failed/%s, have phase %q reason %q: %s", db.Name, reason, db.Status.Phase, c.Reason, db.Status.Message)
	}
	for _, f := range fragments {
		if !strings.Contains(db.Status.Message, f) {
			e.t.Errorf("%s: message %q does not mention %q", db.Name, db.Status.Message, f)
		}
	}
}

// owned lists the ledger records the engine should hold for db, all committed: its database and
// the given accounts.
func owned(db *dbv1.AppDatabase, accounts ...string) []tenanttest.Record {
	records := []tenanttest.Record{{Object: tenant.ObjectDatabase, Name: db.Spec.DBName, OwnerUID: string(db.UID), Committed: true}}
	for _, a := range accounts {
		records = append(records, tenanttest.Record{Object: tenant.ObjectUser, Name: a, OwnerUID: string(db.UID), Committed: true})
	}
	return records
}

// expectLedger checks that the engine's ledger holds exactly want (in Ledger's order: object,
// then name).
func (e *env) expectLedger(want ...[]tenanttest.Record) {
	e.t.Helper()
	var all []tenanttest.Record
	for _, w := range want {
		all = append(all, w...)
	}
	slices.SortFunc(all, func(a, b tenanttest.Record) int {
		return strings.Compare(string(a.Object)+"\x00"+a.Name, string(b.Object)+"\x00"+b.Name)
	})
	if have := e.engine.Ledger(); !slices.Equal(have, all) {
		e.t.Errorf("ledger:\n have %+v\n want %+v", have, all)
	}
}

// expectCalls checks the engine methods called since the last ResetCalls, then forgets them.
func (e *env) expectCalls(want ...string) {
	e.t.Helper()
	if have := e.engine.Calls(); !slices.Equal(have, want) {
		e.t.Errorf("engine calls: have %v, want %v", have, want)
	}
	e.engine.ResetCalls()
}

// --- an event recorder that keeps Events in memory ---

type recordedEvent struct{ Type, Reason, Action, Note string }

type memRecorder struct {
	mu     sync.Mutex
	events []recordedEvent
}

var _ recorder.EventRecorder = (*memRecorder)(nil)

func (m *memRecorder) Eventf(_, _ runtime.Object, eventtype, reason, action, note string, args ...any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, recordedEvent{Type: eventtype, Reason: reason, Action: action, Note: fmt.Sprintf(note, args...)})
}

func (m *memRecorder) AnnotatedEventf(regarding, related runtime.Object, _ map[string]string, eventtype, reason, action, note string, args ...any) {
	m.Eventf(regarding, related, eventtype, reason, action, note, args...)
}

// take returns the Events recorded so far and forgets them.
func (m *memRecorder) take() []recordedEvent {
	m.mu.Lock()
	defer m.mu.Unlock()
	events := m.events
	m.events = nil
	return events
}

// reasons lists the reasons of events.
func reasons(events []recordedEvent) []string {
	r := make([]string, len(events))
	for i, ev := range events {
		r[i] = ev.Reason
	}
	return r
}

// --- clients ---

// managedSecretsOnly reads Secrets as the operator's cache does: only those carrying DB
// Concierge's managed-by label exist for it (controller.CachedObjects). Everything else goes to
// the API server as it is.
type managedSecretsOnly struct{ client.Client }

func (c managedSecretsOnly) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if err := c.Client.Get(ctx, key, obj, opts...); err != nil {
		return err
	}
	if s, ok := obj.(*corev1.Secret); ok && s.Labels[dbv1.LabelManagedBy] != dbv1.ManagedByValue {
		*s = corev1.Secret{}
		return apierrors.NewNotFound(corev1.Resource("secrets"), key.Name)
	}
	return nil
}

// staleStatus makes chosen status writes meet a real conflict: just before the write it changes
// the object on the API server (a label), so that the write's resourceVersion is stale and the
// API server refuses it.
type staleStatus struct {
	client.Client
	mu     sync.Mutex
	writes int
	// failOn are the status writes (counted from 1) to make stale.
	failOn map[int]bool
	failed int
}

func (c *staleStatus) Status() client.SubResourceWriter {
	return staleStatusWriter{SubResourceWriter: c.Client.Status(), c: c}
}

type staleStatusWriter struct {
	client.SubResourceWriter
	c *staleStatus
}

// failNextWrite makes the next status write stale.
func (c *staleStatus) failNextWrite() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failOn == nil {
		c.failOn = map[int]bool{}
	}
	c.failOn[c.writes+1] = true
}

// count returns how many status writes were made.
func (c *staleStatus) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes
}

func (w staleStatusWriter) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	w.c.mu.Lock()
	w.c.writes++
	stale := w.c.failOn[w.c.writes]
	if stale {
		w.c.failed++
	}
	w.c.mu.Unlock()
	if stale {
		var current dbv1.AppDatabase
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(obj), &current); err != nil {
			return err
		}
		metav1.SetMetaDataLabel(&current.ObjectMeta, "flow-bump", fmt.Sprint(time.Now().UnixNano()))
		if err := k8s.Update(ctx, &current); err != nil {
			return err
		}
	}
	return w.SubResourceWriter.Update(ctx, obj, opts...)
}

func int32p(v int32) *int32 { return &v }
