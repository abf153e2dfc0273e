//go:build integration

// Package upgrade replaces the operator of the previous main (oldCommit) by the one of this
// checkout, the way a platform team upgrades: the old operator provisions tenants with the CRDs of
// its time, is stopped, the new CRDs are applied, and the new operator starts. The tenants must
// come through untouched: no Secret rewritten, no password, grant or ownership record changed, a
// failed tenant still failed for the same reason. Then the new operator must serve them fully: an
// extra account added to an upgraded tenant, a Delete-policy tenant deleted cleanly.
package upgrade

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/cluster"
	"github.com/stillwaters/db-concierge/test/stack"
)

// oldCommit is the previous main: the last commit before extra accounts (spec.users) and the
// engine interface. Its operator is the one upgraded from.
const oldCommit = "25324e5"

const (
	platformNS    = "db-concierge"
	adminUser     = "upgrade_admin"
	secondCluster = "second"
)

// tenantCase is one AppDatabase the old operator provisions.
type tenantCase struct {
	db *dbv1.AppDatabase
	// failReason, when set, is the reason it must fail with (and keep failing with).
	failReason string
}

// before is what the test records of a tenant while the old operator ran.
type before struct {
	status dbv1.AppDatabaseStatus
	// priv is the account's row of mysql.global_priv (password hash, TLS, limits), as JSON.
	priv   string
	grants []string
}

