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

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/credentials"
	"github.com/stillwaters/db-concierge/internal/failpoint"
	"github.com/stillwaters/db-concierge/test/stack"
)

// The attacks below were first made by hand against a real operator; each test starts a server
// with the settings that made the attack work.

// hostileCluster starts a MariaDB with opts as the MySQLCluster name, waits until the operator
// reaches it, and returns the server, a root pool on it and the admin account's password.
func hostileCluster(t *testing.T, name string, opts ...stack.MariaDBOption) (*stack.MariaDB, *sql.DB, string) {
	t.Helper()
	server, _, password := secondCluster(t, name, 0, opts...)
	rootDB, err := server.RootDB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rootDB.Close() })
	waitClusterStatus(t, name, func(s dbv1.MySQLClusterStatus) error {
		if !s.Reachable {
			return errors.New(s.Message)
		}
		return nil
	})
	return server, rootDB, password
}

// setAnnotation sets an annotation of the AppDatabase as it is now, or removes it (value "").
func setAnnotation(t *testing.T, db *dbv1.AppDatabase, key, value string) {
	t.Helper()
	current := &dbv1.AppDatabase{}
	current.Namespace, current.Name = db.Namespace, db.Name
	patchLive(t, current, func() { setOrDelete(&current.Annotations, key, value) })
}

// forceReconcile sets the seed's reconcile annotation to a new value and waits until the operator
// has handled it.
func forceReconcile(t *testing.T, db *dbv1.AppDatabase) *dbv1.AppDatabase {
	t.Helper()
	ctx := context.Background()
	stamp := randomString()
	setAnnotation(t, db, dbv1.AnnotationReconcile, stamp)
	var current dbv1.AppDatabase
	eventually(t, "the forced reconcile of "+db.Name, func() error {
		if err := k8s.Get(ctx, clientKey(db), &current); err != nil {
			return err
		}
		if current.Status.LastHandledReconcileAt != stamp {
			return fmt.Errorf("not handled yet (phase %s: %s)", current.Status.Phase, current.Status.Message)
		}
		return nil
	})
	return &current
}

