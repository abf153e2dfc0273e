//go:build integration

package galera

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/test/stack"
)

// MySQL's error for a privilege the account lacks on a table or database (INSERT, CREATE).
const erTableAccessDenied = 1142

// The extra accounts of an AppDatabase work the same on every node: each logs in with its own
// Secret's password and holds exactly its preset. Drift made by hand on one node (an extra grant
// on node 2, a dropped account on node 3) is repaired for the whole cluster by a forced pass, and
// an account removed from the spec is gone from every node, its Secret kept.
func TestAccountsAcrossNodes(t *testing.T) {
	ctx := context.Background()
	for _, n := range galera.Nodes {
		if !n.Alive() {
			t.Fatalf("node %s is down: this test needs every node (it runs before the tests that kill one)", n.Name)
		}
	}
	const (
		dbName     = "accounts_nodes"
		roUser     = "accounts_nodes_ro"
		dataUser   = "accounts_nodes_data"
		dataSecret = "accounts-nodes-writer"
	)
	db := appDB(dbName)
	db.Spec.Users = []dbv1.AppDatabaseUser{
		{Name: roUser, Access: dbv1.AccessReadOnly},
		{Name: dataUser, Access: dbv1.AccessDataOnly, SecretName: dataSecret},
	}
	if err := k8s.Create(ctx, db); err != nil {
		t.Fatal(err)
	}
	got := stack.WaitForAppDatabase(t, k8s, client.ObjectKeyFromObject(db), dbv1.PhaseReady, dbv1.ReasonProvisioned)
	roSecret := dbv1.DefaultUserSecretName(db.Spec.EffectiveSecretName(), roUser)
	wantAccounts := []dbv1.AccountStatus{
		{Name: db.Spec.EffectiveUserName(), Access: dbv1.AccessReadWrite, SecretName: db.Spec.EffectiveSecretName()},
		{Name: roUser, Access: dbv1.AccessReadOnly, SecretName: roSecret},
		{Name: dataUser, Access: dbv1.AccessDataOnly, SecretName: dataSecret},
	}
	if !slices.Equal(got.Status.Accounts, wantAccounts) {
		t.Errorf("status.accounts = %+v, want %+v", got.Status.Accounts, wantAccounts)
	}

	mainPassword := secretPassword(t, db.Spec.EffectiveSecretName(), db.Spec.EffectiveUserName())
	roPassword := secretPassword(t, roSecret, roUser)
	dataPassword := secretPassword(t, dataSecret, dataUser)
	if roPassword == mainPassword || dataPassword == mainPassword || roPassword == dataPassword {
		t.Error("two accounts share a password")
	}

	// A table for the presets to work on, made by the main (ReadWrite) account; Galera refuses
	// tables without a primary key.
	stack.Eventually(t, "the main account to create a table", func() error {
		conn, err := galera.Nodes[0].Connect(db.Spec.EffectiveUserName(), mainPassword, dbName)
		if err != nil {
			return err
		}
		defer conn.Close()
		_, err = conn.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS items (id INT PRIMARY KEY, label VARCHAR(32))")
		return err
	})

	checkPresets := func(t *testing.T, round int) {
		t.Helper()
		for i, n := range galera.Nodes {
			// A distinct key per node and round: every node takes the DataOnly account's INSERT.
			id := 100*round + i
			stack.Eventually(t, fmt.Sprintf("the ReadOnly account's preset on node %s", n.Name), func() error {
				return checkReadOnly(ctx, n, roUser, roPassword, dbName)
			})
			stack.Eventually(t, fmt.Sprintf("the DataOnly account's preset on node %s", n.Name), func() error {
				return checkDataOnly(ctx, n, dataUser, dataPassword, dbName, id)
			})
		}
	}
	t.Run("presets on every node", func(t *testing.T) { checkPresets(t, 1) })

	// What SHOW GRANTS prints for the extra accounts (password hash included) before the drift,
	// on every node: the repair must bring back exactly this.
	grantsBefore := map[string][]string{}
	for _, user := range []string{roUser, dataUser} {
		for _, n := range galera.Nodes {
			grants, err := grantsOnNode(ctx, n, user)
			if err != nil {
				t.Fatal(err)
			}
			if before, seen := grantsBefore[user]; seen && !slices.Equal(before, grants) {
				t.Errorf("%s's grants differ between nodes: %q on %s, %q on %s", user, grants, n.Name, before, galera.Nodes[0].Name)
			}
			grantsBefore[user] = grants
		}
	}

	// Drift on one node each: Galera replicates account statements to the others, so the drift
	// is waited for everywhere before the pass is forced.
	// Two extra grants: INSERT on the database itself (its name's '_' escaped, the line the
	// operator grants), and CREATE on the unescaped name, a pattern that matches it too.
	execOn(t, 1, "GRANT INSERT ON `"+strings.ReplaceAll(dbName, "_", `\_`)+"`.* TO `"+roUser+"`@'%'")
	execOn(t, 1, "GRANT CREATE ON `"+dbName+"`.* TO `"+roUser+"`@'%'")
	execOn(t, 2, "DROP USER `"+dataUser+"`@'%'")
	for _, n := range galera.Nodes {
		stack.Eventually(t, "the drift to reach node "+n.Name, func() error {
			grants, err := grantsOnNode(ctx, n, roUser)
			if err != nil {
				return err
			}
			if all := strings.Join(grants, "\n"); !strings.Contains(all, "INSERT") || !strings.Contains(all, "CREATE") {
				return fmt.Errorf("the extra grant is not there yet: %q", grants)
			}
			exists, err := userExistsOn(ctx, n, dataUser)
			if err != nil {
				return err
			}
			if exists {
				return errors.New("the dropped account is still there")
			}
			return nil
		})
	}
	// A session keeps the database privileges it started with: one opened on each node while the
	// extra grant held must not keep it past the repair.
	drifted := openSessions(t, roUser, roPassword, dbName)
	for i, conn := range drifted {
		if _, err := conn.ExecContext(ctx, "INSERT INTO items VALUES (?, 'drift')", 500+i); err != nil {
			t.Fatalf("the extra grant does not let the ReadOnly account insert on node %s: %v", galera.Nodes[i].Name, err)
		}
	}
	forcePass(t, db)
	t.Run("repaired on every node", func(t *testing.T) {
		for i, conn := range drifted {
			if _, err := conn.ExecContext(ctx, "INSERT INTO items VALUES (?, 'drift')", 600+i); err == nil {
				t.Errorf("a ReadOnly session opened on node %s before the repair still inserts after it", galera.Nodes[i].Name)
			}
		}
		for _, n := range galera.Nodes {
			for _, user := range []string{roUser, dataUser} {
				stack.Eventually(t, user+"'s grants on node "+n.Name, func() error {
					grants, err := grantsOnNode(ctx, n, user)
					if err != nil {
						return err
					}
					if !slices.Equal(grants, grantsBefore[user]) {
						return fmt.Errorf("grants %q, before the drift %q", redactHash(grants), redactHash(grantsBefore[user]))
					}
					return nil
				})
			}
		}
		checkPresets(t, 2)
	})
	if roAfter := secretPassword(t, roSecret, roUser); roAfter != roPassword {
		t.Error("the repair changed the ReadOnly account's Secret")
	}
	if dataAfter := secretPassword(t, dataSecret, dataUser); dataAfter != dataPassword {
		t.Error("the repair changed the DataOnly account's Secret: a dropped account is recreated with its Secret's password")
	}

	// Removing the ReadOnly account drops it on every node, ends its sessions there, and keeps
	// its Secret.
	removed := openSessions(t, roUser, roPassword, dbName)
	var current dbv1.AppDatabase
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(db), &current); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(current.DeepCopy())
	current.Spec.Users = []dbv1.AppDatabaseUser{{Name: dataUser, Access: dbv1.AccessDataOnly, SecretName: dataSecret}}
	if err := k8s.Patch(ctx, &current, patch); err != nil {
		t.Fatal(err)
	}
	got = stack.WaitForAppDatabase(t, k8s, client.ObjectKeyFromObject(db), dbv1.PhaseReady, dbv1.ReasonProvisioned)
	if want := []dbv1.AccountStatus{wantAccounts[0], wantAccounts[2]}; !slices.Equal(got.Status.Accounts, want) {
		t.Errorf("status.accounts after removing %s = %+v, want %+v", roUser, got.Status.Accounts, want)
	}
	for _, n := range galera.Nodes {
		stack.Eventually(t, "the removed account to be gone from node "+n.Name, func() error {
			exists, err := userExistsOn(ctx, n, roUser)
			if err != nil {
				return err
			}
			if exists {
				return fmt.Errorf("%s still exists", roUser)
			}
			return nil
		})
		root, err := n.RootDB()
		if err != nil {
			t.Fatal(err)
		}
		var records int
		err = root.QueryRowContext(ctx, "SELECT COUNT(*) FROM db_concierge.ownership WHERE kind = 'user' AND name = ?", roUser).Scan(&records)
		root.Close()
		if err != nil {
			t.Fatal(err)
		}
		if records != 0 {
			t.Errorf("node %s still records the removed account %s in the ownership ledger", n.Name, roUser)
		}
		if err := login(ctx, n, roUser, roPassword, dbName); err == nil {
			t.Errorf("the removed account %s still logs in on node %s", roUser, n.Name)
		}
	}
	for i, conn := range removed {
		var one int
		if err := conn.QueryRowContext(ctx, "SELECT 1").Scan(&one); err == nil {
			t.Errorf("a session of the removed account %s on node %s survived its removal", roUser, galera.Nodes[i].Name)
		}
	}
	if kept := secretPassword(t, roSecret, roUser); kept != roPassword {
		t.Errorf("the removed account's Secret %s changed", roSecret)
	}
	t.Run("the other accounts are untouched", func(t *testing.T) {
		for i, n := range galera.Nodes {
			stack.Eventually(t, "the DataOnly account on node "+n.Name, func() error {
				return checkDataOnly(ctx, n, dataUser, dataPassword, dbName, 300+i)
			})
			stack.Eventually(t, "the main account on node "+n.Name, func() error {
				return login(ctx, n, db.Spec.EffectiveUserName(), mainPassword, dbName)
			})
		}
	})

	// Added back, the account takes the password its kept Secret holds, on every node.
	t.Run("an account added back uses its kept Secret", func(t *testing.T) {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(db), &current); err != nil {
			t.Fatal(err)
		}
		patch := client.MergeFrom(current.DeepCopy())
		current.Spec.Users = append(current.Spec.Users, dbv1.AppDatabaseUser{Name: roUser, Access: dbv1.AccessReadOnly})
		if err := k8s.Patch(ctx, &current, patch); err != nil {
			t.Fatal(err)
		}
		got := stack.WaitForAppDatabase(t, k8s, client.ObjectKeyFromObject(db), dbv1.PhaseReady, dbv1.ReasonProvisioned)
		if want := []dbv1.AccountStatus{wantAccounts[0], wantAccounts[2], wantAccounts[1]}; !slices.Equal(got.Status.Accounts, want) {
			t.Errorf("status.accounts after adding %s back = %+v, want %+v", roUser, got.Status.Accounts, want)
		}
		if again := secretPassword(t, roSecret, roUser); again != roPassword {
			t.Errorf("adding %s back changed its kept Secret's password", roUser)
		}
		for _, n := range galera.Nodes {
			stack.Eventually(t, "the ReadOnly account added back on node "+n.Name, func() error {
				return checkReadOnly(ctx, n, roUser, roPassword, dbName)
			})
		}
	})

	if err := k8s.Delete(ctx, &current); err != nil {
		t.Fatal(err)
	}
}

