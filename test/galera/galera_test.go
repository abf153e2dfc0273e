//go:build integration

// Package galera runs the operator against a 3-node MariaDB Galera cluster on loopback — the
// replication Percona XtraDB Cluster uses — and loses a node in the middle of provisioning.
package galera

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
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
	"github.com/stillwaters/db-concierge/test/stack"
)

const (
	platformNS = "db-concierge"
	adminUser  = "galera_admin"
	tenantNS   = "galera-apps"
)

var (
	kube          *stack.Kube
	galera        *stack.Galera
	k8s           client.Client
	operator      *stack.Operator
	operatorLog   = &stack.LogBuffer{}
	adminPassword = randomHex()
)

func TestMain(m *testing.M) {
	code, err := runSuite(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "galera suite:", err)
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
	if galera, err = stack.StartGalera(3); err != nil {
		return 1, err
	}
	defer galera.Close()
	fmt.Printf("Galera: 3 nodes Synced in %.1fs\n", galera.StartupTime.Seconds())
	ctx := context.Background()
	if err := galera.CreateAdmin(ctx, adminUser, adminPassword); err != nil {
		return 1, err
	}
	binDir, err := os.MkdirTemp("", "db-concierge-galera-bin-")
	if err != nil {
		return 1, err
	}
	defer func() { _ = os.RemoveAll(binDir) }()
	bin, err := stack.BuildOperator(binDir, false)
	if err != nil {
		return 1, err
	}

	endpoints := make([]dbv1.Endpoint, 0, len(galera.Nodes))
	for _, n := range galera.Nodes {
		endpoints = append(endpoints, dbv1.Endpoint{Host: "127.0.0.1", Port: int32(n.Port)}) //nolint:gosec // G115: a TCP port fits in int32
	}
	for _, obj := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: platformNS}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tenantNS}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: platformNS, Name: "galera-admin"},
			StringData: map[string]string{"MYSQL_ADMIN_USER": adminUser, "MYSQL_ADMIN_PASSWORD": adminPassword}},
		&dbv1.MySQLCluster{ObjectMeta: metav1.ObjectMeta{Name: "galera"}, Spec: dbv1.MySQLClusterSpec{
			AdminEndpoints: endpoints, AdminCredentials: dbv1.AdminCredentials{SecretName: "galera-admin"},
		}},
	} {
		if err := k8s.Create(ctx, obj); err != nil {
			return 1, err
		}
	}
	operator, err = stack.StartOperator(bin, []string{
		"--kubeconfig=" + kube.Kubeconfig, "--platform-namespace=" + platformNS,
		"--metrics-bind-address=0", "--health-probe-bind-address=0",
		"--max-backoff=2s", "--cluster-check-interval=2s", "--resync-period=1h",
	}, nil, operatorLog)
	if err != nil {
		return 1, err
	}
	code := m.Run()
	operator.Stop()
	path := filepath.Join(os.TempDir(), "db-concierge-galera-operator.log")
	_ = os.WriteFile(path, []byte(operatorLog.String()), 0o600)
	if code != 0 {
		fmt.Fprintln(os.Stderr, "operator output saved to", path)
	}
	if strings.Contains(operatorLog.String(), adminPassword) {
		return 1, fmt.Errorf("the operator's output contains the admin password")
	}
	return code, nil
}

func randomHex() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func appDB(name string) *dbv1.AppDatabase {
	return &dbv1.AppDatabase{
		ObjectMeta: metav1.ObjectMeta{Namespace: tenantNS, Name: strings.ReplaceAll(name, "_", "-")},
		Spec:       dbv1.AppDatabaseSpec{ClusterRef: "galera", DBName: name, DeletionPolicy: dbv1.DeletionPolicyDelete},
	}
}

// logsInOnEveryLiveNode checks that the tenant's Secret password logs in on every node still up.
func logsInOnEveryLiveNode(t *testing.T, db *dbv1.AppDatabase) {
	t.Helper()
	var s corev1.Secret
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: tenantNS, Name: db.Spec.EffectiveSecretName()}, &s); err != nil {
		t.Fatal(err)
	}
	for _, n := range galera.Nodes {
		if !n.Alive() {
			continue
		}
		stack.Eventually(t, fmt.Sprintf("%s to log in on node %s", db.Spec.DBName, n.Name), func() error {
			conn, err := n.Connect(db.Spec.EffectiveUserName(), string(s.Data["password"]), db.Spec.DBName)
			if err != nil {
				return err
			}
			defer conn.Close()
			return conn.Ping()
		})
	}
}

func TestProvisionsAcrossNodes(t *testing.T) {
	ctx := context.Background()
	var mc dbv1.MySQLCluster
	stack.Eventually(t, "the MySQLCluster to report Galera", func() error {
		if err := k8s.Get(ctx, client.ObjectKey{Name: "galera"}, &mc); err != nil {
			return err
		}
		if !mc.Status.Reachable || mc.Status.Flavor != "MariaDBGalera" {
			return fmt.Errorf("status %+v", mc.Status)
		}
		return nil
	})
	db := appDB("across_nodes")
	if err := k8s.Create(ctx, db); err != nil {
		t.Fatal(err)
	}
	stack.WaitForAppDatabase(t, k8s, client.ObjectKeyFromObject(db), dbv1.PhaseReady, dbv1.ReasonProvisioned)
	logsInOnEveryLiveNode(t, db)
}

