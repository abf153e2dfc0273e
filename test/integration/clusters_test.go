//go:build integration

package integration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/test/stack"
)

// secondCluster starts another MariaDB (with opts) with its own admin account and describes it
// with a MySQLCluster whose admin Secret uses keys of its own.
func secondCluster(t *testing.T, name string, maxConns int32, opts ...stack.MariaDBOption) (*stack.MariaDB, *dbv1.MySQLCluster, string) {
	t.Helper()
	ctx := context.Background()
	server, err := stack.StartMariaDB(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(server.Close)
	password := randomString()
	secrets.Store(password, name+" admin password")
	if err := server.CreateAdmin(ctx, name+"_admin", password); err != nil {
		t.Fatal(err)
	}
	create(t, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: platformNS, Name: name + "-admin"},
		StringData: map[string]string{"username": name + "_admin", "password": password},
	})
	mc := &dbv1.MySQLCluster{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: dbv1.MySQLClusterSpec{
			AdminEndpoints:   []dbv1.Endpoint{{Host: "127.0.0.1", Port: int32(server.Port)}}, //nolint:gosec // G115: a TCP port fits in int32
			AdminCredentials: dbv1.AdminCredentials{SecretName: name + "-admin", UsernameKey: "username", PasswordKey: "password"},
			MaxConnections:   maxConns,
		},
	}
	create(t, mc)
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), mc) })
	return server, mc, password
}

// assertStoredUnreachable checks that a MySQLCluster's stored status says reachable: false, rather
// than leaving the field out: scripts and the printer column read it.
func assertStoredUnreachable(t *testing.T, name string) {
	t.Helper()
	var raw unstructured.Unstructured
	raw.SetGroupVersionKind(dbv1.GroupVersion.WithKind("MySQLCluster"))
	if err := k8s.Get(context.Background(), client.ObjectKey{Name: name}, &raw); err != nil {
		t.Fatal(err)
	}
	if reachable, found, _ := unstructured.NestedBool(raw.Object, "status", "reachable"); !found || reachable {
		t.Errorf("MySQLCluster %s: status.reachable is %v (present: %v), want false", name, reachable, found)
	}
}

func waitClusterStatus(t *testing.T, name string, check func(dbv1.MySQLClusterStatus) error) dbv1.MySQLClusterStatus {
	t.Helper()
	var mc dbv1.MySQLCluster
	eventually(t, "MySQLCluster "+name+" status", func() error {
		if err := k8s.Get(context.Background(), client.ObjectKey{Name: name}, &mc); err != nil {
			return err
		}
		return check(mc.Status)
	})
	return mc.Status
}

func schemaOn(t *testing.T, server *stack.MariaDB, name string) bool {
	t.Helper()
	return rootCountOn(t, server, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name) == 1
}

func userOn(t *testing.T, server *stack.MariaDB, name string) bool {
	t.Helper()
	return rootCountOn(t, server, "SELECT COUNT(*) FROM mysql.user WHERE User = ?", name) > 0
}

// rootCountOn runs a COUNT query as root on server.
func rootCountOn(t *testing.T, server *stack.MariaDB, query string, args ...any) int {
	t.Helper()
	db, err := server.RootDB()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	return countOn(t, db, query, args...)
}

// One operator serves two clusters: each AppDatabase lands on the server its clusterRef names and
// only there, and each MySQLCluster's status tells what the operator found.
func TestTwoClusters(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "two")
	second, _, _ := secondCluster(t, "second", 2)

	st := waitClusterStatus(t, "second", func(s dbv1.MySQLClusterStatus) error {
		if !s.Reachable || s.LastCheckTime == nil {
			return fmt.Errorf("not reachable yet: %s", s.Message)
		}
		return nil
	})
	if st.Flavor != "MariaDB" || !strings.Contains(st.Version, "MariaDB") || st.Endpoint != fmt.Sprintf("127.0.0.1:%d", second.Port) {
		t.Errorf("status: %+v", st)
	}
	if c := meta.FindStatusCondition(st.Conditions, dbv1.ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("Ready condition: %+v", c)
	}

	onSecond := newAppDB("two", "on-second", dbv1.AppDatabaseSpec{DBName: "on_second", ClusterRef: "second"})
	onFirst := newAppDB("two", "on-first", dbv1.AppDatabaseSpec{DBName: "on_first"})
	create(t, onSecond)
	create(t, onFirst)
	onSecond = waitReady(t, onSecond)
	waitReady(t, onFirst)
	if !schemaOn(t, second, "on_second") || databaseExists(t, "on_second") {
		t.Error("on_second is not on the second server alone")
	}
	if !schemaOn(t, maria, "on_first") || schemaOn(t, second, "on_first") {
		t.Error("on_first is not on the first server alone")
	}
	if got := string(secretOf(t, onSecond).Data["port"]); got != fmt.Sprint(second.Port) {
		t.Errorf("on-second's Secret has port %s, want %d", got, second.Port)
	}

	lost := newAppDB("two", "lost-two", dbv1.AppDatabaseSpec{DBName: "lost_two", ClusterRef: "third"})
	create(t, lost)
	failed := waitFor(t, clientKey(lost), dbv1.PhaseFailed, dbv1.ReasonUnknownCluster)
	// The tenant is told what to do; which clusters exist is for the operator's log.
	if !strings.Contains(failed.Status.Message, `cluster "third" is not configured`) || strings.Contains(failed.Status.Message, "second") {
		t.Errorf("message: %s", failed.Status.Message)
	}
	eventually(t, "the known clusters in the operator's log", func() error {
		for _, line := range strings.Split(operator.Log(), "\n") {
			if strings.Contains(line, "names a cluster that is not configured") && strings.Contains(line, `"clusterRef":"third"`) &&
				strings.Contains(line, `"cluster1-haproxy"`) && strings.Contains(line, `"second"`) {
				return nil
			}
		}
		return errors.New("not logged")
	})
	_ = ctx
}

