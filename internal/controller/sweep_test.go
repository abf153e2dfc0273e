package controller

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/cluster"
	"github.com/stillwaters/db-concierge/internal/credentials"
	"github.com/stillwaters/db-concierge/internal/tenant"
	"github.com/stillwaters/db-concierge/internal/tenant/tenanttest"
)

const sweptPassword = "Kq3vN8xZ2pL7wR4tY6uI9oA1sD5fG0hJ" //nolint:gosec // G101: a made-up password, for the Secret the test builds

var sweepTarget = &cluster.Cluster{
	Config: cluster.Config{Name: "c", AdminUser: "admin", App: cluster.Endpoint{Host: "db.example", Port: 3306}},
	Engine: tenanttest.New(),
}

// sweptObjects are a Ready tenant with a read-only account as a full pass leaves it: the
// AppDatabase, its two Secrets and its namespace.
func sweptObjects() (*dbv1.AppDatabase, *corev1.Secret, *corev1.Secret, *corev1.Namespace) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", UID: "ns-uid"}}
	db := &dbv1.AppDatabase{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "orders", UID: "db-uid", Generation: 1},
		Spec: dbv1.AppDatabaseSpec{ClusterRef: "c", DBName: "orders",
			Users: []dbv1.AppDatabaseUser{{Name: "orders_ro", Access: dbv1.AccessReadOnly}}},
	}
	conn := credentials.Connection{Host: "db.example", Port: 3306, User: "orders_app", Database: "orders", Password: sweptPassword}
	db.Status = desiredStatus(db, outcome{ready: true, accounts: accountStatus(accountsOf(db, 0))}, conn.URL(false), metav1.Now())
	labels, annotations := secretMeta(db)
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "orders-mysql-creds", Labels: labels, Annotations: annotations},
		Data:       conn.SecretData(),
	}
	reporting := secret.DeepCopy()
	reporting.Name = "orders-orders-ro-mysql-creds"
	conn.User, conn.Password = "orders_ro", sweptPassword+"ro"
	reporting.Data = conn.SecretData()
	return db, secret, reporting, ns
}

func sweepingReconciler(t *testing.T, objects ...client.Object) *AppDatabaseReconciler {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := dbv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	return &AppDatabaseReconciler{
		Client:            fake.NewClientBuilder().WithScheme(scheme).WithObjects(objects...).Build(),
		PlatformNamespace: "db-concierge",
		ResyncPeriod:      time.Minute,
	}
}

