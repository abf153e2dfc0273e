//go:build integration

package mysql

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/stillwaters/db-concierge/internal/tenant"
	"github.com/stillwaters/db-concierge/test/stack"
)

// These tests run the engine against a real MariaDB (test/stack), without Kubernetes: a tenant
// with several accounts is provisioned, each account logs in and is held to its preset, drift is
// repaired, and accounts removed from the spec are dropped.

const (
	itAdmin         = "dbc_admin"
	itAdminPassword = "Adm1n-Pw-For-Tests"        //nolint:gosec // G101: a throwaway server's account
	itMainPassword  = "Ma1n-Kq3vN8xZ2pL7wR4tY6uI" //nolint:gosec // G101: as above
	itDataPassword  = "Da7a-Zx8cV7bN6mQ5wE4rT3yU" //nolint:gosec // G101: as above
	itReadPassword  = "Re4d-Lk9jH8gF7dS6aP5oI4uY" //nolint:gosec // G101: as above
	itOtherPassword = "0ther-Qw1eR2tY3uI4oP5aS6d" //nolint:gosec // G101: as above
)

// itServer is a MariaDB with the operator's admin account and an engine logged in as it.
type itServer struct {
	m     *stack.MariaDB
	admin *Admin
	root  *sql.DB
}

func startServer(t *testing.T) *itServer {
	t.Helper()
	m, err := stack.StartMariaDB()
	if err != nil {
		t.Fatalf("starting MariaDB: %v", err)
	}
	t.Cleanup(m.Close)
	ctx := context.Background()
	if err := m.CreateAdmin(ctx, itAdmin, itAdminPassword); err != nil {
		t.Fatal(err)
	}
	root, err := m.RootDB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = root.Close() })
	admin, err := Open(Options{Cluster: "it", Endpoints: []Endpoint{{Host: "127.0.0.1", Port: m.Port}},
		User: itAdmin, Password: itAdminPassword, ConnectTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	return &itServer{m: m, admin: admin, root: root}
}

func shopSpec() tenant.Spec {
	return tenant.Spec{Database: "shop", Charset: "utf8mb4", Collation: "utf8mb4_unicode_ci",
		Owner: tenant.Owner{UID: "5b0c4a52-0000-4000-8000-00000000000a", Namespace: "apps", Name: "shop"},
		Accounts: []tenant.Account{
			{Name: "shop_app", Access: tenant.ReadWrite, Password: itMainPassword},
			{Name: "shop_dw", Access: tenant.DataOnly, Password: itDataPassword},
			{Name: "shop_ro", Access: tenant.ReadOnly, Password: itReadPassword, MaxUserConnections: 2},
		}}
}

func never(tenant.Owner) bool { return false }

// provision claims and provisions s, and returns the kinds of what changed.
func (s *itServer) provision(t *testing.T, spec tenant.Spec) []tenant.Change {
	t.Helper()
	ctx := context.Background()
	claim, err := s.admin.Claim(ctx, spec, nil, never)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	changes, err := s.admin.Provision(ctx, spec, claim)
	if err != nil {
		t.Fatalf("Provision: %v (changes %v)", err, changes)
	}
	return changes
}

func kinds(changes []tenant.Change) []tenant.ChangeKind {
	var k []tenant.ChangeKind
	for _, c := range changes {
		k = append(k, c.Kind)
	}
	return k
}

// rootExec runs statements as the server's root, as a person changing things by hand would.
func (s *itServer) rootExec(t *testing.T, statements ...string) {
	t.Helper()
	for _, st := range statements {
		if _, err := s.root.Exec(st); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
	}
}

// session logs in as an account on one connection of its own.
func (s *itServer) session(t *testing.T, user, password, database string) *sql.Conn {
	t.Helper()
	db, err := s.m.Connect(user, password, database)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatalf("logging in as %s: %v", user, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// can runs statements that must succeed.
func can(t *testing.T, conn *sql.Conn, who string, statements ...string) {
	t.Helper()
	for _, st := range statements {
		if _, err := conn.ExecContext(context.Background(), st); err != nil {
			t.Errorf("%s cannot %s: %v", who, st, err)
		}
	}
}

// cannot runs statements the server must refuse for lack of a privilege.
func cannot(t *testing.T, conn *sql.Conn, who string, statements ...string) {
	t.Helper()
	for _, st := range statements {
		_, err := conn.ExecContext(context.Background(), st)
		if err == nil {
			t.Errorf("%s can %s", who, st)
			continue
		}
		if classify(err) != tenant.KindAccessDenied {
			t.Errorf("%s: %s failed otherwise than for a privilege: %v", who, st, err)
		}
	}
}

// databases lists what an account sees of the server's databases.
func databases(t *testing.T, conn *sql.Conn) []string {
	t.Helper()
	rows, err := conn.QueryContext(context.Background(), "SHOW DATABASES")
	if err != nil {
		t.Fatal(err)
	}
	names, err := column[string](rows)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

func TestAccountsHoldTheirPresets(t *testing.T) {
	s := startServer(t)
	// MariaDB keeps one password per account: its tenants rotate with partners.
	if keeps, err := s.admin.SecondPasswords(context.Background()); err != nil || keeps {
		t.Errorf("SecondPasswords on MariaDB = %v, %v; want false", keeps, err)
	}
	spec := shopSpec()
	changes := s.provision(t, spec)
	want := []tenant.ChangeKind{tenant.CreatedDatabase, tenant.CreatedUser, tenant.Granted, tenant.CreatedUser, tenant.Granted, tenant.CreatedUser, tenant.Granted}
	if !slices.Equal(kinds(changes), want) {
		t.Fatalf("first pass changed %v, want %v", changes, want)
	}
	for _, c := range changes {
		for _, secret := range []string{itMainPassword, itDataPassword, itReadPassword} {
			if strings.Contains(c.Detail, secret) {
				t.Fatalf("a change names a password: %q", c.Detail)
			}
		}
	}
	if again := s.provision(t, spec); len(again) != 0 {
		t.Fatalf("a second pass changed %v", again)
	}
	// Something of another tenant, which no account of this one may see.
	s.rootExec(t, "CREATE DATABASE other", "CREATE TABLE other.t (id INT PRIMARY KEY)")

	main := s.session(t, "shop_app", itMainPassword, "shop")
	can(t, main, "ReadWrite",
		"CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))", "INSERT INTO t VALUES (1, 'a')",
		"ALTER TABLE t ADD COLUMN w INT", "CREATE VIEW v AS SELECT id FROM t", "CREATE TABLE scratch (id INT)", "DROP TABLE scratch",
		"CREATE PROCEDURE p() SELECT 1")
	cannot(t, main, "ReadWrite", "SELECT * FROM other.t", "SELECT * FROM mysql.user", "CREATE DATABASE shop2")

	dw := s.session(t, "shop_dw", itDataPassword, "shop")
	can(t, dw, "DataOnly",
		"SELECT * FROM t", "INSERT INTO t (id, v) VALUES (2, 'b')", "UPDATE t SET v = 'c' WHERE id = 2", "DELETE FROM t WHERE id = 2",
		"CALL p()", "CREATE TEMPORARY TABLE tmp (id INT)", "INSERT INTO tmp VALUES (1)", "DROP TEMPORARY TABLE tmp",
		"LOCK TABLES t READ", "UNLOCK TABLES")
	cannot(t, dw, "DataOnly",
		"CREATE TABLE t2 (id INT)", "ALTER TABLE t ADD COLUMN x INT", "DROP TABLE t", "CREATE VIEW v2 AS SELECT 1",
		"CREATE INDEX i ON t (v)", "TRUNCATE TABLE t", "CREATE PROCEDURE p2() SELECT 1",
		"GRANT SELECT ON shop.t TO shop_ro@'%'", "SELECT * FROM other.t", "SELECT * FROM mysql.user")

	ro := s.session(t, "shop_ro", itReadPassword, "shop")
	can(t, ro, "ReadOnly", "SELECT * FROM t", "SELECT * FROM v", "SHOW CREATE VIEW v", "CALL p()")
	cannot(t, ro, "ReadOnly",
		"INSERT INTO t (id) VALUES (3)", "UPDATE t SET v = 'x'", "DELETE FROM t", "CREATE TABLE t3 (id INT)",
		"DROP TABLE t", "ALTER TABLE t ADD COLUMN y INT", "CREATE TEMPORARY TABLE tmp (id INT)", "LOCK TABLES t READ",
		"GRANT SELECT ON shop.t TO shop_dw@'%'", "SELECT * FROM other.t", "SELECT * FROM mysql.user")

	for who, conn := range map[string]*sql.Conn{"ReadWrite": main, "DataOnly": dw, "ReadOnly": ro} {
		if got := databases(t, conn); !slices.Equal(got, []string{"information_schema", "shop"}) {
			t.Errorf("%s sees the databases %v", who, got)
		}
	}
}

// The (n+1)th simultaneous login of an account with a connection limit of n is refused; a pass
// that must check the account's password while the application holds every connection it may
// still converges.
func TestConnectionLimit(t *testing.T) {
	s := startServer(t)
	spec := shopSpec()
	s.provision(t, spec)
	s.session(t, "shop_ro", itReadPassword, "shop")
	s.session(t, "shop_ro", itReadPassword, "shop")
	db, err := s.m.Connect("shop_ro", itReadPassword, "shop")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Ping()
	var serverErr *gomysql.MySQLError
	if !errors.As(err, &serverErr) || serverErr.Number != erUserLimitReached {
		t.Fatalf("a third login of an account limited to 2: %v", err)
	}
	// Its password changed by hand: the pass resets it and verifies the login, which the limit
	// refuses once the password is accepted.
	s.rootExec(t, "ALTER USER shop_ro@'%' IDENTIFIED BY 'changed-by-hand'")
	changes := s.provision(t, spec)
	if !slices.Equal(kinds(changes), []tenant.ChangeKind{tenant.ResetPassword}) {
		t.Errorf("changes %v", changes)
	}
	// The main account has no limit of its own.
	for range 4 {
		s.session(t, "shop_app", itMainPassword, "shop")
	}
}

// Drift in an account's grants, TLS requirement or connection limit is found by the sweep and
// repaired by a pass, which leaves exactly the preset.
func TestDriftOfPresets(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	spec := shopSpec()
	s.provision(t, spec)
	s.rootExec(t, "CREATE TABLE shop.t (id INT PRIMARY KEY)")
	expected := []tenant.Expectation{{Spec: spec}}
	settled := s.grants(t)
	cases := []struct {
		name    string
		drift   []string
		finding tenant.Finding
		want    []tenant.ChangeKind
	}{
		{"CREATE and DROP given to DataOnly", []string{"GRANT CREATE, DROP ON `shop`.* TO shop_dw@'%'"}, FindingAccessDiffers,
			[]tenant.ChangeKind{tenant.Revoked, tenant.SessionsEnded, tenant.Granted}},
		{"ALL given to ReadOnly", []string{"GRANT ALL PRIVILEGES ON `shop`.* TO shop_ro@'%'"}, FindingAccessDiffers,
			[]tenant.ChangeKind{tenant.Revoked, tenant.SessionsEnded, tenant.Granted}},
		{"a table grant to ReadOnly", []string{"GRANT INSERT ON shop.t TO shop_ro@'%'"}, FindingAccessDiffers,
			[]tenant.ChangeKind{tenant.Revoked, tenant.SessionsEnded}},
		{"LOCK TABLES taken from DataOnly", []string{"REVOKE LOCK TABLES ON `shop`.* FROM shop_dw@'%'"}, FindingGrantMissing,
			[]tenant.ChangeKind{tenant.Granted}},
		{"the connection limit raised", []string{"ALTER USER shop_ro@'%' WITH MAX_USER_CONNECTIONS 9"}, FindingConnectionLimit,
			[]tenant.ChangeKind{tenant.ConnectionLimit}},
		{"a connection limit on the main account", []string{"ALTER USER shop_app@'%' WITH MAX_USER_CONNECTIONS 1"}, FindingConnectionLimit,
			[]tenant.ChangeKind{tenant.ConnectionLimit}},
		{"REQUIRE SSL on DataOnly", []string{"ALTER USER shop_dw@'%' REQUIRE SSL"}, FindingTLS,
			[]tenant.ChangeKind{tenant.TLSRequirementSet}},
		{"a global privilege on ReadOnly", []string{"GRANT PROCESS ON *.* TO shop_ro@'%'"}, FindingGrantBeyond,
			[]tenant.ChangeKind{tenant.Revoked, tenant.SessionsEnded}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if findings, err := s.admin.Sweep(ctx, expected); err != nil || len(findings) != 0 {
				t.Fatalf("before the drift the sweep found %v (%v)", findings, err)
			}
			s.rootExec(t, c.drift...)
			findings, err := s.admin.Sweep(ctx, expected)
			if err != nil || findings[spec.Owner.UID] != c.finding {
				t.Errorf("the sweep found %v (%v), want %s", findings, err, c.finding)
			}
			changes := s.provision(t, spec)
			if !slices.Equal(kinds(changes), c.want) {
				t.Errorf("the pass changed %v, want %v", changes, c.want)
			}
			if got := s.grants(t); !slices.Equal(got, settled) {
				t.Errorf("after the repair the grants are\n%q\nwant\n%q", got, settled)
			}
		})
	}
}

// grants returns every account's SHOW GRANTS, without the password hashes.
func (s *itServer) grants(t *testing.T) []string {
	t.Helper()
	var all []string
	for _, acc := range shopSpec().Accounts {
		lines, err := s.admin.showGrants(context.Background(), acc.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lines {
			if before, _, found := strings.Cut(l, " IDENTIFIED BY PASSWORD "); found {
				l = before
			}
			all = append(all, l)
		}
	}
	return all
}

// An account removed from the spec is dropped, its sessions ended and its record forgotten; a
// pass interrupted between the drop and the record converges.
func TestRemovedAccountIsDropped(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	spec := shopSpec()
	s.provision(t, spec)
	session := s.session(t, "shop_dw", itDataPassword, "shop")

	fewer := spec
	fewer.Accounts = slices.Clone(spec.Accounts[:2])
	fewer.Accounts = append(fewer.Accounts[:1], spec.Accounts[2])
	findings, err := s.admin.Sweep(ctx, []tenant.Expectation{{Spec: fewer}})
	if err != nil || findings[spec.Owner.UID] != FindingOwnershipRecord {
		t.Errorf("the sweep found %v (%v) for a record of an account the spec dropped", findings, err)
	}
	changes := s.provision(t, fewer)
	if !slices.Equal(kinds(changes), []tenant.ChangeKind{tenant.DroppedUser}) || changes[0].Detail != "dropped user shop_dw, removed from the spec" {
		t.Errorf("changes %v", changes)
	}
	if existing, _ := s.admin.existing(ctx, tenant.ObjectUser, "shop_dw"); existing != "" {
		t.Error("the removed account still exists")
	}
	if err := session.PingContext(ctx); err == nil {
		t.Error("the removed account's session is still open")
	}
	if findings, err := s.admin.Sweep(ctx, []tenant.Expectation{{Spec: fewer}}); err != nil || len(findings) != 0 {
		t.Errorf("after the drop the sweep found %v (%v)", findings, err)
	}

	// A pass that dropped shop_ro and stopped before forgetting it.
	s.rootExec(t, "DROP USER shop_ro@'%'")
	mainOnly := fewer
	mainOnly.Accounts = fewer.Accounts[:1]
	if changes := s.provision(t, mainOnly); len(changes) != 0 {
		t.Errorf("finishing the drop changed %v", changes)
	}
	rows, err := s.admin.owned(ctx, spec.Owner.UID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Errorf("records left: %+v", rows)
	}
	// The name is free for another tenant.
	other := tenant.Spec{Database: "other", Charset: "utf8mb4", Collation: "utf8mb4_unicode_ci",
		Owner:    tenant.Owner{UID: "5b0c4a52-0000-4000-8000-00000000000b", Namespace: "apps", Name: "other"},
		Accounts: []tenant.Account{{Name: "shop_ro", Access: tenant.ReadWrite, Password: itOtherPassword}}}
	s.provision(t, other)

	dropped, err := s.admin.DropOwned(ctx, spec.Owner.UID)
	if err != nil || len(dropped) != 2 {
		t.Errorf("DropOwned = %v, %v", dropped, err)
	}
	if existing, _ := s.admin.existing(ctx, tenant.ObjectUser, "shop_ro"); existing == "" {
		t.Error("dropping one tenant dropped another's account")
	}
}

// A password the server's policy refuses, for an account added to a provisioned tenant, leaves
// the tenant as it was; for a new tenant, nothing of it stays.
func TestPasswordPolicyRefusesAnExtraAccount(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	spec := shopSpec()
	s.provision(t, spec)
	s.rootExec(t, "CREATE TABLE shop.t (id INT)")
	s.rootExec(t, "INSTALL SONAME 'simple_password_check'")
	defer s.rootExec(t, "UNINSTALL SONAME 'simple_password_check'")

	weak := spec
	weak.Accounts = append(slices.Clone(spec.Accounts), tenant.Account{Name: "shop_weak", Access: tenant.ReadOnly, Password: "onlylowercaseletters"})
	claim, err := s.admin.Claim(ctx, weak, nil, never)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.admin.Provision(ctx, weak, claim)
	var policy *tenant.PasswordPolicyError
	if !errors.As(err, &policy) || policy.Account != "shop_weak" || tenant.KindOf(err) != tenant.KindInvalidInput {
		t.Fatalf("Provision = %v, want the policy's refusal of shop_weak", err)
	}
	if strings.Contains(err.Error(), "onlylowercaseletters") {
		t.Errorf("the error names the password: %v", err)
	}
	var n int
	if err := s.root.QueryRow("SELECT COUNT(*) FROM shop.t").Scan(&n); err != nil {
		t.Errorf("the tenant's database is gone: %v", err)
	}
	if err := s.admin.VerifyLogin(ctx, "shop_app", itMainPassword, "shop"); err != nil {
		t.Errorf("the main account no longer logs in: %v", err)
	}
	rows, err := s.admin.owned(ctx, spec.Owner.UID)
	if err != nil || len(rows) != 4 {
		t.Errorf("records %+v (%v), want the database and the three accounts", rows, err)
	}

	fresh := tenant.Spec{Database: "fresh", Charset: "utf8mb4", Collation: "utf8mb4_unicode_ci",
		Owner: tenant.Owner{UID: "5b0c4a52-0000-4000-8000-00000000000c", Namespace: "apps", Name: "fresh"},
		Accounts: []tenant.Account{{Name: "fresh_app", Access: tenant.ReadWrite, Password: itMainPassword},
			{Name: "fresh_weak", Access: tenant.ReadOnly, Password: "onlylowercaseletters"}}}
	claim, err = s.admin.Claim(ctx, fresh, nil, never)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.admin.Provision(ctx, fresh, claim); !errors.As(err, &policy) {
		t.Fatalf("Provision = %v", err)
	}
	for _, kind := range []tenant.Object{tenant.ObjectDatabase, tenant.ObjectUser} {
		name := map[tenant.Object]string{tenant.ObjectDatabase: "fresh", tenant.ObjectUser: "fresh_app"}[kind]
		if existing, _ := s.admin.existing(ctx, kind, name); existing != "" {
			t.Errorf("%s %s of the refused tenant stays", kind, name)
		}
	}
	if rows, err := s.admin.owned(ctx, fresh.Owner.UID); err != nil || len(rows) != 0 {
		t.Errorf("the refused tenant's records stay: %+v (%v)", rows, err)
	}
}

// Claims of several accounts: one that belongs to someone else refuses the whole claim, and an
// existing account is adopted only with its password.
func TestClaimSeveralAccounts(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	spec := shopSpec()
	s.rootExec(t, "CREATE USER shop_ro@'%' IDENTIFIED BY '"+itReadPassword+"'")
	_, err := s.admin.Claim(ctx, spec, nil, never)
	var conflict *tenant.ConflictError
	if !errors.As(err, &conflict) || conflict.Name != "shop_ro" || conflict.Owner != nil {
		t.Fatalf("Claim = %v, want a conflict on shop_ro", err)
	}
	if rows, _ := s.admin.owned(ctx, spec.Owner.UID); len(rows) != 0 {
		t.Errorf("a refused claim recorded %+v", rows)
	}
	var adoption *tenant.AdoptionError
	if _, err := s.admin.Claim(ctx, spec, &tenant.Adoption{Passwords: map[string]string{"shop_app": itMainPassword}}, never); !errors.As(err, &adoption) {
		t.Errorf("adopting without the account's password: %v", err)
	}
	if _, err := s.admin.Claim(ctx, spec, &tenant.Adoption{Passwords: map[string]string{"shop_ro": "wrong-password"}}, never); !errors.As(err, &adoption) {
		t.Errorf("adopting with a wrong password: %v", err)
	}
	claim, err := s.admin.Claim(ctx, spec, &tenant.Adoption{Passwords: map[string]string{"shop_ro": itReadPassword}}, never)
	if err != nil {
		t.Fatal(err)
	}
	changes, err := s.admin.Provision(ctx, spec, claim)
	if err != nil {
		t.Fatal(err)
	}
	want := []tenant.ChangeKind{tenant.CreatedDatabase, tenant.CreatedUser, tenant.Granted, tenant.CreatedUser, tenant.Granted,
		tenant.Granted, tenant.ConnectionLimit}
	if !slices.Equal(kinds(changes), want) {
		t.Errorf("changes %v, want %v", changes, want)
	}
	// Provision without the claim reads the ledger.
	if changes, err := s.admin.Provision(ctx, spec, nil); err != nil || len(changes) != 0 {
		t.Errorf("Provision without a claim: %v, %v", changes, err)
	}
	// Another tenant cannot take any of the accounts.
	other := shopSpec()
	other.Database, other.Owner.UID = "other", "5b0c4a52-0000-4000-8000-00000000000d"
	other.Accounts = other.Accounts[1:2]
	if _, err := s.admin.Claim(ctx, other, nil, never); !errors.As(err, &conflict) || conflict.Owner == nil {
		t.Errorf("another tenant's claim of shop_dw: %v", err)
	}
}

// A sweep reads only what the ownership table records: accounts, databases and grants of other
// applications on the same server stay out of the operator's memory.
func TestSweepReadsOnlyRecordedNames(t *testing.T) {
	s := startServer(t)
	s.provision(t, shopSpec())
	s.rootExec(t,
		"CREATE DATABASE other_app",
		"CREATE TABLE other_app.t (id INT)",
		"CREATE USER 'other_user'@'%' IDENTIFIED BY '"+itOtherPassword+"'",
		"GRANT SELECT ON other_app.* TO 'other_user'@'%'",
		"GRANT SELECT ON other_app.t TO 'shop_ro'@'%'")
	inv, err := s.admin.readInventory(context.Background(), namesAsWritten, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, acc := range shopSpec().Accounts {
		if _, found := inv.accounts[acc.Name]; !found {
			t.Errorf("the sweep did not read account %s", acc.Name)
		}
	}
	if _, found := inv.schemata[inv.names.key("shop")]; !found {
		t.Error("the sweep did not read database shop")
	}
	if len(inv.objectGrants["shop_ro"]) != 1 {
		t.Errorf("the sweep read %d grants on tables of shop_ro, want the one on other_app.t", len(inv.objectGrants["shop_ro"]))
	}
	if _, found := inv.accounts["other_user"]; found || len(inv.databaseGrants["other_user"]) > 0 {
		t.Error("the sweep read an account the ownership table does not record, or its grants")
	}
	if _, found := inv.schemata[inv.names.key("other_app")]; found {
		t.Error("the sweep read a database the ownership table does not record")
	}
}