// The admin password of a MySQLCluster's Secret rotates: wrong in between, the cluster's status
// and the affected AppDatabases say so; fixed, everything works again without a restart, and the
// operator holds no more connections than the cluster allows.
func TestClusterAdminRotation(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "rotation")
	server, _, _ := secondCluster(t, "rotating", 2)
	waitClusterStatus(t, "rotating", func(s dbv1.MySQLClusterStatus) error {
		if !s.Reachable {
			return errors.New(s.Message)
		}
		return nil
	})

	newPassword := randomString()
	secrets.Store(newPassword, "rotating admin password")
	rootDB, err := server.RootDB()
	if err != nil {
		t.Fatal(err)
	}
	defer rootDB.Close()
	if _, err := rootDB.Exec("ALTER USER `rotating_admin`@'%' IDENTIFIED BY ?", newPassword); err != nil {
		t.Fatal(err)
	}
	killSessionsOn(t, rootDB, "rotating_admin")

	waitClusterStatus(t, "rotating", func(s dbv1.MySQLClusterStatus) error {
		c := meta.FindStatusCondition(s.Conditions, dbv1.ConditionReady)
		if s.Reachable || c == nil || c.Reason != dbv1.ReasonAdminCredentialsInvalid {
			return fmt.Errorf("status does not show the refused login yet: %+v", c)
		}
		return nil
	})
	db := newAppDB("rotation", "rotating", dbv1.AppDatabaseSpec{DBName: "rotating", ClusterRef: "rotating"})
	create(t, db)
	failed := waitFor(t, clientKey(db), dbv1.PhaseFailed, dbv1.ReasonAdminCredentialsInvalid)
	if !strings.Contains(failed.Status.Message, "refused the operator's admin account") {
		t.Errorf("message: %s", failed.Status.Message)
	}

	var s corev1.Secret
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: platformNS, Name: "rotating-admin"}, &s); err != nil {
		t.Fatal(err)
	}
	s.Data["password"] = []byte(newPassword)
	if err := k8s.Update(ctx, &s); err != nil {
		t.Fatal(err)
	}
	waitReady(t, db)
	waitClusterStatus(t, "rotating", func(s dbv1.MySQLClusterStatus) error {
		if !s.Reachable {
			return errors.New(s.Message)
		}
		return nil
	})
	// The old pool was closed, not leaked: never more than maxConnections sessions.
	var sessions int
	if err := rootDB.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'rotating_admin'").Scan(&sessions); err != nil {
		t.Fatal(err)
	}
	if sessions > 2 {
		t.Errorf("the operator holds %d admin sessions, more than maxConnections 2", sessions)
	}
}

// Two operator instances split the clusters between them (--clusters) with leases of their own:
// each provisions only its clusters' AppDatabases, and both work at once.
func TestInstancesSplitClusters(t *testing.T) {
	ensureNamespace(t, "split")
	secondCluster(t, "split-b", 2)
	operator.Stop()
	defer restartOperator(t)

	logs := map[string]*stack.LogBuffer{}
	for name, cluster := range map[string]string{"a": dbv1.DefaultClusterName, "b": "split-b"} {
		logs[name] = &stack.LogBuffer{}
		op, err := stack.StartOperator(operatorBin, operatorArgs("--clusters="+cluster, "--leader-elect",
			"--leader-election-id=db-concierge-"+name), nil, teeLog(logs[name]))
		if err != nil {
			t.Fatal(err)
		}
		defer op.Stop() //nolint:revive // both operators run until the test ends
	}
	onA := newAppDB("split", "on-a", dbv1.AppDatabaseSpec{DBName: "split_a"})
	onB := newAppDB("split", "on-b", dbv1.AppDatabaseSpec{DBName: "split_b", ClusterRef: "split-b"})
	create(t, onA)
	create(t, onB)
	waitReady(t, onA)
	waitReady(t, onB)
	for instance, mine := range map[string]string{"a": "on-a", "b": "on-b"} {
		other := map[string]string{"on-a": "on-b", "on-b": "on-a"}[mine]
		out := logs[instance].String()
		if !strings.Contains(out, `"name":"`+mine+`"`) || strings.Contains(out, `"name":"`+other+`"`) {
			t.Errorf("instance %s did not keep to its cluster (handled %s: %v, %s: %v)", instance,
				mine, strings.Contains(out, `"name":"`+mine+`"`), other, strings.Contains(out, `"name":"`+other+`"`))
		}
	}
	for _, lease := range []string{"db-concierge-a", "db-concierge-b"} {
		if out, err := kubectlRun("get", "lease", "-n", platformNS, lease); err != nil {
			t.Errorf("no lease %s: %s", lease, out)
		}
	}
}
