package cluster

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/tenant"
)

func testScheme() *runtime.Scheme {
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = dbv1.AddToScheme(scheme)
	return scheme
}

// testCluster is a MySQLCluster named "c" reading its admin account from Secret ns/admin. Nothing
// listens at its endpoint: a ping of an open pool fails to connect, of a closed one at once.
func testCluster() *dbv1.MySQLCluster {
	return &dbv1.MySQLCluster{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Spec: dbv1.MySQLClusterSpec{
		AdminEndpoints:   []dbv1.Endpoint{{Host: "127.0.0.1", Port: 1}},
		AdminCredentials: dbv1.AdminCredentials{SecretName: "admin"},
	}}
}

// A pool replaced after a configuration change stays open for the pass that is using it, and is
// closed once that pass gives it back.
func TestReplacedPoolOutlivesItsUsers(t *testing.T) {
	ctx := context.Background()
	mc := testCluster()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "admin"},
		Data: map[string][]byte{KeyAdminUser: []byte("admin"), KeyAdminPassword: []byte("pw")}}
	k8s := fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(mc, secret).Build()
	r := NewRegistry(k8s, k8s, Options{Namespace: "ns", Notified: true, ConnectTimeout: 100 * time.Millisecond})

	inFlight, err := r.Get(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	mc.Spec.MaxConnections = 2
	if err := k8s.Update(ctx, mc); err != nil {
		t.Fatal(err)
	}
	r.Invalidate()
	next, err := r.Get(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	defer next.Release()
	if next == inFlight {
		t.Fatal("the pool was not replaced after the configuration changed")
	}
	probe := func() error {
		_, err := inFlight.Engine.Inspect(ctx)
		return err
	}
	if err := probe(); err == nil || isClosed(err) {
		t.Fatalf("the replaced pool was closed under a pass still using it: %v", err)
	}
	inFlight.Release()
	deadline := time.Now().Add(10 * time.Second)
	for err := probe(); !isClosed(err); err = probe() {
		if time.Now().After(deadline) {
			t.Fatalf("the replaced pool is still open after its last use: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func isClosed(err error) bool {
	return err != nil && strings.Contains(err.Error(), "database is closed")
}

// A configuration the API server fails to return is not an invalid configuration: only what was
// read and found wanting, or is missing, is a *ConfigError (which tenants report as the platform
// team's to fix).
func TestUnreadConfigurationIsNotInvalid(t *testing.T) {
	ctx := context.Background()
	scheme, mc := testScheme(), testCluster()
	cases := []struct {
		name    string
		failGet error
		invalid bool
	}{
		{"the API server times out", apierrors.NewTimeoutError("slow", 1), false},
		{"the API server fails", apierrors.NewInternalError(errors.New("etcd")), false},
		{"the admin Secret is missing", nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k8s := fake.NewClientBuilder().WithScheme(scheme).WithObjects(mc.DeepCopy()).
				WithInterceptorFuncs(interceptor.Funcs{Get: func(ctx context.Context, cl client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
					if c.failGet != nil {
						return c.failGet
					}
					return cl.Get(ctx, key, obj, opts...)
				}}).Build()
			r := NewRegistry(k8s, k8s, Options{Namespace: "ns", Notified: true})
			_, err := r.Get(ctx, "c")
			var ce *ConfigError
			if err == nil || errors.As(err, &ce) != c.invalid {
				t.Errorf("Get = %v; a *ConfigError: %v, want %v", err, errors.As(err, &ce), c.invalid)
			}
		})
	}
}

// fakeEngine is an in-memory engine: it answers Inspect as told, and counts Close.
type fakeEngine struct {
	tenant.Engine // the methods the registry never calls
	cfg           Config
	mu            sync.Mutex
	down          bool
	closed        int
}

func (e *fakeEngine) Inspect(context.Context) (tenant.ServerInfo, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.down {
		return tenant.ServerInfo{}, &tenant.Error{Kind: tenant.KindUnreachable, Err: errors.New("down")}
	}
	return tenant.ServerInfo{Flavor: "Fake"}, nil
}

func (e *fakeEngine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed++
	return nil
}

func (e *fakeEngine) closes() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed
}

func (e *fakeEngine) setDown(down bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.down = down
}

// An engine opened by Options.OpenEngine is handed out, replaced and closed like a MySQL pool,
// and probed through the engine when its cluster was unreachable.
func TestOpenEngine(t *testing.T) {
	ctx := context.Background()
	mc := testCluster()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "admin"},
		Data: map[string][]byte{KeyAdminUser: []byte("admin"), KeyAdminPassword: []byte("pw")}}
	k8s := fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(mc, secret).Build()
	var mu sync.Mutex
	var opened []*fakeEngine
	reachable := make(chan string, 1)
	r := NewRegistry(k8s, k8s, Options{Namespace: "ns", Notified: true,
		OpenEngine: func(cfg Config) (tenant.Engine, error) {
			mu.Lock()
			defer mu.Unlock()
			e := &fakeEngine{cfg: cfg}
			opened = append(opened, e)
			return e, nil
		},
		OnReachable: func(name string) { reachable <- name },
	})

	first, err := r.Get(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	engine, ok := first.Engine.(*fakeEngine)
	if !ok || engine.cfg.AdminUser != "admin" || engine.cfg.Admin[0].Port != 1 {
		t.Fatalf("the cluster's engine is %#v", first.Engine)
	}
	first.Release()

	// Probed while down: not reachable; once up, reachable again.
	engine.setDown(true)
	r.MarkUnreachable("c")
	r.probe(ctx)
	select {
	case name := <-reachable:
		t.Fatalf("%s reported reachable while its engine is down", name)
	default:
	}
	engine.setDown(false)
	r.probe(ctx)
	select {
	case name := <-reachable:
		if name != "c" {
			t.Errorf("reachable: %s", name)
		}
	default:
		t.Error("the cluster was not reported reachable once its engine answered")
	}

	mc.Spec.MaxConnections = 2
	if err := k8s.Update(ctx, mc); err != nil {
		t.Fatal(err)
	}
	r.Invalidate()
	next, err := r.Get(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	defer next.Release()
	if next.Engine == first.Engine || next.Engine.(*fakeEngine).cfg.MaxConns != 2 {
		t.Fatal("the engine was not replaced after the configuration changed")
	}
	deadline := time.Now().Add(10 * time.Second)
	for engine.closes() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the replaced engine was closed %d times", engine.closes())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
