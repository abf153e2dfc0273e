//go:build integration

package integration

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/test/stack"
)

// Extra accounts (spec.users): each preset holds exactly its privileges on its database and
// nothing else, drift is put back, the accounts follow the spec as it changes, and connection
// caps are what the spec and the cluster ask for. Every assertion is on what MySQL and the API
// server hold, logged in as each account with the password of its own Secret.

// presets are the privileges each access grants on the database, as SHOW GRANTS names them
// (docs/reference.md, "Accounts").
var presets = map[dbv1.Access][]string{
	dbv1.AccessReadWrite: {"ALL PRIVILEGES"},
	dbv1.AccessDataOnly:  {"CREATE TEMPORARY TABLES", "DELETE", "EXECUTE", "INSERT", "LOCK TABLES", "SELECT", "UPDATE"},
	dbv1.AccessReadOnly:  {"EXECUTE", "SELECT", "SHOW VIEW"},
}

// mysqlAccessDenied are the server's refusals of a statement for want of a privilege.
var mysqlAccessDenied = []uint16{
	1044, // ER_DBACCESS_DENIED_ERROR
	1045, // ER_ACCESS_DENIED_ERROR
	1142, // ER_TABLEACCESS_DENIED_ERROR
	1143, // ER_COLUMNACCESS_DENIED_ERROR
	1227, // ER_SPECIFIC_ACCESS_DENIED_ERROR
	1370, // ER_PROCACCESS_DENIED_ERROR
	1410, // ER_CANT_CREATE_USER_WITH_GRANT
}

// erUserLimitReached is the server's refusal of a login beyond the account's max_user_connections.
const erUserLimitReached = 1226

func limitOf(n int32) *int32 { return &n }

// escapedPattern is a database name as a database-level grant names it: '_' and '%' escaped.
func escapedPattern(database string) string {
	return strings.NewReplacer("_", `\_`, "%", `\%`).Replace(database)
}

// databasePrivileges parses SHOW GRANTS of user: it fails t unless they are exactly the USAGE
// line and one line on database, without GRANT OPTION, and returns that line's privileges, sorted.
func databasePrivileges(t *testing.T, user, database string) []string {
	t.Helper()
	grants := grantsOf(t, user)
	if len(grants) != 2 {
		t.Errorf("%s holds %d grant lines, want USAGE and one on %s: %q", user, len(grants), database, grants)
		return nil
	}
	if !strings.HasPrefix(grants[0], "GRANT USAGE ON *.* TO `"+user+"`@`%`") {
		t.Errorf("%s's first grant is not USAGE on *.*: %q", user, grants[0])
	}
	for _, g := range grants {
		if strings.Contains(g, "GRANT OPTION") {
			t.Errorf("%s holds GRANT OPTION: %q", user, g)
		}
	}
	line, ok := strings.CutPrefix(grants[1], "GRANT ")
	privileges, rest, found := strings.Cut(line, " ON ")
	target, grantee, found2 := strings.Cut(rest, " TO ")
	if !ok || !found || !found2 {
		t.Errorf("cannot read %s's grant %q", user, grants[1])
		return nil
	}
	if want := "`" + escapedPattern(database) + "`.*"; target != want {
		t.Errorf("%s's grant is on %s, want %s", user, target, want)
	}
	if grantee != "`"+user+"`@`%`" {
		t.Errorf("%s's grant names grantee %s", user, grantee)
	}
	list := strings.Split(privileges, ", ")
	slices.Sort(list)
	return list
}

// assertPreset checks that SHOW GRANTS, as root, says user holds exactly access on database.
func assertPreset(t *testing.T, user, database string, access dbv1.Access) {
	t.Helper()
	if got := databasePrivileges(t, user, database); got != nil && !slices.Equal(got, presets[access]) {
		t.Errorf("%s (%s) holds %q on %s, want %q", user, access, got, database, presets[access])
	}
}

// accountSecret reads an account's Secret by name, in the AppDatabase's appNamespace, and
// remembers its password for the suite's leak check.
func accountSecret(t *testing.T, db *dbv1.AppDatabase, name string) *corev1.Secret {
	t.Helper()
	var s corev1.Secret
	key := client.ObjectKey{Namespace: db.EffectiveAppNamespace(), Name: name}
	if err := k8s.Get(context.Background(), key, &s); err != nil {
		t.Fatalf("reading Secret %s: %v", key, err)
	}
	secrets.Store(string(s.Data["password"]), key.String())
	return &s
}

// userSecret is the Secret of the extra account named user.
func userSecret(t *testing.T, db *dbv1.AppDatabase, user string) *corev1.Secret {
	t.Helper()
	for i := range db.Spec.Users {
		if u := &db.Spec.Users[i]; u.Name == user {
			return accountSecret(t, db, u.EffectiveSecretName(&db.Spec))
		}
	}
	t.Fatalf("%s has no extra account %s", db.Name, user)
	return nil
}

func passwordIn(s *corev1.Secret) string { return string(s.Data["password"]) }

// ledgerRows counts the ownership records of a user name (names compare without regard to case).
func ledgerRows(t *testing.T, user string) int {
	t.Helper()
	return countOn(t, root(t), "SELECT COUNT(*) FROM db_concierge.ownership WHERE kind = 'user' AND name = ?", user)
}

// ledgerOf lists the ownership records of an owner, as "kind name state".
func ledgerOf(t *testing.T, uid string) []string {
	t.Helper()
	return column(t, "SELECT CONCAT_WS(' ', kind, name, state) FROM db_concierge.ownership WHERE owner_uid = ? ORDER BY 1", uid)
}

// connectionCap is the account's own max_user_connections, as the server holds it.
func connectionCap(t *testing.T, user string) int {
	t.Helper()
	return connectionCapOn(t, root(t), user)
}

