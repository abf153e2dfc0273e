package tenanttest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/stillwaters/db-concierge/internal/tenant"
)

var ctx = context.Background()

func noneGone(tenant.Owner) bool { return false }
func allGone(tenant.Owner) bool  { return true }

// specOf is a tenant of owner uid: database db, and accounts with ReadWrite access and the
// password "pw-<name>".
func specOf(uid, db string, accounts ...string) tenant.Spec {
	s := tenant.Spec{Database: db, Owner: tenant.Owner{UID: uid, Namespace: "ns", Name: uid}}
	for _, a := range accounts {
		s.Accounts = append(s.Accounts, tenant.Account{Name: a, Access: tenant.ReadWrite, Password: "pw-" + a})
	}
	return s
}

// provision runs a full pass, as the reconciler does: Claim, then Provision.
func provision(e *Engine, s tenant.Spec) ([]tenant.Change, error) {
	c, err := e.Claim(ctx, s, nil, noneGone)
	if err != nil {
		return nil, err
	}
	return e.Provision(ctx, s, c)
}

func mustProvision(t *testing.T, e *Engine, s tenant.Spec) []tenant.Change {
	t.Helper()
	changes, err := provision(e, s)
	if err != nil {
		t.Fatalf("provisioning %s: %v", s.Database, err)
	}
	return changes
}

func kinds(changes []tenant.Change) []tenant.ChangeKind {
	var ks []tenant.ChangeKind
	for _, c := range changes {
		ks = append(ks, c.Kind)
	}
	return ks
}

// crashAt makes Provision stop after the given step.
func crashAt(e *Engine, step string) {
	e.SetStepHook(func(s string) error {
		if s == step {
			return errors.New("crash after " + s)
		}
		return nil
	})
}

func recordedFor(e *Engine, uid string) []Record {
	var rs []Record
	for _, r := range e.Ledger() {
		if r.OwnerUID == uid {
			rs = append(rs, r)
		}
	}
	return rs
}