func TestUpgradeKeepsTenants(t *testing.T) {
	began := time.Now()
	phase := func(what string) { t.Logf("%5.1fs %s", time.Since(began).Seconds(), what) }
	ctx := context.Background()

	// The old tree, its operator, and the new operator, built while the servers start. One after
	// the other: on a cold build cache the second reuses the dependencies the first compiled.
	src := extractTree(t, oldCommit)
	binDir := t.TempDir()
	var (
		oldBin, newBin   string
		oldErr, newErr   error
		oldTook, newTook time.Duration
		built            = make(chan struct{})
	)
	go func() {
		defer close(built)
		start := time.Now()
		newBin, newErr = stack.BuildOperator(binDir, false)
		newTook = time.Since(start)
		start = time.Now()
		oldBin, oldErr = buildOldOperator(src, binDir)
		oldTook = time.Since(start)
	}()

	kube, err := stack.StartKube(withCRDsFrom(filepath.Join(src, "crds")))
	if err != nil {
		<-built
		t.Fatal(err)
	}
	t.Cleanup(kube.Stop)
	k8s := kube.Client
	maria, err := stack.StartMariaDB()
	if err != nil {
		<-built
		t.Fatal(err)
	}
	t.Cleanup(maria.Close)
	rootDB, err := maria.RootDB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rootDB.Close() })
	<-built
	if oldErr != nil {
		t.Fatalf("building the operator of %s: %v", oldCommit, oldErr)
	}
	if newErr != nil {
		t.Fatalf("building the operator of this checkout: %v", newErr)
	}
	phase(fmt.Sprintf("servers up; operators built (new %.1fs, then old %.1fs)", newTook.Seconds(), oldTook.Seconds()))

	// The seed's admin Secret defines the default cluster; a MySQLCluster on the same server is
	// the second.
	adminPassword := setUpPlatform(t, k8s, maria, "shop", "billing", "intruder")
	for _, obj := range []client.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: platformNS, Name: secondCluster + "-admin"},
			StringData: map[string]string{"username": adminUser, "password": adminPassword}},
		&dbv1.MySQLCluster{ObjectMeta: metav1.ObjectMeta{Name: secondCluster}, Spec: dbv1.MySQLClusterSpec{
			AdminEndpoints:   []dbv1.Endpoint{{Host: "127.0.0.1", Port: int32(maria.Port)}}, //nolint:gosec // G115: a TCP port fits in int32
			AdminCredentials: dbv1.AdminCredentials{SecretName: secondCluster + "-admin", UsernameKey: "username", PasswordKey: "password"},
		}},
	} {
		if err := k8s.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}

	// --- The old operator provisions the tenants. ---
	oldLog := &stack.LogBuffer{}
	oldOperator, err := stack.StartOperator(oldBin, operatorArgs(kube.Kubeconfig, "--resync-period=1h", "--metrics-bind-address=0"), nil, oldLog)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(oldOperator.Stop)

	appDB := func(namespace, name string, spec dbv1.AppDatabaseSpec) *dbv1.AppDatabase {
		if spec.ClusterRef == "" {
			spec.ClusterRef = dbv1.DefaultClusterName
		}
		return &dbv1.AppDatabase{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, Spec: spec}
	}
	plain := appDB("shop", "plain", dbv1.AppDatabaseSpec{DBName: "upg_plain"})
	doomed := appDB("shop", "doomed", dbv1.AppDatabaseSpec{DBName: "upg_doomed", DeletionPolicy: dbv1.DeletionPolicyDelete})
	tenants := []tenantCase{
		{db: plain},
		{db: appDB("shop", "explicit", dbv1.AppDatabaseSpec{DBName: "upg_explicit", UserName: "upg_custom_user", SecretName: "custom-creds"})},
		{db: doomed},
		// The platform namespace provisions into another one.
		{db: appDB(platformNS, "billing-db", dbv1.AppDatabaseSpec{DBName: "upg_billing", AppNamespace: "billing"})},
		// On the MySQLCluster, with its own character set.
		{db: appDB("shop", "latin", dbv1.AppDatabaseSpec{DBName: "upg_latin", ClusterRef: secondCluster, Charset: "latin1", Collation: "latin1_swedish_ci",
			DeletionPolicy: dbv1.DeletionPolicyDelete})},
		// Another namespace asks for plain's database: it fails, and must keep failing.
		{db: appDB("intruder", "plain", dbv1.AppDatabaseSpec{DBName: "upg_plain", UserName: "upg_intruder"}), failReason: dbv1.ReasonOwnershipConflict},
	}
	for _, tc := range tenants {
		if tc.failReason != "" {
			// Only once plain holds the name.
			stack.WaitForAppDatabase(t, k8s, client.ObjectKeyFromObject(plain), dbv1.PhaseReady, dbv1.ReasonProvisioned)
		}
		if err := k8s.Create(ctx, tc.db); err != nil {
			t.Fatalf("creating %s/%s: %v", tc.db.Namespace, tc.db.Name, err)
		}
	}
	recorded := map[string]before{}
	for _, tc := range tenants {
		key := client.ObjectKeyFromObject(tc.db)
		var got *dbv1.AppDatabase
		if tc.failReason != "" {
			got = stack.WaitForAppDatabase(t, k8s, key, dbv1.PhaseFailed, tc.failReason)
		} else {
			got = stack.WaitForAppDatabase(t, k8s, key, dbv1.PhaseReady, dbv1.ReasonProvisioned)
		}
		tc.db.UID = got.UID
		b := before{status: got.Status}
		if tc.failReason == "" {
			b.priv = accountPriv(t, rootDB, got.Spec.EffectiveUserName())
			b.grants = grantsOf(t, rootDB, got.Spec.EffectiveUserName())
		}
		recorded[key.String()] = b
	}
	if !slices.Contains(doomedFinalizers(t, k8s, doomed), dbv1.Finalizer) {
		t.Fatalf("the old operator did not put finalizer %s on the Delete-policy tenant", dbv1.Finalizer)
	}
	secretsBefore := managedSecrets(t, k8s)
	ledgerBefore := ledger(t, rootDB)
	if len(secretsBefore) != 5 {
		t.Fatalf("the old operator made %d managed Secrets, want 5: %v", len(secretsBefore), slices.Sorted(maps.Keys(secretsBefore)))
	}
	if len(ledgerBefore) != 10 {
		t.Errorf("the ownership ledger holds %d rows after the old operator, want 10 (a database and a user for each of 5 tenants): %v", len(ledgerBefore), ledgerBefore)
	}
	phase("old operator: 5 tenants Ready, 1 Failed (OwnershipConflict)")

	// --- The upgrade: stop the old operator, apply the new CRDs, start the new operator. ---
	oldOperator.Stop()
	if _, err := envtest.InstallCRDs(kube.Config, envtest.CRDInstallOptions{
		Paths: []string{filepath.Join(stack.RepoRoot(), "crds")}, ErrorIfPathMissing: true,
	}); err != nil {
		t.Fatalf("installing the new CRDs: %v", err)
	}
	waitForNewSchema(t, k8s)
	writesBefore, err := maria.WriteCounters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	metricsPort, err := stack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", metricsPort)
	newLog := &stack.LogBuffer{}
	newOperator, err := stack.StartOperator(newBin, operatorArgs(kube.Kubeconfig, "--resync-period=2s", "--metrics-bind-address="+metricsAddr), nil, newLog)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(newOperator.Stop)
	t.Cleanup(func() {
		if t.Failed() {
			for name, log := range map[string]*stack.LogBuffer{"old": oldLog, "new": newLog} {
				path := filepath.Join(os.TempDir(), "db-concierge-upgrade-"+name+"-operator.log")
				if err := os.WriteFile(path, []byte(log.String()), 0o600); err == nil {
					t.Logf("the %s operator's output is in %s", name, path)
				}
			}
		}
	})
	phase("old operator stopped, new CRDs applied, new operator started")

	for _, tc := range tenants {
		if tc.failReason != "" {
			continue
		}
		key := client.ObjectKeyFromObject(tc.db)
		want := []dbv1.AccountStatus{{Name: tc.db.Spec.EffectiveUserName(), Access: dbv1.AccessReadWrite, SecretName: tc.db.Spec.EffectiveSecretName()}}
		stack.Eventually(t, key.String()+" to list its main account in status.accounts", func() error {
			var db dbv1.AppDatabase
			if err := k8s.Get(ctx, key, &db); err != nil {
				return err
			}
			if !isReady(&db) {
				return fmt.Errorf("not Ready for generation %d: phase %s, observedGeneration %d", db.Generation, db.Status.Phase, db.Status.ObservedGeneration)
			}
			if !slices.Equal(db.Status.Accounts, want) {
				return fmt.Errorf("status.accounts %+v, want %+v", db.Status.Accounts, want)
			}
			return nil
		})
	}
	phase("new operator: every upgraded tenant Ready with status.accounts")

	// One whole sweep of each cluster with every tenant Ready: two completed sweeps from now, as
	// one may have been running already.
	clusters := []string{dbv1.DefaultClusterName, secondCluster}
	enqueuedBefore := map[string]float64{}
	for _, c := range clusters {
		target := scrape(t, metricsAddr, "db_concierge_drift_sweeps_total", map[string]string{"cluster": c, "result": "completed"}) + 2
		enqueuedBefore[c] = scrape(t, metricsAddr, "db_concierge_drift_sweep_enqueued_total", map[string]string{"cluster": c})
		stack.Eventually(t, "two completed sweeps of cluster "+c, func() error {
			if got := scrape(t, metricsAddr, "db_concierge_drift_sweeps_total", map[string]string{"cluster": c, "result": "completed"}); got < target {
				return fmt.Errorf("%v completed sweeps, waiting for %v", got, target)
			}
			return nil
		})
	}
	for _, c := range clusters {
		if got := scrape(t, metricsAddr, "db_concierge_drift_sweep_enqueued_total", map[string]string{"cluster": c}); got != enqueuedBefore[c] {
			t.Errorf("the sweeps of cluster %s sent %v upgraded tenants to a full pass after all were Ready (reasons: %v)", c, got-enqueuedBefore[c], enqueuedReasons(t, metricsAddr, c))
		}
		if checked := scrape(t, metricsAddr, "db_concierge_drift_sweep_checked_total", map[string]string{"cluster": c}); checked == 0 {
			t.Errorf("no sweep of cluster %s checked a tenant", c)
		}
		// Before every tenant was Ready a sweep may have found a status without accounts; what
		// it found in MySQL or in the Secrets would be a difference the upgrade made.
		for reason, n := range enqueuedReasons(t, metricsAddr, c) {
			if reason != "status" {
				t.Errorf("a sweep of cluster %s sent %v upgraded tenants to a full pass for %q", c, n, reason)
			}
		}
	}
	// The failed tenant is judged again by the new operator: once on start, then on every recheck.
	conflicts := map[string]string{"outcome": dbv1.ReasonOwnershipConflict}
	stack.Eventually(t, "the new operator to judge the failed tenant twice", func() error {
		if got := scrape(t, metricsAddr, "db_concierge_appdatabase_reconciles_total", conflicts); got < 2 {
			return fmt.Errorf("%v passes ended in %s", got, dbv1.ReasonOwnershipConflict)
		}
		return nil
	})
	for _, c := range clusters {
		t.Logf("cluster %s: %v sweeps completed, %v tenants checked, sent to a full pass by reason %v", c,
			scrape(t, metricsAddr, "db_concierge_drift_sweeps_total", map[string]string{"cluster": c, "result": "completed"}),
			scrape(t, metricsAddr, "db_concierge_drift_sweep_checked_total", map[string]string{"cluster": c}),
			enqueuedReasons(t, metricsAddr, c))
	}
	phase("new operator: two sweeps of each cluster, the failed tenant rechecked")

	// --- Nothing of the tenants changed. ---
	t.Run("no Secret rewritten", func(t *testing.T) {
		after := managedSecrets(t, k8s)
		if !slices.Equal(slices.Sorted(maps.Keys(after)), slices.Sorted(maps.Keys(secretsBefore))) {
			t.Errorf("managed Secrets %v after the upgrade, %v before", slices.Sorted(maps.Keys(after)), slices.Sorted(maps.Keys(secretsBefore)))
		}
		for key, s := range secretsBefore {
			a, ok := after[key]
			if !ok {
				continue
			}
			if a.ResourceVersion != s.ResourceVersion {
				t.Errorf("Secret %s was rewritten (resourceVersion %s -> %s)", key, s.ResourceVersion, a.ResourceVersion)
			}
			if !maps.EqualFunc(a.Data, s.Data, bytes.Equal) {
				t.Errorf("Secret %s holds other data: keys %v, before %v", key, slices.Sorted(maps.Keys(a.Data)), slices.Sorted(maps.Keys(s.Data)))
			}
		}
	})
	t.Run("status unchanged but for status.accounts", func(t *testing.T) {
		for _, tc := range tenants {
			key := client.ObjectKeyFromObject(tc.db)
			var db dbv1.AppDatabase
			if err := k8s.Get(ctx, key, &db); err != nil {
				t.Fatal(err)
			}
			old, now := recorded[key.String()].status, *db.Status.DeepCopy()
			if !old.LastReconcileTime.Equal(now.LastReconcileTime) {
				// Adding status.accounts is a status change, which the new operator stamps.
				t.Logf("%s: status.lastReconcileTime moved from %v to %v", key, old.LastReconcileTime, now.LastReconcileTime)
			}
			now.Accounts, now.LastReconcileTime, old.LastReconcileTime = nil, nil, nil
			if !equality.Semantic.DeepEqual(old, now) {
				t.Errorf("%s: the status changed beyond status.accounts:\n before %+v\n after  %+v", key, old, now)
			}
		}
	})
	t.Run("no password, grant or account option changed", func(t *testing.T) {
		for _, tc := range tenants {
			if tc.failReason != "" {
				continue
			}
			b := recorded[client.ObjectKeyFromObject(tc.db).String()]
			user := tc.db.Spec.EffectiveUserName()
			if got := accountPriv(t, rootDB, user); got != b.priv {
				t.Errorf("account %s changed in mysql.global_priv:\n before %s\n after  %s", user, redactPriv(b.priv), redactPriv(got))
			}
			if got := grantsOf(t, rootDB, user); !slices.Equal(got, b.grants) {
				t.Errorf("grants of %s changed:\n before %q\n after  %q", user, redactGrants(b.grants), redactGrants(got))
			}
		}
	})
	t.Run("ownership ledger unchanged", func(t *testing.T) {
		if got := ledger(t, rootDB); !slices.Equal(got, ledgerBefore) {
			t.Errorf("the ledger changed:\n before %q\n after  %q", ledgerBefore, got)
		}
	})
	t.Run("nothing written to MySQL but the server's identity", func(t *testing.T) {
		after, err := maria.WriteCounters(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Once per cluster (the test's two both live on this server), in the operator's own
		// schema: the table of the server's identity and its row, an INSERT … WHERE NOT EXISTS
		// that a pool starting at the same moment may run again to no effect.
		migration := map[string]int64{"Com_create_table": 2, "Com_insert_select": 4}
		for name, v := range after {
			if v < writesBefore[name] || v > writesBefore[name]+migration[name] {
				t.Errorf("MySQL counter %s went from %d to %d while the new operator took over", name, writesBefore[name], v)
			}
		}
		var identities int
		if err := rootDB.QueryRow("SELECT COUNT(*) FROM db_concierge.server").Scan(&identities); err != nil || identities != 1 {
			t.Errorf("the server's identity: %d rows (%v), want 1", identities, err)
		}
	})
	t.Run("the failed tenant still failed", func(t *testing.T) {
		for _, tc := range tenants {
			if tc.failReason == "" {
				continue
			}
			var db dbv1.AppDatabase
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(tc.db), &db); err != nil {
				t.Fatal(err)
			}
			cond := meta.FindStatusCondition(db.Status.Conditions, dbv1.ConditionReady)
			if db.Status.Phase != dbv1.PhaseFailed || cond == nil || cond.Reason != tc.failReason {
				t.Errorf("%s/%s: phase %s, condition %+v; want Failed/%s", db.Namespace, db.Name, db.Status.Phase, cond, tc.failReason)
			}
			if old := recorded[client.ObjectKeyFromObject(tc.db).String()].status.Message; db.Status.Message != old {
				t.Logf("%s/%s: the message changed with the upgrade (same reason):\n old %s\n new %s", db.Namespace, db.Name, old, db.Status.Message)
			}
		}
	})
	phase("upgrade checks done")

	// --- The new operator serves the upgraded tenants fully. ---
	t.Run("an extra account on an upgraded tenant", func(t *testing.T) {
		const ro = "upg_plain_ro"
		var current dbv1.AppDatabase
		stack.Eventually(t, "spec.users to be stored on "+plain.Name, func() error {
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(plain), &current); err != nil {
				return err
			}
			if len(current.Spec.Users) == 1 {
				return nil
			}
			patch := client.MergeFrom(current.DeepCopy())
			current.Spec.Users = []dbv1.AppDatabaseUser{{Name: ro, Access: dbv1.AccessReadOnly}}
			if err := k8s.Patch(ctx, &current, patch); err != nil {
				return err
			}
			if len(current.Spec.Users) != 1 {
				return errors.New("the API server dropped spec.users: it still serves the old schema")
			}
			return nil
		})
		got := stack.WaitForAppDatabase(t, k8s, client.ObjectKeyFromObject(plain), dbv1.PhaseReady, dbv1.ReasonProvisioned)
		roSecret := dbv1.DefaultUserSecretName(plain.Spec.EffectiveSecretName(), ro)
		want := []dbv1.AccountStatus{
			{Name: plain.Spec.EffectiveUserName(), Access: dbv1.AccessReadWrite, SecretName: plain.Spec.EffectiveSecretName()},
			{Name: ro, Access: dbv1.AccessReadOnly, SecretName: roSecret},
		}
		if !slices.Equal(got.Status.Accounts, want) {
			t.Errorf("status.accounts %+v, want %+v", got.Status.Accounts, want)
		}
		var s corev1.Secret
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: "shop", Name: roSecret}, &s); err != nil {
			t.Fatalf("the extra account's Secret: %v", err)
		}
		if string(s.Data["username"]) != ro || len(s.Data["password"]) == 0 || string(s.Data["database"]) != plain.Spec.DBName {
			t.Errorf("the extra account's Secret holds username %q, database %q, a password of %d bytes", s.Data["username"], s.Data["database"], len(s.Data["password"]))
		}
		mainKey := "shop/" + plain.Spec.EffectiveSecretName()
		if main := managedSecrets(t, k8s)[mainKey]; main == nil || main.ResourceVersion != secretsBefore[mainKey].ResourceVersion {
			t.Errorf("adding an account rewrote the main Secret %s", mainKey)
		}
		b := recorded[client.ObjectKeyFromObject(plain).String()]
		if got := accountPriv(t, rootDB, plain.Spec.EffectiveUserName()); got != b.priv {
			t.Errorf("adding an account changed the main account: %s -> %s", redactPriv(b.priv), redactPriv(got))
		}
		if got := grantsOf(t, rootDB, plain.Spec.EffectiveUserName()); !slices.Equal(got, b.grants) {
			t.Errorf("adding an account changed the main account's grants: %q -> %q", redactGrants(b.grants), redactGrants(got))
		}
		checkReadOnly(t, maria, ro, string(s.Data["password"]), plain.Spec.DBName)
	})

	t.Run("a Delete-policy tenant deleted cleanly", func(t *testing.T) {
		if err := k8s.Delete(ctx, doomed); err != nil {
			t.Fatal(err)
		}
		stack.Eventually(t, "the deletion of "+doomed.Name, func() error {
			err := k8s.Get(ctx, client.ObjectKeyFromObject(doomed), &dbv1.AppDatabase{})
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("still there: %v", err) //nolint:errorlint // nil while it exists: %v prints that, %w would not
		})
		var n int
		if err := rootDB.QueryRow("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", doomed.Spec.DBName).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("database %s survived the deletion", doomed.Spec.DBName)
		}
		if err := rootDB.QueryRow("SELECT COUNT(*) FROM mysql.user WHERE User = ?", doomed.Spec.EffectiveUserName()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("user %s survived the deletion", doomed.Spec.EffectiveUserName())
		}
		key := "shop/" + doomed.Spec.EffectiveSecretName()
		if s := managedSecrets(t, k8s)[key]; s == nil || s.ResourceVersion != secretsBefore[key].ResourceVersion {
			t.Errorf("the deleted tenant's Secret %s is gone or was rewritten; it is kept", key)
		}
	})

	t.Run("ledger changed only as asked", func(t *testing.T) {
		var want []string
		for _, row := range ledgerBefore {
			if !strings.Contains(row, "|"+string(doomed.UID)+"|") {
				want = append(want, row)
			}
		}
		got := ledger(t, rootDB)
		var added []string
		for _, row := range got {
			if !slices.Contains(want, row) {
				added = append(added, row)
			}
		}
		for _, row := range want {
			if !slices.Contains(got, row) {
				t.Errorf("ledger row %q is gone", row)
			}
		}
		wantAdded := "user|upg_plain_ro|" + string(plain.UID) + "|shop|plain|committed|"
		if len(added) != 1 || !strings.HasPrefix(added[0], wantAdded) {
			t.Errorf("rows added to the ledger: %q, want one starting %q", added, wantAdded)
		}
	})

	newOperator.Stop()
	oldOperator.Stop()
	t.Run("no password in the operators' output", func(t *testing.T) {
		secrets := map[string]string{"the admin password": adminPassword}
		for key, s := range managedSecrets(t, k8s) {
			secrets["the password of Secret "+key] = string(s.Data["password"])
		}
		rows, err := rootDB.Query("SELECT User, JSON_VALUE(Priv, '$.authentication_string') FROM mysql.global_priv WHERE User LIKE 'upg\\_%'")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var user string
			var hash sql.NullString
			if err := rows.Scan(&user, &hash); err != nil {
				t.Fatal(err)
			}
			if hash.String != "" {
				secrets["the password hash of "+user] = hash.String
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		for name, log := range map[string]string{"old": oldLog.String(), "new": newLog.String()} {
			for what, secret := range secrets {
				if secret != "" && strings.Contains(log, secret) {
					t.Errorf("the %s operator's output contains %s", name, what)
				}
			}
		}
	})
	phase("done")
}

