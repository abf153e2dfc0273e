//go:build integration

package stack

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// A client made before RestartAPIServer works after it, unchanged: the server is back on the same
// address with the same certificate and client CA, and etcd kept what was written before.
func TestRestartAPIServerKeepsClients(t *testing.T) {
	k, err := StartKube(WithoutCRDs())
	if err != nil {
		t.Fatal(err)
	}
	defer k.Stop()
	ctx := context.Background()
	before := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "before-restart"}}
	if err := k.Client.Create(ctx, before); err != nil {
		t.Fatal(err)
	}
	host := k.Config.Host
	for range 2 {
		if err := k.RestartAPIServer(); err != nil {
			t.Fatal(err)
		}
	}
	if k.Env.Config.Host != host {
		t.Errorf("the API server moved from %s to %s", host, k.Env.Config.Host)
	}
	Eventually(t, "the old client to read what was written before the restart", func() error {
		return k.Client.Get(ctx, client.ObjectKeyFromObject(before), &corev1.Namespace{})
	})
	user, err := k.AddUser("after-restart", "system:masters")
	if err != nil {
		t.Fatal(err)
	}
	if err := user.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "after-restart"}}); err != nil {
		t.Errorf("a user added after the restart: %v", err)
	}
}

// Kill leaves the data directory to crash recovery: Start brings back what was committed.
func TestMariaDBKillAndStart(t *testing.T) {
	m, err := StartMariaDB()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	if err := m.CreateAdmin(ctx, "survivor", "s3cret-pass"); err != nil {
		t.Fatal(err)
	}
	m.Kill()
	db, err := m.Connect("survivor", "s3cret-pass", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.PingContext(ctx); err == nil {
		t.Fatal("the server answered after Kill")
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	if err := db.PingContext(ctx); err != nil {
		t.Errorf("the account made before the kill: %v", err)
	}
}

// A node killed and restarted rejoins the cluster and receives what was written while it was down.
func TestGaleraNodeRejoins(t *testing.T) {
	g, err := StartGalera(3)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*Timeout)
	defer cancel()
	g.Kill(1)
	root := galeraRoot(t, g.Nodes[0])
	mustExec(t, ctx, root, "CREATE DATABASE written_while_down")
	if err := g.Restart(ctx, 1); err != nil {
		t.Fatal(err)
	}
	rejoined := galeraRoot(t, g.Nodes[1])
	var n int
	if err := rejoined.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'written_while_down'").Scan(&n); err != nil || n != 1 {
		t.Errorf("the rejoined node sees %d databases written while it was down (%v)", n, err)
	}
}