// noWritesOn fails t if anything wrote to server while action ran (see assertNoWrites).
func noWritesOn(t *testing.T, server *stack.MariaDB, action func()) {
	t.Helper()
	before, err := server.WriteCounters(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	action()
	after, err := server.WriteCounters(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	assertNoWrites(t, before, after)
}

func setSecretPassword(t *testing.T, db *dbv1.AppDatabase, password string) {
	t.Helper()
	secrets.Store(password, "a password set by hand in "+db.Name+"'s Secret")
	s := secretOf(t, db)
	s.Data["password"] = []byte(password)
	if err := k8s.Update(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

func countOn(t *testing.T, rootDB *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := rootDB.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// passwordPayload is a password a developer writes into their own Secret, and whether DB Concierge
// must refuse it.
type passwordPayload struct {
	name, password string
	refused        bool
}

// A server in ORACLE sql_mode (and so ANSI_QUOTES: SHOW GRANTS quotes names with double quotes),
// with autocommit off and names printed unquoted where they can be: a tenant is provisioned, drift
// checks of a Ready tenant write nothing and keep it Ready, and a grant added by hand is still
// revoked.
func TestHostileSQLMode(t *testing.T) {
	ensureNamespace(t, "sqlmode")
	server, rootDB, _ := hostileCluster(t, "oracle-mode", stack.WithServerArgs("--sql-mode=ORACLE", "--autocommit=0"))
	if _, err := rootDB.Exec("SET GLOBAL sql_quote_show_create = 0"); err != nil {
		t.Fatal(err)
	}
	// The operator's sessions opened before the change are ended, so that it works in new ones.
	killSessionsOn(t, rootDB, "oracle-mode_admin")
	db := newAppDB("sqlmode", "oracle", dbv1.AppDatabaseSpec{DBName: "oracle_mode", ClusterRef: "oracle-mode"})
	create(t, db)
	db = waitReady(t, db)

	noWritesOn(t, server, func() {
		if got := forceReconcile(t, db); got.Status.Phase != dbv1.PhaseReady {
			t.Fatalf("a drift check turned the tenant %s: %s", got.Status.Phase, got.Status.Message)
		}
	})
	if _, err := rootDB.Exec("GRANT SELECT ON mysql.* TO `oracle_mode_app`@'%'"); err != nil {
		t.Fatal(err)
	}
	// A session started inside the granted database keeps its privileges there after a revoke;
	// the repair ends it.
	pool, err := server.Connect("oracle_mode_app", string(secretOf(t, db).Data["password"]), "mysql")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	session, err := pool.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer session.Close()
	var users int
	if err := session.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM user").Scan(&users); err != nil {
		t.Fatalf("the grant made by hand does not work: %v", err)
	}
	if got := forceReconcile(t, db); got.Status.Phase != dbv1.PhaseReady {
		t.Fatalf("phase %s: %s", got.Status.Phase, got.Status.Message)
	}
	for _, g := range grantsOn(t, rootDB, "oracle_mode_app") {
		if strings.Contains(g, "mysql") {
			t.Errorf("the grant on mysql.* was not revoked: %s", g)
		}
	}

	// A role, which the server would print unquoted under this setting, is read and revoked too
	// (the admin account may pass it on).
	for _, q := range []string{"CREATE ROLE oracle_reader", "GRANT SELECT ON mysql.* TO oracle_reader",
		"GRANT oracle_reader TO `oracle-mode_admin`@'%' WITH ADMIN OPTION", "GRANT oracle_reader TO `oracle_mode_app`@'%'"} {
		if _, err := rootDB.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if got := forceReconcile(t, db); got.Status.Phase != dbv1.PhaseReady {
		t.Fatalf("phase %s: %s", got.Status.Phase, got.Status.Message)
	}
	for _, g := range grantsOn(t, rootDB, "oracle_mode_app") {
		if strings.Contains(g, "oracle_reader") {
			t.Errorf("the role was not revoked: %s", g)
		}
	}
	if err := session.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM user").Scan(&users); err == nil {
		t.Error("a session opened before the revoke still reads mysql.user")
	}
}

// A server whose default character set is gbk and that ignores the client's (the setting under
// which the driver's escaping of a quote can be swallowed by a multi-byte character), with the
// binary and general logs on. A developer writes hostile passwords into their own Secret: none
// reaches the admin account or another tenant, the ones outside printable ASCII are refused
// without touching MySQL, the others become exactly the user's password, and no tenant password
// appears in either log.
func TestHostilePasswords(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "hostile")
	server, rootDB, adminPass := hostileCluster(t, "hostile",
		stack.WithServerArgs("--character-set-server=gbk", "--collation-server=gbk_chinese_ci", "--skip-character-set-client-handshake"),
		stack.WithQueryLogs())

	victim := newAppDB("hostile", "victim", dbv1.AppDatabaseSpec{DBName: "hostile_victim", ClusterRef: "hostile"})
	bystander := newAppDB("hostile", "bystander", dbv1.AppDatabaseSpec{DBName: "hostile_bystander", ClusterRef: "hostile"})
	create(t, victim)
	create(t, bystander)
	victim, bystander = waitReady(t, victim), waitReady(t, bystander)
	bystanderPass := string(secretOf(t, bystander).Data["password"])

	payloads := []passwordPayload{
		// Escaped by the driver, \xbf' becomes \xbf\' : one gbk character and a quote that ends
		// the value, so a second account follows, whose password the bare plugin clause empties.
		{"gbk quote breaker", "x\xbf', `hostile_admin`@`%` IDENTIFIED VIA mysql_native_password -- ", true},
		{"gbk backslash breaker", "\xbf\\' OR 1=1 -- ", true},
		{"NUL byte", "abc\x00def", true},
		{"newline", "line\nbreak", true},
		{"space", "two words", true},
		{"non-ASCII letters", "pässwörd", true},
		{"too long", strings.Repeat("a", 129), true},
		{"quote and a second account", "a',`hostile_admin`@`%`IDENTIFIED/**/BY'pwned'#", false},
		{"backslashes and quotes", `back\slash\'quote"double`, false},
		{"wildcards and shell", "%_wild*cards?$(id)`id`", false},
		{"statement separator", "x';DROP/**/DATABASE/**/hostile_bystander;#", false},
	}
	current := string(secretOf(t, victim).Data["password"])
	generated := current
	for _, p := range payloads {
		t.Run(p.name, func(t *testing.T) {
			// Whatever became of the victim, nobody else may have lost anything.
			defer func() {
				if err := loginOn(ctx, server, "hostile_admin", adminPass, ""); err != nil {
					t.Errorf("the admin account no longer logs in with its password: %v", err)
				}
				for _, guess := range []string{"", "pwned"} {
					if loginOn(ctx, server, "hostile_admin", guess, "") == nil {
						t.Errorf("the admin account logs in with %q", guess)
					}
				}
				if err := loginOn(ctx, server, "hostile_bystander_app", bystanderPass, "hostile_bystander"); err != nil {
					t.Errorf("the bystander lost its login: %v", err)
				}
				// The install's own accounts (root) have no password; nobody else may.
				if n := countOn(t, rootDB, "SELECT COUNT(*) FROM mysql.user WHERE authentication_string = '' AND User NOT IN ('root', 'mysql', 'mariadb.sys', 'PUBLIC')"); n > 0 {
					t.Errorf("%d accounts without a password", n)
				}
			}()
			setSecretPassword(t, victim, p.password)
			if p.refused {
				failed := waitFor(t, clientKey(victim), dbv1.PhaseFailed, dbv1.ReasonPasswordRejected)
				if strings.Contains(failed.Status.Message, p.password) {
					t.Errorf("the message quotes the password: %s", failed.Status.Message)
				}
				if err := loginOn(ctx, server, "hostile_victim_app", current, "hostile_victim"); err != nil {
					t.Errorf("a refused password changed the user's password: %v", err)
				}
				// Back to Ready, so that the next payload's outcome cannot be this one's.
				current = "Valid-" + randomString()
				setSecretPassword(t, victim, current)
				waitReady(t, victim)
			} else {
				eventually(t, "the Secret's password to log in", func() error {
					return loginOn(ctx, server, "hostile_victim_app", p.password, "hostile_victim")
				})
				waitReady(t, victim)
				current = p.password
			}
		})
	}

	t.Run("no password in the binary or general log", func(t *testing.T) {
		logs, err := server.QueryLogs()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logs, "CREATE USER") || !strings.Contains(logs, "ALTER USER") {
			t.Fatal("the logs do not show the operator's statements: the check would prove nothing")
		}
		// The server's own record of the operator's sessions: each starts by pinning them.
		if !strings.Contains(logs, "SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci, sql_mode = 'STRICT_ALL_TABLES") {
			t.Error("the operator's admin sessions do not pin their character set and sql_mode")
		}
		for _, p := range append(payloads, passwordPayload{"bystander", bystanderPass, false},
			passwordPayload{"victim's generated password", generated, false}) {
			if strings.Contains(logs, p.password) {
				t.Errorf("password %q appears in the server's logs", p.name)
			}
		}
	})
}

// A session of a tenant's user opened before its Delete-policy AppDatabase is deleted does not
// survive the drop: it cannot reach the database the next owner of the name gets, and the open
// transaction it held does not stall the drop.
func TestDeletionEndsSessions(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "squatter")
	ensureNamespace(t, "heir")
	first := newAppDB("squatter", "squat", dbv1.AppDatabaseSpec{DBName: "squat", DeletionPolicy: dbv1.DeletionPolicyDelete})
	create(t, first)
	first = waitReady(t, first)
	session := login(t, "squat_app", string(secretOf(t, first).Data["password"]), "squat")
	for _, q := range []string{"CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1)", "BEGIN", "SELECT * FROM t FOR UPDATE"} {
		if _, err := session.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	deleteAndWait(t, first)
	heir := newAppDB("heir", "squat", dbv1.AppDatabaseSpec{DBName: "squat", DeletionPolicy: dbv1.DeletionPolicyDelete})
	create(t, heir)
	waitReady(t, heir)

	if _, err := session.ExecContext(ctx, "CREATE TABLE squat.planted (id INT)"); err == nil {
		t.Error("the old session still writes into the heir's database")
	}
	if n := countOn(t, root(t), "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'squat'"); n != 0 {
		t.Errorf("the heir's database holds %d tables it did not create", n)
	}
	deleteAndWait(t, heir)
}

// A lock held on a tenant's database by a session the operator does not end (not the tenant's
// own) makes the drop wait a short, bounded time and fail for that tenant alone: the cluster is
// not reported unreachable and other tenants are served meanwhile.
func TestLockWaitIsTheTenantsProblem(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "locks")
	locked := newAppDB("locks", "locked", dbv1.AppDatabaseSpec{DBName: "locked", DeletionPolicy: dbv1.DeletionPolicyDelete})
	create(t, locked)
	waitReady(t, locked)
	holder, err := root(t).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	for _, q := range []string{"CREATE TABLE locked.t (id INT)", "BEGIN", "SELECT * FROM locked.t"} {
		if _, err := holder.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	if err := k8s.Delete(ctx, locked); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the drop to give up waiting for the lock", func() error {
		var current dbv1.AppDatabase
		if err := k8s.Get(ctx, clientKey(locked), &current); err != nil {
			return err
		}
		if !strings.Contains(current.Status.Message, "Lock wait timeout") {
			return fmt.Errorf("message: %s", current.Status.Message)
		}
		if strings.Contains(current.Status.Message, dbv1.ReasonClusterUnreachable) {
			t.Errorf("a lock wait was reported as the cluster being unreachable: %s", current.Status.Message)
		}
		return nil
	})
	other := newAppDB("locks", "unblocked", dbv1.AppDatabaseSpec{DBName: "unblocked"})
	create(t, other)
	waitReady(t, other)

	if _, err := holder.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	deleteAndWait(t, locked)
	if databaseExists(t, "locked") {
		t.Error("the database was not dropped once the lock was released")
	}
}

