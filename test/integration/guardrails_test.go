//go:build integration

package integration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/cluster"
	"github.com/stillwaters/db-concierge/internal/mysql"
	"github.com/stillwaters/db-concierge/test/stack"
)

// labelNamespace sets or removes (value "") a label of a namespace.
func labelNamespace(t *testing.T, name, key, value string) {
	t.Helper()
	ns := &corev1.Namespace{}
	ns.Name = name
	patchLive(t, ns, func() { setOrDelete(&ns.Labels, key, value) })
}

// A cluster's allowedNamespaces keeps every other namespace off it, by every route, and taking a
// namespace out later drops nothing.
func TestAllowedNamespaces(t *testing.T) {
	ctx := ctxFor(t)
	server, mc, _ := secondCluster(t, "guarded", 0)
	patch := client.MergeFrom(mc.DeepCopy())
	mc.Spec.AllowedNamespaces = &dbv1.NamespaceAccess{
		Names:    []string{"g-named"},
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"db-access": "guarded"}},
	}
	if err := k8s.Patch(ctx, mc, patch); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"g-named", "g-labelled", "g-denied"} {
		ensureNamespace(t, ns)
	}
	labelNamespace(t, "g-labelled", "db-access", "guarded")

	// Allowed: by name and by label.
	named := newAppDB("g-named", "app", dbv1.AppDatabaseSpec{ClusterRef: "guarded", DBName: "g_named"})
	labelled := newAppDB("g-labelled", "app", dbv1.AppDatabaseSpec{ClusterRef: "guarded", DBName: "g_labelled"})
	create(t, named)
	create(t, labelled)
	waitReady(t, named)
	labelled = waitReady(t, labelled)

	// Refused, with nothing created: the namespace's own AppDatabase, a platform-namespace one
	// provisioning into it, and one adopting into it.
	refused := []*dbv1.AppDatabase{
		newAppDB("g-denied", "app", dbv1.AppDatabaseSpec{ClusterRef: "guarded", DBName: "g_denied"}),
		newAppDB(platformNS, "g-denied-from-platform", dbv1.AppDatabaseSpec{ClusterRef: "guarded", DBName: "g_denied_platform", AppNamespace: "g-denied"}),
		newAppDB(platformNS, "g-denied-adopting", dbv1.AppDatabaseSpec{ClusterRef: "guarded", DBName: "g_named", AppNamespace: "g-denied"}),
	}
	refused[2].Annotations = map[string]string{dbv1.AnnotationAdopt: "true"}
	for _, db := range refused {
		create(t, db)
		failed := waitFor(t, client.ObjectKeyFromObject(db), dbv1.PhaseFailed, dbv1.ReasonClusterNotAllowed)
		if !strings.Contains(failed.Status.Message, `namespace "g-denied" may not have databases on cluster "guarded"`) ||
			!strings.Contains(failed.Status.Message, "spec.allowedNamespaces of MySQLCluster guarded") {
			t.Errorf("%s/%s: message %q", db.Namespace, db.Name, failed.Status.Message)
		}
	}
	if schemaOn(t, server, "g_denied") || schemaOn(t, server, "g_denied_platform") {
		t.Error("a refused namespace got a database")
	}

	// Labelled in, the waiting AppDatabase goes on by itself.
	labelNamespace(t, "g-denied", "db-access", "guarded")
	waitReady(t, refused[0])
	for _, db := range refused {
		deleteAndWait(t, db)
	}

	// Labelled out, an existing tenant keeps working and says so; a change of its spec is refused
	// and changes nothing.
	labelNamespace(t, "g-labelled", "db-access", "")
	forceReconcile(t, labelled)
	eventually(t, "a Warning Event for the tenant no longer allowed", func() error {
		var events eventsv1.EventList
		if err := k8s.List(ctx, &events, client.InNamespace("g-labelled")); err != nil {
			return err
		}
		for _, e := range events.Items {
			if e.Reason == dbv1.ReasonClusterNotAllowed && e.Regarding.Name == "app" {
				return nil
			}
		}
		return errors.New("none yet")
	})
	if db := waitReady(t, labelled); db.Status.Phase != dbv1.PhaseReady {
		t.Errorf("the tenant no longer allowed is %s", db.Status.Phase)
	}
	s := secretOf(t, labelled)
	patch = client.MergeFrom(labelled.DeepCopy())
	labelled.Spec.Users = []dbv1.AppDatabaseUser{{Name: "g_labelled_ro", Access: dbv1.AccessReadOnly}}
	if err := k8s.Patch(ctx, labelled, patch); err != nil {
		t.Fatal(err)
	}
	waitFor(t, client.ObjectKeyFromObject(labelled), dbv1.PhaseFailed, dbv1.ReasonClusterNotAllowed)
	if err := loginOn(ctx, server, "g_labelled_app", string(s.Data["password"]), "g_labelled"); err != nil {
		t.Errorf("the tenant no longer allowed stopped working: %v", err)
	}
	if userOn(t, server, "g_labelled_ro") {
		t.Error("the refused change created an account")
	}
}