// connectionCapOn is connectionCap through a root pool, for loops: each root(t) is a pool of its
// own, kept open until the test ends.
func connectionCapOn(t *testing.T, rootDB *sql.DB, user string) int {
	t.Helper()
	return countOn(t, rootDB, "SELECT max_user_connections FROM mysql.user WHERE User = ? AND Host = '%'", user)
}

func isAccessDenied(err error) bool { return slices.Contains(mysqlAccessDenied, mysqlErrorNumber(err)) }

// hold opens n sessions of user and keeps them open until the test ends.
func hold(t *testing.T, n int, user, password, database string) []*sql.Conn {
	t.Helper()
	conns := make([]*sql.Conn, n)
	for i := range conns {
		conns[i] = login(t, user, password, database)
	}
	return conns
}

// assertLoginRefusedByCap checks that one more login of user is refused for its connection cap.
func assertLoginRefusedByCap(t *testing.T, user, password, database string) {
	t.Helper()
	err := canLogin(context.Background(), user, password, database)
	if mysqlErrorNumber(err) != erUserLimitReached {
		t.Errorf("a login of %s beyond its cap: want error %d, got %v", user, erUserLimitReached, err)
	}
}

// accountsState is what an AppDatabase's accounts hold, by what it is of: each account's Secret
// (whole, resourceVersion included), grants (with the password hash MariaDB prints) and cap.
func accountsState(t *testing.T, db *dbv1.AppDatabase) map[string]string {
	t.Helper()
	state := map[string]string{}
	for _, a := range db.Status.Accounts {
		s := accountSecret(t, db, a.SecretName)
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		state["Secret "+s.Namespace+"/"+s.Name] = string(b)
		state["grants of "+a.Name] = strings.Join(grantsOf(t, a.Name), "\n")
		state["cap of "+a.Name] = fmt.Sprint(connectionCap(t, a.Name))
	}
	return state
}

// assertAccountsIntact compares an AppDatabase's accounts with a state taken before, and logs in
// as each with the password of its Secret.
func assertAccountsIntact(t *testing.T, db *dbv1.AppDatabase, before map[string]string) {
	t.Helper()
	after := accountsState(t, db)
	for _, k := range slices.Sorted(maps.Keys(before)) {
		if after[k] != before[k] {
			t.Errorf("%s of %s changed", k, db.Name)
		}
	}
	for _, a := range db.Status.Accounts {
		if err := canLogin(context.Background(), a.Name, passwordIn(accountSecret(t, db, a.SecretName)), db.Spec.DBName); err != nil {
			t.Errorf("%s of %s no longer logs in with its Secret's password: %v", a.Name, db.Name, err)
		}
	}
}

// secretsOwnedBy lists the Secrets in namespace that record the AppDatabase namespace/name as
// their owner.
func secretsOwnedBy(t *testing.T, namespace, owner string) []string {
	t.Helper()
	var list corev1.SecretList
	if err := k8s.List(context.Background(), &list, client.InNamespace(namespace)); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range list.Items {
		if s.Annotations[dbv1.AnnotationOwner] == owner {
			names = append(names, s.Name)
		}
	}
	return names
}

// driftEvents returns the notes of the DriftRepaired Events of an AppDatabase.
func driftEvents(t *testing.T, namespace, name string) []string {
	t.Helper()
	var events eventsv1.EventList
	if err := k8s.List(context.Background(), &events, client.InNamespace(namespace)); err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, e := range events.Items {
		if e.Regarding.Name == name && e.Reason == "DriftRepaired" {
			notes = append(notes, e.Note)
		}
	}
	return notes
}