// setUpPlatform creates the operator's admin account on maria, the platform namespace with the
// seed's admin Secret for it (the default cluster), and the tenants' namespaces; it returns the
// admin password.
func setUpPlatform(t *testing.T, k8s client.Client, maria *stack.MariaDB, namespaces ...string) string {
	t.Helper()
	ctx := context.Background()
	password := randomHex()
	if err := maria.CreateAdmin(ctx, adminUser, password); err != nil {
		t.Fatal(err)
	}
	objects := []client.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: platformNS}}}
	for _, ns := range namespaces {
		objects = append(objects, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}
	objects = append(objects, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: platformNS, Name: cluster.LegacySecretName},
		StringData: map[string]string{
			cluster.KeyAdminHost: "127.0.0.1", cluster.KeyAdminPort: fmt.Sprint(maria.Port),
			cluster.KeyAdminUser: adminUser, cluster.KeyAdminPassword: password,
		}})
	for _, obj := range objects {
		if err := k8s.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	return password
}

// operatorArgs are the flags of both operators: short waits, debug logging (so the password
// check covers every verbosity), and only flags the old operator knows too.
func operatorArgs(kubeconfig string, extra ...string) []string {
	return append([]string{
		"--kubeconfig=" + kubeconfig,
		"--platform-namespace=" + platformNS,
		"--health-probe-bind-address=0",
		"--max-backoff=2s",
		"--cluster-check-interval=2s",
		"--conflict-recheck-period=2s",
		"--zap-log-level=debug",
	}, extra...)
}