// A grant of another account whose pattern matches a new database's name ('_' is a wildcard), or
// on a table or routine of that name left behind by a dropped database, refuses the name.
func TestOtherAccountsGrantsRefuseAName(t *testing.T) {
	ensureNamespace(t, "grants")
	t.Cleanup(func() { _, _ = root(t).Exec("DROP USER IF EXISTS seed_reader@'%'") })
	for _, q := range []string{
		"CREATE USER IF NOT EXISTS seed_reader@'%' IDENTIFIED BY 'seed-reader-1'",
		"GRANT ALL PRIVILEGES ON rt_seed.* TO seed_reader@'%'",
		"CREATE DATABASE leftover", "CREATE TABLE leftover.t (id INT)",
		"GRANT SELECT ON leftover.t TO seed_reader@'%'", "DROP DATABASE leftover",
	} {
		mustExec(t, q)
	}
	for _, c := range []struct{ object, dbName string }{{"wildcard", "rtXseed"}, {"leftover", "leftover"}} {
		db := newAppDB("grants", c.object, dbv1.AppDatabaseSpec{DBName: c.dbName})
		create(t, db)
		failed := waitFor(t, clientKey(db), dbv1.PhaseFailed, dbv1.ReasonOwnershipConflict)
		if !strings.Contains(failed.Status.Message, "seed_reader") {
			t.Errorf("%s: the message does not name the account: %s", c.dbName, failed.Status.Message)
		}
		if databaseExists(t, c.dbName) {
			t.Errorf("%s: the database was created", c.dbName)
		}
		if n := countOn(t, root(t), "SELECT COUNT(*) FROM db_concierge.ownership WHERE owner_uid = ?", string(failed.UID)); n != 0 {
			t.Errorf("%s: %d ownership records left behind", c.dbName, n)
		}
	}
	// A name the pattern does not match as a whole is served.
	fine := newAppDB("grants", "fine", dbv1.AppDatabaseSpec{DBName: "rt_seed_two"})
	create(t, fine)
	waitReady(t, fine)
}

// Roles, a default role and PROXY grants given to a tenant's user by hand are taken away; those
// the admin account may not revoke turn the tenant Failed with a message (never Ready, never a
// cluster credentials problem), and the forced reconcile that found them is recorded.
func TestRolesAndProxyAreRevoked(t *testing.T) {
	ensureNamespace(t, "roles")
	db := newAppDB("roles", "roles", dbv1.AppDatabaseSpec{DBName: "roles"})
	create(t, db)
	waitReady(t, db)
	for _, q := range []string{
		"CREATE ROLE IF NOT EXISTS tenant_reader", "GRANT SELECT ON mysql.* TO tenant_reader",
		"GRANT tenant_reader TO roles_app@'%'", "SET DEFAULT ROLE tenant_reader FOR roles_app@'%'",
		"GRANT PROXY ON ''@'%' TO roles_app@'%'",
	} {
		mustExec(t, q)
	}
	failed := forceReconcile(t, db)
	if failed.Status.Phase != dbv1.PhaseFailed || !strings.Contains(failed.Status.Message, "cannot revoke") {
		t.Fatalf("phase %s: %s", failed.Status.Phase, failed.Status.Message)
	}
	if c := readyReason(failed); c != dbv1.ReasonProvisioningError {
		t.Errorf("reason %s, want %s", c, dbv1.ReasonProvisioningError)
	}
	for _, g := range grantsOf(t, "roles_app") {
		if strings.HasPrefix(g, "SET DEFAULT ROLE") {
			t.Errorf("the default role was not cleared: %s", g)
		}
	}

	// Given the right to, the operator takes the rest away by itself.
	mustExec(t, "GRANT tenant_reader TO "+adminUser+"@'%' WITH ADMIN OPTION")
	mustExec(t, "GRANT PROXY ON ''@'%' TO "+adminUser+"@'%' WITH GRANT OPTION")
	waitReady(t, db)
	for _, g := range grantsOf(t, "roles_app") {
		if !strings.HasPrefix(g, "GRANT USAGE ON *.*") && !strings.Contains(g, "ON `roles`.*") {
			t.Errorf("still granted: %s", g)
		}
	}
}

func readyReason(db *dbv1.AppDatabase) string {
	for _, c := range db.Status.Conditions {
		if c.Type == dbv1.ConditionReady {
			return c.Reason
		}
	}
	return ""
}

// On a server that folds database names to lower case, an upper-case dbName is provisioned once
// and then left alone; a name differing only in case from an existing database is refused there,
// while on a server that compares names as written the two are different databases.
func TestLowerCaseTableNames(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "lctn")
	server, rootDB, _ := hostileCluster(t, "folding", stack.WithLowerCaseTableNames(1))

	upper := newAppDB("lctn", "upper", dbv1.AppDatabaseSpec{DBName: "UpperCase", ClusterRef: "folding"})
	create(t, upper)
	upper = waitReady(t, upper)
	if err := loginOn(ctx, server, "UpperCase_app", string(secretOf(t, upper).Data["password"]), "UpperCase"); err != nil {
		t.Fatal(err)
	}
	noWritesOn(t, server, func() {
		forceReconcile(t, upper)
		forceReconcile(t, upper)
	})

	if _, err := rootDB.Exec("CREATE DATABASE casedb"); err != nil {
		t.Fatal(err)
	}
	folded := newAppDB("lctn", "folded", dbv1.AppDatabaseSpec{DBName: "CaseDB", ClusterRef: "folding"})
	create(t, folded)
	failed := waitFor(t, clientKey(folded), dbv1.PhaseFailed, dbv1.ReasonOwnershipConflict)
	if !strings.Contains(failed.Status.Message, "differs only in case") {
		t.Errorf("message: %s", failed.Status.Message)
	}

	mustExec(t, "CREATE DATABASE casedb_written")
	written := newAppDB("lctn", "written", dbv1.AppDatabaseSpec{DBName: "CaseDB_written"})
	create(t, written)
	waitReady(t, written)
	if !databaseExists(t, "casedb_written") || !databaseExists(t, "CaseDB_written") {
		t.Error("on a server that compares names as written, both databases should exist")
	}
}