func TestClaim(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, e *Engine)
		spec  tenant.Spec
		adopt *tenant.Adoption
		gone  tenant.OwnerGone
		// conflict expects a *tenant.ConflictError naming owner (its UID, "" for none) and
		// existing; otherwise the claim must succeed.
		conflict        bool
		owner, existing string
	}{{
		name:     "database of a live owner",
		setup:    func(t *testing.T, e *Engine) { mustProvision(t, e, specOf("a", "app", "a_rw")) },
		spec:     specOf("b", "app", "b_rw"),
		gone:     noneGone,
		conflict: true, owner: "a", existing: "app",
	}, {
		name:     "user of a live owner",
		setup:    func(t *testing.T, e *Engine) { mustProvision(t, e, specOf("a", "app_a", "shared")) },
		spec:     specOf("b", "app_b", "shared"),
		gone:     noneGone,
		conflict: true, owner: "a", existing: "shared",
	}, {
		name:     "name differing in case from another owner's",
		setup:    func(t *testing.T, e *Engine) { mustProvision(t, e, specOf("a", "App", "a_rw")) },
		spec:     specOf("b", "app", "b_rw"),
		gone:     allGone,
		conflict: true, owner: "a", existing: "App",
	}, {
		name:     "own name spelled otherwise",
		setup:    func(t *testing.T, e *Engine) { mustProvision(t, e, specOf("a", "app", "a_rw")) },
		spec:     specOf("a", "APP", "a_rw"),
		gone:     noneGone,
		conflict: true, owner: "a", existing: "app",
	}, {
		name:     "unrecorded database",
		setup:    func(t *testing.T, e *Engine) { e.CreateForeign(tenant.ObjectDatabase, "app") },
		spec:     specOf("b", "app", "b_rw"),
		gone:     noneGone,
		conflict: true,
	}, {
		name:     "unrecorded user",
		setup:    func(t *testing.T, e *Engine) { e.CreateForeign(tenant.ObjectUser, "b_rw") },
		spec:     specOf("b", "app", "b_rw"),
		gone:     noneGone,
		conflict: true,
	}, {
		name:     "unrecorded database differing in case, adopted",
		setup:    func(t *testing.T, e *Engine) { e.CreateForeign(tenant.ObjectDatabase, "APP") },
		spec:     specOf("b", "app", "b_rw"),
		adopt:    &tenant.Adoption{},
		gone:     noneGone,
		conflict: true, existing: "APP",
	}, {
		name:     "vanished owner's committed record, not adopted",
		setup:    func(t *testing.T, e *Engine) { mustProvision(t, e, specOf("a", "app", "a_rw")) },
		spec:     specOf("b", "app", "b_rw"),
		gone:     allGone,
		conflict: true, owner: "a", existing: "app",
	}, {
		name:     "live owner's record, adopted",
		setup:    func(t *testing.T, e *Engine) { mustProvision(t, e, specOf("a", "app", "a_rw")) },
		spec:     specOf("b", "app", "b_rw"),
		adopt:    &tenant.Adoption{},
		gone:     noneGone,
		conflict: true, owner: "a", existing: "app",
	}, {
		name: "vanished owner's pending record over an existing database",
		setup: func(t *testing.T, e *Engine) {
			crashAt(e, "database")
			if _, err := provision(e, specOf("a", "app", "a_rw")); err == nil {
				t.Fatal("the pass did not crash")
			}
		},
		spec:     specOf("b", "app", "b_rw"),
		gone:     allGone,
		conflict: true, owner: "a", existing: "app",
	}, {
		name: "vanished owner's pending record with nothing under it passes without adoption",
		setup: func(t *testing.T, e *Engine) {
			if _, err := e.Claim(ctx, specOf("a", "app", "a_rw"), nil, noneGone); err != nil {
				t.Fatal(err)
			}
		},
		spec: specOf("b", "app", "b_rw"),
		gone: allGone,
	}, {
		name:  "vanished owner's committed records, adopted with the right password",
		setup: func(t *testing.T, e *Engine) { mustProvision(t, e, specOf("a", "app", "a_rw")) },
		spec:  specOf("b", "app", "a_rw"),
		adopt: &tenant.Adoption{Passwords: map[string]string{"a_rw": "pw-a_rw"}},
		gone:  allGone,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New()
			tt.setup(t, e)
			e.SetStepHook(nil)
			before := e.Ledger()
			_, err := e.Claim(ctx, tt.spec, tt.adopt, tt.gone)
			if !tt.conflict {
				if err != nil {
					t.Fatalf("Claim: %v", err)
				}
				// Every name of the spec, and only those, pending for the claimant.
				got := recordedFor(e, tt.spec.Owner.UID)
				for _, r := range got {
					if r.Committed {
						t.Errorf("record %+v committed by a claim", r)
					}
				}
				if len(got) != 1+len(tt.spec.Accounts) {
					t.Errorf("records of the claimant: %+v", got)
				}
				return
			}
			var conflict *tenant.ConflictError
			if !errors.As(err, &conflict) || tenant.KindOf(err) != tenant.KindConflict {
				t.Fatalf("Claim: got %v, want a *tenant.ConflictError", err)
			}
			if owner := conflict.Owner; (owner == nil) != (tt.owner == "") || (owner != nil && owner.UID != tt.owner) {
				t.Errorf("conflict owner %+v, want %q", owner, tt.owner)
			}
			if conflict.Existing != tt.existing {
				t.Errorf("conflict existing %q, want %q", conflict.Existing, tt.existing)
			}
			if after := e.Ledger(); !slices.Equal(before, after) {
				t.Errorf("a refused claim changed the ledger: %+v, then %+v", before, after)
			}
		})
	}
}

func TestAdoptForeignUser(t *testing.T) {
	spec := specOf("b", "app", "app_rw")
	spec.Accounts[0].Password = ForeignPassword
	tests := []struct {
		name      string
		passwords map[string]string
		refused   bool
	}{
		{"right password", map[string]string{"app_rw": ForeignPassword}, false},
		{"wrong password", map[string]string{"app_rw": "guess"}, true},
		{"no password", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New()
			e.CreateForeign(tenant.ObjectDatabase, "app")
			e.CreateForeign(tenant.ObjectUser, "app_rw")
			c, err := e.Claim(ctx, spec, &tenant.Adoption{Passwords: tt.passwords}, noneGone)
			if tt.refused {
				var adoption *tenant.AdoptionError
				if !errors.As(err, &adoption) || tenant.KindOf(err) != tenant.KindConflict || len(e.Ledger()) != 0 {
					t.Fatalf("Claim: got %v and records %+v, want an *AdoptionError and no record", err, e.Ledger())
				}
				return
			}
			if err != nil {
				t.Fatalf("Claim: %v", err)
			}
			// The foreign user had no access; its password, the Secret's, is kept.
			changes, err := e.Provision(ctx, spec, c)
			if err != nil || !slices.Equal(kinds(changes), []tenant.ChangeKind{tenant.Granted}) {
				t.Fatalf("Provision: %v, %v; want only %s", kinds(changes), err, tenant.Granted)
			}
			if err := e.VerifyLogin(ctx, "app_rw", ForeignPassword, "app"); err != nil {
				t.Errorf("the adopted user does not log in: %v", err)
			}
		})
	}
}

