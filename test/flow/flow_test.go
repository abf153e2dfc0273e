//go:build integration

package flow

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/controller"
	"github.com/stillwaters/db-concierge/internal/credentials"
	"github.com/stillwaters/db-concierge/internal/tenant"
	"github.com/stillwaters/db-concierge/internal/tenant/tenanttest"
)

// Case 1: a new tenant becomes Ready in one pass, and a second pass changes nothing.
func TestNewTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.create("happy", dbv1.AppDatabaseSpec{DBName: "happy"})

	if res := e.reconcileOK("happy"); res != (reconcile.Result{}) {
		t.Errorf("a Ready pass returned %+v, want no requeue (the drift sweep requeues Ready tenants)", res)
	}
	db := e.get("happy")
	e.expectReady(db)
	wantAccounts := []dbv1.AccountStatus{{Name: "happy_app", Access: dbv1.AccessReadWrite, SecretName: dbv1.DefaultSecretName("happy")}}
	if !slices.Equal(db.Status.Accounts, wantAccounts) {
		t.Errorf("status.accounts %+v, want %+v", db.Status.Accounts, wantAccounts)
	}
	if db.Status.UserName != "happy_app" || db.Status.SecretName != "happy-mysql-creds" || db.Status.AppNamespace != e.ns {
		t.Errorf("status names %q %q %q", db.Status.UserName, db.Status.SecretName, db.Status.AppNamespace)
	}
	if len(db.Finalizers) != 0 {
		t.Errorf("a Retain tenant has finalizers %v", db.Finalizers)
	}
	e.expectCalls("Validate", "Claim", "Provision")
	e.expectLedger(owned(db, "happy_app"))
	secret := e.secret("happy-mysql-creds")
	if string(secret.Data[credentials.KeyHost]) != appHost || string(secret.Data[credentials.KeyPort]) != "3306" {
		t.Errorf("Secret host/port %q:%q, want the MySQLCluster's application endpoint", secret.Data[credentials.KeyHost], secret.Data[credentials.KeyPort])
	}
	if ev := e.events.take(); !slices.Equal(reasons(ev), []string{dbv1.ReasonProvisioned}) || ev[0].Type != corev1.EventTypeNormal {
		t.Errorf("events %+v, want one Normal Provisioned", ev)
	}
	account, _ := e.engine.Account("happy_app")

	// The second pass finds everything as it should be.
	if res := e.reconcileOK("happy"); res != (reconcile.Result{}) {
		t.Errorf("second pass returned %+v", res)
	}
	again := e.get("happy")
	if again.ResourceVersion != db.ResourceVersion {
		t.Errorf("the second pass rewrote the AppDatabase (resourceVersion %s -> %s)", db.ResourceVersion, again.ResourceVersion)
	}
	if s := e.secret("happy-mysql-creds"); s.ResourceVersion != secret.ResourceVersion {
		t.Errorf("the second pass rewrote the Secret (resourceVersion %s -> %s)", secret.ResourceVersion, s.ResourceVersion)
	}
	if a, _ := e.engine.Account("happy_app"); a != account {
		t.Errorf("the second pass changed the account: %+v -> %+v", account, a)
	}
	e.expectCalls("Validate", "Claim", "Provision")
	e.expectLedger(owned(db, "happy_app"))
	if ev := e.events.take(); len(ev) != 0 {
		t.Errorf("the second pass recorded events %+v", ev)
	}
}

// Case 2: a Secret of the wanted name that DB Concierge did not make stops a new tenant; its claim
// is taken back and the Secret is left alone.
func TestSecretConflictOnNewTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	foreign := e.foreignSecret("conf-mysql-creds")
	e.create("conf", dbv1.AppDatabaseSpec{DBName: "conf"})

	res, err := e.reconcile("conf")
	if err != nil || res.RequeueAfter != conflictRecheckPeriod {
		t.Errorf("Reconcile returned %+v, %v; want a recheck after %s", res, err, conflictRecheckPeriod)
	}
	db := e.get("conf")
	e.expectFailed(db, dbv1.ReasonSecretConflict, "Secret "+e.ns+"/conf-mysql-creds", "was not created by DB Concierge")
	// The cache does not show the foreign Secret: the claim is made, creating the Secret finds it,
	// and the claim is taken back.
	e.expectCalls("Validate", "Claim", "Unclaim")
	e.expectLedger()
	if e.engine.Database("conf") {
		t.Error("the engine has the database")
	}
	if _, ok := e.engine.Account("conf_app"); ok {
		t.Error("the engine has the account")
	}
	if s := e.secret("conf-mysql-creds"); s.ResourceVersion != foreign.ResourceVersion || string(s.Data["password"]) != "theirs" {
		t.Errorf("the foreign Secret was changed: %+v", s)
	}

	// A failed tenant looks past the cache before claiming: the Secret is still there, nothing is
	// claimed, and the status is not rewritten.
	if _, err := e.reconcile("conf"); err != nil {
		t.Fatal(err)
	}
	e.expectCalls("Validate")
	if again := e.get("conf"); again.ResourceVersion != db.ResourceVersion {
		t.Errorf("the status was rewritten with the same failure")
	}

	// Once the Secret is gone, the tenant is provisioned.
	e.deleteSecret("conf-mysql-creds")
	e.reconcileOK("conf")
	db = e.get("conf")
	e.expectReady(db)
	e.expectLedger(owned(db, "conf_app"))
}

