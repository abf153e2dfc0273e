//go:build integration

// Package integration runs the operator as a process against a real kube-apiserver and a real
// MariaDB, and asserts on what the API server and MySQL hold.
package integration

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/cluster"
	"github.com/stillwaters/db-concierge/test/stack"
)

const (
	platformNS = "db-concierge"
	adminUser  = "concierge_admin"
	timeout    = stack.Timeout
)

var (
	kube        *stack.Kube
	maria       *stack.MariaDB
	k8s         client.Client
	operatorBin string
	operator    *stack.Operator
	operatorLog = &stack.LogBuffer{}

	adminPassword = randomString()
	// secrets holds every password the tests have seen, to search the operator's output for.
	secrets sync.Map
)

func TestMain(m *testing.M) {
	code, err := runSuite(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration suite:", err)
		code = 1
	}
	os.Exit(code)
}

func runSuite(m *testing.M) (int, error) {
	var err error
	if kube, err = stack.StartKube(); err != nil {
		return 1, err
	}
	defer kube.Stop()
	k8s = kube.Client
	if maria, err = stack.StartMariaDB(); err != nil {
		return 1, err
	}
	defer maria.Close()
	binDir, err := os.MkdirTemp("", "db-concierge-bin-")
	if err != nil {
		return 1, err
	}
	defer func() { _ = os.RemoveAll(binDir) }()
	if operatorBin, err = stack.BuildOperator(binDir, true); err != nil {
		return 1, err
	}

	ctx := context.Background()
	secrets.Store(adminPassword, "admin")
	if err := maria.CreateAdmin(ctx, adminUser, adminPassword); err != nil {
		return 1, err
	}
	if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: platformNS}}); err != nil {
		return 1, err
	}
	if err := k8s.Create(ctx, adminSecret(adminPassword)); err != nil {
		return 1, err
	}
	if operator, err = startOperator(nil); err != nil {
		return 1, err
	}
	code := m.Run()
	operator.Stop()

	if leaks := passwordLeaks(ctx); len(leaks) > 0 {
		return 1, fmt.Errorf("the operator's output contains passwords (%s)", strings.Join(leaks, ", "))
	}
	path := filepath.Join(os.TempDir(), "db-concierge-integration-operator.log")
	_ = os.WriteFile(path, []byte(operatorLog.String()), 0o600)
	if code != 0 {
		fmt.Fprintln(os.Stderr, "operator output saved to", path)
	}
	return code, nil
}

// adminSecret is the seed's admin Secret for the test server, with the default cluster name.
func adminSecret(password string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: platformNS, Name: cluster.LegacySecretName},
		StringData: map[string]string{
			cluster.KeyAdminHost:     "127.0.0.1",
			cluster.KeyAdminPort:     fmt.Sprint(maria.Port),
			cluster.KeyAdminUser:     adminUser,
			cluster.KeyAdminPassword: password,
		},
	}
}

// operatorArgs are the operator's flags in tests: short backoffs and checks, and debug logging
// (so that the password check covers every verbosity).
func operatorArgs(extra ...string) []string {
	return append([]string{
		"--kubeconfig=" + kube.Kubeconfig,
		"--platform-namespace=" + platformNS,
		"--metrics-bind-address=0",
		"--health-probe-bind-address=0",
		"--max-backoff=2s",
		"--resync-period=1h",
		"--cluster-check-interval=2s",
		"--conflict-recheck-period=3s",
		"--zap-log-level=debug",
	}, extra...)
}

// startOperator runs the operator binary against the test API server.
func startOperator(env []string) (*stack.Operator, error) {
	return stack.StartOperator(operatorBin, operatorArgs(), env, operatorLog)
}

// restartOperator replaces the running operator with a fresh process.
func restartOperator(t *testing.T, env ...string) {
	t.Helper()
	operator.Stop()
	var err error
	if operator, err = startOperator(env); err != nil {
		t.Fatal(err)
	}
}

// passwordLeaks searches everything the operator printed for any password the suite has seen,
// including every password held in a managed Secret now.
func passwordLeaks(ctx context.Context) []string {
	var list corev1.SecretList
	if err := k8s.List(ctx, &list, client.MatchingLabels{dbv1.LabelManagedBy: dbv1.ManagedByValue}); err == nil {
		for _, s := range list.Items {
			secrets.Store(string(s.Data["password"]), s.Namespace+"/"+s.Name)
		}
	}
	output := operatorLog.String()
	var leaks []string
	secrets.Range(func(k, v any) bool {
		if pw := k.(string); pw != "" && strings.Contains(output, pw) {
			leaks = append(leaks, v.(string))
		}
		return true
	})
	return leaks
}

func randomString() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// --- helpers shared by the tests ---

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func ensureNamespace(t *testing.T, name string) {
	t.Helper()
	err := k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
}

func newAppDB(namespace, name string, spec dbv1.AppDatabaseSpec) *dbv1.AppDatabase {
	if spec.ClusterRef == "" {
		spec.ClusterRef = dbv1.DefaultClusterName
	}
	return &dbv1.AppDatabase{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, Spec: spec}
}

func create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := k8s.Create(context.Background(), obj); err != nil {
		t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	stack.Eventually(t, what, check)
}