func TestUnclaim(t *testing.T) {
	tests := []struct {
		name string
		// pass leaves owner a's tenant (app, a_rw) as far as it got.
		pass func(t *testing.T, e *Engine, s tenant.Spec)
		want []Record
	}{{
		name: "claimed only: every record goes",
		pass: func(t *testing.T, e *Engine, s tenant.Spec) {
			if _, err := e.Claim(ctx, s, nil, noneGone); err != nil {
				t.Fatal(err)
			}
		},
	}, {
		name: "crashed after the database: its record stays",
		pass: func(t *testing.T, e *Engine, s tenant.Spec) {
			crashAt(e, "database")
			if _, err := provision(e, s); err == nil {
				t.Fatal("the pass did not crash")
			}
		},
		want: []Record{{Object: tenant.ObjectDatabase, Name: "app", OwnerUID: "a"}},
	}, {
		name: "provisioned: committed records stay",
		pass: func(t *testing.T, e *Engine, s tenant.Spec) { mustProvision(t, e, s) },
		want: []Record{{tenant.ObjectDatabase, "app", "a", true}, {tenant.ObjectUser, "a_rw", "a", true}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New()
			if _, err := e.Claim(ctx, specOf("b", "other", "b_rw"), nil, noneGone); err != nil {
				t.Fatal(err)
			}
			tt.pass(t, e, specOf("a", "app", "a_rw"))
			if err := e.Unclaim(ctx, "a"); err != nil {
				t.Fatal(err)
			}
			if got := recordedFor(e, "a"); !slices.Equal(got, tt.want) {
				t.Errorf("records of a: %+v, want %+v", got, tt.want)
			}
			if got := recordedFor(e, "b"); len(got) != 2 {
				t.Errorf("another owner's pending records were touched: %+v", got)
			}
		})
	}
}

func TestDropOwned(t *testing.T) {
	e := New()
	mustProvision(t, e, specOf("a", "app_a", "a_rw", "a_ro"))
	mustProvision(t, e, specOf("b", "app_b", "b_rw"))
	dropped, err := e.DropOwned(ctx, "a")
	want := []string{`user "a_ro"`, `user "a_rw"`, `database "app_a"`}
	if err != nil || !slices.Equal(dropped, want) {
		t.Fatalf("DropOwned: %q, %v; want %q", dropped, err, want)
	}
	if _, ok := e.Account("a_rw"); ok || e.Database("app_a") || len(recordedFor(e, "a")) != 0 {
		t.Errorf("owner a's tenant is still there: %+v", e.Ledger())
	}
	if _, ok := e.Account("b_rw"); !ok || !e.Database("app_b") || len(recordedFor(e, "b")) != 2 {
		t.Errorf("owner b's tenant was touched: %+v", e.Ledger())
	}
}

func TestRemovedAccountIsDropped(t *testing.T) {
	e := New()
	mustProvision(t, e, specOf("a", "app", "a_rw", "a_ro"))
	changes := mustProvision(t, e, specOf("a", "app", "a_rw"))
	if !slices.Equal(kinds(changes), []tenant.ChangeKind{tenant.DroppedUser}) {
		t.Fatalf("changes %v, want only %s", kinds(changes), tenant.DroppedUser)
	}
	if _, ok := e.Account("a_ro"); ok || len(recordedFor(e, "a")) != 2 {
		t.Errorf("a_ro survives its removal: %+v", e.Ledger())
	}
}