// A ReadOnly, a DataOnly and a ReadWrite account next to the main user: each gets a Secret of its
// own, the status lists them, SHOW GRANTS holds exactly the preset, and logged in as each, what
// the preset allows works and everything else is refused, in the database and beyond it.
func TestAccountPresets(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "acc-presets")
	ensureNamespace(t, "acc-neighbour")
	users := []dbv1.AppDatabaseUser{
		{Name: "accpre_ro", Access: dbv1.AccessReadOnly},
		{Name: "accpre_dw", Access: dbv1.AccessDataOnly},
		{Name: "accpre_rw", Access: dbv1.AccessReadWrite},
	}
	db := newAppDB("acc-presets", "accpre", dbv1.AppDatabaseSpec{DBName: "accpre", Users: users})
	neighbour := newAppDB("acc-neighbour", "accnb", dbv1.AppDatabaseSpec{DBName: "accnb",
		Users: []dbv1.AppDatabaseUser{{Name: "accnb_ro", Access: dbv1.AccessReadOnly}}})
	create(t, db)
	create(t, neighbour)
	db, neighbour = waitReady(t, db), waitReady(t, neighbour)

	want := []dbv1.AccountStatus{
		{Name: "accpre_app", Access: dbv1.AccessReadWrite, SecretName: "accpre-mysql-creds"},          //nolint:gosec // G101: a Secret's name, no credential
		{Name: "accpre_ro", Access: dbv1.AccessReadOnly, SecretName: "accpre-accpre-ro-mysql-creds"},  //nolint:gosec // G101: a Secret's name, no credential
		{Name: "accpre_dw", Access: dbv1.AccessDataOnly, SecretName: "accpre-accpre-dw-mysql-creds"},  //nolint:gosec // G101: a Secret's name, no credential
		{Name: "accpre_rw", Access: dbv1.AccessReadWrite, SecretName: "accpre-accpre-rw-mysql-creds"}, //nolint:gosec // G101: a Secret's name, no credential
	}
	if !slices.Equal(db.Status.Accounts, want) {
		t.Errorf("status.accounts = %+v, want %+v", db.Status.Accounts, want)
	}

	// Each Secret has the main Secret's keys, labels and owner, and its own username and password.
	main := secretOf(t, db)
	mainKeys := slices.Sorted(maps.Keys(main.Data))
	passwords := map[string]string{}
	for _, a := range want {
		s := accountSecret(t, db, a.SecretName)
		password := passwordIn(s)
		if keys := slices.Sorted(maps.Keys(s.Data)); !slices.Equal(keys, mainKeys) {
			t.Errorf("Secret %s has keys %v, the main Secret %v", s.Name, keys, mainKeys)
		}
		for key, value := range map[string]string{"username": a.Name, "database": "accpre", "host": string(main.Data["host"]), "port": string(main.Data["port"])} {
			if got := string(s.Data[key]); got != value {
				t.Errorf("Secret %s: %s = %q, want %q", s.Name, key, got, value)
			}
		}
		if len(password) < 32 {
			t.Errorf("Secret %s: the password has %d characters", s.Name, len(password))
		}
		for other, p := range passwords {
			if p == password {
				t.Errorf("%s and %s have the same password", a.Name, other)
			}
		}
		passwords[a.Name] = password
		u, err := url.Parse(string(s.Data["connection-string"]))
		if err != nil {
			t.Errorf("Secret %s: connection-string does not parse: %v", s.Name, err)
		} else if pw, _ := u.User.Password(); u.User.Username() != a.Name || pw != password || u.Path != "/accpre" {
			t.Errorf("Secret %s: connection-string does not carry the account's credentials", s.Name)
		}
		for _, label := range []string{dbv1.LabelManagedBy, dbv1.LabelAppDatabaseName, dbv1.LabelAppDatabaseNamespace} {
			if s.Labels[label] != main.Labels[label] {
				t.Errorf("Secret %s: label %s = %q, the main Secret's %q", s.Name, label, s.Labels[label], main.Labels[label])
			}
		}
		for annotation, value := range map[string]string{dbv1.AnnotationOwner: "acc-presets/accpre", dbv1.AnnotationOwnerUID: string(db.UID)} {
			if s.Annotations[annotation] != value {
				t.Errorf("Secret %s: annotation %s = %q, want %q", s.Name, annotation, s.Annotations[annotation], value)
			}
		}
		if len(s.OwnerReferences) != 0 {
			t.Errorf("Secret %s has owner references; garbage collection would delete it", s.Name)
		}
		assertPreset(t, a.Name, "accpre", a.Access)
		if ledgerRows(t, a.Name) != 1 {
			t.Errorf("%s has %d ownership records, want 1", a.Name, ledgerRows(t, a.Name))
		}
	}

	// The main user makes what the accounts work on; the neighbour keeps a table of its own.
	owner := login(t, "accpre_app", passwords["accpre_app"], "accpre")
	for _, q := range []string{
		"CREATE TABLE t (id INT PRIMARY KEY, v INT)", "INSERT INTO t VALUES (1, 1), (2, 2)",
		"CREATE VIEW v AS SELECT id FROM t", "CREATE PROCEDURE count_t(OUT n INT) SELECT COUNT(*) INTO n FROM t",
	} {
		if _, err := owner.ExecContext(ctx, q); err != nil {
			t.Fatalf("main user: %s: %v", q, err)
		}
	}
	nb := login(t, "accnb_app", passwordIn(secretOf(t, neighbour)), "accnb")
	if _, err := nb.ExecContext(ctx, "CREATE TABLE private (id INT)"); err != nil {
		t.Fatal(err)
	}

	// Refused to every account: anything beyond the database, and handing privileges on.
	beyond := []string{
		"USE accnb", "SELECT COUNT(*) FROM accnb.private", "INSERT INTO accnb.private VALUES (1)",
		"SELECT COUNT(*) FROM mysql.user", "USE mysql", "CREATE DATABASE accpre_more", "DROP DATABASE accnb",
		"GRANT SELECT ON accpre.* TO `accnb_ro`@`%`", "GRANT SELECT ON accpre.t TO `accnb_ro`@`%`",
		"CREATE USER accpre_made@'%' IDENTIFIED BY 'Made-1234567890'", "SET GLOBAL max_connections = 10",
	}
	cases := []struct {
		user            string
		allowed, denied []string
	}{
		{"accpre_ro",
			[]string{"SELECT COUNT(*) FROM t", "SELECT * FROM v", "SHOW CREATE VIEW v", "CALL count_t(@n)"},
			[]string{"INSERT INTO t VALUES (20, 20)", "UPDATE t SET v = 0", "DELETE FROM t", "REPLACE INTO t VALUES (1, 9)",
				"CREATE TABLE ro_made (id INT)", "CREATE TEMPORARY TABLE ro_scratch (id INT)", "LOCK TABLES t READ",
				"ALTER TABLE t ADD COLUMN extra INT", "CREATE VIEW ro_view AS SELECT 1", "CREATE INDEX iv ON t (v)",
				"TRUNCATE TABLE t", "DROP VIEW v", "DROP TABLE t"}},
		{"accpre_dw",
			[]string{"SELECT COUNT(*) FROM t", "INSERT INTO t VALUES (10, 10)", "UPDATE t SET v = 11 WHERE id = 10",
				"DELETE FROM t WHERE id = 10", "CREATE TEMPORARY TABLE dw_scratch (id INT)", "INSERT INTO dw_scratch VALUES (1)",
				"LOCK TABLES t READ", "SELECT COUNT(*) FROM t", "UNLOCK TABLES", "CALL count_t(@n)"},
			[]string{"CREATE TABLE dw_made (id INT)", "ALTER TABLE t ADD COLUMN extra INT", "CREATE INDEX iv ON t (v)",
				"CREATE VIEW dw_view AS SELECT 1", "SHOW CREATE VIEW v", "CREATE PROCEDURE dw_proc() SELECT 1",
				"TRUNCATE TABLE t", "DROP VIEW v", "DROP TABLE t"}},
		{"accpre_rw",
			[]string{"CREATE TABLE rw_made (id INT)", "INSERT INTO rw_made VALUES (1)", "ALTER TABLE rw_made ADD COLUMN c INT",
				"CREATE VIEW rw_view AS SELECT id FROM rw_made", "SHOW CREATE VIEW v", "DROP VIEW rw_view", "DROP TABLE rw_made",
				"INSERT INTO t VALUES (30, 30)", "DELETE FROM t WHERE id = 30"},
			nil},
	}
	for _, c := range cases {
		t.Run(c.user, func(t *testing.T) {
			conn := login(t, c.user, passwords[c.user], "accpre")
			for _, q := range c.allowed {
				if _, err := conn.ExecContext(ctx, q); err != nil {
					t.Errorf("refused what its access allows: %s: %v", q, err)
				}
			}
			for _, q := range append(slices.Clone(c.denied), beyond...) {
				_, err := conn.ExecContext(ctx, q)
				switch {
				case err == nil:
					t.Errorf("allowed: %s", q)
					// What it did must not make the next statements fail for another reason.
					_, _ = conn.ExecContext(ctx, "UNLOCK TABLES")
				case !isAccessDenied(err):
					t.Errorf("%s: want an access-denied error, got %v", q, err)
				}
			}
			databases, err := stack.Strings(ctx, conn, "SHOW DATABASES")
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(databases)
			if want := []string{"accpre", "information_schema"}; !slices.Equal(databases, want) {
				t.Errorf("SHOW DATABASES lists %q, want %q", databases, want)
			}
		})
	}

	// What was refused changed nothing: the table is whole, nothing was created.
	var n int
	if err := owner.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n); err != nil || n != 2 {
		t.Errorf("table t holds %d rows (%v), want the main user's 2", n, err)
	}
	if userExists(t, "accpre_made") || databaseExists(t, "accpre_more") {
		t.Error("an account created a user or a database")
	}
	assertPreset(t, "accnb_ro", "accnb", dbv1.AccessReadOnly)
}

