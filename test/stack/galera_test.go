//go:build integration

package stack

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"
)

// TestGaleraReplicates shows the harness gives a working cluster: an account and a database made
// on one node are usable on the others, and losing a node leaves the other two writable.
func TestGaleraReplicates(t *testing.T) {
	g, err := StartGalera(3)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	t.Logf("3 Galera nodes Synced after %s", g.StartupTime.Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()

	root := galeraRoot(t, g.Nodes[0])
	mustExec(t, ctx, root, "CREATE DATABASE galera_app")
	mustExec(t, ctx, root, "CREATE USER 'galera_app'@'%' IDENTIFIED BY 's3cret-pass'")
	mustExec(t, ctx, root, "GRANT ALL PRIVILEGES ON galera_app.* TO 'galera_app'@'%'")

	// A statement returns once node 0 has applied it; the others apply it in the same order but
	// may still be at it, hence Eventually.
	for _, n := range g.Nodes[1:] {
		Eventually(t, "galera_app to log in on "+n.Name, func() error {
			db, err := n.Connect("galera_app", "s3cret-pass", "galera_app")
			if err != nil {
				return err
			}
			defer db.Close()
			var current string
			if err := db.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&current); err != nil {
				return err
			}
			if current != "galera_app" {
				return fmt.Errorf("DATABASE() is %q", current)
			}
			return nil
		})
	}

	g.Kill(1)
	if g.Nodes[1].Alive() {
		t.Fatalf("%s is alive after Kill", g.Nodes[1].Name)
	}
	// The first DDL after the loss blocks until the survivors have evicted the dead node.
	began := time.Now()
	mustExec(t, ctx, root, "CREATE TABLE galera_app.after_loss (id INT PRIMARY KEY)")
	t.Logf("first DDL after killing %s took %s", g.Nodes[1].Name, time.Since(began).Round(time.Millisecond))
	if err := g.WaitSize(ctx, 2); err != nil {
		t.Fatal(err)
	}

	third := galeraRoot(t, g.Nodes[2])
	Eventually(t, g.Nodes[2].Name+" to see the table created after the loss", func() error {
		var table string
		return third.QueryRowContext(ctx, `SELECT table_name FROM information_schema.tables
			WHERE table_schema = 'galera_app' AND table_name = 'after_loss'`).Scan(&table)
	})
}

func galeraRoot(t *testing.T, n *GaleraNode) *sql.DB {
	t.Helper()
	db, err := n.RootDB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustExec(t *testing.T, ctx context.Context, db *sql.DB, stmt string) {
	t.Helper()
	if _, err := db.ExecContext(ctx, stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}