// A cluster's maxUserConnections caps every account: those that ask for nothing get it, those that
// ask for more (or for no cap) are refused, and the server refuses the connection past the cap.
func TestMaxUserConnectionsCap(t *testing.T) {
	ctx := ctxFor(t)
	server, mc, _ := secondCluster(t, "capped", 0)
	patch := client.MergeFrom(mc.DeepCopy())
	mc.Spec.MaxUserConnections = limitOf(2)
	if err := k8s.Patch(ctx, mc, patch); err != nil {
		t.Fatal(err)
	}
	ensureNamespace(t, "capped")
	db := newAppDB("capped", "app", dbv1.AppDatabaseSpec{ClusterRef: "capped", DBName: "capped_app"})
	create(t, db)
	db = waitReady(t, db)
	password := string(secretOf(t, db).Data["password"])
	var held []*sql.DB
	defer func() {
		for _, h := range held {
			_ = h.Close()
		}
	}()
	for i := range 3 {
		conn, err := server.Connect("capped_app_app", password, "capped_app")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, conn)
		conn.SetMaxOpenConns(1)
		err = conn.PingContext(ctx)
		switch {
		case i < 2 && err != nil:
			t.Fatalf("connection %d of 2 refused: %v", i+1, err)
		case i == 2 && (err == nil || !strings.Contains(err.Error(), "max_user_connections")):
			t.Errorf("the third connection of an account capped at 2: %v", err)
		}
	}

	for _, asked := range []int32{0, 5} {
		over := newAppDB("capped", fmt.Sprintf("over-%d", asked), dbv1.AppDatabaseSpec{ClusterRef: "capped",
			DBName: fmt.Sprintf("capped_over_%d", asked), MaxUserConnections: limitOf(asked)})
		create(t, over)
		failed := waitFor(t, client.ObjectKeyFromObject(over), dbv1.PhaseFailed, dbv1.ReasonInvalidSpec)
		if !strings.Contains(failed.Status.Message, `cluster "capped" allows each account at most 2`) || schemaOn(t, server, over.Spec.DBName) {
			t.Errorf("maxUserConnections %d: %q", asked, failed.Status.Message)
		}
	}
}