// A charset or collation the server knows under another name (utf8 is utf8mb3; uca1400_ai_ci
// belongs to the charset it is used with) is provisioned once and then left alone.
func TestCharsetAliasesAreStable(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "aliases")
	var dbs []*dbv1.AppDatabase
	for i, pair := range [][2]string{{"utf8", "utf8_general_ci"}, {"utf8", "utf8mb3_bin"}, {"utf8mb4", "uca1400_ai_ci"}, {"utf8mb4", "utf8mb4_uca1400_as_cs"}} {
		db := newAppDB("aliases", fmt.Sprintf("alias-%d", i), dbv1.AppDatabaseSpec{DBName: fmt.Sprintf("alias_%d", i), Charset: pair[0], Collation: pair[1]})
		create(t, db)
		dbs = append(dbs, db)
	}
	for i := range dbs {
		dbs[i] = waitReady(t, dbs[i])
	}
	before := writeCounters(t)
	for _, db := range dbs {
		forceReconcile(t, db)
	}
	assertNoWrites(t, before, writeCounters(t))
	for _, db := range dbs {
		if hasEvent(ctx, "aliases", db.Name, "DriftRepaired", "") == nil {
			t.Errorf("%s: a DriftRepaired event for a database that was as asked", db.Name)
		}
	}
}

// A read-only server (a replica, a node set aside) is skipped like a Galera node that is not
// serving: the operator writes to the next endpoint, and a cluster of read-only endpoints alone
// is reported unreachable with the reason, and nothing is written to it.
func TestReadOnlyEndpointIsSkipped(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "readonly")
	password := randomString()
	secrets.Store(password, "read-only test admin password")
	var servers []*stack.MariaDB
	for _, args := range [][]string{{"--read-only"}, nil} {
		server, err := stack.StartMariaDB(stack.WithServerArgs(args...))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(server.Close)
		if err := server.CreateAdmin(ctx, "ro_admin", password); err != nil {
			t.Fatal(err)
		}
		servers = append(servers, server)
	}
	readOnly, writable := servers[0], servers[1]
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: platformNS, Name: "ro-admin"},
		StringData: map[string]string{"username": "ro_admin", "password": password}})
	for name, endpoints := range map[string][]*stack.MariaDB{"ro-first": {readOnly, writable}, "ro-only": {readOnly}} {
		mc := &dbv1.MySQLCluster{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: dbv1.MySQLClusterSpec{
			AdminCredentials: dbv1.AdminCredentials{SecretName: "ro-admin", UsernameKey: "username", PasswordKey: "password"}}}
		for _, s := range endpoints {
			mc.Spec.AdminEndpoints = append(mc.Spec.AdminEndpoints, dbv1.Endpoint{Host: "127.0.0.1", Port: int32(s.Port)}) //nolint:gosec // G115: a TCP port fits in int32
		}
		create(t, mc)
		t.Cleanup(func() { _ = k8s.Delete(context.Background(), mc) })
	}

	waitClusterStatus(t, "ro-only", func(s dbv1.MySQLClusterStatus) error {
		if s.Reachable || !strings.Contains(s.Message, "read-only") {
			return fmt.Errorf("reachable=%v: %s", s.Reachable, s.Message)
		}
		return nil
	})
	assertStoredUnreachable(t, "ro-only")
	waitClusterStatus(t, "ro-first", func(s dbv1.MySQLClusterStatus) error {
		if !s.Reachable || s.Endpoint != fmt.Sprintf("127.0.0.1:%d", writable.Port) {
			return fmt.Errorf("reachable=%v endpoint %s: %s", s.Reachable, s.Endpoint, s.Message)
		}
		return nil
	})

	served := newAppDB("readonly", "served", dbv1.AppDatabaseSpec{DBName: "ro_served", ClusterRef: "ro-first"})
	refused := newAppDB("readonly", "refused", dbv1.AppDatabaseSpec{DBName: "ro_refused", ClusterRef: "ro-only"})
	create(t, served)
	create(t, refused)
	waitReady(t, served)
	waitFor(t, clientKey(refused), dbv1.PhaseFailed, dbv1.ReasonClusterUnreachable)
	for _, name := range []string{"ro_served", "ro_refused", "db_concierge"} {
		if schemaOn(t, readOnly, name) {
			t.Errorf("%s was written to the read-only server", name)
		}
	}
	if !schemaOn(t, writable, "ro_served") {
		t.Error("ro_served is not on the writable server")
	}
}

// A pass that fails before it creates anything leaves no ownership record behind to block the
// name: a Secret in the way, or a crash right after the intent was recorded by an AppDatabase
// that is then deleted.
func TestFailedPassesLeaveNoClaim(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "claims")
	ensureNamespace(t, "claims-next")
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "claims", Name: "held-mysql-creds"},
		StringData: map[string]string{"password": "not ours"}})
	held := newAppDB("claims", "held", dbv1.AppDatabaseSpec{DBName: "held"})
	create(t, held)
	held = waitFor(t, clientKey(held), dbv1.PhaseFailed, dbv1.ReasonSecretConflict)
	forceReconcile(t, held)
	if n := countOn(t, root(t), "SELECT COUNT(*) FROM db_concierge.ownership WHERE owner_uid = ?", string(held.UID)); n != 0 {
		t.Errorf("a tenant refused for its Secret holds %d ownership records", n)
	}

	restartOperator(t, failpoint.EnvVar+"=after-intent")
	crashed := operator
	stale := newAppDB("claims", "stale", dbv1.AppDatabaseSpec{DBName: "stale_claim"})
	create(t, stale)
	select {
	case <-crashed.Exited():
	case <-ctx.Done():
		t.Fatal("the operator did not reach the failpoint")
	}
	deleteAndWait(t, stale)
	restartOperator(t)
	next := newAppDB("claims-next", "stale", dbv1.AppDatabaseSpec{DBName: "stale_claim"})
	create(t, next)
	waitReady(t, next)
}