// The Kubernetes half of a sweep vouches for a tenant only when a full pass would find nothing to
// write to the Secret, the finalizers or the status.
func TestExpectationOf(t *testing.T) {
	cases := []struct {
		name  string
		drift func(db *dbv1.AppDatabase, s, ro *corev1.Secret, ns *corev1.Namespace) []client.Object
		want  string
	}{
		{"as a full pass left it", func(db *dbv1.AppDatabase, s, ro *corev1.Secret, ns *corev1.Namespace) []client.Object {
			return []client.Object{s, ro, ns}
		}, ""},
		{"Secret deleted", func(db *dbv1.AppDatabase, s, ro *corev1.Secret, ns *corev1.Namespace) []client.Object {
			return []client.Object{ro, ns}
		}, sweepSecret},
		{"Secret's host edited", func(db *dbv1.AppDatabase, s, ro *corev1.Secret, ns *corev1.Namespace) []client.Object {
			s.Data[credentials.KeyHost] = []byte("elsewhere")
			return []client.Object{s, ro, ns}
		}, sweepSecret},
		{"Secret's password emptied", func(db *dbv1.AppDatabase, s, ro *corev1.Secret, ns *corev1.Namespace) []client.Object {
			s.Data[credentials.KeyPassword] = nil
			return []client.Object{s, ro, ns}
		}, sweepSecret},
		{"Secret of another AppDatabase", func(db *dbv1.AppDatabase, s, ro *corev1.Secret, ns *corev1.Namespace) []client.Object {
			s.Annotations[dbv1.AnnotationOwnerUID] = "someone-else"
			return []client.Object{s, ro, ns}
		}, sweepSecret},
		{"Secret cached in part", func(db *dbv1.AppDatabase, s, ro *corev1.Secret, ns *corev1.Namespace) []client.Object {
			s.Annotations[trimmedMark] = "true"
			return []client.Object{s, ro, ns}
		}, sweepSecret},
		{"the read-only account's Secret deleted", func(db *dbv1.AppDatabase, s, ro *corev1.Secret, ns *corev1.Namespace) []client.Object {
			return []client.Object{s, ns}
		}, sweepSecret},
		{"the read-only account's Secret edited", func(db *dbv1.AppDatabase, s, ro *corev1.Secret, ns *corev1.Namespace) []client.Object {
			ro.Data[credentials.KeyUsername] = []byte("orders_app")
			return []client.Object{s, ro, ns}
		}, sweepSecret},
		{"an account added to the spec", func(db *dbv1.AppDatabase, s, ro *corev1.Secret, ns *corev1.Namespace) []client.Object {
			db.Spec.Users = append(db.Spec.Users, dbv1.AppDatabaseUser{Name: "orders_w", Access: dbv1.AccessDataOnly})
			return []client.Object{s, ro, ns}
		}, sweepSecret},
		{"an account's access changed", func(db *dbv1.AppDatabase, s, ro *corev1.Secret, ns *corev1.Namespace) []client.Object {
			db.Spec.Users[0].Access = dbv1.AccessDataOnly
			return []client.Object{s, ro, ns}
		}, sweepStatus},
		{"namespace gone", func(db *dbv1.AppDatabase, s, ro *corev1.Secret, ns *corev1.Namespace) []client.Object {
			return []client.Object{s, ro}
		}, sweepNamespace},
		{"deletion policy changed to Delete, no finalizer yet", func(db *dbv1.AppDatabase, s, ro *corev1.Secret, ns *corev1.Namespace) []client.Object {
			db.Spec.DeletionPolicy = dbv1.DeletionPolicyDelete
			return []client.Object{s, ro, ns}
		}, sweepFinalizer},
		{"a new reconcile annotation", func(db *dbv1.AppDatabase, s, ro *corev1.Secret, ns *corev1.Namespace) []client.Object {
			db.Annotations = map[string]string{dbv1.AnnotationReconcile: "1"}
			return []client.Object{s, ro, ns}
		}, sweepStatus},
		{"connection string of an older app endpoint", func(db *dbv1.AppDatabase, s, ro *corev1.Secret, ns *corev1.Namespace) []client.Object {
			db.Status.ConnectionString = "mysql://orders_app@old.example:3306/orders"
			return []client.Object{s, ro, ns}
		}, sweepStatus},
		{"spec the operator refuses", func(db *dbv1.AppDatabase, s, ro *corev1.Secret, ns *corev1.Namespace) []client.Object {
			db.Spec.AppNamespace = "elsewhere"
			return []client.Object{s, ro, ns}
		}, sweepSpec},
		{"AppDatabase cached in part", func(db *dbv1.AppDatabase, s, ro *corev1.Secret, ns *corev1.Namespace) []client.Object {
			db.Finalizers = []string{trimmedMark}
			return []client.Object{s, ro, ns}
		}, sweepPartialObject},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db, secret, reporting, ns := sweptObjects()
			r := sweepingReconciler(t, c.drift(db, secret, reporting, ns)...)
			e, reason := r.expectationOf(context.Background(), db, sweepTarget)
			if reason != c.want {
				t.Fatalf("reason = %q, want %q", reason, c.want)
			}
			want := []tenant.Account{
				{Name: "orders_app", Access: tenant.ReadWrite, Password: sweptPassword},
				{Name: "orders_ro", Access: tenant.ReadOnly, Password: sweptPassword + "ro"},
			}
			if reason == "" && (!slices.Equal(e.Spec.Accounts, want) || e.Spec.Database != "orders" || e.Spec.Owner.UID != "db-uid") {
				t.Errorf("expectation %+v", e.Spec)
			}
		})
	}
}

func TestSweepSchedule(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	phases := []float64{0.25, 0.75}
	s := newSweepSchedule(10*time.Minute, func() float64 { p := phases[0]; phases = phases[1:]; return p })

	s.track([]string{"a", "b"}, start)
	if got := s.untilNext(start); got != 150*time.Second {
		t.Errorf("first sweep in %v, want 2m30s: each cluster starts at its own phase", got)
	}
	if due := s.due(start.Add(time.Minute)); len(due) != 0 {
		t.Errorf("due before their phase: %v", due)
	}
	if due := s.due(start.Add(3 * time.Minute)); len(due) != 1 || due[0] != "a" {
		t.Errorf("due at 3m: %v, want [a]", due)
	}
	if got := s.untilNext(start.Add(3 * time.Minute)); got != 4*time.Minute+30*time.Second {
		t.Errorf("next sweep in %v, want b's at 7m30s", got)
	}
	if due := s.due(start.Add(8 * time.Minute)); len(due) != 1 || due[0] != "b" {
		t.Errorf("due at 8m: %v, want [b]", due)
	}
	if due := s.due(start.Add(12*time.Minute + 30*time.Second)); len(due) != 1 || due[0] != "a" {
		t.Errorf("a period after its first sweep: %v, want [a]", due)
	}
	// A sweep that ran very late is not followed by another at once.
	if due := s.due(start.Add(time.Hour)); len(due) != 2 {
		t.Errorf("due an hour in: %v", due)
	}
	if due := s.due(start.Add(time.Hour + time.Minute)); len(due) != 0 {
		t.Errorf("swept again a minute after a late sweep: %v", due)
	}
	s.track([]string{"b"}, start.Add(time.Hour))
	if _, known := s.next["a"]; known {
		t.Error("a cluster no longer configured is still scheduled")
	}
}

func TestEnqueueSpacing(t *testing.T) {
	cases := []struct {
		n      int
		window time.Duration
		want   time.Duration
	}{
		{0, 5 * time.Minute, 0},
		{1, 5 * time.Minute, 0},
		{5, 5 * time.Minute, maxEnqueueSpacing},
		{10000, 5 * time.Minute, 30 * time.Millisecond},
	}
	for _, c := range cases {
		if got := enqueueSpacing(c.n, c.window); got != c.want {
			t.Errorf("enqueueSpacing(%d, %v) = %v, want %v", c.n, c.window, got, c.want)
		}
	}
}