// repoRoot is the root of the git checkout the test runs in.
func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Fatalf("finding the repository root with git from %s: %v", mustGetwd(t), err)
	}
	return strings.TrimSpace(string(out))
}

// isShallow reports whether the checkout at root is a shallow clone.
func isShallow(root string) bool {
	cmd := exec.Command("git", "rev-parse", "--is-shallow-repository")
	cmd.Dir = root
	out, err := cmd.Output()
	return err == nil && strings.TrimSpace(string(out)) == "true"
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

// extractTree writes a commit's tree into a temporary directory and returns it. A clone that
// lacks the commit (a shallow one, as CI makes by default) fails the test with how to get it.
func extractTree(t *testing.T, commit string) string {
	t.Helper()
	root := repoRoot(t)
	check := exec.Command("git", "cat-file", "-e", commit+"^{commit}")
	check.Dir = root
	if out, err := check.CombinedOutput(); err != nil {
		msg := fmt.Sprintf("commit %s (the version this test upgrades from) is not in the repository at %s: %v %s\n"+
			"A shallow clone lacks it: run `git fetch --unshallow` (or check out with fetch-depth: 0 in CI).",
			commit, root, err, bytes.TrimSpace(out))
		if isShallow(root) {
			// A shallow checkout cannot hold the earlier operator; a full one must.
			t.Skip("UPGRADE NOT TESTED: " + msg)
		}
		t.Fatal(msg)
	}
	dir := t.TempDir()
	archive := exec.Command("git", "archive", commit)
	archive.Dir = root
	untar := exec.Command("tar", "-x", "-C", dir)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	untar.Stdin = pipe
	var archiveErr, untarErr bytes.Buffer
	archive.Stderr, untar.Stderr = &archiveErr, &untarErr
	if err := untar.Start(); err != nil {
		t.Fatal(err)
	}
	if err := archive.Run(); err != nil {
		_ = untar.Wait()
		t.Fatalf("git archive %s: %v\n%s", commit, err, archiveErr.Bytes())
	}
	if err := untar.Wait(); err != nil {
		t.Fatalf("extracting %s: %v\n%s", commit, err, untarErr.Bytes())
	}
	return dir
}

// buildOldOperator builds the operator of the tree at src into dir, through the module cache (the
// two commits have the same go.mod).
func buildOldOperator(src, dir string) (string, error) {
	return buildIn(src, filepath.Join(dir, "db-concierge-operator-"+oldCommit), "./cmd/operator")
}

// buildIn builds package pkg of the tree at src into bin, with extra go build flags.
func buildIn(src, bin, pkg string, flags ...string) (string, error) {
	cmd := exec.Command("go", append(append([]string{"build", "-o", bin}, flags...), pkg)...)
	cmd.Dir = src
	// An extracted tree is its own module; no workspace of the checkout applies to it.
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s in %s: %w\n%s", pkg, src, err, out)
	}
	return bin, nil
}

