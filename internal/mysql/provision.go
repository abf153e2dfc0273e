package mysql

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/stillwaters/db-concierge/internal/failpoint"
	"github.com/stillwaters/db-concierge/internal/tenant"
)

// Validate checks a spec before any of it reaches SQL: the neutral rules (tenant.Spec.Validate),
// then every name against this engine's (letters, digits and '_', the server's length limits,
// no reserved name). No account may be named like the operator's admin account on this cluster
// or its schema: giving either to an application would hand it the operator's own login or
// bookkeeping. A refusal is tenant.KindInvalidInput.
func (a *Admin) Validate(s tenant.Spec) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if err := a.validateNames(s); err != nil {
		return &tenant.Error{Kind: tenant.KindInvalidInput, Err: err}
	}
	return nil
}

func (a *Admin) validateNames(s tenant.Spec) error {
	if err := ValidateDatabaseName(s.Database); err != nil {
		return err
	}
	if err := ValidateCharsetName("charset", s.Charset); err != nil {
		return err
	}
	if err := ValidateCharsetName("collation", s.Collation); err != nil {
		return err
	}
	for _, acc := range s.Accounts {
		if err := ValidateUserName(acc.Name); err != nil {
			return err
		}
		switch {
		case a.opts.User != "" && strings.EqualFold(acc.Name, a.opts.User):
			return errors.New("an account (spec.userName or spec.users) is named like the operator's admin account on this cluster, which cannot be given to an application: choose another user name")
		case strings.EqualFold(acc.Name, OperatorSchema):
			return fmt.Errorf("user name %q is reserved: it is the name of DB Concierge's own schema: choose another user name", acc.Name)
		}
	}
	return nil
}

// Provision brings the server to s: the database; each account, in the spec's order, logging in
// with its password and holding exactly its access, its TLS requirement and its connection
// limit; ownership committed; and no account recorded for the owner that s no longer lists. Each
// step reads before it writes, except for what the claim says this pass found missing; Provision
// returns what it changed, which is nothing when the tenant is already as it should be. The
// caller claims s (Claim) and stores every password where the application reads it before calling
// Provision, so that a crash at any step leaves a tenant whose next pass converges on those
// passwords. c is what Claim returned; without it (nil, or another spec's) the ledger is read.
func (a *Admin) Provision(ctx context.Context, s tenant.Spec, c tenant.Claim) (changes []tenant.Change, err error) {
	defer func() { err = a.settle(ctx, err) }()
	if err := a.Validate(s); err != nil {
		return nil, err
	}
	for _, acc := range s.Accounts {
		if err := tenant.ValidatePassword(acc.Name, acc.Password); err != nil {
			return nil, err
		}
	}
	d, err := a.dialectFor(ctx)
	if err != nil {
		return nil, err
	}
	claim, err := a.claimOf(ctx, s, c)
	if err != nil {
		return nil, err
	}
	p := &pass{a: a, d: d, spec: s, claim: claim}
	err = p.run(ctx)
	return p.changes, err
}

// pass is one Provision of one tenant: what it changed, and what it must check or take back.
type pass struct {
	a     *Admin
	d     dialect
	spec  tenant.Spec
	claim *ownershipClaim

	changes []tenant.Change
	// databaseChanged: the database was created, recreated or altered; every account logs in
	// again at the end.
	databaseChanged bool
	// created lists the accounts this pass created, which a refused pass takes back.
	created []string
	// verify lists the accounts whose login the pass checks once it is done.
	verify []tenant.Account
}

func (p *pass) add(change *tenant.Change, err error) error {
	if change != nil {
		p.changes = append(p.changes, *change)
	}
	return err
}

func (p *pass) run(ctx context.Context) error {
	change, err := p.a.ensureDatabase(ctx, p.spec, p.claim)
	p.databaseChanged = change != nil
	if err := p.add(change, err); err != nil {
		return err
	}
	for _, acc := range p.spec.Accounts {
		err := p.ensureAccount(ctx, acc)
		var refused *tenant.PasswordPolicyError
		if errors.As(err, &refused) {
			// Nothing of this account can work until the policy admits its password: what this
			// pass created is taken back, so that the names are not held by empty shells.
			return errors.Join(err, p.undo(ctx))
		}
		if err != nil {
			return err
		}
	}
	if p.claim.pending {
		if err := p.a.commitClaim(ctx, p.spec.Owner.UID); err != nil {
			return err
		}
		failpoint.Hit("after-commit")
	}
	if err := p.dropRemovedAccounts(ctx); err != nil {
		return err
	}
	for _, acc := range p.verify {
		if err := p.a.verifyLogin(ctx, acc.Name, acc.Password, p.spec.Database); err != nil {
			return fmt.Errorf("verifying the new login: %w", err)
		}
	}
	return nil
}