// A cluster's quotas count databases from the operator's records on the server: a retained
// database counts until it is released, a restart forgets nothing, and room made is used by itself.
func TestDatabaseQuotas(t *testing.T) {
	ctx := ctxFor(t)
	server, mc, _ := secondCluster(t, "quota", 0)
	patch := client.MergeFrom(mc.DeepCopy())
	mc.Spec.MaxDatabasesPerNamespace, mc.Spec.MaxDatabases = limitOf(2), limitOf(3)
	if err := k8s.Patch(ctx, mc, patch); err != nil {
		t.Fatal(err)
	}
	ensureNamespace(t, "q-a")
	ensureNamespace(t, "q-b")
	db := func(namespace, name string) *dbv1.AppDatabase {
		return newAppDB(namespace, name, dbv1.AppDatabaseSpec{ClusterRef: "quota", DBName: strings.ReplaceAll(namespace+"_"+name, "-", "_")})
	}
	refusedFor := func(d *dbv1.AppDatabase, want string) {
		t.Helper()
		failed := waitFor(t, client.ObjectKeyFromObject(d), dbv1.PhaseFailed, dbv1.ReasonQuotaExceeded)
		if !strings.Contains(failed.Status.Message, want) || schemaOn(t, server, d.Spec.DBName) {
			t.Errorf("%s/%s: %q, want it to say %q and nothing created", d.Namespace, d.Name, failed.Status.Message, want)
		}
	}
	a1, a2, a3 := db("q-a", "a1"), db("q-a", "a2"), db("q-a", "a3")
	for _, d := range []*dbv1.AppDatabase{a1, a2} {
		create(t, d)
		waitReady(t, d)
	}
	create(t, a3)
	refusedFor(a3, `namespace "q-a" has 2 databases on the cluster, as many as its quota of 2 allows (maxDatabasesPerNamespace`)

	// Deleted with Retain, a1's database still counts; released, it makes room, used by itself.
	deleteAndWait(t, a1)
	forceReconcile(t, a3)
	refusedFor(a3, "quota of 2")
	rootDB, err := server.RootDB()
	if err != nil {
		t.Fatal(err)
	}
	defer rootDB.Close()
	if _, err := rootDB.Exec("DELETE FROM db_concierge.ownership WHERE owner_namespace = 'q-a' AND name IN ('q_a_a1', 'q_a_a1_app')"); err != nil {
		t.Fatal(err)
	}
	waitReady(t, a3)

	// The cluster's total: a2, a3 and b1 fill it, for every namespace, across a restart.
	b1, b2 := db("q-b", "b1"), db("q-b", "b2")
	create(t, b1)
	waitReady(t, b1)
	restartOperator(t)
	create(t, b2)
	refusedFor(b2, "the cluster holds 3 databases of DB Concierge, as many as its quota of 3 allows (maxDatabases")
	fromPlatform := newAppDB(platformNS, "q-platform", dbv1.AppDatabaseSpec{ClusterRef: "quota", DBName: "q_platform", AppNamespace: "q-b"})
	create(t, fromPlatform)
	refusedFor(fromPlatform, "maxDatabases")
	for _, d := range []*dbv1.AppDatabase{a2, a3, b1, b2, fromPlatform} {
		deleteAndWait(t, d)
	}
}