func TestDriftIsRepaired(t *testing.T) {
	tests := []struct {
		name    string
		drift   func(e *Engine, s *tenant.Spec)
		want    []tenant.ChangeKind
		wantErr tenant.Kind // KindOther for none
	}{
		{"no drift", func(*Engine, *tenant.Spec) {}, nil, tenant.KindOther},
		{"account dropped", func(e *Engine, _ *tenant.Spec) { e.DropAccount("app_ro") }, []tenant.ChangeKind{tenant.CreatedUser}, tenant.KindOther},
		{"password changed", func(e *Engine, _ *tenant.Spec) { e.SetPassword("app_rw", "other") }, []tenant.ChangeKind{tenant.ResetPassword}, tenant.KindOther},
		{"access taken", func(e *Engine, _ *tenant.Spec) { e.SetAccess("app_ro", "") }, []tenant.ChangeKind{tenant.Granted}, tenant.KindOther},
		{"access widened", func(e *Engine, _ *tenant.Spec) { e.SetAccess("app_ro", tenant.ReadWrite) }, []tenant.ChangeKind{tenant.Granted}, tenant.KindOther},
		{"connection limit changed", func(_ *Engine, s *tenant.Spec) { s.Accounts[0].MaxUserConnections = 5 }, []tenant.ChangeKind{tenant.ConnectionLimit}, tenant.KindOther},
		{"database dropped", func(e *Engine, _ *tenant.Spec) { e.DropDatabase("app") }, nil, tenant.KindMissing},
		{"database dropped, recreation allowed", func(e *Engine, s *tenant.Spec) {
			e.DropDatabase("app")
			s.RecreateMissingDatabase = true
		}, []tenant.ChangeKind{tenant.RecreatedDatabase}, tenant.KindOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New()
			s := specOf("a", "app", "app_rw", "app_ro")
			s.Accounts[1].Access = tenant.ReadOnly
			mustProvision(t, e, s)
			tt.drift(e, &s)
			findings, err := e.Sweep(ctx, []tenant.Expectation{{Spec: s}})
			drifted := tt.want != nil || tt.wantErr != tenant.KindOther
			if err != nil || (findings["a"] == FindingDrift) != drifted {
				t.Errorf("Sweep before the pass: %v, %v; want drift %v", findings, err, drifted)
			}
			changes, err := provision(e, s)
			if tenant.KindOf(err) != tt.wantErr || (err != nil && tt.wantErr == tenant.KindOther) {
				t.Fatalf("Provision: %v (kind %s), want kind %s", err, tenant.KindOf(err), tt.wantErr)
			}
			if !slices.Equal(kinds(changes), tt.want) {
				t.Errorf("changes %v, want %v", kinds(changes), tt.want)
			}
			if err != nil {
				return
			}
			if findings, _ := e.Sweep(ctx, []tenant.Expectation{{Spec: s}}); len(findings) != 0 {
				t.Errorf("Sweep after the pass: %v, want none", findings)
			}
			if changes := mustProvision(t, e, s); changes != nil {
				t.Errorf("a second pass changed %v", kinds(changes))
			}
		})
	}
}

func TestCrashedPassConverges(t *testing.T) {
	e := New()
	s := specOf("a", "app", "app_rw", "app_ro")
	crashAt(e, "account:app_rw")
	if _, err := provision(e, s); err == nil || err.Error() != "crash after account:app_rw" {
		t.Fatalf("Provision: %v, want the crash", err)
	}
	_, roExists := e.Account("app_ro")
	if _, ok := e.Account("app_rw"); !ok || roExists || !e.Database("app") {
		t.Fatal("the crash did not leave the tenant half done")
	}
	for _, r := range e.Ledger() {
		if r.Committed {
			t.Errorf("record %+v committed by a crashed pass", r)
		}
	}
	e.SetStepHook(nil)
	if changes := mustProvision(t, e, s); !slices.Equal(kinds(changes), []tenant.ChangeKind{tenant.CreatedUser}) {
		t.Errorf("retry changed %v, want only the missing account created", kinds(changes))
	}
}

