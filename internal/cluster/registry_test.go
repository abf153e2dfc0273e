package cluster

import (
	"context"
	"errors"
	"strings"
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
	if err := inFlight.Admin.Ping(ctx); err == nil || isClosed(err) {
		t.Fatalf("the replaced pool was closed under a pass still using it: %v", err)
	}
	inFlight.Release()
	deadline := time.Now().Add(10 * time.Second)
	for err := inFlight.Admin.Ping(ctx); !isClosed(err); err = inFlight.Admin.Ping(ctx) {
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