// withCRDsFrom starts the API server with the CRDs of another tree.
func withCRDsFrom(dir string) stack.KubeOption {
	return func(e *envtest.Environment) { e.CRDDirectoryPaths = []string{dir} }
}

// waitForNewSchema waits until the API server keeps spec.users, which only the new CRD has: a
// field the served schema does not know is dropped without an error.
func waitForNewSchema(t *testing.T, k8s client.Client) {
	t.Helper()
	stack.Eventually(t, "the API server to serve the new AppDatabase schema", func() error {
		probe := &dbv1.AppDatabase{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "schema-probe"},
			Spec: dbv1.AppDatabaseSpec{ClusterRef: dbv1.DefaultClusterName, DBName: "schema_probe",
				Users: []dbv1.AppDatabaseUser{{Name: "schema_probe_ro", Access: dbv1.AccessReadOnly}}},
		}
		if err := k8s.Create(context.Background(), probe, client.DryRunAll); err != nil {
			return err
		}
		if len(probe.Spec.Users) != 1 {
			return errors.New("spec.users was dropped")
		}
		return nil
	})
}

// managedSecrets returns every Secret the operator manages, by namespace/name.
func managedSecrets(t *testing.T, k8s client.Client) map[string]*corev1.Secret {
	t.Helper()
	var list corev1.SecretList
	if err := k8s.List(context.Background(), &list, client.MatchingLabels{dbv1.LabelManagedBy: dbv1.ManagedByValue}); err != nil {
		t.Fatal(err)
	}
	secrets := map[string]*corev1.Secret{}
	for i := range list.Items {
		s := &list.Items[i]
		secrets[s.Namespace+"/"+s.Name] = s
	}
	return secrets
}

