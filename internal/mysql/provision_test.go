package mysql

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"syscall"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/stillwaters/db-concierge/internal/tenant"
)

func validSpec() tenant.Spec {
	return tenant.Spec{Database: "shop", Charset: "utf8mb4", Collation: "utf8mb4_unicode_ci",
		Owner: tenant.Owner{UID: "8d4c6a5e-0000-4000-8000-000000000001", Namespace: "apps", Name: "shop"},
		Accounts: []tenant.Account{
			{Name: "shop_app", Access: tenant.ReadWrite},
			{Name: "shop_ro", Access: tenant.ReadOnly, MaxUserConnections: 5},
		}}
}

func TestValidate(t *testing.T) {
	a := &Admin{opts: Options{User: "dbc_admin"}}
	withAccount := func(name string) func(*tenant.Spec) {
		return func(s *tenant.Spec) {
			s.Accounts = append(s.Accounts, tenant.Account{Name: name, Access: tenant.DataOnly})
		}
	}
	cases := []struct {
		name   string
		change func(*tenant.Spec)
		// want is part of the refusal's message; "" accepts the spec.
		want string
	}{
		{"valid", func(*tenant.Spec) {}, ""},
		{"'_' in names, a wildcard only in grants, which escape it", func(s *tenant.Spec) { s.Database = "my_shop"; s.Accounts[1].Name = "my_shop_ro" }, ""},
		{"the admin account", withAccount("dbc_admin"), "is named like the operator's admin account on this cluster, which cannot be given to an application"},
		{"the admin account in another case", withAccount("DBC_Admin"), "is named like the operator's admin account"},
		{"the admin account as the main account", func(s *tenant.Spec) { s.Accounts[0].Name = "dbc_admin" }, "operator's admin account"},
		{"the operator's schema", withAccount("db_concierge"), "DB Concierge's own schema"},
		{"the operator's schema in another case", withAccount("DB_Concierge"), "DB Concierge's own schema"},
		{"a name starting like the operator's schema", withAccount("db_concierge_ro"), ""},
		{"a server account", withAccount("root"), "reserved for the server's own use"},
		{"two accounts of one name", withAccount("SHOP_RO"), "named twice"},
		{"a '%' in an account name", withAccount("shop%"), "may contain only letters, digits and '_'"},
		{"a quote in an account name", withAccount("shop'ro"), "may contain only letters, digits and '_'"},
		{"a '%' in the database name", func(s *tenant.Spec) { s.Database = "sh%p" }, "may contain only letters, digits and '_'"},
		{"an account name too long", withAccount(strings.Repeat("u", 33)), "more than the 32 allowed"},
		{"the operator's database", func(s *tenant.Spec) { s.Database = "db_concierge_shop" }, "belong to DB Concierge"},
		{"a bad collation", func(s *tenant.Spec) { s.Collation = "utf8mb4 bin" }, "collation"},
		{"no accounts", func(s *tenant.Spec) { s.Accounts = nil }, "no account"},
		{"an unknown access", func(s *tenant.Spec) { s.Accounts[1].Access = "Admin" }, "not one of ReadWrite"},
		{"no owner", func(s *tenant.Spec) { s.Owner.UID = "" }, "no owner"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := validSpec()
			c.change(&s)
			err := a.Validate(s)
			if c.want == "" {
				if err != nil {
					t.Errorf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Validate = %v, want a refusal saying %q", err, c.want)
			}
			if kind := tenant.KindOf(err); kind != tenant.KindInvalidInput {
				t.Errorf("kind %v, want invalid_input", kind)
			}
		})
	}
}