// Case 3: an outage while a Ready tenant drifted leaves its status alone; the repair happens once
// the cluster answers.
func TestOutageWhileRepairingReadyTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	db := e.ready("out", dbv1.AppDatabaseSpec{DBName: "out"})
	e.events.take()
	e.engine.ResetCalls()
	password := string(e.secret("out-mysql-creds").Data[credentials.KeyPassword])

	e.engine.SetDown(true)
	e.engine.DropAccount("out_app")
	res, err := e.reconcile("out")
	if err != nil {
		t.Fatalf("a Ready tenant's pass cut short by an outage returned %v, want a quiet retry", err)
	}
	if res.RequeueAfter < resyncPeriod*8/10 || res.RequeueAfter > resyncPeriod*12/10 {
		t.Errorf("RequeueAfter %s, want the resync period %s ±20%%", res.RequeueAfter, resyncPeriod)
	}
	if again := e.get("out"); again.ResourceVersion != db.ResourceVersion {
		t.Errorf("the status was rewritten during the outage: phase %q: %s", again.Status.Phase, again.Status.Message)
	}
	e.expectCalls("Validate", "Claim")
	if ev := e.events.take(); len(ev) != 0 {
		t.Errorf("events during the outage: %+v", ev)
	}

	e.engine.SetDown(false)
	e.reconcileOK("out")
	db = e.get("out")
	e.expectReady(db)
	if a, ok := e.engine.Account("out_app"); !ok || a.Password != password {
		t.Errorf("the account was not recreated with the Secret's password: %+v %v", a, ok)
	}
	e.expectCalls("Validate", "Claim", "Provision")
	e.expectLedger(owned(db, "out_app"))
	ev := e.events.take()
	if !slices.Equal(reasons(ev), []string{controller.ReasonDriftRepaired}) || !strings.Contains(ev[0].Note, `created user "out_app"`) {
		t.Errorf("events %+v, want one DriftRepaired naming the recreated user", ev)
	}
}