// Sessions are local to a node: deleting a tenant ends its user's sessions on every node, not only
// on the one the operator's pool is connected to.
func TestDeletionEndsSessionsOnEveryNode(t *testing.T) {
	ctx := context.Background()
	db := appDB("sessions_everywhere")
	if err := k8s.Create(ctx, db); err != nil {
		t.Fatal(err)
	}
	stack.WaitForAppDatabase(t, k8s, client.ObjectKeyFromObject(db), dbv1.PhaseReady, dbv1.ReasonProvisioned)
	logsInOnEveryLiveNode(t, db)
	var s corev1.Secret
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: tenantNS, Name: db.Spec.EffectiveSecretName()}, &s); err != nil {
		t.Fatal(err)
	}
	var sessions []*sql.Conn
	for _, n := range galera.Nodes {
		pool, err := n.Connect(db.Spec.EffectiveUserName(), string(s.Data["password"]), db.Spec.DBName)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close() //nolint:revive // one session per node, open until the test ends
		conn, err := pool.Conn(ctx)
		if err != nil {
			t.Fatalf("logging in on node %s: %v", n.Name, err)
		}
		defer conn.Close() //nolint:revive // one session per node, open until the test ends
		sessions = append(sessions, conn)
	}

	if err := k8s.Delete(ctx, db); err != nil {
		t.Fatal(err)
	}
	stack.Eventually(t, "the tenant to be deleted", func() error {
		err := k8s.Get(ctx, client.ObjectKeyFromObject(db), db)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there: %v", err) //nolint:errorlint // nil while it exists: %v prints that, %w would not
	})
	for i, conn := range sessions {
		var one int
		if err := conn.QueryRowContext(ctx, "SELECT 1").Scan(&one); err == nil {
			t.Errorf("a session on node %s survived the deletion of its user", galera.Nodes[i].Name)
		}
	}
}

// provisionBatch creates n AppDatabases, calls during (if any) once a few are Ready, and returns
// how long it took until all were Ready.
func provisionBatch(t *testing.T, prefix string, n int, during func()) ([]*dbv1.AppDatabase, time.Duration) {
	t.Helper()
	ctx := context.Background()
	start := time.Now()
	dbs := make([]*dbv1.AppDatabase, n)
	for i := range dbs {
		dbs[i] = appDB(fmt.Sprintf("%s_%02d", prefix, i))
		if err := k8s.Create(ctx, dbs[i]); err != nil {
			t.Fatal(err)
		}
	}
	var once sync.Once
	for i, db := range dbs {
		if during != nil && i == 5 {
			once.Do(during)
		}
		stack.WaitForAppDatabase(t, k8s, client.ObjectKeyFromObject(db), dbv1.PhaseReady, dbv1.ReasonProvisioned)
	}
	return dbs, time.Since(start)
}

// A batch of 50, then another during which the node the operator is connected to is killed: both
// end all Ready, every password logs in on every surviving node, and no claim is left half-done.
func TestBatchSurvivesNodeLoss(t *testing.T) {
	calm, took := provisionBatch(t, "calm", 50, nil)
	t.Logf("50 AppDatabases Ready in %.1fs with 3 nodes", took.Seconds())
	for _, db := range calm[:5] {
		logsInOnEveryLiveNode(t, db)
	}

	victim := -1
	stormy, took := provisionBatch(t, "stormy", 50, func() {
		// The operator prefers the endpoint that answered last: find it and kill that node.
		victim = nodeServingOperator(t)
		t.Logf("killing node %s (PID-started by the harness) mid-batch", galera.Nodes[victim].Name)
		galera.Kill(victim)
	})
	t.Logf("50 AppDatabases Ready in %.1fs with node %s killed during the batch", took.Seconds(), galera.Nodes[victim].Name)
	for _, db := range append(calm, stormy...) {
		logsInOnEveryLiveNode(t, db)
	}
	for _, n := range galera.Nodes {
		if !n.Alive() {
			continue
		}
		root, err := n.RootDB()
		if err != nil {
			t.Fatal(err)
		}
		var pending int
		if err := root.QueryRow("SELECT COUNT(*) FROM db_concierge.ownership WHERE state <> 'committed'").Scan(&pending); err != nil {
			t.Fatal(err)
		}
		root.Close()
		if pending != 0 {
			t.Errorf("node %s holds %d ownership claims not committed", n.Name, pending)
		}
	}

	// Deleting works on the surviving nodes too.
	ctx := context.Background()
	for _, db := range stormy[:5] {
		if err := k8s.Delete(ctx, db); err != nil {
			t.Fatal(err)
		}
		stack.Eventually(t, "deletion of "+db.Name, func() error {
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(db), db); !apierrors.IsNotFound(err) {
				return fmt.Errorf("still there: %v", err) //nolint:errorlint // nil while it exists: %v prints that, %w would not
			}
			return nil
		})
	}
}

// nodeServingOperator finds the node holding the operator's admin sessions.
func nodeServingOperator(t *testing.T) int {
	t.Helper()
	for i, n := range galera.Nodes {
		root, err := n.RootDB()
		if err != nil {
			t.Fatal(err)
		}
		var sessions int
		err = root.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = ?", adminUser).Scan(&sessions)
		root.Close()
		if err != nil {
			t.Fatal(err)
		}
		if sessions > 0 {
			return i
		}
	}
	return 0
}