func doomedFinalizers(t *testing.T, k8s client.Client, db *dbv1.AppDatabase) []string {
	t.Helper()
	var current dbv1.AppDatabase
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(db), &current); err != nil {
		t.Fatal(err)
	}
	return current.Finalizers
}

// isReady reports whether the status says Ready for the object's current generation.
func isReady(db *dbv1.AppDatabase) bool {
	c := meta.FindStatusCondition(db.Status.Conditions, dbv1.ConditionReady)
	return db.Status.Phase == dbv1.PhaseReady && c != nil && c.Status == metav1.ConditionTrue &&
		c.Reason == dbv1.ReasonProvisioned && c.ObservedGeneration == db.Generation && db.Status.ObservedGeneration == db.Generation
}

// accountPriv reads an account's row of mysql.global_priv: its password hash, TLS requirement,
// limits and when its password was last set.
func accountPriv(t *testing.T, root *sql.DB, user string) string {
	t.Helper()
	var priv string
	if err := root.QueryRow("SELECT Priv FROM mysql.global_priv WHERE User = ? AND Host = '%'", user).Scan(&priv); err != nil {
		t.Fatalf("reading account %s: %v", user, err)
	}
	return priv
}

// grantsOf lists what SHOW GRANTS prints for user@'%' (password hash included).
func grantsOf(t *testing.T, root *sql.DB, user string) []string {
	t.Helper()
	grants, err := stack.Strings(context.Background(), root, "SHOW GRANTS FOR `"+user+"`@'%'")
	if err != nil {
		t.Fatalf("SHOW GRANTS for %s: %v", user, err)
	}
	return grants
}