// Case 4: a pass that stops between the claim, the Secrets and the provisioning leaves a state the
// next pass converges from: Ready, the Secrets' passwords the engine's, and nothing extra recorded.
func TestCrashBetweenSteps(t *testing.T) {
	t.Parallel()
	crash := errors.New("tenanttest: the connection was lost")
	once := func(e *env, at string) {
		e.engine.SetStepHook(func(step string) error {
			if step != at {
				return nil
			}
			e.engine.SetStepHook(nil)
			return crash
		})
	}
	ro := dbv1.AppDatabaseUser{Name: "crash_ro", Access: dbv1.AccessReadOnly}
	roSecret := dbv1.DefaultUserSecretName("crash-mysql-creds", "crash_ro")
	pending := func(db *dbv1.AppDatabase, accounts ...string) []tenanttest.Record {
		records := owned(db, accounts...)
		for i := range records {
			records[i].Committed = false
		}
		return records
	}

	cases := []struct {
		name  string
		users []dbv1.AppDatabaseUser
		// arm sets up the failure of the first pass.
		arm        func(e *env)
		wantReason string
		wantCalls  []string
		// after checks what the failed pass left behind.
		after func(e *env, db *dbv1.AppDatabase)
		// heal removes the cause, when it outlasts the pass.
		heal func(e *env)
	}{{
		name:       "claim fails",
		arm:        func(e *env) { e.engine.FailNext("Claim", crash) },
		wantReason: dbv1.ReasonProvisioningError,
		wantCalls:  []string{"Validate", "Claim"},
		after: func(e *env, _ *dbv1.AppDatabase) {
			if e.secret("crash-mysql-creds") != nil {
				t.Error("a Secret was created though the claim failed")
			}
			e.expectLedger()
		},
	}, {
		name:       "provision fails before its first step",
		arm:        func(e *env) { e.engine.FailNext("Provision", crash) },
		wantReason: dbv1.ReasonProvisioningError,
		wantCalls:  []string{"Validate", "Claim", "Provision"},
		after: func(e *env, db *dbv1.AppDatabase) {
			if e.secret("crash-mysql-creds") == nil {
				t.Error("the Secret was not written before MySQL was told")
			}
			if e.engine.Database("crash") {
				t.Error("the database exists")
			}
			e.expectLedger(pending(db, "crash_app"))
		},
	}, {
		name:       "provision stops after the database",
		arm:        func(e *env) { once(e, "database") },
		wantReason: dbv1.ReasonProvisioningError,
		wantCalls:  []string{"Validate", "Claim", "Provision"},
		after: func(e *env, db *dbv1.AppDatabase) {
			if !e.engine.Database("crash") {
				t.Error("the database does not exist")
			}
			if _, ok := e.engine.Account("crash_app"); ok {
				t.Error("the account exists")
			}
			e.expectLedger(pending(db, "crash_app"))
		},
	}, {
		name:       "provision stops after the main account",
		users:      []dbv1.AppDatabaseUser{ro},
		arm:        func(e *env) { once(e, "account:crash_app") },
		wantReason: dbv1.ReasonProvisioningError,
		wantCalls:  []string{"Validate", "Claim", "Provision"},
		after: func(e *env, db *dbv1.AppDatabase) {
			if _, ok := e.engine.Account("crash_app"); !ok {
				t.Error("the main account does not exist")
			}
			if _, ok := e.engine.Account("crash_ro"); ok {
				t.Error("the extra account exists")
			}
			if e.secret(roSecret) == nil {
				t.Error("the extra account's Secret was not written before MySQL was told")
			}
			e.expectLedger(pending(db, "crash_app", "crash_ro"))
		},
	}, {
		name:       "provision stops after the last account, before committing",
		users:      []dbv1.AppDatabaseUser{ro},
		arm:        func(e *env) { once(e, "account:crash_ro") },
		wantReason: dbv1.ReasonProvisioningError,
		wantCalls:  []string{"Validate", "Claim", "Provision"},
		after: func(e *env, db *dbv1.AppDatabase) {
			e.expectLedger(pending(db, "crash_app", "crash_ro"))
		},
	}, {
		name:       "provision fails after committing",
		users:      []dbv1.AppDatabaseUser{ro},
		arm:        func(e *env) { once(e, "commit") },
		wantReason: dbv1.ReasonProvisioningError,
		wantCalls:  []string{"Validate", "Claim", "Provision"},
		after: func(e *env, db *dbv1.AppDatabase) {
			e.expectLedger(owned(db, "crash_app", "crash_ro"))
		},
	}, {
		name:       "the second account's Secret is in the way",
		users:      []dbv1.AppDatabaseUser{ro},
		arm:        func(e *env) { e.foreignSecret(roSecret) },
		wantReason: dbv1.ReasonSecretConflict,
		// Two Secrets are to be created: both names are looked up before either is, so the
		// refusal comes before the claim and leaves no Secret behind.
		wantCalls: []string{"Validate"},
		after: func(e *env, db *dbv1.AppDatabase) {
			e.expectFailed(db, dbv1.ReasonSecretConflict, "Secret "+e.ns+"/"+roSecret)
			if s := e.secret("crash-mysql-creds"); s != nil {
				t.Error("the main Secret was created for a refused request")
			}
			if s := e.secret(roSecret); s == nil || string(s.Data["password"]) != "theirs" || s.Labels[dbv1.LabelManagedBy] != "" {
				t.Errorf("the foreign Secret was changed: %+v", s)
			}
			if e.engine.Database("crash") {
				t.Error("the database was created")
			}
			e.expectLedger()
		},
		heal: func(e *env) { e.deleteSecret(roSecret) },
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{})
			tc.arm(e)
			e.create("crash", dbv1.AppDatabaseSpec{DBName: "crash", Users: tc.users})

			_, err := e.reconcile("crash")
			if dbv1.IsTerminalReason(tc.wantReason) != (err == nil) {
				t.Errorf("Reconcile returned %v; a %s failure is retried by an error only when it is not terminal", err, tc.wantReason)
			}
			db := e.get("crash")
			e.expectFailed(db, tc.wantReason)
			e.expectCalls(tc.wantCalls...)
			tc.after(e, db)
			passwords := map[string]string{}
			for _, name := range []string{"crash-mysql-creds", roSecret} {
				if s := e.secret(name); s != nil && s.Labels[dbv1.LabelManagedBy] == dbv1.ManagedByValue {
					passwords[name] = string(s.Data[credentials.KeyPassword])
				}
			}
			if tc.heal != nil {
				tc.heal(e)
			}

			e.reconcileOK("crash")
			db = e.get("crash")
			e.expectReady(db)
			if len(db.Status.Accounts) != 1+len(tc.users) {
				t.Errorf("status.accounts %+v", db.Status.Accounts)
			}
			e.expectCalls("Validate", "Claim", "Provision")
			accounts := []string{"crash_app"}
			for _, u := range tc.users {
				accounts = append(accounts, u.Name)
			}
			e.expectLedger(owned(db, accounts...))
			// The Secret is the source of truth: what the failed pass wrote is what MySQL got.
			for name, pw := range passwords {
				if s := e.secret(name); string(s.Data[credentials.KeyPassword]) != pw {
					t.Errorf("Secret %s: the password written by the failed pass was replaced", name)
				}
			}
		})
	}
}