// Under a password validation plugin at its default settings, generated passwords pass. A server
// stricter than the cluster's passwordPolicy refuses them: the tenant fails with a message naming
// the settings to compare and takes back what the pass created; once the policy matches the
// server, a new password is generated (nobody ever logged in with the refused one) and the tenant
// is provisioned, in clear since the plugin must see the password (strict validation refuses
// hashes).
func TestPasswordPolicy(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "policy")
	server, rootDB, _ := hostileCluster(t, "policy")
	// Loaded once the admin account exists: the test's own admin password would not pass it.
	if _, err := rootDB.Exec("INSTALL SONAME 'simple_password_check'"); err != nil {
		t.Fatal(err)
	}
	plain := newAppDB("policy", "plain", dbv1.AppDatabaseSpec{DBName: "policy_plain", ClusterRef: "policy",
		Users: []dbv1.AppDatabaseUser{{Name: "policy_plain_ro", Access: dbv1.AccessReadOnly}}})
	create(t, plain)
	plain = waitReady(t, plain)

	if _, err := rootDB.Exec("SET GLOBAL simple_password_check_minimal_length = 40"); err != nil {
		t.Fatal(err)
	}
	db := newAppDB("policy", "policy", dbv1.AppDatabaseSpec{DBName: "policy_db", ClusterRef: "policy"})
	create(t, db)
	failed := waitFor(t, clientKey(db), dbv1.PhaseFailed, dbv1.ReasonPasswordRejected)
	for _, want := range []string{"password policy refused", "simple_password_check", "spec.passwordPolicy"} {
		if !strings.Contains(failed.Status.Message, want) {
			t.Errorf("message does not say %q: %s", want, failed.Status.Message)
		}
	}
	if strings.Contains(failed.Status.Message, "withheld") {
		t.Errorf("message: %s", failed.Status.Message)
	}
	if schemaOn(t, server, "policy_db") {
		t.Error("the database created for the refused tenant was left behind")
	}
	if n := countOn(t, rootDB, "SELECT COUNT(*) FROM db_concierge.ownership WHERE owner_uid = ?", string(failed.UID)); n != 0 {
		t.Errorf("%d ownership records left behind", n)
	}

	var mc dbv1.MySQLCluster
	if err := k8s.Get(ctx, client.ObjectKey{Name: "policy"}, &mc); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(mc.DeepCopy())
	mc.Spec.PasswordPolicy = &dbv1.PasswordPolicy{Length: 48, MinSpecial: ptr.To[int32](4), SpecialCharacters: "-_"}
	if err := k8s.Patch(ctx, &mc, patch); err != nil {
		t.Fatal(err)
	}
	db = waitReady(t, db)
	password := string(secretOf(t, db).Data["password"])
	if len(password) != 48 || strings.Trim(password, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		t.Errorf("the new password is %d characters long, or has characters outside the policy's", len(password))
	}
	if err := loginOn(ctx, server, "policy_db_app", password, "policy_db"); err != nil {
		t.Error(err)
	}
	// The tenant provisioned before keeps its password: it is in use.
	var readOnly corev1.Secret
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: "policy", Name: plain.Status.Accounts[1].SecretName}, &readOnly); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*corev1.Secret{secretOf(t, plain), &readOnly} {
		if err := loginOn(ctx, server, string(s.Data["username"]), string(s.Data["password"]), "policy_plain"); err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
	}
}

// hostileAccount is a spec.users an attacker, or a careless developer, might write: refused by the
// API server (apiError, a substring of its message) or by the operator (reason, with message in
// the status message and notInMessage not in it).
type hostileAccount struct {
	name             string
	dbName, userName string // dbName "" is one of the case's own
	users            []dbv1.AppDatabaseUser
	apiError         string
	reason, message  string
	notInMessage     string
}

func ro(name string) dbv1.AppDatabaseUser {
	return dbv1.AppDatabaseUser{Name: name, Access: dbv1.AccessReadOnly}
}

func withSecret(u dbv1.AppDatabaseUser, secretName string) dbv1.AppDatabaseUser {
	u.SecretName = secretName
	return u
}

func withAccess(name string, access dbv1.Access) dbv1.AppDatabaseUser {
	return dbv1.AppDatabaseUser{Name: name, Access: access}
}