// redactHash blanks the password hash SHOW GRANTS prints, for messages.
func redactHash(grants []string) []string {
	out := make([]string, len(grants))
	for i, g := range grants {
		if before, _, found := strings.Cut(g, "IDENTIFIED BY PASSWORD"); found {
			g = before + "IDENTIFIED BY PASSWORD <hash>"
		}
		out[i] = g
	}
	return out
}

// secretPassword reads the password of an account's Secret in the tenant namespace, checking that
// the Secret names that account.
func secretPassword(t *testing.T, name, user string) string {
	t.Helper()
	var s corev1.Secret
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: tenantNS, Name: name}, &s); err != nil {
		t.Fatalf("reading Secret %s: %v", name, err)
	}
	if got := string(s.Data["username"]); got != user {
		t.Errorf("Secret %s names user %q, want %q", name, got, user)
	}
	if len(s.Data["password"]) == 0 {
		t.Fatalf("Secret %s holds no password", name)
	}
	return string(s.Data["password"])
}

// forcePass sets the seed's reconcile annotation to a new value and waits until the operator has
// handled it in a pass that ended Ready.
func forcePass(t *testing.T, db *dbv1.AppDatabase) {
	t.Helper()
	ctx := context.Background()
	stamp := randomHex()
	var current dbv1.AppDatabase
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(db), &current); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(current.DeepCopy())
	metav1.SetMetaDataAnnotation(&current.ObjectMeta, dbv1.AnnotationReconcile, stamp)
	if err := k8s.Patch(ctx, &current, patch); err != nil {
		t.Fatal(err)
	}
	stack.Eventually(t, "the forced pass of "+db.Name, func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(db), &current); err != nil {
			return err
		}
		if current.Status.LastHandledReconcileAt != stamp || current.Status.Phase != dbv1.PhaseReady {
			return fmt.Errorf("not handled yet (handled %q, phase %s: %s)", current.Status.LastHandledReconcileAt, current.Status.Phase, current.Status.Message)
		}
		return nil
	})
}

