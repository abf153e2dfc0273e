//go:build integration

package integration

import (
	"testing"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
)

func TestDeletionPolicies(t *testing.T) {
	ensureNamespace(t, "deleting")
	cases := []struct {
		name        string
		db          *dbv1.AppDatabase
		wantDropped bool
	}{
		{"Retain from the platform namespace", newAppDB(platformNS, "kept", dbv1.AppDatabaseSpec{DBName: "kept", AppNamespace: "deleting"}), false},
		{"Delete from the platform namespace", newAppDB(platformNS, "dropped", dbv1.AppDatabaseSpec{DBName: "dropped", AppNamespace: "deleting", DeletionPolicy: dbv1.DeletionPolicyDelete}), true},
		{"Delete beside its Secret", newAppDB("deleting", "dropped-here", dbv1.AppDatabaseSpec{DBName: "dropped_here", DeletionPolicy: dbv1.DeletionPolicyDelete}), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			create(t, c.db)
			db := waitReady(t, c.db)
			secret := secretOf(t, db)
			user := db.Spec.EffectiveUserName()
			if _, err := root(t).Exec("CREATE TABLE `" + db.Spec.DBName + "`.data (id INT PRIMARY KEY)"); err != nil {
				t.Fatal(err)
			}

			deleteAndWait(t, db)
			if got := !databaseExists(t, db.Spec.DBName); got != c.wantDropped {
				t.Errorf("database dropped = %v, want %v", got, c.wantDropped)
			}
			if got := !userExists(t, user); got != c.wantDropped {
				t.Errorf("user dropped = %v, want %v", got, c.wantDropped)
			}
			// The Secret stays either way, unchanged.
			if s := secretOf(t, db); s.ResourceVersion != secret.ResourceVersion {
				t.Error("the Secret changed on deletion")
			}
		})
	}
}

// A Retain AppDatabase switched to Delete gets the finalizer; switched back, loses it.
func TestDeletionPolicyCanChange(t *testing.T) {
	ensureNamespace(t, "switch")
	db := newAppDB("switch", "switch", dbv1.AppDatabaseSpec{DBName: "switch"})
	create(t, db)
	db = waitReady(t, db)
	if len(db.Finalizers) != 0 {
		t.Errorf("Retain AppDatabase has finalizers %v", db.Finalizers)
	}
	if err := patchSpec(db, func(s *dbv1.AppDatabaseSpec) { s.DeletionPolicy = dbv1.DeletionPolicyDelete }); err != nil {
		t.Fatal(err)
	}
	db = waitReady(t, db)
	if len(db.Finalizers) != 1 || db.Finalizers[0] != dbv1.Finalizer {
		t.Errorf("Delete AppDatabase has finalizers %v", db.Finalizers)
	}
	deleteAndWait(t, db)
	if databaseExists(t, "switch") || userExists(t, "switch_app") {
		t.Error("database or user kept after switching to Delete")
	}
}