// Case 5: a status write the API server refuses is returned as an error, not recorded as the
// tenant's state; the next pass gets Ready.
func TestStatusWriteRefused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// slow makes the first pass outlast the progress delay, so that it writes Creating first.
		slow bool
		// failOn are the status writes of the first pass made to conflict, counted from 1.
		failOn map[int]bool
		// foreign puts a Secret DB Concierge did not make in the way.
		foreign bool
		// wantPhase is the phase the API server holds after the refused pass.
		wantPhase dbv1.Phase
	}{
		{name: "the Ready write", failOn: map[int]bool{1: true}, wantPhase: ""},
		{name: "the write of a terminal failure", failOn: map[int]bool{1: true}, foreign: true, wantPhase: ""},
		{name: "the Creating write of a slow pass", slow: true, failOn: map[int]bool{1: true}, wantPhase: ""},
		{name: "the Ready write of a slow pass", slow: true, failOn: map[int]bool{2: true}, wantPhase: dbv1.PhaseCreating},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stale := &staleStatus{failOn: tc.failOn}
			opts := envOptions{wrap: func(c client.Client) client.Client {
				stale.Client = c
				return stale
			}}
			if tc.slow {
				opts.progressDelay = 10 * time.Millisecond
			}
			e := newEnv(t, opts)
			if tc.slow {
				// The pass waits, once its database exists, until the Creating write was made.
				e.engine.SetStepHook(func(step string) error {
					if step == "database" {
						e.waitFor("the Creating write", func() bool { return stale.count() >= 1 })
					}
					return nil
				})
			}
			if tc.foreign {
				e.foreignSecret("sw-mysql-creds")
			}
			e.create("sw", dbv1.AppDatabaseSpec{DBName: "sw"})

			_, err := e.reconcile("sw")
			if !apierrors.IsConflict(err) {
				t.Fatalf("Reconcile returned %v, want the API server's conflict", err)
			}
			if stale.failed != len(tc.failOn) {
				t.Fatalf("%d status writes were made stale, want %d", stale.failed, len(tc.failOn))
			}
			db := e.get("sw")
			if db.Status.Phase != tc.wantPhase || strings.Contains(db.Status.Message, "writing status") {
				t.Errorf("after a refused status write the API server holds phase %q: %q; want phase %q and no word of the refusal",
					db.Status.Phase, db.Status.Message, tc.wantPhase)
			}

			if tc.foreign {
				_, err := e.reconcile("sw")
				if err != nil {
					t.Fatal(err)
				}
				e.expectFailed(e.get("sw"), dbv1.ReasonSecretConflict, "Secret "+e.ns+"/sw-mysql-creds")
				e.expectLedger()
				return
			}
			e.engine.SetStepHook(nil)
			var before *tenanttest.AccountState
			if a, ok := e.engine.Account("sw_app"); ok {
				before = &a
			}
			e.engine.ResetCalls()
			e.reconcileOK("sw")
			db = e.get("sw")
			e.expectReady(db)
			e.expectCalls("Validate", "Claim", "Provision")
			e.expectLedger(owned(db, "sw_app"))
			if a, _ := e.engine.Account("sw_app"); before != nil && a != *before {
				t.Errorf("the pass after the refused write changed the account: %+v -> %+v", *before, a)
			}
		})
	}
}

