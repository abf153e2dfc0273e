package stack

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
)

// Timeout bounds every wait for an eventual outcome in tests; it is generous on purpose, so a
// busy machine slows tests down instead of failing them.
const Timeout = 90 * time.Second

// Eventually retries check until it returns nil, failing t after Timeout with the last error.
func Eventually(t testing.TB, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not true after %s: %v", what, Timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// WaitForAppDatabase waits until the AppDatabase has the phase and Ready reason for its current
// generation, and returns it.
func WaitForAppDatabase(t testing.TB, c client.Client, key client.ObjectKey, phase dbv1.Phase, reason string) *dbv1.AppDatabase {
	t.Helper()
	var db dbv1.AppDatabase
	Eventually(t, fmt.Sprintf("AppDatabase %s to be %s/%s", key, phase, reason), func() error {
		if err := c.Get(context.Background(), key, &db); err != nil {
			return err
		}
		cond := meta.FindStatusCondition(db.Status.Conditions, dbv1.ConditionReady)
		if cond == nil || db.Status.Phase != phase || cond.Reason != reason || db.Status.ObservedGeneration != db.Generation {
			return fmt.Errorf("phase %q, condition %+v", db.Status.Phase, cond)
		}
		return nil
	})
	return &db
}