func hostileAccountCorpus() []hostileAccount {
	api := func(name, apiError string, users ...dbv1.AppDatabaseUser) hostileAccount {
		return hostileAccount{name: name, users: users, apiError: apiError}
	}
	op := func(name, reason, message string, users ...dbv1.AppDatabaseUser) hostileAccount {
		return hostileAccount{name: name, users: users, reason: reason, message: message}
	}
	seventeen := make([]dbv1.AppDatabaseUser, 17)
	for i := range seventeen {
		seventeen[i] = ro(fmt.Sprintf("acch_many_%d", i))
	}
	nameField := "spec.users[0].name"
	accessField := "spec.users[0].access"
	sameName := "two accounts have the same name"
	mainName := "an extra account has the name of the main user"
	cases := []hostileAccount{
		api("% in a name", nameField, ro("a%b")),
		api("% alone", nameField, ro("%")),
		api("_ and %", nameField, ro("a_%")),
		api("a name with a dot (mysql.sys)", nameField, ro("mysql.sys")),
		api("a name with a host part", nameField, ro("u@localhost")),
		api("a backtick", nameField, ro("u`x")),
		api("a quote", nameField, ro("x'@'%")),
		api("a space", nameField, ro("u x")),
		api("an empty name", nameField, ro("")),
		api("33 characters", nameField, ro(strings.Repeat("u", 33))),
		api("non-ASCII letters", nameField, ro("\uff55ser")),
		api("a name twice", sameName, ro("acch_dup"), withAccess("acch_dup", dbv1.AccessReadWrite)),
		api("a name twice, differing in case", sameName, ro("acch_dup"), withAccess("ACCH_DUP", dbv1.AccessReadWrite)),
		{name: "the main user's default name", dbName: "acchmain", users: []dbv1.AppDatabaseUser{ro("acchmain_app")}, apiError: mainName},
		{name: "the main user's default name in upper case", dbName: "acchmain", users: []dbv1.AppDatabaseUser{ro("ACCHMAIN_APP")}, apiError: mainName},
		{name: "the main user's explicit name", dbName: "acchmain", userName: "acch_owner", users: []dbv1.AppDatabaseUser{ro("Acch_Owner")}, apiError: mainName},
		api("access ALL", accessField, withAccess("acch_all", "ALL")),
		api("access SUPER", accessField, withAccess("acch_super", "SUPER")),
		api("access with a statement", accessField, withAccess("acch_stmt", "ReadWrite; DROP DATABASE accvictim")),
		api("access in lower case", accessField, withAccess("acch_lower", "readonly")),
		api("no access", accessField, withAccess("acch_none", "")),
		api("two accounts, one secretName", "two accounts have the same secretName",
			withSecret(ro("acch_s1"), "acch-shared"), withSecret(ro("acch_s2"), "acch-shared")),
		{name: "the main Secret's name", dbName: "acchmain", users: []dbv1.AppDatabaseUser{withSecret(ro("acch_s"), "acchmain-mysql-creds")},
			apiError: "an extra account's secretName is the main Secret's name"},
		api("a secretName that is no Kubernetes name", "spec.users[0].secretName", withSecret(ro("acch_s"), "Acch_S")),
		api("17 accounts", "spec.users", seventeen...),

		op("another tenant's main user", dbv1.ReasonOwnershipConflict, "belongs to another AppDatabase", ro("accvictim_app")),
		op("another tenant's main user in upper case", dbv1.ReasonOwnershipConflict, "differs only in case", ro("ACCVICTIM_APP")),
		op("another tenant's extra user", dbv1.ReasonOwnershipConflict, "belongs to another AppDatabase", withAccess("accvictim_ro", dbv1.AccessReadWrite)),
		op("another tenant's extra user in mixed case", dbv1.ReasonOwnershipConflict, "differs only in case", ro("AccVictim_DW")),
		op("another tenant's extra user next to a fine one", dbv1.ReasonOwnershipConflict, "belongs to another AppDatabase", ro("acch_fine"), ro("accvictim_dw")),
		op("a user made by hand", dbv1.ReasonOwnershipConflict, "not created by DB Concierge", ro("acc_handmade")),
		op("the admin account", dbv1.ReasonInvalidSpec, "admin account", ro(adminUser)),
		op("the admin account in upper case", dbv1.ReasonInvalidSpec, "admin account", ro(strings.ToUpper(adminUser))),
		op("the ledger's schema", dbv1.ReasonInvalidSpec, "reserved", ro("db_concierge")),
		op("the ledger's schema in upper case", dbv1.ReasonInvalidSpec, "reserved", ro("DB_Concierge")),
		op("root", dbv1.ReasonInvalidSpec, "reserved", withAccess("root", dbv1.AccessReadWrite)),
		op("Root", dbv1.ReasonInvalidSpec, "reserved", ro("Root")),
		op("mysql", dbv1.ReasonInvalidSpec, "reserved", ro("mysql")),
		op("PUBLIC", dbv1.ReasonInvalidSpec, "reserved", ro("PUBLIC")),
		{name: "a secretName that is another account's default", dbName: "acchsec",
			users:  []dbv1.AppDatabaseUser{ro("acch_a"), withSecret(ro("acch_b"), "acchsec-acch-a-mysql-creds")},
			reason: dbv1.ReasonInvalidSpec, message: "would both keep their credentials in Secret"},
		{name: "a default Secret that belongs to another AppDatabase", dbName: "accsc", users: []dbv1.AppDatabaseUser{ro("x")},
			reason: dbv1.ReasonSecretConflict, message: "belongs to another AppDatabase"},
		op("a secretName of another AppDatabase", dbv1.ReasonSecretConflict, "belongs to another AppDatabase",
			withSecret(ro("acch_theirs"), "accsc-x-accsc-x-ro-mysql-creds")),
		op("a secretName not made by DB Concierge", dbv1.ReasonSecretConflict, "not created by DB Concierge",
			withSecret(ro("acch_foreign"), "acc-foreign")),
	}
	// The admin account's name is not the tenant's to learn.
	for i := range cases {
		if cases[i].message == "admin account" {
			cases[i].notInMessage = adminUser
		}
	}
	return cases
}