// Case 6: deleting an AppDatabase under each deletion policy.
func TestDeletion(t *testing.T) {
	t.Parallel()
	ro := dbv1.AppDatabaseUser{Name: "del_ro", Access: dbv1.AccessReadOnly}
	roSecret := dbv1.DefaultUserSecretName("del-mysql-creds", "del_ro")
	cases := []struct {
		name   string
		policy dbv1.DeletionPolicy
		// down makes the engine unreachable for the first pass after the delete.
		down bool
	}{
		{name: "Retain", policy: dbv1.DeletionPolicyRetain},
		{name: "Delete", policy: dbv1.DeletionPolicyDelete},
		{name: "Delete while the cluster is down", policy: dbv1.DeletionPolicyDelete, down: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{})
			db := e.ready("del", dbv1.AppDatabaseSpec{DBName: "del", DeletionPolicy: tc.policy, Users: []dbv1.AppDatabaseUser{ro}})
			deleting := tc.policy == dbv1.DeletionPolicyDelete
			if has := controllerutil.ContainsFinalizer(db, dbv1.Finalizer); has != deleting {
				t.Fatalf("finalizer %s present: %v, want %v", dbv1.Finalizer, has, deleting)
			}
			secrets := map[string]string{}
			for _, name := range []string{"del-mysql-creds", roSecret} {
				secrets[name] = e.secret(name).ResourceVersion
			}
			e.events.take()
			e.engine.ResetCalls()

			must(t, k8s.Delete(e.ctx, db))
			if e.gone("del") == deleting {
				t.Fatalf("after the delete, gone: %v; want the finalizer to hold it exactly under Delete", !deleting)
			}
			if tc.down {
				e.engine.SetDown(true)
				if _, err := e.reconcile("del"); err == nil {
					t.Error("a drop that could not reach the cluster returned no error")
				}
				held := e.get("del")
				e.expectFailed(held, dbv1.ReasonDeleting, dbv1.ReasonClusterUnreachable, dbv1.Finalizer)
				if !controllerutil.ContainsFinalizer(held, dbv1.Finalizer) {
					t.Error("the finalizer was removed though nothing was dropped")
				}
				if !e.engine.Database("del") {
					t.Error("the database is gone")
				}
				e.expectCalls("DropOwned")
				e.engine.SetDown(false)
			}

			if res := e.reconcileOK("del"); res != (reconcile.Result{}) {
				t.Errorf("Reconcile returned %+v", res)
			}
			if !e.gone("del") {
				t.Fatalf("the AppDatabase is still there: %+v", e.get("del").ObjectMeta)
			}
			if deleting {
				e.expectCalls("DropOwned")
				if e.engine.Database("del") {
					t.Error("the database was not dropped")
				}
				for _, a := range []string{"del_app", "del_ro"} {
					if _, ok := e.engine.Account(a); ok {
						t.Errorf("account %s was not dropped", a)
					}
				}
				e.expectLedger()
				ev := e.events.take()
				if n := len(ev); n == 0 || ev[n-1].Reason != dbv1.ReasonDeleting || !strings.Contains(ev[n-1].Note, "Dropped") {
					t.Errorf("events %+v, want a last one saying what was dropped", ev)
				}
			} else {
				e.expectCalls()
				e.expectLedger(owned(db, "del_app", "del_ro"))
				e.expectAccountSecret(db, "del_app", "del-mysql-creds", tenant.ReadWrite)
				e.expectAccountSecret(db, "del_ro", roSecret, tenant.ReadOnly)
			}
			for name, rv := range secrets {
				if s := e.secret(name); s == nil || s.ResourceVersion != rv {
					t.Errorf("Secret %s was not kept as it was", name)
				}
			}
		})
	}
}