// undo takes back what a refused pass created under records not committed yet (a tenant, or an
// account, that was never complete): the accounts, the database if it is new (it is empty), and
// then the ownership records of what no longer exists. What was provisioned before stays: a
// refusal of an account added to a Ready tenant leaves its database and other accounts alone.
func (p *pass) undo(ctx context.Context) error {
	for _, name := range p.created {
		if oc, _ := p.claim.account(name); oc.committed {
			continue
		}
		if err := p.a.exec(ctx, dropUser(name)); err != nil {
			return fmt.Errorf("dropping the user %q created for the refused tenant: %w", name, err)
		}
	}
	for _, change := range p.changes {
		if change.Kind == tenant.CreatedDatabase && !p.claim.database.committed {
			if err := p.a.exec(ctx, dropDatabase(p.spec.Database)); err != nil {
				return fmt.Errorf("dropping the database %q created for the refused tenant: %w", p.spec.Database, err)
			}
		}
	}
	return p.a.unclaim(ctx, p.spec.Owner.UID)
}

// dropRemovedAccounts drops the accounts recorded for the owner that the spec no longer lists,
// ends their sessions, then forgets them. The record goes last: until it does, nobody else can
// claim the name, and a pass that stops between the steps finds the record and finishes.
func (p *pass) dropRemovedAccounts(ctx context.Context) error {
	for _, name := range p.claim.dropped {
		existing, err := p.a.existing(ctx, tenant.ObjectUser, name)
		if err != nil {
			return err
		}
		if existing != "" {
			if err := p.a.exec(ctx, dropUser(name)); err != nil {
				return fmt.Errorf("dropping user %q, removed from the spec: %w", name, err)
			}
			p.changes = append(p.changes, tenant.Change{Kind: tenant.DroppedUser, Detail: fmt.Sprintf("dropped user %s, removed from the spec", name)})
		}
		failpoint.Hit("after-drop-removed-user")
		// Dropped first, so that no new session can start; then the open ones, which kept the
		// privileges they started with.
		if err := p.a.endSessions(ctx, name); err != nil {
			return err
		}
		if err := p.a.exec(ctx, deleteOwnership(tenant.ObjectUser, name, p.spec.Owner.UID)); err != nil {
			return fmt.Errorf("removing the ownership record of user %q: %w", name, err)
		}
	}
	return nil
}

func (a *Admin) ensureDatabase(ctx context.Context, s tenant.Spec, c *ownershipClaim) (*tenant.Change, error) {
	var charset, collation string
	err := sql.ErrNoRows
	if !c.database.fresh {
		err = a.scanRow(ctx, selectDatabaseCharset(s.Database), &charset, &collation)
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		change := &tenant.Change{Kind: tenant.CreatedDatabase, Detail: "created database"}
		if c.database.committed {
			if !s.RecreateMissingDatabase {
				return nil, &tenant.MissingError{Database: s.Database}
			}
			change = &tenant.Change{Kind: tenant.RecreatedDatabase, Detail: "recreated the database, empty, after it was dropped outside DB Concierge"}
		}
		if err := a.exec(ctx, createDatabase(s.Database, s.Charset, s.Collation)); err != nil {
			return nil, fmt.Errorf("creating database %q: %w", s.Database, err)
		}
		failpoint.Hit("after-create-database")
		return change, nil
	case err != nil:
		a.observe(opRead, err)
		return nil, fmt.Errorf("reading database %q: %w", s.Database, err)
	}
	// The spec may name an alias (utf8 for utf8mb3, a collation without its character set):
	// compared with what the server reports, it is resolved the way the server resolves it.
	wantCharset, wantCollation, err := a.resolveCharset(ctx, s.Charset, s.Collation)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(charset, wantCharset) && strings.EqualFold(collation, wantCollation) {
		return nil, nil
	}
	if err := a.exec(ctx, alterDatabase(s.Database, s.Charset, s.Collation)); err != nil {
		return nil, fmt.Errorf("changing charset of database %q: %w", s.Database, err)
	}
	return &tenant.Change{Kind: tenant.AlteredDatabase, Detail: fmt.Sprintf("changed the database's charset/collation from %s/%s", charset, collation)}, nil
}

// DropOwned drops the databases and users that the ownership table attributes to owner uid — and
// nothing else, whatever names the caller's spec holds — then forgets them. It returns what it
// dropped. The users go first, then their open sessions, then the databases: a session opened
// before the drop keeps the privileges it had on its current database, and would reach whatever
// the next owner of the name puts there; it also holds the metadata locks DROP DATABASE waits for.
func (a *Admin) DropOwned(ctx context.Context, uid string) (dropped []string, err error) {
	defer func() { err = a.settle(ctx, err) }()
	rows, err := a.owned(ctx, uid)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(rows, func(x, y ownershipRow) int {
		// Users before databases.
		return cmp.Compare(y.kind, x.kind)
	})
	for _, r := range rows {
		var st statement
		switch r.kind {
		case tenant.ObjectDatabase:
			st = dropDatabase(r.name)
		case tenant.ObjectUser:
			st = dropUser(r.name)
		default:
			continue
		}
		if err := a.exec(ctx, st); err != nil {
			return dropped, fmt.Errorf("dropping %s %q: %w", r.kind, r.name, err)
		}
		dropped = append(dropped, fmt.Sprintf("%s %q", r.kind, r.name))
		if r.kind == tenant.ObjectUser {
			if err := a.endSessions(ctx, r.name); err != nil {
				return dropped, err
			}
		}
	}
	if len(rows) > 0 {
		if err := a.exec(ctx, deleteOwnershipOf(uid)); err != nil {
			return dropped, fmt.Errorf("removing ownership records: %w", err)
		}
	}
	return dropped, nil
}