// A corpus of hostile extra accounts: each is refused where it should be, with a message that
// says why, and nothing anyone else has changes: no account, database, ownership record or Secret
// is created, and every other tenant's accounts keep their grants, caps, Secrets and logins. A
// Ready tenant that adds a refused account keeps what it had.
func TestHostileAccounts(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "acc-victim")
	ensureNamespace(t, "acc-attacker")
	victim := newAppDB("acc-victim", "victim", dbv1.AppDatabaseSpec{DBName: "accvictim", Users: []dbv1.AppDatabaseUser{
		ro("accvictim_ro"), {Name: "accvictim_dw", Access: dbv1.AccessDataOnly, MaxUserConnections: limitOf(3)}}})
	// Its main Secret, accsc-x-mysql-creds, is the default Secret of account x of dbName accsc.
	bystander := newAppDB("acc-attacker", "bystander", dbv1.AppDatabaseSpec{DBName: "accsc_x", Users: []dbv1.AppDatabaseUser{ro("accsc_x_ro")}})
	attacker := newAppDB("acc-attacker", "attacker", dbv1.AppDatabaseSpec{DBName: "accattk", Users: []dbv1.AppDatabaseUser{ro("accattk_ro")}})
	for _, db := range []*dbv1.AppDatabase{victim, bystander, attacker} {
		create(t, db)
	}
	victim, bystander, attacker = waitReady(t, victim), waitReady(t, bystander), waitReady(t, attacker)
	mustExec(t, "CREATE USER IF NOT EXISTS acc_handmade@'%' IDENTIFIED BY 'Handmade-0123456789'")
	t.Cleanup(func() { _, _ = root(t).Exec("DROP USER IF EXISTS acc_handmade@'%'") })
	foreign := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "acc-attacker", Name: "acc-foreign"}, StringData: map[string]string{"password": "not ours"}}
	create(t, foreign)

	tenants := []*dbv1.AppDatabase{victim, bystander, attacker}
	before := takeSnapshot(t, tenants...)
	states := make([]map[string]string, len(tenants))
	for i, db := range tenants {
		states[i] = accountsState(t, db)
	}
	// Sessions the refusals must not end.
	victimSessions := []*sql.Conn{
		login(t, "accvictim_app", passwordIn(secretOf(t, victim)), "accvictim"),
		login(t, "accvictim_ro", passwordIn(userSecret(t, victim, "accvictim_ro")), "accvictim"),
	}

	cases := hostileAccountCorpus()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := fmt.Sprintf("hostile-%d", i)
			dbName := c.dbName
			if dbName == "" {
				dbName = fmt.Sprintf("acch%d", i)
			}
			db := newAppDB("acc-attacker", name, dbv1.AppDatabaseSpec{DBName: dbName, UserName: c.userName, Users: c.users})
			usersBefore, ledgerBefore := mysqlAccounts(t), ledger(t)
			err := k8s.Create(ctx, db)
			if c.apiError != "" {
				if !isInvalid(err, c.apiError) {
					t.Errorf("not rejected by the API server with %q: %v", c.apiError, err)
					if err == nil {
						deleteAndWait(t, db)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("the API server refused what the operator should judge: %v", err)
			}
			failed := waitFor(t, clientKey(db), dbv1.PhaseFailed, c.reason)
			if !strings.Contains(failed.Status.Message, c.message) {
				t.Errorf("message %q does not contain %q", failed.Status.Message, c.message)
			}
			if c.notInMessage != "" && strings.Contains(strings.ToLower(failed.Status.Message), strings.ToLower(c.notInMessage)) {
				t.Errorf("message %q names %q", failed.Status.Message, c.notInMessage)
			}
			// Rechecked (the suite's conflict recheck is 3s), it is refused again and still creates
			// nothing.
			failed = forceReconcile(t, failed)
			if failed.Status.Phase != dbv1.PhaseFailed || readyReason(failed) != c.reason {
				t.Errorf("a second pass: phase %s, reason %s: %s", failed.Status.Phase, readyReason(failed), failed.Status.Message)
			}
			if written := secretsOwnedBy(t, "acc-attacker", "acc-attacker/"+name); len(written) > 0 {
				t.Errorf("Secrets written for the refused AppDatabase: %v", written)
			}
			if databaseExists(t, dbName) {
				t.Errorf("database %s was created", dbName)
			}
			if after := mysqlAccounts(t); !slices.Equal(after, usersBefore) {
				t.Errorf("MySQL accounts went from %q to %q", usersBefore, after)
			}
			if after := ledger(t); !slices.Equal(after, ledgerBefore) {
				t.Errorf("ownership records went from %q to %q", ledgerBefore, after)
			}
			deleteAndWait(t, db)
		})
	}

	t.Run("a Ready tenant adds another tenant's account", func(t *testing.T) {
		current := attacker.DeepCopy()
		if err := patchSpec(current, func(s *dbv1.AppDatabaseSpec) { s.Users = append(s.Users, ro("accvictim_dw")) }); err != nil {
			t.Fatal(err)
		}
		failed := waitFor(t, clientKey(attacker), dbv1.PhaseFailed, dbv1.ReasonOwnershipConflict)
		if !strings.Contains(failed.Status.Message, "belongs to another AppDatabase") {
			t.Errorf("message: %s", failed.Status.Message)
		}
		assertAccountsIntact(t, attacker, states[2])
		if written := secretsOwnedBy(t, "acc-attacker", "acc-attacker/attacker"); len(written) != 2 {
			t.Errorf("the attacker's Secrets are %v, want its two", written)
		}
		if err := patchSpec(failed, func(s *dbv1.AppDatabaseSpec) { s.Users = s.Users[:1] }); err != nil {
			t.Fatal(err)
		}
		waitReady(t, attacker)
	})

	assertUnchanged(t, before, tenants...)
	for i, db := range tenants {
		assertAccountsIntact(t, db, states[i])
	}
	for i, s := range victimSessions {
		if _, err := s.ExecContext(ctx, "SELECT 1"); err != nil {
			t.Errorf("the victim's session %d was ended: %v", i, err)
		}
	}
	var after corev1.Secret
	if err := k8s.Get(ctx, clientKey(foreign), &after); err != nil || after.ResourceVersion != foreign.ResourceVersion {
		t.Errorf("the Secret not made by DB Concierge changed (%v)", err)
	}
}

// Two AppDatabases that ask for the same extra account at once: exactly one gets it, the other
// fails with OwnershipConflict and creates nothing, and stays so when it is tried again.
func TestAccountClaimRace(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "acc-race")
	type pair struct{ a, b *dbv1.AppDatabase }
	var rounds []pair
	for round := range 3 {
		shared := fmt.Sprintf("accrace_shared%d", round)
		p := pair{
			newAppDB("acc-race", fmt.Sprintf("a%d", round), dbv1.AppDatabaseSpec{DBName: fmt.Sprintf("accrace%d_a", round),
				Users: []dbv1.AppDatabaseUser{withAccess(shared, dbv1.AccessDataOnly)}}),
			newAppDB("acc-race", fmt.Sprintf("b%d", round), dbv1.AppDatabaseSpec{DBName: fmt.Sprintf("accrace%d_b", round),
				Users: []dbv1.AppDatabaseUser{ro(shared)}}),
		}
		done := make(chan error, 1)
		go func() { done <- k8s.Create(context.Background(), p.b) }()
		create(t, p.a)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		rounds = append(rounds, p)
	}
	var losers []*dbv1.AppDatabase
	check := func(round int, p pair) {
		var results [2]*dbv1.AppDatabase
		for i, db := range []*dbv1.AppDatabase{p.a, p.b} {
			eventually(t, db.Name+" to settle", func() error {
				var err error
				results[i], err = settled(ctx, clientKey(db))
				return err
			})
		}
		shared := fmt.Sprintf("accrace_shared%d", round)
		var winner, loser *dbv1.AppDatabase
		switch {
		case results[0].Status.Phase == dbv1.PhaseReady && results[1].Status.Phase == dbv1.PhaseFailed:
			winner, loser = results[0], results[1]
		case results[1].Status.Phase == dbv1.PhaseReady && results[0].Status.Phase == dbv1.PhaseFailed:
			winner, loser = results[1], results[0]
		default:
			t.Fatalf("round %d: %s is %s (%s), %s is %s (%s); want one Ready and one Failed", round,
				results[0].Name, results[0].Status.Phase, results[0].Status.Message, results[1].Name, results[1].Status.Phase, results[1].Status.Message)
		}
		if r := readyReason(loser); r != dbv1.ReasonOwnershipConflict {
			t.Errorf("round %d: the loser failed with %s: %s", round, r, loser.Status.Message)
		}
		losers = append(losers, loser)
		assertPreset(t, shared, winner.Spec.DBName, winner.Spec.Users[0].Access)
		if err := canLogin(ctx, shared, passwordIn(userSecret(t, winner, shared)), winner.Spec.DBName); err != nil {
			t.Errorf("round %d: the shared account does not log in with the winner's password: %v", round, err)
		}
		if n := ledgerRows(t, shared); n != 1 {
			t.Errorf("round %d: %d ownership records of %s", round, n, shared)
		}
	}
	for round, p := range rounds {
		check(round, p)
	}
	// Tried again by the conflict recheck and by hand, the losers still hold nothing.
	for _, loser := range losers {
		if got := forceReconcile(t, loser); got.Status.Phase != dbv1.PhaseFailed || readyReason(got) != dbv1.ReasonOwnershipConflict {
			t.Errorf("%s tried again: %s %s: %s", loser.Name, got.Status.Phase, readyReason(got), got.Status.Message)
		}
		if databaseExists(t, loser.Spec.DBName) || userExists(t, loser.Spec.EffectiveUserName()) {
			t.Errorf("%s got its database or main user created", loser.Name)
		}
		if written := secretsOwnedBy(t, "acc-race", "acc-race/"+loser.Name); len(written) > 0 {
			t.Errorf("%s got Secrets: %v", loser.Name, written)
		}
		if rows := ledgerOf(t, string(loser.UID)); len(rows) > 0 {
			t.Errorf("%s holds ownership records: %q", loser.Name, rows)
		}
	}
}