// execOn runs a statement as root on node i.
func execOn(t *testing.T, i int, stmt string) {
	t.Helper()
	root, err := galera.Nodes[i].RootDB()
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if _, err := root.Exec(stmt); err != nil {
		t.Fatalf("on node %s: %s: %v", galera.Nodes[i].Name, stmt, err)
	}
}

func grantsOnNode(ctx context.Context, n *stack.GaleraNode, user string) ([]string, error) {
	root, err := n.RootDB()
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return stack.Strings(ctx, root, "SHOW GRANTS FOR `"+user+"`@'%'")
}

func userExistsOn(ctx context.Context, n *stack.GaleraNode, user string) (bool, error) {
	root, err := n.RootDB()
	if err != nil {
		return false, err
	}
	defer root.Close()
	var count int
	if err := root.QueryRowContext(ctx, "SELECT COUNT(*) FROM mysql.user WHERE User = ?", user).Scan(&count); err != nil {
		return false, err
	}
	return count > 0, nil
}

// openSessions opens one session as user on every node, each closed when the test ends.
func openSessions(t *testing.T, user, password, database string) []*sql.Conn {
	t.Helper()
	conns := make([]*sql.Conn, len(galera.Nodes))
	for i, n := range galera.Nodes {
		conn, done, err := session(context.Background(), n, user, password, database)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(done)
		conns[i] = conn
	}
	return conns
}