// Every error leaving the package carries a kind: the one an error in its chain has, or one
// classify gives it.
func TestWithKind(t *testing.T) {
	serverErr := func(n uint16) error { return &gomysql.MySQLError{Number: n, Message: "x"} }
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	cases := []struct {
		name  string
		err   error
		want  tenant.Kind
		cause string
	}{
		{"admin access denied", fmt.Errorf("creating: %w", serverErr(erSpecificAccessDenied)), tenant.KindAccessDenied, ""},
		{"unknown collation", serverErr(erUnknownCollation), tenant.KindInvalidInput, ""},
		{"no connection", &ConnectError{Err: refused}, tenant.KindUnreachable, "no admin endpoint accepted a connection"},
		{"read-only", &ConnectError{Err: errNodeReadOnly}, tenant.KindUnreachable, "read-only"},
		{"syntax", serverErr(1064), tenant.KindOther, ""},
		{"a statement cut short", &StatementError{Err: serverErr(erQueryInterrupted)}, tenant.KindOther, ""},
		{"a revoke the admin may not make", &RevokeError{User: "u", What: []string{"role `r`"}, Err: serverErr(erSpecificAccessDenied)}, tenant.KindOther, ""},
		{"an application account's refused login", fmt.Errorf("verifying: %w", &LoginError{User: "u", Err: &ConnectError{Err: serverErr(erAccessDenied)}}), tenant.KindOther, ""},
		{"an application login to an unreachable server", &LoginError{User: "u", Err: &ConnectError{Err: refused}}, tenant.KindUnreachable, "no admin endpoint"},
		{"the password policy", passwordPolicyError("u", serverErr(erNotValidPassword)), tenant.KindInvalidInput, ""},
		{"a conflict", fmt.Errorf("claiming: %w", &tenant.ConflictError{Object: tenant.ObjectUser, Name: "u"}), tenant.KindConflict, ""},
		{"a missing database", &tenant.MissingError{Database: "d"}, tenant.KindMissing, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := withKind(c.err)
			if got := tenant.KindOf(err); got != c.want {
				t.Errorf("kind %v, want %v", got, c.want)
			}
			if !errors.Is(err, c.err) {
				t.Error("the original error is no longer in the chain")
			}
			if c.cause != "" && !strings.Contains(tenant.UnreachableCause(err), c.cause) {
				t.Errorf("cause %q, want %q", tenant.UnreachableCause(err), c.cause)
			}
		})
	}
	if withKind(nil) != nil {
		t.Error("withKind(nil) is not nil")
	}
}

func TestPasswordPolicyError(t *testing.T) {
	err := passwordPolicyError("shop_ro", &gomysql.MySQLError{Number: erNotValidPassword, Message: "Your password does not satisfy the current policy requirements"})
	var policy *tenant.PasswordPolicyError
	if !errors.As(err, &policy) || policy.Account != "shop_ro" || !strings.Contains(policy.Reason, "1819") {
		t.Errorf("%#v", err)
	}
}

// The accounts a claim finds recorded for the owner beyond the spec are the ones a pass drops.
func TestDroppedAccounts(t *testing.T) {
	s := validSpec()
	uid := s.Owner.UID
	rows := []ownershipRow{
		{kind: tenant.ObjectDatabase, name: "shop", uid: uid},
		{kind: tenant.ObjectUser, name: "shop_app", uid: uid},
		{kind: tenant.ObjectUser, name: "SHOP_RO", uid: uid}, // listed, spelled otherwise: a conflict, not a drop
		{kind: tenant.ObjectUser, name: "shop_old", uid: uid},
		{kind: tenant.ObjectUser, name: "shop_legacy", uid: uid},
		{kind: tenant.ObjectUser, name: "other_app", uid: "another"},
		{kind: tenant.ObjectDatabase, name: "old_shop", uid: uid},
	}
	if got, want := droppedAccounts(rows, s), []string{"shop_legacy", "shop_old"}; !slices.Equal(got, want) {
		t.Errorf("dropped %v, want %v", got, want)
	}
}

// Provision uses the claim Claim made for the same spec; anything else is no claim, and the
// ledger is read.
func TestClaimCovers(t *testing.T) {
	s := validSpec()
	c := &ownershipClaim{owner: s.Owner.UID, accounts: map[string]objectClaim{}}
	c.set(claimTarget{tenant.ObjectDatabase, "shop"}, objectClaim{committed: true})
	c.set(claimTarget{tenant.ObjectUser, "shop_app"}, objectClaim{committed: true})
	if c.covers(s) {
		t.Error("a claim without shop_ro covers the spec")
	}
	c.set(claimTarget{tenant.ObjectUser, "Shop_RO"}, objectClaim{fresh: true})
	if !c.covers(s) {
		t.Error("the claim does not cover its spec")
	}
	if oc, _ := c.account("shop_ro"); !oc.fresh {
		t.Error("accounts are not found without regard to case")
	}
	other := s
	other.Owner.UID = "another"
	if c.covers(other) {
		t.Error("a claim covers another owner's spec")
	}
	renamed := s
	renamed.Database = "shop2"
	if c.covers(renamed) {
		t.Error("a claim covers another database")
	}
	a := &Admin{}
	if oc, err := a.claimOf(context.Background(), s, c); err != nil || oc != c {
		t.Errorf("claimOf = %v, %v; want the claim itself", oc, err)
	}
}

// The words of a change name the account when the tenant has several, and keep their old form
// for a tenant with one.
func TestNaming(t *testing.T) {
	one, several := naming{user: "shop_app"}, naming{user: "shop_ro", several: true}
	cases := map[string]string{
		"set " + one.possessive() + " password":     "set the user's password",
		"set " + several.possessive() + " password": "set user shop_ro's password",
		"granted all privileges" + one.suffix("to"): "granted all privileges",
		"granted SELECT" + several.suffix("to"):     "granted SELECT to user shop_ro",
		"the limit of " + several.subject():         "the limit of user shop_ro",
	}
	for got, want := range cases {
		if got != want {
			t.Errorf("%q, want %q", got, want)
		}
	}
}