func waitFor(t *testing.T, key client.ObjectKey, phase dbv1.Phase, reason string) *dbv1.AppDatabase {
	t.Helper()
	return stack.WaitForAppDatabase(t, k8s, key, phase, reason)
}

func waitReady(t *testing.T, db *dbv1.AppDatabase) *dbv1.AppDatabase {
	t.Helper()
	return waitFor(t, client.ObjectKeyFromObject(db), dbv1.PhaseReady, dbv1.ReasonProvisioned)
}

// secretOf returns the AppDatabase's Secret and remembers its password for the leak check.
func secretOf(t *testing.T, db *dbv1.AppDatabase) *corev1.Secret {
	t.Helper()
	var s corev1.Secret
	key := client.ObjectKey{Namespace: db.EffectiveAppNamespace(), Name: db.Spec.EffectiveSecretName()}
	if err := k8s.Get(context.Background(), key, &s); err != nil {
		t.Fatalf("reading Secret %s: %v", key, err)
	}
	secrets.Store(string(s.Data["password"]), key.String())
	return &s
}

func deleteAndWait(t *testing.T, obj client.Object) {
	t.Helper()
	if err := k8s.Delete(context.Background(), obj); client.IgnoreNotFound(err) != nil {
		t.Fatalf("deleting %s: %v", obj.GetName(), err)
	}
	eventually(t, "deletion of "+obj.GetName(), func() error {
		err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there (finalizers %v): %v", obj.GetFinalizers(), err) //nolint:errorlint // nil while it exists: %v prints that, %w would not
	})
}

// patchLive reads obj (named by its namespace and name) as the API server holds it now, applies
// change, and writes the difference back as a merge patch.
func patchLive(t *testing.T, obj client.Object, change func()) {
	t.Helper()
	ctx := context.Background()
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
	change()
	if err := k8s.Patch(ctx, obj, patch); err != nil {
		t.Fatal(err)
	}
}

// setOrDelete sets key in a label or annotation map, or removes it (value "").
func setOrDelete(m *map[string]string, key, value string) {
	if value == "" {
		delete(*m, key)
		return
	}
	if *m == nil {
		*m = map[string]string{}
	}
	(*m)[key] = value
}

// root opens a root pool on the test server, for assertions.
func root(t *testing.T) *sql.DB {
	t.Helper()
	db, err := maria.RootDB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// login opens a single connection as user, failing the test if the login fails.
func login(t *testing.T, user, password, database string) *sql.Conn {
	t.Helper()
	db, err := maria.Connect(user, password, database)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatalf("logging in as %s: %v", user, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// canLogin reports whether user logs in to database with password.
func canLogin(ctx context.Context, user, password, database string) error {
	return loginOn(ctx, maria, user, password, database)
}

// loginOn reports whether user logs in to database with password on server.
func loginOn(ctx context.Context, server *stack.MariaDB, user, password, database string) error {
	db, err := server.Connect(user, password, database)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.PingContext(ctx)
}

func databaseExists(t *testing.T, name string) bool {
	t.Helper()
	var n int
	if err := root(t).QueryRow("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func userExists(t *testing.T, name string) bool {
	t.Helper()
	var n int
	if err := root(t).QueryRow("SELECT COUNT(*) FROM mysql.user WHERE User = ?", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

func grantsOf(t *testing.T, user string) []string {
	t.Helper()
	return grantsOn(t, root(t), user)
}

// grantsOn lists what SHOW GRANTS prints for user@'%' through a root pool.
func grantsOn(t *testing.T, rootDB *sql.DB, user string) []string {
	t.Helper()
	grants, err := stack.Strings(context.Background(), rootDB, "SHOW GRANTS FOR `"+user+"`@'%'")
	if err != nil {
		t.Fatal(err)
	}
	return grants
}

func writeCounters(t *testing.T) map[string]int64 {
	t.Helper()
	counters, err := maria.WriteCounters(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return counters
}

func assertNoWrites(t *testing.T, before, after map[string]int64) {
	t.Helper()
	for name, v := range after {
		if v != before[name] {
			t.Errorf("MySQL counter %s went from %d to %d: something wrote", name, before[name], v)
		}
	}
}

func clientKey(obj client.Object) client.ObjectKey { return client.ObjectKeyFromObject(obj) }

// patchSpec changes an AppDatabase's spec with a merge patch, which does not conflict with the
// operator's concurrent status writes.
func patchSpec(db *dbv1.AppDatabase, change func(*dbv1.AppDatabaseSpec)) error {
	patch := client.MergeFrom(db.DeepCopy())
	change(&db.Spec)
	return k8s.Patch(context.Background(), db, patch)
}

func metaFor(namespace, name string, labels map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: labels}
}

// kubectlRun runs kubectl as cluster-admin, as the docs tell a platform team to.
func kubectlRun(args ...string) (string, error) {
	cmd := exec.Command(kube.Kubectl, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kube.Kubeconfig)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// teeLog sends an operator's output to the suite's log (searched for passwords) and to buf.
func teeLog(buf *stack.LogBuffer) io.Writer { return io.MultiWriter(operatorLog, buf) }