// Changes made by hand to Ready extra accounts are put back by the next pass, exactly: a privilege
// added inside the database or beyond it, a dropped account, a password changed, a connection cap
// changed. The Secrets are not rewritten, the repair is recorded in an Event, and the pass after
// it finds nothing to do.
func TestAccountDriftRepair(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "acc-drift")
	users := []dbv1.AppDatabaseUser{
		{Name: "accdrift_ro", Access: dbv1.AccessReadOnly},
		{Name: "accdrift_dw", Access: dbv1.AccessDataOnly},
		{Name: "accdrift_gone", Access: dbv1.AccessReadOnly},
		{Name: "accdrift_pw", Access: dbv1.AccessDataOnly},
		{Name: "accdrift_cap", Access: dbv1.AccessReadOnly, MaxUserConnections: limitOf(5)},
	}
	db := newAppDB("acc-drift", "accdrift", dbv1.AppDatabaseSpec{DBName: "accdrift", Users: users})
	create(t, db)
	db = waitReady(t, db)
	owner := login(t, "accdrift_app", passwordIn(secretOf(t, db)), "accdrift")
	for _, q := range []string{"CREATE TABLE t (id INT)", "CREATE PROCEDURE p() SELECT 1"} {
		if _, err := owner.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	before := accountsState(t, db)
	mainSecretVersion := secretOf(t, db).ResourceVersion
	for _, u := range users {
		assertPreset(t, u.Name, "accdrift", u.Access)
	}
	if connectionCap(t, "accdrift_cap") != 5 {
		t.Fatalf("accdrift_cap's cap is %d, want 5", connectionCap(t, "accdrift_cap"))
	}
	if notes := driftEvents(t, "acc-drift", "accdrift"); len(notes) != 0 {
		t.Fatalf("DriftRepaired Events before any drift: %q", notes)
	}

	// repaired forces a pass, checks that it put every account back exactly as it was (each
	// preset, the hash of the Secret's password, the cap; the same Secrets), and waits for a new
	// DriftRepaired Event naming the accounts.
	repaired := func(what string, named ...string) {
		t.Helper()
		seen := driftEvents(t, "acc-drift", "accdrift")
		if got := forceReconcile(t, db); got.Status.Phase != dbv1.PhaseReady {
			t.Fatalf("%s: after the repair: phase %s: %s", what, got.Status.Phase, got.Status.Message)
		}
		assertAccountsIntact(t, db, before)
		for _, u := range users {
			assertPreset(t, u.Name, "accdrift", u.Access)
		}
		eventually(t, "a DriftRepaired Event for "+what, func() error {
			var fresh []string
			for _, note := range driftEvents(t, "acc-drift", "accdrift") {
				if !slices.Contains(seen, note) {
					fresh = append(fresh, note)
				}
			}
			if len(fresh) == 0 {
				return fmt.Errorf("no new DriftRepaired Event (%d before)", len(seen))
			}
			for _, u := range named {
				if !strings.Contains(strings.Join(fresh, "\n"), u) {
					return fmt.Errorf("the Event does not name %s: %q", u, fresh)
				}
			}
			return nil
		})
	}

	// Accounts changed by hand: a privilege inside the database and one beyond it, an account
	// dropped, a password and a cap changed.
	handPassword := "Hand-Set-" + randomString()
	secrets.Store(handPassword, "a password set by hand for accdrift_pw")
	byHand := []string{
		"GRANT INSERT ON accdrift.* TO accdrift_ro@'%'",
		"GRANT SELECT ON *.* TO accdrift_dw@'%'",
		"DROP USER accdrift_gone@'%'",
		"SET PASSWORD FOR accdrift_pw@'%' = PASSWORD('" + handPassword + "')",
		"ALTER USER accdrift_cap@'%' WITH MAX_USER_CONNECTIONS 99",
	}
	for _, q := range byHand {
		mustExec(t, q)
	}
	// The changes work, so the repair below is of something real. A session keeps the privileges
	// it started with until it is ended.
	dw := login(t, "accdrift_dw", passwordIn(userSecret(t, db, "accdrift_dw")), "accdrift")
	var n int
	if err := dw.QueryRowContext(ctx, "SELECT COUNT(*) FROM mysql.user").Scan(&n); err != nil {
		t.Fatalf("the global grant made by hand does not work: %v", err)
	}
	ro := login(t, "accdrift_ro", passwordIn(userSecret(t, db, "accdrift_ro")), "accdrift")
	if _, err := ro.ExecContext(ctx, "INSERT INTO t VALUES (1)"); err != nil {
		t.Fatalf("the INSERT granted by hand does not work: %v", err)
	}
	if err := canLogin(ctx, "accdrift_pw", handPassword, "accdrift"); err != nil {
		t.Fatalf("the password set by hand does not log in: %v", err)
	}
	repaired("the accounts changed by hand", "accdrift_ro", "accdrift_dw", "accdrift_gone", "accdrift_pw", "accdrift_cap")
	if c := connectionCap(t, "accdrift_cap"); c != 5 {
		t.Errorf("accdrift_cap's cap is %d, want 5", c)
	}
	if canLogin(ctx, "accdrift_pw", handPassword, "accdrift") == nil {
		t.Error("the password set by hand still logs in")
	}
	if ledgerRows(t, "accdrift_gone") != 1 {
		t.Error("the dropped account lost its ownership record")
	}
	if err := dw.QueryRowContext(ctx, "SELECT COUNT(*) FROM mysql.user").Scan(&n); err == nil {
		t.Error("a session opened with the global grant still reads mysql.user after the repair")
	}
	if _, err := ro.ExecContext(ctx, "INSERT INTO t VALUES (2)"); err == nil {
		t.Error("a session opened with the INSERT granted by hand still inserts after the repair")
	}
	if _, err := login(t, "accdrift_ro", passwordIn(userSecret(t, db, "accdrift_ro")), "accdrift").
		ExecContext(ctx, "INSERT INTO t VALUES (3)"); !isAccessDenied(err) {
		t.Errorf("ReadOnly may still insert: %v", err)
	}

	// Inside the database, beyond the presets: privileges on a table, a column and a routine, and
	// GRANT OPTION.
	inside := []string{
		"GRANT ALTER, DROP ON accdrift.t TO accdrift_pw@'%'",
		"GRANT UPDATE (id) ON accdrift.t TO accdrift_cap@'%'",
		"GRANT ALTER ROUTINE ON PROCEDURE accdrift.p TO accdrift_dw@'%'",
		"GRANT SELECT ON accdrift.* TO accdrift_ro@'%' WITH GRANT OPTION",
	}
	for _, q := range inside {
		mustExec(t, q)
	}
	repaired("the grants inside the database", "accdrift_pw", "accdrift_cap", "accdrift_dw", "accdrift_ro")

	// Repaired exactly: the next pass has nothing to do.
	noWritesOn(t, maria, func() {
		if got := forceReconcile(t, db); got.Status.Phase != dbv1.PhaseReady {
			t.Errorf("phase %s: %s", got.Status.Phase, got.Status.Message)
		}
	})

	// An extra account's Secret is the source of truth for its password, like the main one's: a
	// password edited in it is applied, and a deleted one is recreated with a new password.
	dwSecret := userSecret(t, db, "accdrift_dw")
	edited := "Edited-" + randomString()
	secrets.Store(edited, "a password edited in accdrift_dw's Secret")
	dwSecret.Data["password"] = []byte(edited)
	if err := k8s.Update(ctx, dwSecret); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the edited password of accdrift_dw to log in", func() error {
		return canLogin(ctx, "accdrift_dw", edited, "accdrift")
	})
	roSecret := userSecret(t, db, "accdrift_ro")
	oldPassword := passwordIn(roSecret)
	if err := k8s.Delete(ctx, roSecret); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a new Secret of accdrift_ro whose password logs in", func() error {
		var s corev1.Secret
		if err := k8s.Get(ctx, clientKey(roSecret), &s); err != nil {
			return err
		}
		secrets.Store(passwordIn(&s), "accdrift_ro's regenerated password")
		if passwordIn(&s) == oldPassword {
			return errors.New("the same password")
		}
		return canLogin(ctx, "accdrift_ro", passwordIn(&s), "accdrift")
	})
	if canLogin(ctx, "accdrift_ro", oldPassword, "accdrift") == nil {
		t.Error("the password of the deleted Secret still logs in")
	}
	eventually(t, "a PasswordRegenerated Event naming the Secret", func() error {
		return hasEvent(ctx, "acc-drift", "accdrift", "PasswordRegenerated", roSecret.Name)
	})
	if s := secretOf(t, db); s.ResourceVersion != mainSecretVersion {
		t.Error("the main Secret was rewritten for an extra account's")
	}

	// All of it at once, to every account: the repair is recorded however long its description
	// (an Event's note is limited to 1024 characters).
	before = accountsState(t, db)
	for _, q := range append(byHand, inside...) {
		mustExec(t, q)
	}
	repaired("everything at once")
}

