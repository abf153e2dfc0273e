//go:build integration

package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/test/stack"
)

// Two operators elect a leader on a Lease: the standby does nothing; the leader is killed in the
// middle of a batch; the new leader finishes it, and nothing is provisioned twice.
func TestLeaderElectionHandover(t *testing.T) {
	ensureNamespace(t, "ha")
	operator.Stop()
	defer restartOperator(t)
	election := []string{"--leader-elect", "--leader-election-id=db-concierge-ha",
		"--leader-election-lease-duration=4s", "--leader-election-renew-deadline=3s", "--leader-election-retry-period=500ms"}
	logs := []*stack.LogBuffer{{}, {}}
	ops := make([]*stack.Operator, 2)
	for i := range ops {
		var err error
		if ops[i], err = stack.StartOperator(operatorBin, operatorArgs(election...), nil, teeLog(logs[i])); err != nil {
			t.Fatal(err)
		}
		defer ops[i].Stop() //nolint:revive // both operators run until the test ends
	}
	leader := -1
	eventually(t, "one operator to lead", func() error {
		for i, l := range logs {
			if strings.Contains(l.String(), "Successfully acquired lease") {
				leader = i
				return nil
			}
		}
		return fmt.Errorf("no leader yet")
	})
	standby := 1 - leader

	// Half the batch is created while the first leader works; it is killed as soon as the first
	// is Ready, likely with others half-done; the other half arrives under no leader at all.
	dbs := make([]*dbv1.AppDatabase, 20)
	for i := range dbs {
		dbs[i] = newAppDB("ha", fmt.Sprintf("ha-%02d", i), dbv1.AppDatabaseSpec{DBName: fmt.Sprintf("ha_%02d", i)})
	}
	for _, db := range dbs[:10] {
		create(t, db)
	}
	waitReady(t, dbs[0])
	if strings.Contains(logs[standby].String(), `"AppDatabase":{"name":"ha-`) {
		t.Error("the standby worked on AppDatabases while the leader held the lease")
	}
	killed := time.Now()
	ops[leader].Kill()
	for _, db := range dbs[10:] {
		create(t, db)
	}
	for _, db := range dbs {
		waitReady(t, db)
	}
	t.Logf("after SIGKILL of the leader, the batch finished %.1fs later (lease duration 4s)", time.Since(killed).Seconds())
	if !strings.Contains(logs[standby].String(), `"AppDatabase":{"name":"ha-19"`) {
		t.Error("the new leader did not provision what arrived after the handover")
	}

	all := logs[0].String() + logs[1].String()
	for _, db := range dbs {
		secret := db.Spec.EffectiveSecretName()
		if n := strings.Count(all, `"secret":"ha/`+secret+`"`); n > 1 {
			t.Errorf("Secret %s was written %d times", secret, n)
		}
		if err := canLogin(ctxFor(t), db.Spec.EffectiveUserName(), string(secretOf(t, db).Data["password"]), db.Spec.DBName); err != nil {
			t.Errorf("%s: %v", db.Name, err)
		}
	}
	var pending int
	if err := root(t).QueryRow("SELECT COUNT(*) FROM db_concierge.ownership WHERE owner_namespace = 'ha' AND state <> 'committed'").Scan(&pending); err != nil || pending != 0 {
		t.Errorf("%d ownership claims left half-done (%v)", pending, err)
	}
}