// ledger returns the ownership records, one "kind|name|uid|namespace|name|state|created_at" each,
// in order.
func ledger(t *testing.T, root *sql.DB) []string {
	t.Helper()
	rows, err := root.Query(`SELECT kind, name, owner_uid, owner_namespace, owner_name, state, CAST(created_at AS CHAR)
		FROM db_concierge.ownership ORDER BY kind, name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		f := make([]string, 7)
		if err := rows.Scan(&f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6]); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.Join(f, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// redactPriv blanks the password hash of a global_priv row, for messages.
func redactPriv(priv string) string {
	if i := strings.Index(priv, `"authentication_string":"`); i >= 0 {
		start := i + len(`"authentication_string":"`)
		if end := strings.IndexByte(priv[start:], '"'); end >= 0 {
			return priv[:start] + "<hash>" + priv[start+end:]
		}
	}
	return priv
}

// redactGrants blanks the password hash SHOW GRANTS prints, for messages.
func redactGrants(grants []string) []string {
	out := make([]string, len(grants))
	for i, g := range grants {
		if before, _, found := strings.Cut(g, "IDENTIFIED BY PASSWORD"); found {
			g = before + "IDENTIFIED BY PASSWORD <hash>"
		}
		out[i] = g
	}
	return out
}

// checkReadOnly logs in as a ReadOnly account and checks it reads its database and may not write.
func checkReadOnly(t *testing.T, maria *stack.MariaDB, user, password, database string) {
	t.Helper()
	pool, err := maria.Connect(user, password, database)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var tables int
	if err := pool.QueryRow("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", database).Scan(&tables); err != nil {
		t.Fatalf("logging in and reading as %s: %v", user, err)
	}
	_, err = pool.Exec("CREATE TABLE ro_made (id INT PRIMARY KEY)")
	var my *gomysql.MySQLError
	if !errors.As(err, &my) || my.Number != 1142 {
		t.Errorf("CREATE TABLE as the ReadOnly account %s: %v, want error 1142", user, err)
	}
}