// A MySQLCluster repointed at another server is noticed: nothing is created there, tenants
// already Ready keep their status, and the platform team's acceptance lets provisioning go on.
func TestServerIdentity(t *testing.T) {
	ctx := ctxFor(t)
	first, mc, password := secondCluster(t, "moved", 0)
	ensureNamespace(t, "moved")
	before := newAppDB("moved", "before", dbv1.AppDatabaseSpec{ClusterRef: "moved", DBName: "moved_before"})
	create(t, before)
	waitReady(t, before)
	recorded := waitClusterStatus(t, "moved", func(s dbv1.MySQLClusterStatus) error {
		if s.ServerIdentity == "" {
			return errors.New("no server identity recorded yet")
		}
		return nil
	}).ServerIdentity
	if got := rootCountOn(t, first, "SELECT COUNT(*) FROM db_concierge.server WHERE id = ?", recorded); got != 1 {
		t.Fatalf("status.serverIdentity %s is not the identity the server's records hold", recorded)
	}

	second, err := stack.StartMariaDB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(second.Close)
	if err := second.CreateAdmin(ctx, "moved_admin", password); err != nil {
		t.Fatal(err)
	}
	var current dbv1.MySQLCluster
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(mc), &current); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(current.DeepCopy())
	current.Spec.AdminEndpoints = []dbv1.Endpoint{{Host: "127.0.0.1", Port: int32(second.Port)}} //nolint:gosec // G115: a TCP port fits in int32
	if err := k8s.Patch(ctx, &current, patch); err != nil {
		t.Fatal(err)
	}
	status := waitClusterStatus(t, "moved", func(s dbv1.MySQLClusterStatus) error {
		if c := meta.FindStatusCondition(s.Conditions, dbv1.ConditionReady); c == nil || c.Reason != dbv1.ReasonServerChanged {
			return fmt.Errorf("condition %+v", c)
		}
		return nil
	})
	acceptance := cluster.AcceptanceOf("", recorded)
	if status.ServerIdentity != recorded || !strings.Contains(status.Message, dbv1.AnnotationAcceptServerIdentity+"="+acceptance) {
		t.Errorf("after the repointing: identity %s (recorded %s), message %q", status.ServerIdentity, recorded, status.Message)
	}

	after := newAppDB("moved", "after", dbv1.AppDatabaseSpec{ClusterRef: "moved", DBName: "moved_after"})
	create(t, after)
	failed := waitFor(t, client.ObjectKeyFromObject(after), dbv1.PhaseFailed, dbv1.ReasonClusterUnreachable)
	if !strings.Contains(failed.Status.Message, "another server") {
		t.Errorf("message %q", failed.Status.Message)
	}
	if schemaOn(t, second, "db_concierge") || schemaOn(t, second, "moved_after") {
		t.Error("something was created on the server the cluster was repointed at")
	}
	if db := waitReady(t, before); db.Status.Phase != dbv1.PhaseReady {
		t.Errorf("the tenant Ready before is %s", db.Status.Phase)
	}

	// Accepted, the new server is provisioned, and its identity recorded.
	// A value that accepts another server does nothing.
	setClusterAnnotation(t, "moved", dbv1.AnnotationAcceptServerIdentity, "none")
	forceClusterCheck(t, "moved")
	if schemaOn(t, second, "db_concierge") {
		t.Fatal("an acceptance of another server was taken for this one")
	}
	setClusterAnnotation(t, "moved", dbv1.AnnotationAcceptServerIdentity, acceptance)
	waitReady(t, after)
	waitClusterStatus(t, "moved", func(s dbv1.MySQLClusterStatus) error {
		if s.ServerIdentity == "" || s.ServerIdentity == recorded || !s.Reachable {
			return fmt.Errorf("identity %q, reachable %v", s.ServerIdentity, s.Reachable)
		}
		return nil
	})
	if !schemaOn(t, second, "moved_after") {
		t.Error("the accepted server was not provisioned")
	}
}

// forceClusterCheck has the operator check a MySQLCluster now, and waits until it has.
func forceClusterCheck(t *testing.T, name string) {
	t.Helper()
	var mc dbv1.MySQLCluster
	if err := k8s.Get(context.Background(), client.ObjectKey{Name: name}, &mc); err != nil {
		t.Fatal(err)
	}
	before := mc.Status.LastCheckTime
	time.Sleep(time.Second) // check times have seconds
	setClusterAnnotation(t, name, "check", randomString())
	waitClusterStatus(t, name, func(s dbv1.MySQLClusterStatus) error {
		if s.LastCheckTime == nil || before != nil && !s.LastCheckTime.After(before.Time) {
			return errors.New("not checked again yet")
		}
		return nil
	})
}

func setClusterAnnotation(t *testing.T, name, key, value string) {
	t.Helper()
	mc := &dbv1.MySQLCluster{}
	mc.Name = name
	patchLive(t, mc, func() { setOrDelete(&mc.Annotations, key, value) })
}

// grantAdmin creates an admin account holding the privileges AdminPrivileges names, but leave.
func grantAdmin(t *testing.T, rootDB *sql.DB, user, password, version, leave string) {
	t.Helper()
	withGrant, others := mysql.AdminPrivileges(mysql.FlavorMariaDB, version)
	without := func(privileges []string) []string {
		return slices.DeleteFunc(slices.Clone(privileges), func(p string) bool { return p == leave })
	}
	statements := []string{"CREATE USER `" + user + "`@'%' IDENTIFIED BY '" + password + "'"}
	if g := without(withGrant); len(g) > 0 {
		statements = append(statements, "GRANT "+strings.Join(g, ", ")+" ON *.* TO `"+user+"`@'%' WITH GRANT OPTION")
	}
	if o := without(others); len(o) > 0 {
		statements = append(statements, "GRANT "+strings.Join(o, ", ")+" ON *.* TO `"+user+"`@'%'")
	}
	for _, st := range statements {
		if _, err := rootDB.Exec(st); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
	}
}