// Case 7: extra accounts, spec.users.
func TestExtraAccounts(t *testing.T) {
	t.Parallel()
	t.Run("added, removed and changed", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOptions{})
		db := e.ready("ex", dbv1.AppDatabaseSpec{DBName: "ex", Users: []dbv1.AppDatabaseUser{
			{Name: "ex_ro", Access: dbv1.AccessReadOnly},
			{Name: "ex_dw", Access: dbv1.AccessDataOnly},
		}})
		roSecret := dbv1.DefaultUserSecretName("ex-mysql-creds", "ex_ro")
		dwSecret := dbv1.DefaultUserSecretName("ex-mysql-creds", "ex_dw")
		want := []dbv1.AccountStatus{
			{Name: "ex_app", Access: dbv1.AccessReadWrite, SecretName: dbv1.DefaultSecretName("ex")},
			{Name: "ex_ro", Access: dbv1.AccessReadOnly, SecretName: roSecret},
			{Name: "ex_dw", Access: dbv1.AccessDataOnly, SecretName: dwSecret},
		}
		if !slices.Equal(db.Status.Accounts, want) {
			t.Errorf("status.accounts %+v, want %+v", db.Status.Accounts, want)
		}
		e.expectLedger(owned(db, "ex_app", "ex_dw", "ex_ro"))
		passwords := map[string]string{}
		for _, a := range []string{"ex_app", "ex_ro", "ex_dw"} {
			s, _ := e.engine.Account(a)
			passwords[a] = s.Password
		}
		if passwords["ex_app"] == passwords["ex_ro"] || passwords["ex_ro"] == passwords["ex_dw"] {
			t.Error("two accounts share a password")
		}
		dw := e.secret(dwSecret)

		// Removing an account drops it and its record, and keeps its Secret.
		e.update("ex", func(db *dbv1.AppDatabase) { db.Spec.Users = db.Spec.Users[:1] })
		e.reconcileOK("ex")
		db = e.get("ex")
		e.expectReady(db)
		if _, ok := e.engine.Account("ex_dw"); ok {
			t.Error("the removed account still exists")
		}
		e.expectLedger(owned(db, "ex_app", "ex_ro"))
		if s := e.secret(dwSecret); s == nil || s.ResourceVersion != dw.ResourceVersion {
			t.Errorf("the removed account's Secret was not kept as it was")
		}
		if !slices.Equal(db.Status.Accounts, want[:2]) {
			t.Errorf("status.accounts %+v, want %+v", db.Status.Accounts, want[:2])
		}

		// Changing an account's access changes only that.
		e.update("ex", func(db *dbv1.AppDatabase) { db.Spec.Users[0].Access = dbv1.AccessDataOnly })
		e.reconcileOK("ex")
		db = e.get("ex")
		e.expectReady(db)
		if a, _ := e.engine.Account("ex_ro"); a.Access != tenant.DataOnly || a.Password != passwords["ex_ro"] {
			t.Errorf("ex_ro after the access change: access %q, password kept: %v", a.Access, a.Password == passwords["ex_ro"])
		}
		if db.Status.Accounts[1].Access != dbv1.AccessDataOnly {
			t.Errorf("status.accounts %+v", db.Status.Accounts)
		}
		e.expectLedger(owned(db, "ex_app", "ex_ro"))
	})

	t.Run("added to a Ready tenant", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOptions{})
		e.ready("add", dbv1.AppDatabaseSpec{DBName: "add"})
		main, _ := e.engine.Account("add_app")
		e.events.take()

		e.update("add", func(db *dbv1.AppDatabase) {
			db.Spec.Users = []dbv1.AppDatabaseUser{{Name: "add_ro", Access: dbv1.AccessReadOnly}}
		})
		e.reconcileOK("add")
		db := e.get("add")
		e.expectReady(db)
		e.expectLedger(owned(db, "add_app", "add_ro"))
		if a, _ := e.engine.Account("add_app"); a != main {
			t.Errorf("adding an account changed the main one: %+v -> %+v", main, a)
		}
		// An account the spec asks for is no repair, and its Secret is new, not deleted: neither
		// DriftRepaired nor PasswordRegenerated (docs/reference.md, "Drift repair"; the
		// PasswordRegenerated Event tells applications to restart for a password they never had).
		for _, ev := range e.events.take() {
			if ev.Reason == "PasswordRegenerated" || ev.Reason == controller.ReasonDriftRepaired {
				t.Errorf("adding an account to a Ready tenant recorded %s %s: %s", ev.Type, ev.Reason, ev.Note)
			}
		}
	})

	t.Run("added with its Secret in the way", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOptions{})
		db := e.ready("way", dbv1.AppDatabaseSpec{DBName: "way"})
		roSecret := dbv1.DefaultUserSecretName("way-mysql-creds", "way_ro")
		foreign := e.foreignSecret(roSecret)
		e.update("way", func(db *dbv1.AppDatabase) {
			db.Spec.Users = []dbv1.AppDatabaseUser{{Name: "way_ro", Access: dbv1.AccessReadOnly}}
		})
		e.engine.ResetCalls()
		res, err := e.reconcile("way")
		if err != nil || res.RequeueAfter != conflictRecheckPeriod {
			t.Errorf("Reconcile returned %+v, %v; want a recheck after %s", res, err, conflictRecheckPeriod)
		}
		e.expectFailed(e.get("way"), dbv1.ReasonSecretConflict, "Secret "+e.ns+"/"+roSecret)
		// Taking back the new account's claim leaves what the tenant holds recorded.
		e.expectCalls("Validate", "Claim", "Unclaim")
		e.expectLedger(owned(db, "way_app"))
		if s := e.secret(roSecret); s.ResourceVersion != foreign.ResourceVersion {
			t.Error("the foreign Secret was changed")
		}

		e.deleteSecret(roSecret)
		e.reconcileOK("way")
		db = e.get("way")
		e.expectReady(db)
		e.expectLedger(owned(db, "way_app", "way_ro"))
	})

	t.Run("added, crashed, then removed", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOptions{})
		e.ready("cr", dbv1.AppDatabaseSpec{DBName: "cr"})
		e.update("cr", func(db *dbv1.AppDatabase) {
			db.Spec.Users = []dbv1.AppDatabaseUser{{Name: "cr_x", Access: dbv1.AccessReadOnly}}
		})
		e.engine.SetStepHook(func(step string) error {
			if step == "account:cr_x" {
				return errors.New("tenanttest: the connection was lost")
			}
			return nil
		})
		if _, err := e.reconcile("cr"); err == nil {
			t.Fatal("the crashed pass returned no error")
		}
		e.engine.SetStepHook(nil)
		e.expectFailed(e.get("cr"), dbv1.ReasonProvisioningError)
		if _, ok := e.engine.Account("cr_x"); !ok {
			t.Fatal("the crashed pass did not create the account")
		}

		// The account is taken out of the spec before the next pass: it and its pending record go.
		e.update("cr", func(db *dbv1.AppDatabase) { db.Spec.Users = nil })
		e.reconcileOK("cr")
		db := e.get("cr")
		e.expectReady(db)
		if _, ok := e.engine.Account("cr_x"); ok {
			t.Error("the account the spec no longer lists is left behind")
		}
		e.expectLedger(owned(db, "cr_app"))
	})

	t.Run("named like another tenant's main user", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOptions{})
		victim := e.ready("victim", dbv1.AppDatabaseSpec{DBName: "victim"})
		before, _ := e.engine.Account("victim_app")
		victimSecret := e.secret("victim-mysql-creds")
		thief := e.ready("thief", dbv1.AppDatabaseSpec{DBName: "thief"})
		stolenSecret := dbv1.DefaultUserSecretName("thief-mysql-creds", "victim_app")

		e.update("thief", func(db *dbv1.AppDatabase) {
			db.Spec.Users = []dbv1.AppDatabaseUser{{Name: "victim_app", Access: dbv1.AccessReadOnly}}
		})
		e.engine.ResetCalls()
		res, err := e.reconcile("thief")
		if err != nil || res.RequeueAfter != conflictRecheckPeriod {
			t.Errorf("Reconcile returned %+v, %v; want a recheck after %s", res, err, conflictRecheckPeriod)
		}
		e.expectFailed(e.get("thief"), dbv1.ReasonOwnershipConflict, `user "victim_app"`, "belongs to another AppDatabase")
		e.expectCalls("Validate", "Claim")
		if a, _ := e.engine.Account("victim_app"); a != before {
			t.Errorf("the other tenant's account was changed: %+v -> %+v", before, a)
		}
		if s := e.secret("victim-mysql-creds"); s.ResourceVersion != victimSecret.ResourceVersion {
			t.Error("the other tenant's Secret was changed")
		}
		if e.secret(stolenSecret) != nil {
			t.Errorf("Secret %s was written with credentials for the other tenant's user", stolenSecret)
		}
		e.expectLedger(owned(victim, "victim_app"), owned(thief, "thief_app"))
		e.reconcileOK("victim")
		e.expectReady(e.get("victim"))

		// Dropping the account from the spec clears the conflict.
		e.update("thief", func(db *dbv1.AppDatabase) { db.Spec.Users = nil })
		e.reconcileOK("thief")
		e.expectReady(e.get("thief"))
		if a, _ := e.engine.Account("victim_app"); a != before {
			t.Errorf("the other tenant's account was changed: %+v -> %+v", before, a)
		}
		e.expectLedger(owned(victim, "victim_app"), owned(thief, "thief_app"))
	})

	t.Run("refused by the password policy", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOptions{})
		db := e.ready("pol", dbv1.AppDatabaseSpec{DBName: "pol"})
		main, _ := e.engine.Account("pol_app")
		roSecret := dbv1.DefaultUserSecretName("pol-mysql-creds", "pol_ro")

		e.engine.PolicyRefuses = func(string) bool { return true }
		e.update("pol", func(db *dbv1.AppDatabase) {
			db.Spec.Users = []dbv1.AppDatabaseUser{{Name: "pol_ro", Access: dbv1.AccessReadOnly}}
		})
		e.engine.ResetCalls()
		res, err := e.reconcile("pol")
		if err != nil || res.RequeueAfter != conflictRecheckPeriod {
			t.Errorf("Reconcile returned %+v, %v; want a recheck after %s", res, err, conflictRecheckPeriod)
		}
		e.expectFailed(e.get("pol"), dbv1.ReasonPasswordRejected, "Secret "+e.ns+"/"+roSecret)
		e.expectCalls("Validate", "Claim", "Provision")
		if !e.engine.Database("pol") {
			t.Error("the database was dropped")
		}
		if a, _ := e.engine.Account("pol_app"); a != main {
			t.Errorf("the main account was changed: %+v -> %+v", main, a)
		}
		if _, ok := e.engine.Account("pol_ro"); ok {
			t.Error("the refused account exists")
		}
		e.expectLedger(owned(db, "pol_app"))
		roPassword := string(e.secret(roSecret).Data[credentials.KeyPassword])

		// Once the policy admits the password, the account is created with the Secret's.
		e.engine.PolicyRefuses = nil
		e.reconcileOK("pol")
		db = e.get("pol")
		e.expectReady(db)
		if a, _ := e.engine.Account("pol_ro"); a.Password != roPassword {
			t.Error("the account did not get the password its Secret held")
		}
		e.expectLedger(owned(db, "pol_app", "pol_ro"))
	})
}