// Account names made of '_', a wildcard in LIKE patterns and database-level grants though not in
// account names, are served as the exact names they are: creating, changing, removing and dropping
// them touches no account their pattern would match, nor that account's sessions.
func TestUnderscoreAccountNames(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "acc-under")
	// As patterns, _ would match q and q_ would match qz.
	victim := newAppDB("acc-under", "victim", dbv1.AppDatabaseSpec{DBName: "accuv", UserName: "q", Users: []dbv1.AppDatabaseUser{ro("qz")}})
	create(t, victim)
	victim = waitReady(t, victim)
	state := accountsState(t, victim)
	sessions := []*sql.Conn{
		login(t, "q", passwordIn(secretOf(t, victim)), "accuv"),
		login(t, "qz", passwordIn(userSecret(t, victim, "qz")), "accuv"),
	}
	assertVictim := func(when string) {
		t.Helper()
		assertAccountsIntact(t, victim, state)
		for i, s := range sessions {
			if _, err := s.ExecContext(ctx, "SELECT 1"); err != nil {
				t.Errorf("%s: the victim's session %d was ended: %v", when, i, err)
			}
		}
	}

	db := newAppDB("acc-under", "under", dbv1.AppDatabaseSpec{DBName: "accua", DeletionPolicy: dbv1.DeletionPolicyDelete,
		Users: []dbv1.AppDatabaseUser{ro("_"), withAccess("q_", dbv1.AccessDataOnly)}})
	create(t, db)
	db = waitReady(t, db)
	assertPreset(t, "_", "accua", dbv1.AccessReadOnly)
	assertPreset(t, "q_", "accua", dbv1.AccessDataOnly)
	for _, u := range []string{"_", "q_"} {
		if err := canLogin(ctx, u, passwordIn(userSecret(t, db, u)), "accua"); err != nil {
			t.Errorf("%s does not log in: %v", u, err)
		}
	}
	assertVictim("created")

	// A change of access ends the sessions of _ alone.
	under := login(t, "_", passwordIn(userSecret(t, db, "_")), "accua")
	if err := patchSpec(db, func(s *dbv1.AppDatabaseSpec) { s.Users[0].Access = dbv1.AccessDataOnly }); err != nil {
		t.Fatal(err)
	}
	db = waitReady(t, db)
	assertPreset(t, "_", "accua", dbv1.AccessDataOnly)
	if _, err := under.ExecContext(ctx, "SELECT 1"); err == nil {
		t.Error("the session of _ survived its change of access")
	}
	assertVictim("access changed")

	// Removed: _ alone is dropped.
	if err := patchSpec(db, func(s *dbv1.AppDatabaseSpec) { s.Users = s.Users[1:] }); err != nil {
		t.Fatal(err)
	}
	db = waitReady(t, db)
	if userExists(t, "_") {
		t.Error("_ was not dropped")
	}
	assertVictim("_ removed")

	// Deleted with deletionPolicy Delete: its own accounts alone.
	deleteAndWait(t, db)
	if userExists(t, "q_") || userExists(t, "accua_app") {
		t.Error("the deleted tenant's accounts were not dropped")
	}
	assertVictim("deleted")
}

// mysqlAccounts lists every account on the suite's server.
func mysqlAccounts(t *testing.T) []string {
	t.Helper()
	return column(t, "SELECT CONCAT(User, '@', Host) AS account FROM mysql.user ORDER BY CAST(account AS BINARY)")
}

// ledger lists every ownership record on the suite's server.
func ledger(t *testing.T) []string {
	t.Helper()
	return column(t, "SELECT CONCAT_WS(' ', kind, name, owner_uid, state) FROM db_concierge.ownership ORDER BY 1")
}

// Under both of MariaDB's password checks at their default settings — simple_password_check and
// cracklib_password_check — generated passwords pass: an AppDatabase with an extra account is
// provisioned, rotated, and takes a password brought from a Secret.
func TestPasswordChecksAcceptGeneratedPasswords(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "checks")
	server, rootDB, _ := hostileCluster(t, "checks")
	for _, plugin := range []string{"simple_password_check", "cracklib_password_check"} {
		if _, err := rootDB.Exec("INSTALL SONAME '" + plugin + "'"); err != nil {
			t.Fatalf("loading %s: %v", plugin, err)
		}
	}
	// Both are at work: a password simple_password_check takes and cracklib refuses.
	if _, err := rootDB.Exec("CREATE USER checks_probe@'%' IDENTIFIED BY 'Password1-'"); err == nil || !strings.Contains(err.Error(), "1819") {
		t.Fatalf("cracklib_password_check did not refuse a dictionary word: %v", err)
	}
	brought, err := credentials.NewPassword()
	if err != nil {
		t.Fatal(err)
	}
	secrets.Store(brought, "checks source password")
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "checks", Name: "checks-source", Labels: map[string]string{dbv1.LabelPasswordSource: "true"}},
		Data: map[string][]byte{"password": []byte(brought)}})
	db := newAppDB("checks", "checks", dbv1.AppDatabaseSpec{DBName: "checks", ClusterRef: "checks",
		Users: []dbv1.AppDatabaseUser{{Name: "checks_ro", Access: dbv1.AccessReadOnly},
			{Name: "checks_byo", Access: dbv1.AccessDataOnly, PasswordFrom: &dbv1.PasswordSource{SecretKeyRef: dbv1.PasswordSecretKeyRef{Name: "checks-source", Key: "password"}}}},
		PasswordRotation: &dbv1.PasswordRotation{}})
	create(t, db)
	db = waitReady(t, db)
	db = rotateAndWait(t, db)
	for _, a := range db.Status.Accounts {
		user, password := credentialsIn(t, "checks", a.SecretName)
		if err := loginOn(ctx, server, user, password, "checks"); err != nil {
			t.Errorf("%s after a rotation: %v", a.Name, err)
		}
		if a.Name == "checks_byo" && password != brought {
			t.Errorf("%s does not hold the brought password", a.SecretName)
		}
	}
}