// session opens one connection as user on node n, to database.
func session(ctx context.Context, n *stack.GaleraNode, user, password, database string) (*sql.Conn, func(), error) {
	pool, err := n.Connect(user, password, database)
	if err != nil {
		return nil, nil, err
	}
	conn, err := pool.Conn(ctx)
	if err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("logging in as %s on node %s: %w", user, n.Name, err)
	}
	return conn, func() { conn.Close(); pool.Close() }, nil
}

func login(ctx context.Context, n *stack.GaleraNode, user, password, database string) error {
	_, done, err := session(ctx, n, user, password, database)
	if err == nil {
		done()
	}
	return err
}

// checkReadOnly checks the ReadOnly preset on one node: it reads, and it cannot write, create, or
// see another database.
func checkReadOnly(ctx context.Context, n *stack.GaleraNode, user, password, database string) error {
	conn, done, err := session(ctx, n, user, password, database)
	if err != nil {
		return err
	}
	defer done()
	var rows int
	if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM items").Scan(&rows); err != nil {
		return fmt.Errorf("SELECT: %w", err)
	}
	if err := mustBeDenied(conn.ExecContext(ctx, "INSERT INTO items VALUES (9999, 'ro')")); err != nil {
		return fmt.Errorf("INSERT: %w", err)
	}
	if err := mustBeDenied(conn.ExecContext(ctx, "CREATE TABLE ro_made (id INT PRIMARY KEY)")); err != nil {
		return fmt.Errorf("CREATE TABLE: %w", err)
	}
	return seesOnly(ctx, conn, database)
}

// checkDataOnly checks the DataOnly preset on one node: it reads and writes rows (key id), and it
// cannot create a table or see another database.
func checkDataOnly(ctx context.Context, n *stack.GaleraNode, user, password, database string, id int) error {
	conn, done, err := session(ctx, n, user, password, database)
	if err != nil {
		return err
	}
	defer done()
	if _, err := conn.ExecContext(ctx, "INSERT INTO items VALUES (?, ?) ON DUPLICATE KEY UPDATE label = VALUES(label)", id, "data-"+n.Name); err != nil {
		return fmt.Errorf("INSERT: %w", err)
	}
	var label string
	if err := conn.QueryRowContext(ctx, "SELECT label FROM items WHERE id = ?", id).Scan(&label); err != nil {
		return fmt.Errorf("SELECT: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "DELETE FROM items WHERE id = ?", id); err != nil {
		return fmt.Errorf("DELETE: %w", err)
	}
	if err := mustBeDenied(conn.ExecContext(ctx, "CREATE TABLE data_made (id INT PRIMARY KEY)")); err != nil {
		return fmt.Errorf("CREATE TABLE: %w", err)
	}
	return seesOnly(ctx, conn, database)
}

// mustBeDenied accepts only the server's refusal for a missing privilege.
func mustBeDenied(_ sql.Result, err error) error {
	var my *gomysql.MySQLError
	switch {
	case err == nil:
		return errors.New("allowed")
	case errors.As(err, &my) && my.Number == erTableAccessDenied:
		return nil
	}
	return fmt.Errorf("failed other than as denied: %w", err)
}

// seesOnly checks that the session sees no database but its own (and information_schema), and
// cannot read the server's own tables.
func seesOnly(ctx context.Context, conn *sql.Conn, database string) error {
	seen, err := stack.Strings(ctx, conn, "SHOW DATABASES")
	if err != nil {
		return err
	}
	slices.Sort(seen)
	if want := []string{database, "information_schema"}; !slices.Equal(seen, want) {
		return fmt.Errorf("SHOW DATABASES lists %q, want %q", seen, want)
	}
	var n int
	if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM mysql.user").Scan(&n); err == nil {
		return errors.New("reads mysql.user")
	}
	return nil
}

