//go:build integration

// Package e2e installs DB Concierge the ways a platform team does — kustomize, install.sh, the
// Helm chart — on a real API server, runs the operator with the shipped RBAC, and checks what
// developers can and cannot do.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

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
)

var (
	kube          *stack.Kube
	maria         *stack.MariaDB
	k8s           client.Client
	operatorBin   string
	cliBin        string
	operator      *stack.Operator
	operatorLog   = &stack.LogBuffer{}
	adminPassword = randomHex()
	root          = stack.RepoRoot()
)

func TestMain(m *testing.M) {
	code, err := runSuite(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e suite:", err)
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
	if err := maria.CreateAdmin(context.Background(), adminUser, adminPassword); err != nil {
		return 1, err
	}
	binDir, err := os.MkdirTemp("", "db-concierge-e2e-bin-")
	if err != nil {
		return 1, err
	}
	defer func() { _ = os.RemoveAll(binDir) }()
	if operatorBin, err = stack.BuildOperator(binDir, false); err != nil {
		return 1, err
	}
	if cliBin, err = stack.Build(binDir, "./cmd/bootstrap-mysql-schema", "bootstrap-mysql-schema"); err != nil {
		return 1, err
	}
	code := m.Run()
	stopOperator()
	if strings.Contains(operatorLog.String(), adminPassword) {
		return 1, fmt.Errorf("the operator's output contains the admin password")
	}
	path := filepath.Join(os.TempDir(), "db-concierge-e2e-operator.log")
	_ = os.WriteFile(path, []byte(operatorLog.String()), 0o600)
	if code != 0 {
		fmt.Fprintln(os.Stderr, "operator output saved to", path)
	}
	return code, nil
}

func randomHex() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// kubectl runs the kubectl built with the API server, as the given kubeconfig's identity.
func kubectl(kubeconfig string, stdin []byte, args ...string) (string, error) {
	cmd := exec.Command(kube.Kubectl, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.Dir = root
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// mustKubectl runs kubectl as cluster-admin and fails the test if it fails.
func mustKubectl(t testing.TB, stdin []byte, args ...string) string {
	t.Helper()
	out, err := kubectl(kube.Kubeconfig, stdin, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// installBase applies the kustomize base (kubectl apply -k deploy/), as a platform team does, and
// the admin Secret. It is idempotent, so every test can start with it.
func installBase(t testing.TB) {
	t.Helper()
	stack.Eventually(t, "kubectl apply -k deploy/", func() error {
		// A CRD that a previous test deleted may still be terminating.
		out, err := kubectl(kube.Kubeconfig, nil, "apply", "-k", "deploy/")
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	})
	mustKubectl(t, nil, "wait", "--for=condition=Established", "--timeout=60s", "crd/appdatabases.db.stillwaters.io")
	ensureAdminSecret(t)
}

func ensureAdminSecret(t testing.TB) {
	t.Helper()
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: platformNS, Name: cluster.LegacySecretName},
		StringData: map[string]string{
			cluster.KeyAdminHost: "127.0.0.1", cluster.KeyAdminPort: fmt.Sprint(maria.Port),
			cluster.KeyAdminUser: adminUser, cluster.KeyAdminPassword: adminPassword,
		},
	}
	if err := k8s.Create(context.Background(), s); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// ensureOperator runs the operator as its ServiceAccount would run it in the cluster: with a token
// of deploy/serviceaccount.yaml's account, bound to the shipped ClusterRole and Role, with leader
// election on.
func ensureOperator(t testing.TB) {
	t.Helper()
	if operator != nil {
		select {
		case <-operator.Exited():
		default:
			return
		}
	}
	kubeconfig, err := kube.ServiceAccountKubeconfig(context.Background(), platformNS, "db-concierge-operator")
	if err != nil {
		t.Fatal(err)
	}
	operator, err = stack.StartOperator(operatorBin, []string{
		"--kubeconfig=" + kubeconfig,
		"--platform-namespace=" + platformNS,
		"--leader-elect",
		"--metrics-bind-address=0",
		"--health-probe-bind-address=0",
		"--max-backoff=2s",
		"--zap-log-level=debug",
	}, nil, operatorLog)
	if err != nil {
		t.Fatal(err)
	}
}

func stopOperator() {
	if operator != nil {
		operator.Stop()
		operator = nil
	}
}

// provisionFromPlatform creates, in the platform namespace, an AppDatabase named name for database
// dbName in namespace target (created if missing), as the seed's examples do, and waits until it
// is Ready.
func provisionFromPlatform(t testing.TB, name, dbName, target string) *dbv1.AppDatabase {
	t.Helper()
	ensureNamespace(t, target)
	db := &dbv1.AppDatabase{}
	db.Namespace, db.Name = platformNS, name
	db.Spec = dbv1.AppDatabaseSpec{ClusterRef: dbv1.DefaultClusterName, DBName: dbName, AppNamespace: target}
	if err := k8s.Create(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	stack.WaitForAppDatabase(t, k8s, client.ObjectKeyFromObject(db), dbv1.PhaseReady, dbv1.ReasonProvisioned)
	return db
}

func ensureNamespace(t testing.TB, name string) {
	t.Helper()
	err := k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

func databaseExists(t *testing.T, name string) bool {
	t.Helper()
	db, err := maria.RootDB()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// assertNoForbidden fails if the operator was refused anything since logStart: the shipped RBAC
// must cover all it does.
func assertNoForbidden(t *testing.T, logStart int) {
	t.Helper()
	for _, line := range strings.Split(operatorLog.String()[logStart:], "\n") {
		if strings.Contains(line, "forbidden") || strings.Contains(line, "Forbidden") {
			t.Errorf("the operator was refused by RBAC: %s", line)
		}
	}
}