// An account added to a Ready AppDatabase is created alone; a change of access changes its grants
// and ends its sessions; a removed account is dropped and forgotten while its Secret is kept, and
// can be added again; deleting with deletionPolicy Delete drops every account and the database and
// keeps every Secret. None of these spec changes is reported as drift.
func TestAccountLifecycle(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "acc-life")
	db := newAppDB("acc-life", "acclife", dbv1.AppDatabaseSpec{DBName: "acclife",
		Users: []dbv1.AppDatabaseUser{{Name: "acclife_keep", Access: dbv1.AccessDataOnly}}})
	create(t, db)
	db = waitReady(t, db)
	mainPassword := passwordIn(secretOf(t, db))
	mainSession := login(t, "acclife_app", mainPassword, "acclife")
	if _, err := mainSession.ExecContext(ctx, "CREATE TABLE t (id INT)"); err != nil {
		t.Fatal(err)
	}

	// Added: only that account and its Secret.
	existing := accountsState(t, db)
	usersBefore, ledgerBefore := mysqlAccounts(t), ledgerOf(t, string(db.UID))
	secretsBefore := secretsOwnedBy(t, "acc-life", "acc-life/acclife")
	if err := patchSpec(db, func(s *dbv1.AppDatabaseSpec) {
		s.Users = append(s.Users, dbv1.AppDatabaseUser{Name: "acclife_rep", Access: dbv1.AccessReadOnly})
	}); err != nil {
		t.Fatal(err)
	}
	db = waitReady(t, db)
	assertAccountsIntact(t, db, existing)
	if got := passwordIn(secretOf(t, db)); got != mainPassword {
		t.Error("the main password changed")
	}
	if got, want := mysqlAccounts(t), append(slices.Clone(usersBefore), "acclife_rep@%"); !slices.Equal(sortedCopy(got), sortedCopy(want)) {
		t.Errorf("MySQL users went from %q to %q; only acclife_rep should have been added", usersBefore, got)
	}
	if got, want := ledgerOf(t, string(db.UID)), append(slices.Clone(ledgerBefore), "user acclife_rep committed"); !slices.Equal(got, sortedCopy(want)) {
		t.Errorf("ownership records went from %q to %q", ledgerBefore, got)
	}
	if got, want := secretsOwnedBy(t, "acc-life", "acc-life/acclife"), append(slices.Clone(secretsBefore), "acclife-acclife-rep-mysql-creds"); !slices.Equal(sortedCopy(got), sortedCopy(want)) {
		t.Errorf("the AppDatabase's Secrets went from %q to %q", secretsBefore, got)
	}
	if n := len(db.Status.Accounts); n != 3 || db.Status.Accounts[2].Name != "acclife_rep" {
		t.Errorf("status.accounts: %+v", db.Status.Accounts)
	}
	repSecret := userSecret(t, db, "acclife_rep")
	assertPreset(t, "acclife_rep", "acclife", dbv1.AccessReadOnly)
	rep := login(t, "acclife_rep", passwordIn(repSecret), "acclife")
	if _, err := rep.ExecContext(ctx, "SELECT COUNT(*) FROM t"); err != nil {
		t.Fatalf("the new ReadOnly account cannot read: %v", err)
	}

	// Access changed: the new preset, the Secret as it was, the open session ended.
	if err := patchSpec(db, func(s *dbv1.AppDatabaseSpec) { s.Users[1].Access = dbv1.AccessDataOnly }); err != nil {
		t.Fatal(err)
	}
	db = waitReady(t, db)
	assertPreset(t, "acclife_rep", "acclife", dbv1.AccessDataOnly)
	if s := userSecret(t, db, "acclife_rep"); s.ResourceVersion != repSecret.ResourceVersion {
		t.Error("a change of access rewrote the account's Secret")
	}
	if _, err := rep.ExecContext(ctx, "SELECT 1"); err == nil {
		t.Error("the account's session survived the change of access")
	}
	if _, err := login(t, "acclife_rep", passwordIn(repSecret), "acclife").ExecContext(ctx, "INSERT INTO t VALUES (1)"); err != nil {
		t.Errorf("the account cannot write after becoming DataOnly: %v", err)
	}
	if _, err := mainSession.ExecContext(ctx, "SELECT 1"); err != nil {
		t.Errorf("the main user's session was ended by another account's change: %v", err)
	}
	if s := db.Status.Accounts; len(s) != 3 || s[2].Access != dbv1.AccessDataOnly {
		t.Errorf("status.accounts: %+v", s)
	}

	// Up to ReadWrite, then down to ReadOnly: what it held as ReadWrite goes, and so do its
	// sessions; what it created as ReadWrite is out of its reach.
	if err := patchSpec(db, func(s *dbv1.AppDatabaseSpec) { s.Users[1].Access = dbv1.AccessReadWrite }); err != nil {
		t.Fatal(err)
	}
	db = waitReady(t, db)
	assertPreset(t, "acclife_rep", "acclife", dbv1.AccessReadWrite)
	rep = login(t, "acclife_rep", passwordIn(repSecret), "acclife")
	for _, q := range []string{"CREATE TABLE rep_made (id INT)", "CREATE PROCEDURE rep_proc() SELECT 1"} {
		if _, err := rep.ExecContext(ctx, q); err != nil {
			t.Fatalf("as ReadWrite: %s: %v", q, err)
		}
	}
	if err := patchSpec(db, func(s *dbv1.AppDatabaseSpec) { s.Users[1].Access = dbv1.AccessReadOnly }); err != nil {
		t.Fatal(err)
	}
	db = waitReady(t, db)
	assertPreset(t, "acclife_rep", "acclife", dbv1.AccessReadOnly)
	if _, err := rep.ExecContext(ctx, "INSERT INTO rep_made VALUES (1)"); err == nil {
		t.Error("a ReadWrite session survived the change down to ReadOnly")
	}
	rep = login(t, "acclife_rep", passwordIn(repSecret), "acclife")
	for _, q := range []string{"INSERT INTO t VALUES (2)", "DROP TABLE rep_made", "DROP PROCEDURE rep_proc", "ALTER PROCEDURE rep_proc COMMENT 'x'"} {
		if _, err := rep.ExecContext(ctx, q); !isAccessDenied(err) {
			t.Errorf("as ReadOnly again: %s: want an access-denied error, got %v", q, err)
		}
	}

	// Removed: dropped from MySQL, its sessions ended, forgotten by the ledger, its Secret kept.
	existing = accountsState(t, db)
	delete(existing, "Secret acc-life/acclife-acclife-rep-mysql-creds")
	delete(existing, "grants of acclife_rep")
	delete(existing, "cap of acclife_rep")
	rep = login(t, "acclife_rep", passwordIn(repSecret), "acclife")
	if err := patchSpec(db, func(s *dbv1.AppDatabaseSpec) { s.Users = s.Users[:1] }); err != nil {
		t.Fatal(err)
	}
	db = waitReady(t, db)
	if userExists(t, "acclife_rep") {
		t.Error("the removed account still exists")
	}
	if _, err := rep.ExecContext(ctx, "SELECT 1"); err == nil {
		t.Error("a session of the removed account survived")
	}
	if n := ledgerRows(t, "acclife_rep"); n != 0 {
		t.Errorf("the removed account still has %d ownership records", n)
	}
	if s := accountSecret(t, db, repSecret.Name); s.ResourceVersion != repSecret.ResourceVersion {
		t.Error("the removed account's Secret was rewritten")
	}
	if n := len(db.Status.Accounts); n != 2 {
		t.Errorf("status.accounts: %+v", db.Status.Accounts)
	}
	assertAccountsIntact(t, db, existing)
	if !databaseExists(t, "acclife") {
		t.Fatal("removing an account dropped the database")
	}

	// Added again: the same name, and the kept Secret's password logs in.
	if err := patchSpec(db, func(s *dbv1.AppDatabaseSpec) {
		s.Users = append(s.Users, dbv1.AppDatabaseUser{Name: "acclife_rep", Access: dbv1.AccessReadOnly})
	}); err != nil {
		t.Fatal(err)
	}
	db = waitReady(t, db)
	assertPreset(t, "acclife_rep", "acclife", dbv1.AccessReadOnly)
	if err := canLogin(ctx, "acclife_rep", passwordIn(userSecret(t, db, "acclife_rep")), "acclife"); err != nil {
		t.Errorf("the account added again does not log in with its Secret's password: %v", err)
	}
	if n := ledgerRows(t, "acclife_rep"); n != 1 {
		t.Errorf("the account added again has %d ownership records", n)
	}
	if notes := driftEvents(t, "acc-life", "acclife"); len(notes) != 0 {
		t.Errorf("spec changes were reported as drift: %q", notes)
	}

	// Deleted with deletionPolicy Delete: every account and the database dropped, Secrets kept.
	if err := patchSpec(db, func(s *dbv1.AppDatabaseSpec) { s.DeletionPolicy = dbv1.DeletionPolicyDelete }); err != nil {
		t.Fatal(err)
	}
	db = waitReady(t, db)
	secretNames := []string{"acclife-mysql-creds", "acclife-acclife-keep-mysql-creds", "acclife-acclife-rep-mysql-creds"}
	deleteAndWait(t, db)
	for _, u := range []string{"acclife_app", "acclife_keep", "acclife_rep"} {
		if userExists(t, u) {
			t.Errorf("%s was not dropped", u)
		}
	}
	if databaseExists(t, "acclife") {
		t.Error("the database was not dropped")
	}
	if rows := ledgerOf(t, string(db.UID)); len(rows) != 0 {
		t.Errorf("ownership records left behind: %q", rows)
	}
	for _, name := range secretNames {
		var s corev1.Secret
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: "acc-life", Name: name}, &s); err != nil {
			t.Errorf("Secret %s was not kept: %v", name, err)
		}
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// Connection caps: spec.maxUserConnections and users[].maxUserConnections are the accounts' own
// max_user_connections, a login beyond it is refused with error 1226, and a change is applied,
// lowering included (open sessions stay). A MySQLCluster's defaultMaxUserConnections applies to
// every account that sets none, and a change of it reaches them.
func TestConnectionLimits(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "acc-limits")

	t.Run("per account", func(t *testing.T) {
		// The suite's cluster is the seed's admin Secret: it has no default cap.
		db := newAppDB("acc-limits", "acclim", dbv1.AppDatabaseSpec{DBName: "acclim", MaxUserConnections: limitOf(2),
			Users: []dbv1.AppDatabaseUser{
				{Name: "acclim_ro", Access: dbv1.AccessReadOnly, MaxUserConnections: limitOf(1)},
				{Name: "acclim_dw", Access: dbv1.AccessDataOnly},
			}})
		create(t, db)
		db = waitReady(t, db)
		for user, want := range map[string]int{"acclim_app": 2, "acclim_ro": 1, "acclim_dw": 0} {
			if got := connectionCap(t, user); got != want {
				t.Errorf("%s's cap is %d, want %d", user, got, want)
			}
		}
		mainPassword := passwordIn(secretOf(t, db))
		roPassword := passwordIn(userSecret(t, db, "acclim_ro"))
		held := hold(t, 2, "acclim_app", mainPassword, "acclim")
		assertLoginRefusedByCap(t, "acclim_app", mainPassword, "acclim")
		hold(t, 1, "acclim_ro", roPassword, "acclim")
		assertLoginRefusedByCap(t, "acclim_ro", roPassword, "acclim")
		hold(t, 3, "acclim_dw", passwordIn(userSecret(t, db, "acclim_dw")), "acclim")

		// Accounts at their caps do not keep a pass from finding the tenant as it should be.
		if got := forceReconcile(t, db); got.Status.Phase != dbv1.PhaseReady {
			t.Errorf("a pass with the accounts at their caps: phase %s: %s", got.Status.Phase, got.Status.Message)
		}

		// Raised: one more login, and no more.
		if err := patchSpec(db, func(s *dbv1.AppDatabaseSpec) { s.MaxUserConnections = limitOf(3) }); err != nil {
			t.Fatal(err)
		}
		db = waitReady(t, db)
		if got := connectionCap(t, "acclim_app"); got != 3 {
			t.Errorf("the raised cap is %d, want 3", got)
		}
		held = append(held, login(t, "acclim_app", mainPassword, "acclim"))
		assertLoginRefusedByCap(t, "acclim_app", mainPassword, "acclim")

		// Lowered below the sessions open: they stay, new ones are refused.
		if err := patchSpec(db, func(s *dbv1.AppDatabaseSpec) { s.MaxUserConnections = limitOf(1) }); err != nil {
			t.Fatal(err)
		}
		db = waitReady(t, db)
		if got := connectionCap(t, "acclim_app"); got != 1 {
			t.Errorf("the lowered cap is %d, want 1", got)
		}
		for i, c := range held {
			if _, err := c.ExecContext(ctx, "SELECT 1"); err != nil {
				t.Errorf("session %d was ended by lowering the cap: %v", i, err)
			}
		}
		assertLoginRefusedByCap(t, "acclim_app", mainPassword, "acclim")

		// 0: no cap of its own.
		if err := patchSpec(db, func(s *dbv1.AppDatabaseSpec) { s.MaxUserConnections = limitOf(0) }); err != nil {
			t.Fatal(err)
		}
		waitReady(t, db)
		if got := connectionCap(t, "acclim_app"); got != 0 {
			t.Errorf("the cap is %d, want none (0)", got)
		}
		hold(t, 2, "acclim_app", mainPassword, "acclim")
		if got := connectionCap(t, "acclim_ro"); got != 1 {
			t.Errorf("acclim_ro's cap changed with the main user's: %d", got)
		}
	})

	t.Run("cluster default", func(t *testing.T) {
		// A MySQLCluster describing the suite's server, with a default cap.
		const clusterName = "acc-limits"
		create(t, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: platformNS, Name: clusterName + "-admin"},
			StringData: map[string]string{"username": adminUser, "password": adminPassword},
		})
		mc := &dbv1.MySQLCluster{
			ObjectMeta: metav1.ObjectMeta{Name: clusterName},
			Spec: dbv1.MySQLClusterSpec{
				AdminEndpoints:            []dbv1.Endpoint{{Host: "127.0.0.1", Port: int32(maria.Port)}}, //nolint:gosec // G115: a TCP port fits in int32
				AdminCredentials:          dbv1.AdminCredentials{SecretName: clusterName + "-admin", UsernameKey: "username", PasswordKey: "password"},
				DefaultMaxUserConnections: limitOf(2),
			},
		}
		create(t, mc)
		t.Cleanup(func() { _ = k8s.Delete(context.Background(), mc) })

		db := newAppDB("acc-limits", "accdef", dbv1.AppDatabaseSpec{DBName: "accdef", ClusterRef: clusterName,
			Users: []dbv1.AppDatabaseUser{
				{Name: "accdef_ro", Access: dbv1.AccessReadOnly},
				{Name: "accdef_free", Access: dbv1.AccessDataOnly, MaxUserConnections: limitOf(0)},
				{Name: "accdef_one", Access: dbv1.AccessReadOnly, MaxUserConnections: limitOf(1)},
			}})
		create(t, db)
		db = waitReady(t, db)
		defer deleteAndWait(t, db)
		for user, want := range map[string]int{"accdef_app": 2, "accdef_ro": 2, "accdef_free": 0, "accdef_one": 1} {
			if got := connectionCap(t, user); got != want {
				t.Errorf("%s's cap is %d, want %d", user, got, want)
			}
		}
		mainPassword := passwordIn(secretOf(t, db))
		hold(t, 2, "accdef_app", mainPassword, "accdef")
		assertLoginRefusedByCap(t, "accdef_app", mainPassword, "accdef")

		// The default changed: the accounts that set none follow, the others keep theirs.
		var current dbv1.MySQLCluster
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(mc), &current); err != nil {
			t.Fatal(err)
		}
		patch := client.MergeFrom(current.DeepCopy())
		current.Spec.DefaultMaxUserConnections = limitOf(4)
		if err := k8s.Patch(ctx, &current, patch); err != nil {
			t.Fatal(err)
		}
		rootDB := root(t)
		eventually(t, "the new default cap to reach the accounts that set none", func() error {
			for user, want := range map[string]int{"accdef_app": 4, "accdef_ro": 4, "accdef_free": 0, "accdef_one": 1} {
				if got := connectionCapOn(t, rootDB, user); got != want {
					return fmt.Errorf("%s's cap is %d, want %d", user, got, want)
				}
			}
			return nil
		})
		hold(t, 2, "accdef_app", mainPassword, "accdef")
		assertLoginRefusedByCap(t, "accdef_app", mainPassword, "accdef")
	})
}

// errNotTerminal says an AppDatabase has not settled on an outcome for its generation yet.
var errNotTerminal = errors.New("not settled yet")

// settled reads an AppDatabase and returns it once its status is Ready or Failed for its current
// generation.
func settled(ctx context.Context, key client.ObjectKey) (*dbv1.AppDatabase, error) {
	var db dbv1.AppDatabase
	if err := k8s.Get(ctx, key, &db); err != nil {
		return nil, err
	}
	reason := readyReason(&db)
	if db.Status.ObservedGeneration != db.Generation || (db.Status.Phase != dbv1.PhaseReady && db.Status.Phase != dbv1.PhaseFailed) ||
		reason == dbv1.ReasonProvisioning {
		return nil, fmt.Errorf("%w: phase %q, reason %q", errNotTerminal, db.Status.Phase, reason)
	}
	return &db, nil
}

// isInvalid reports whether the API server refused an object as invalid, with want in the message.
func isInvalid(err error, want string) bool {
	return apierrors.IsInvalid(err) && strings.Contains(err.Error(), want)
}
