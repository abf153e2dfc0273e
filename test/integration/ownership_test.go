//go:build integration

package integration

import (
	"slices"
	"testing"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
)

// A second AppDatabase naming a database or user that another one owns, or that was created by
// hand, fails with OwnershipConflict and changes nothing.
func TestNoTakeover(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "owner")
	ensureNamespace(t, "intruder")
	owner := newAppDB("owner", "shop", dbv1.AppDatabaseSpec{DBName: "shop"})
	create(t, owner)
	owner = waitReady(t, owner)
	ownerSecret := secretOf(t, owner)
	ownerGrants := grantsOf(t, "shop_app")

	if _, err := root(t).Exec("CREATE DATABASE handmade"); err != nil {
		t.Fatal(err)
	}
	if _, err := root(t).Exec("CREATE TABLE handmade.keep (id INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}

	claimants := []struct {
		name string
		db   *dbv1.AppDatabase
	}{
		{"same database, same namespace", newAppDB("owner", "shop-copy", dbv1.AppDatabaseSpec{DBName: "shop", UserName: "copy_app", SecretName: "copy"})},
		{"same database, other namespace", newAppDB("intruder", "shop", dbv1.AppDatabaseSpec{DBName: "shop", UserName: "intruder_app", DeletionPolicy: dbv1.DeletionPolicyDelete})},
		{"same user, other namespace", newAppDB("intruder", "other", dbv1.AppDatabaseSpec{DBName: "other", UserName: "shop_app", DeletionPolicy: dbv1.DeletionPolicyDelete})},
		{"database created by hand", newAppDB("intruder", "handmade", dbv1.AppDatabaseSpec{DBName: "handmade", DeletionPolicy: dbv1.DeletionPolicyDelete})},
	}
	before := writeCounters(t)
	for _, c := range claimants {
		create(t, c.db)
		failed := waitFor(t, clientKey(c.db), dbv1.PhaseFailed, dbv1.ReasonOwnershipConflict)
		t.Logf("%s: %s", c.name, failed.Status.Message)
	}
	// Refused claims write nothing to MySQL: no intent row, no user, no grant.
	assertNoWrites(t, before, writeCounters(t))
	if userExists(t, "copy_app") || userExists(t, "intruder_app") || userExists(t, "handmade_app") || databaseExists(t, "other") {
		t.Error("a refused claimant got a database or user created")
	}

	// Deleting the failed claimants, even with deletionPolicy Delete, drops nothing of the owner's
	// or of the hand-made database.
	for _, c := range claimants {
		deleteAndWait(t, c.db)
	}
	for _, name := range []string{"shop", "handmade"} {
		if !databaseExists(t, name) {
			t.Errorf("database %s was dropped by deleting a claimant", name)
		}
	}
	var n int
	if err := root(t).QueryRow("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'handmade'").Scan(&n); err != nil || n != 1 {
		t.Errorf("hand-made database lost its table (%d tables, %v)", n, err)
	}

	// The owner is untouched: same Secret revision, same password logging in, same grants.
	if s := secretOf(t, owner); s.ResourceVersion != ownerSecret.ResourceVersion {
		t.Error("the owner's Secret was rewritten")
	}
	login(t, "shop_app", string(ownerSecret.Data["password"]), "shop")
	if !slices.Equal(grantsOf(t, "shop_app"), ownerGrants) {
		t.Error("the owner's grants changed")
	}
	_ = ctx
}

// In database-level grants '_' is a wildcard; tenant ab_c must not reach abxc.
func TestGrantEscapesWildcards(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "wild")
	db := newAppDB("wild", "ab-c", dbv1.AppDatabaseSpec{DBName: "ab_c"})
	create(t, db)
	db = waitReady(t, db)
	if _, err := root(t).Exec("CREATE DATABASE IF NOT EXISTS abxc"); err != nil {
		t.Fatal(err)
	}
	conn := login(t, "ab_c_app", string(secretOf(t, db).Data["password"]), "ab_c")
	if _, err := conn.ExecContext(ctx, "USE abxc"); err == nil {
		t.Error("tenant ab_c can use database abxc")
	}
	if _, err := root(t).Exec("DROP DATABASE abxc"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE abxc"); err == nil {
		t.Error("tenant ab_c can create database abxc")
	}
}