// Case 8: connection limits, from the spec or the MySQLCluster's default, reach the engine.
func TestMaxUserConnections(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name           string
		clusterDefault *int32
		// wantUnset is the limit of an account that sets none.
		wantUnset int
	}{
		{name: "no cluster default", clusterDefault: nil, wantUnset: 0},
		{name: "cluster default 25", clusterDefault: int32p(25), wantUnset: 25},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{defaultMaxUserConnections: tc.clusterDefault})
			e.ready("lim", dbv1.AppDatabaseSpec{DBName: "lim", MaxUserConnections: int32p(10), Users: []dbv1.AppDatabaseUser{
				{Name: "lim_unset", Access: dbv1.AccessReadOnly},
				{Name: "lim_zero", Access: dbv1.AccessReadOnly, MaxUserConnections: int32p(0)},
				{Name: "lim_seven", Access: dbv1.AccessDataOnly, MaxUserConnections: int32p(7)},
			}})
			expectLimits := func(want map[string]int) {
				t.Helper()
				for name, limit := range want {
					if a, _ := e.engine.Account(name); a.MaxUserConnections != limit {
						t.Errorf("account %s: maxUserConnections %d, want %d", name, a.MaxUserConnections, limit)
					}
				}
			}
			expectLimits(map[string]int{"lim_app": 10, "lim_unset": tc.wantUnset, "lim_zero": 0, "lim_seven": 7})

			// A new cluster default reaches the accounts that set none.
			var mc dbv1.MySQLCluster
			must(t, k8s.Get(e.ctx, types.NamespacedName{Name: e.cluster}, &mc))
			mc.Spec.DefaultMaxUserConnections = int32p(40)
			must(t, k8s.Update(e.ctx, &mc))
			e.events.take()
			e.reconcileOK("lim")
			e.expectReady(e.get("lim"))
			expectLimits(map[string]int{"lim_app": 10, "lim_unset": 40, "lim_zero": 0, "lim_seven": 7})
			// No spec asked for it: the new default is applied as a repair (docs/platform.md).
			ev := e.events.take()
			if !slices.Equal(reasons(ev), []string{controller.ReasonDriftRepaired}) || !strings.Contains(ev[0].Note, `connection limit of user "lim_unset" to 40`) {
				t.Errorf("events %+v, want one DriftRepaired for lim_unset's new limit", ev)
			}

			// The main account's own limit removed, it takes the default too.
			e.update("lim", func(db *dbv1.AppDatabase) { db.Spec.MaxUserConnections = nil })
			e.reconcileOK("lim")
			e.expectReady(e.get("lim"))
			expectLimits(map[string]int{"lim_app": 40, "lim_unset": 40, "lim_zero": 0, "lim_seven": 7})
			if ev := e.events.take(); len(ev) != 0 {
				t.Errorf("a spec change recorded events %+v", ev)
			}
		})
	}
}