// The operator works with exactly the privileges docs/platform.md lists, and an admin account
// short of any one of them is reported, naming it, before a pass fails on it.
func TestLeastPrivilegeAdmin(t *testing.T) {
	ctx := ctxFor(t)
	server, err := stack.StartMariaDB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(server.Close)
	rootDB, err := server.RootDB()
	if err != nil {
		t.Fatal(err)
	}
	defer rootDB.Close()
	var version string
	if err := rootDB.QueryRow("SELECT VERSION()").Scan(&version); err != nil {
		t.Fatal(err)
	}
	password := randomString()
	secrets.Store(password, "least-privilege admin password")
	grantAdmin(t, rootDB, "least_admin", password, version, "")
	create(t, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: platformNS, Name: "least-admin"},
		StringData: map[string]string{"username": "least_admin", "password": password},
	})
	mc := &dbv1.MySQLCluster{
		ObjectMeta: metav1.ObjectMeta{Name: "least"},
		Spec: dbv1.MySQLClusterSpec{
			AdminEndpoints:   []dbv1.Endpoint{{Host: "127.0.0.1", Port: int32(server.Port)}}, //nolint:gosec // G115: a TCP port fits in int32
			AdminCredentials: dbv1.AdminCredentials{SecretName: "least-admin", UsernameKey: "username", PasswordKey: "password"},
		},
	}
	create(t, mc)
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), mc) })
	waitClusterStatus(t, "least", func(s dbv1.MySQLClusterStatus) error {
		if !s.Reachable {
			return errors.New(s.Message)
		}
		return nil
	})

	// Everything a tenant's life takes: accounts of every preset, a repair that revokes and ends
	// sessions, a deletion that drops all.
	ensureNamespace(t, "least")
	db := newAppDB("least", "app", dbv1.AppDatabaseSpec{ClusterRef: "least", DBName: "least_app", DeletionPolicy: dbv1.DeletionPolicyDelete,
		Users: []dbv1.AppDatabaseUser{{Name: "least_dw", Access: dbv1.AccessDataOnly}, {Name: "least_ro", Access: dbv1.AccessReadOnly}}})
	create(t, db)
	db = waitReady(t, db)
	if _, err := rootDB.Exec("GRANT SELECT ON mysql.* TO least_app_app@'%'"); err != nil {
		t.Fatal(err)
	}
	forceReconcile(t, db)
	if grants := countOn(t, rootDB, "SELECT COUNT(*) FROM mysql.db WHERE User = 'least_app_app' AND Db = 'mysql'"); grants != 0 {
		t.Error("the widened grant was not revoked")
	}
	pool, err := server.Connect("least_app_app", string(secretOf(t, db).Data["password"]), "least_app")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	session, err := pool.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer session.Close()
	deleteAndWait(t, db)
	if schemaOn(t, server, "least_app") || userOn(t, server, "least_app_app") || userOn(t, server, "least_ro") {
		t.Error("the deletion left something behind")
	}
	if err := session.PingContext(ctx); err == nil {
		t.Error("the deleted account's session goes on")
	}

	// Each privilege taken away in turn is named.
	withGrant, others := mysql.AdminPrivileges(mysql.FlavorMariaDB, version)
	for i, p := range append(slices.Clone(withGrant), others...) {
		user := fmt.Sprintf("least_admin_%d", i)
		grantAdmin(t, rootDB, user, password, version, p)
		var s corev1.Secret
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: platformNS, Name: "least-admin"}, &s); err != nil {
			t.Fatal(err)
		}
		s.Data["username"] = []byte(user)
		if err := k8s.Update(ctx, &s); err != nil {
			t.Fatal(err)
		}
		waitClusterStatus(t, "least", func(s dbv1.MySQLClusterStatus) error {
			if c := meta.FindStatusCondition(s.Conditions, dbv1.ConditionReady); c == nil || c.Reason != dbv1.ReasonAdminCredentialsInvalid ||
				!strings.Contains(s.Message, "lacks "+p+" ON *.*") {
				return fmt.Errorf("without %s: %s", p, s.Message)
			}
			return nil
		})
	}
}
