//go:build integration

package integration

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
)

// initConfigMap creates or replaces a ConfigMap of SQL, labelled for spec.init unless unlabelled.
func initConfigMap(t *testing.T, namespace, name, sql string, labelled bool) {
	t.Helper()
	ctx := ctxFor(t)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	_, err := controllerutil.CreateOrUpdate(ctx, k8s, cm, func() error {
		cm.Labels = map[string]string{}
		if labelled {
			cm.Labels[dbv1.LabelInitSQL] = "true"
		}
		cm.Data = map[string]string{"schema.sql": sql}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func tableExists(t *testing.T, db *sql.DB, database, table string) bool {
	t.Helper()
	return countOn(t, db, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", database, table) == 1
}

// spec.init runs in the new database as the application's account: what it creates is the
// application's, and it can do nothing the account could not.
func TestInitSQL(t *testing.T) {
	ctx := ctxFor(t)
	rootDB := root(t)
	ensureNamespace(t, "initsql")
	schema := `CREATE TABLE users (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(50) NOT NULL);
INSERT INTO users (name) VALUES ('ada'), ('grace');
CREATE PROCEDURE count_users() BEGIN SELECT COUNT(*) FROM users; END;
`
	initConfigMap(t, "initsql", "schema", schema, false)
	db := newAppDB("initsql", "shop", dbv1.AppDatabaseSpec{DBName: "initsql_shop",
		Init: &dbv1.DatabaseInit{ConfigMapRef: dbv1.ConfigMapKeyRef{Name: "schema", Key: "schema.sql"}}})
	create(t, db)

	// Unlabelled, the ConfigMap is not the operator's to read: nothing is created until it is.
	failed := waitFor(t, client.ObjectKeyFromObject(db), dbv1.PhaseFailed, dbv1.ReasonInitSQLNotFound)
	if !strings.Contains(failed.Status.Message, dbv1.LabelInitSQL) || databaseExists(t, "initsql_shop") {
		t.Fatalf("before the label: %q, database created %v", failed.Status.Message, databaseExists(t, "initsql_shop"))
	}
	initConfigMap(t, "initsql", "schema", schema, true)
	db = waitReady(t, db)
	s := secretOf(t, db)
	app := login(t, "initsql_shop_app", string(s.Data["password"]), "initsql_shop")
	var n int
	if err := app.QueryRowContext(ctx, "SELECT COUNT(*) FROM users").Scan(&n); err != nil || n != 2 {
		t.Errorf("the application sees %d rows of users (%v), want 2", n, err)
	}
	if _, err := app.ExecContext(ctx, "CALL count_users()"); err != nil {
		t.Errorf("the procedure the SQL created: %v", err)
	}
	first := db.Status.Init
	if first == nil || first.Result != dbv1.InitSucceeded || len(first.Checksum) != 64 {
		t.Fatalf("status.init = %+v", first)
	}

	// Changed SQL does not run on the existing database unless asked.
	initConfigMap(t, "initsql", "schema", schema+"CREATE TABLE orders (id INT PRIMARY KEY);\n", true)
	forceReconcile(t, db)
	if tableExists(t, rootDB, "initsql_shop", "orders") {
		t.Error("changed SQL ran again without rerunOnChange")
	}
	patch := client.MergeFrom(db.DeepCopy())
	db.Spec.Init.RerunOnChange = true
	if err := k8s.Patch(ctx, db, patch); err != nil {
		t.Fatal(err)
	}
	// Run again, it meets the table its first run created, and stops there.
	failed = waitFor(t, client.ObjectKeyFromObject(db), dbv1.PhaseFailed, dbv1.ReasonInitFailed)
	if !strings.Contains(failed.Status.Message, "already exists") || tableExists(t, rootDB, "initsql_shop", "orders") {
		t.Errorf("message %q; the statements after the failed one ran: %v", failed.Status.Message, tableExists(t, rootDB, "initsql_shop", "orders"))
	}
	idempotent := `CREATE TABLE IF NOT EXISTS users (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(50) NOT NULL);
CREATE TABLE IF NOT EXISTS orders (id INT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS invoices (id INT PRIMARY KEY);
`
	initConfigMap(t, "initsql", "schema", idempotent, true)
	db = waitReady(t, db)
	if !tableExists(t, rootDB, "initsql_shop", "orders") || !tableExists(t, rootDB, "initsql_shop", "invoices") || db.Status.Init.Checksum == first.Checksum || db.Status.Init.Result != dbv1.InitSucceeded {
		t.Errorf("after fixing the SQL: status.init %+v", db.Status.Init)
	}
}

// SQL that reaches outside its database fails with the server's refusal, leaves the statements
// before it done and runs none after it, and changes nothing outside the tenant.
func TestInitSQLCannotLeaveItsDatabase(t *testing.T) {
	rootDB := root(t)
	ensureNamespace(t, "initevil")
	mustExec(t, "CREATE DATABASE IF NOT EXISTS initevil_victim")
	mustExec(t, "CREATE TABLE IF NOT EXISTS initevil_victim.data (i INT)")
	cases := []struct{ name, statement, want string }{
		{"create user", "CREATE USER initevil_intruder IDENTIFIED BY 'Intruder-Password-1'", "denied"},
		{"grant", "GRANT ALL PRIVILEGES ON *.* TO initevil_a_app", "denied"},
		{"use another database", "USE initevil_victim", "denied"},
		{"drop another database", "DROP DATABASE initevil_victim", "denied"},
		{"read the grant tables", "SELECT * FROM mysql.user", "denied"},
		{"write a file", "SELECT 'x' INTO OUTFILE '/tmp/initevil'", "denied"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := fmt.Sprintf("evil%d", i)
			dbName := fmt.Sprintf("initevil_%d", i)
			initConfigMap(t, "initevil", name, "CREATE TABLE before_t (i INT);\n"+c.statement+";\nCREATE TABLE after_t (i INT);\n", true)
			db := newAppDB("initevil", name, dbv1.AppDatabaseSpec{DBName: dbName,
				Init: &dbv1.DatabaseInit{ConfigMapRef: dbv1.ConfigMapKeyRef{Name: name, Key: "schema.sql"}}})
			create(t, db)
			failed := waitFor(t, client.ObjectKeyFromObject(db), dbv1.PhaseFailed, dbv1.ReasonInitFailed)
			if !strings.Contains(strings.ToLower(failed.Status.Message), c.want) || failed.Status.Init == nil || failed.Status.Init.Result != dbv1.InitFailed {
				t.Errorf("message %q, status.init %+v", failed.Status.Message, failed.Status.Init)
			}
			if !tableExists(t, rootDB, dbName, "before_t") || tableExists(t, rootDB, dbName, "after_t") {
				t.Errorf("before_t %v, after_t %v: want the statements before the refusal done, none after",
					tableExists(t, rootDB, dbName, "before_t"), tableExists(t, rootDB, dbName, "after_t"))
			}
		})
	}
	if userExists(t, "initevil_intruder") || !tableExists(t, rootDB, "initevil_victim", "data") {
		t.Error("SQL of spec.init changed something outside its database")
	}
	// Too large to run: refused before anything is created.
	initConfigMap(t, "initevil", "huge", strings.Repeat("-- padding\n", 60000), true)
	huge := newAppDB("initevil", "huge", dbv1.AppDatabaseSpec{DBName: "initevil_huge",
		Init: &dbv1.DatabaseInit{ConfigMapRef: dbv1.ConfigMapKeyRef{Name: "huge", Key: "schema.sql"}}})
	create(t, huge)
	failed := waitFor(t, client.ObjectKeyFromObject(huge), dbv1.PhaseFailed, dbv1.ReasonInvalidSpec)
	if !strings.Contains(failed.Status.Message, "bytes of SQL") || databaseExists(t, "initevil_huge") {
		t.Errorf("an over-large SQL: %q", failed.Status.Message)
	}
}