func TestPasswordPolicyTakesBackThePass(t *testing.T) {
	e := New()
	e.PolicyRefuses = func(pw string) bool { return pw == "pw-weak" }
	_, err := provision(e, specOf("a", "app", "app_rw", "weak"))
	var refused *tenant.PasswordPolicyError
	if !errors.As(err, &refused) || refused.Account != "weak" || tenant.KindOf(err) != tenant.KindInvalidInput {
		t.Fatalf("Provision: %v, want a *PasswordPolicyError for account weak", err)
	}
	if _, ok := e.Account("app_rw"); ok || e.Database("app") || len(e.Ledger()) != 0 {
		t.Errorf("the refused pass left %+v behind", e.Ledger())
	}
}

func TestValidate(t *testing.T) {
	e := New()
	e.AdminUser = "Concierge"
	long := "a123456789012345678901234567890123"
	for name, s := range map[string]tenant.Spec{
		"no owner":          specOf("", "app", "app_rw"),
		"no account":        specOf("a", "app"),
		"database with '-'": specOf("a", "my-app", "app_rw"),
		"user too long":     specOf("a", "app", long),
		"root":              specOf("a", "app", "ROOT"),
		"admin user":        specOf("a", "app", "concierge"),
		"empty password":    func() tenant.Spec { s := specOf("a", "app", "x"); s.Accounts[0].Password = ""; return s }(),
	} {
		err := e.Validate(s)
		if name == "empty password" {
			// Passwords are the Secrets', not the spec's: Provision checks them.
			c, _ := e.Claim(ctx, s, nil, noneGone)
			_, err = e.Provision(ctx, s, c)
		}
		if tenant.KindOf(err) != tenant.KindInvalidInput {
			t.Errorf("%s: %v, want an invalid-input error", name, err)
		}
	}
	if err := e.Validate(specOf("a", "App_1", "app_rw")); err != nil {
		t.Errorf("a valid spec: %v", err)
	}
}

func TestDownAndInjectedFaults(t *testing.T) {
	e := New()
	s := specOf("a", "app", "app_rw")
	e.SetDown(true)
	calls := map[string]func() error{
		"Claim":       func() error { _, err := e.Claim(ctx, s, nil, noneGone); return err },
		"Provision":   func() error { _, err := e.Provision(ctx, s, nil); return err },
		"Unclaim":     func() error { return e.Unclaim(ctx, "a") },
		"DropOwned":   func() error { _, err := e.DropOwned(ctx, "a"); return err },
		"Inspect":     func() error { _, err := e.Inspect(ctx); return err },
		"VerifyLogin": func() error { return e.VerifyLogin(ctx, "app_rw", "pw", "") },
		"Sweep":       func() error { _, err := e.Sweep(ctx, nil); return err },
	}
	for name, call := range calls {
		if err := call(); tenant.KindOf(err) != tenant.KindUnreachable {
			t.Errorf("%s while down: %v, want an unreachable error", name, err)
		}
	}
	if err := e.Validate(s); err != nil {
		t.Errorf("Validate while down: %v", err)
	}
	e.SetDown(false)

	injected := errors.New("injected")
	e.FailNext("Provision", injected)
	if _, err := provision(e, s); !errors.Is(err, injected) || e.Database("app") {
		t.Fatalf("Provision: %v, want the injected error before any change", err)
	}
	e.ResetCalls()
	mustProvision(t, e, s)
	if _, err := e.DropOwned(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if got, want := e.Calls(), []string{"Claim", "Provision", "DropOwned"}; !slices.Equal(got, want) {
		t.Errorf("calls %q, want %q", got, want)
	}
}

func TestProvisionNeedsItsClaim(t *testing.T) {
	e := New()
	if _, err := e.Provision(ctx, specOf("a", "app", "app_rw"), nil); err == nil {
		t.Error("Provision without a claim succeeded")
	}
	c, err := e.Claim(ctx, specOf("a", "app", "app_rw"), nil, noneGone)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Provision(ctx, specOf("b", "app", "app_rw"), c); err == nil {
		t.Error("Provision with another owner's claim succeeded")
	}
}

func TestConcurrentClaimsOfOneName(t *testing.T) {
	e := New()
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := range 20 {
		wg.Go(func() {
			name := fmt.Sprintf("o%d", i)
			s := specOf(name, "app", "u_"+name)
			if _, err := provision(e, s); err == nil {
				mu.Lock()
				won++
				mu.Unlock()
			} else if tenant.KindOf(err) != tenant.KindConflict {
				t.Errorf("claim %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if won != 1 {
		t.Errorf("%d owners got database app, want exactly 1", won)
	}
}