// Five rotations on the 3-node cluster while a client logs in every 50 ms, each time on the next
// node, with whatever the Secret holds: an application behind a proxy that spreads connections.
// No login fails; after each grace period the previous credentials are refused on every node.
func TestRotationWithoutDowntimeAcrossNodes(t *testing.T) {
	ctx := context.Background()
	db := appDB("rotating")
	db.Spec.PasswordRotation = &dbv1.PasswordRotation{GracePeriod: &metav1.Duration{Duration: 6 * time.Second}}
	if err := k8s.Create(ctx, db); err != nil {
		t.Fatal(err)
	}
	stack.WaitForAppDatabase(t, k8s, client.ObjectKeyFromObject(db), dbv1.PhaseReady, dbv1.ReasonProvisioned)
	key := client.ObjectKey{Namespace: tenantNS, Name: db.Spec.EffectiveSecretName()}
	// It runs before TestBatchSurvivesNodeLoss takes a node away; a node already gone is left out.
	var live []*stack.GaleraNode
	for _, n := range galera.Nodes {
		if n.Alive() {
			live = append(live, n)
		}
	}
	var next atomic.Int64
	probe := stack.StartLoginProber(k8s, key, 50*time.Millisecond, func(ctx context.Context, user, password string) error {
		n := live[int(next.Add(1))%len(live)]
		return login(ctx, n, user, password, "rotating")
	})
	start := time.Now()
	const rotations = 5
	for i := range rotations {
		var s corev1.Secret
		if err := k8s.Get(ctx, key, &s); err != nil {
			t.Fatal(err)
		}
		oldUser, oldPassword := string(s.Data["username"]), string(s.Data["password"])
		stamp := randomHex()
		var current dbv1.AppDatabase
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(db), &current); err != nil {
			t.Fatal(err)
		}
		patch := client.MergeFrom(current.DeepCopy())
		metav1.SetMetaDataAnnotation(&current.ObjectMeta, dbv1.AnnotationRotatePassword, stamp)
		if err := k8s.Patch(ctx, &current, patch); err != nil {
			t.Fatal(err)
		}
		stack.Eventually(t, fmt.Sprintf("rotation %d", i+1), func() error {
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(db), &current); err != nil {
				return err
			}
			if r := current.Status.PasswordRotation; r == nil || r.LastHandledRotateAt != stamp || current.Status.Phase != dbv1.PhaseReady {
				return fmt.Errorf("phase %s, rotation %+v", current.Status.Phase, current.Status.PasswordRotation)
			}
			return nil
		})
		for _, n := range live {
			stack.Eventually(t, fmt.Sprintf("rotation %d: %s refused on node %s after the grace period", i+1, oldUser, n.Name), func() error {
				if err := login(ctx, n, oldUser, oldPassword, "rotating"); err == nil {
					return fmt.Errorf("%s still logs in", oldUser)
				}
				return nil
			})
		}
	}
	attempts, failures := probe.Stop()
	t.Logf("%d rotations in %s: %d logins spread over %d nodes, %d failed", rotations, time.Since(start).Round(time.Second), attempts, len(live), len(failures))
	if len(failures) > 0 {
		t.Errorf("%d of %d logins failed during the rotations; the first: %s", len(failures), attempts, strings.Join(failures[:min(5, len(failures))], "; "))
	}
	if err := k8s.Delete(ctx, db); err != nil {
		t.Fatal(err)
	}
}