// scrape reads the operator's /metrics and sums the samples of name that carry labels.
func scrape(t *testing.T, addr, name string, labels map[string]string) float64 {
	t.Helper()
	var total float64
	for _, m := range samples(t, addr, name) {
		if matches(m, labels) {
			total += m.value
		}
	}
	return total
}

// enqueuedReasons sums the sweep's enqueued tenants of a cluster by reason.
func enqueuedReasons(t *testing.T, addr, clusterName string) map[string]float64 {
	t.Helper()
	reasons := map[string]float64{}
	for _, m := range samples(t, addr, "db_concierge_drift_sweep_enqueued_total") {
		if matches(m, map[string]string{"cluster": clusterName}) && m.value > 0 {
			reasons[m.labels["reason"]] += m.value
		}
	}
	return reasons
}

type sample struct {
	labels map[string]string
	value  float64
}

func matches(s sample, labels map[string]string) bool {
	for k, v := range labels {
		if s.labels[k] != v {
			return false
		}
	}
	return true
}

func samples(t *testing.T, addr, name string) []sample {
	t.Helper()
	var body string
	stack.Eventually(t, "the operator's metrics", func() error {
		var err error
		body, err = stack.HTTPGet("http://" + addr + "/metrics")
		return err
	})
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	family, ok := families[name]
	if !ok {
		return nil
	}
	var out []sample
	for _, m := range family.Metric {
		s := sample{labels: map[string]string{}}
		for _, l := range m.Label {
			s.labels[l.GetName()] = l.GetValue()
		}
		switch {
		case m.Counter != nil:
			s.value = m.Counter.GetValue()
		case m.Gauge != nil:
			s.value = m.Gauge.GetValue()
		}
		out = append(out, s)
	}
	return out
}

func randomHex() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
