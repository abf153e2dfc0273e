//go:build integration

package integration

import (
	"strings"
	"testing"
	"time"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/failpoint"
)

// The operator is killed (SIGKILL) right after each provisioning step in turn; a restarted
// operator converges on Ready with the Secret's password logging in.
func TestCrashAfterEachStep(t *testing.T) {
	ensureNamespace(t, "crash")
	steps := []string{"after-intent", "after-secret", "after-create-database", "after-create-user", "after-grant", "after-commit"}
	for _, step := range steps {
		t.Run(step, func(t *testing.T) {
			restartOperator(t, failpoint.EnvVar+"="+step)
			crashed := operator
			name := strings.ReplaceAll(step, "-", "_")
			db := newAppDB("crash", strings.ReplaceAll(step, "after-", "crash-"), dbv1.AppDatabaseSpec{
				DBName: name, DeletionPolicy: dbv1.DeletionPolicyDelete,
			})
			create(t, db)
			select {
			case <-crashed.Exited():
			case <-time.After(timeout):
				t.Fatalf("the operator did not reach failpoint %s", step)
			}

			restartOperator(t)
			db = waitReady(t, db)
			secret := secretOf(t, db)
			login(t, db.Spec.EffectiveUserName(), string(secret.Data["password"]), name)

			var committed int
			if err := root(t).QueryRow("SELECT COUNT(*) FROM db_concierge.ownership WHERE owner_uid = ? AND state = 'committed'",
				string(db.UID)).Scan(&committed); err != nil || committed != 2 {
				t.Errorf("ownership rows committed for the tenant: %d (%v), want 2", committed, err)
			}

			deleteAndWait(t, db)
			if databaseExists(t, name) || userExists(t, db.Spec.EffectiveUserName()) {
				t.Error("deleting the recovered tenant left its database or user")
			}
		})
	}
}
