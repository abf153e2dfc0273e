package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/stillwaters/db-concierge/internal/failpoint"
)

// Tenant is one application's share of a server: a database and a user allowed to use it alone.
type Tenant struct {
	Database  string
	User      string
	Charset   string
	Collation string
	Owner     Owner
	// RecreateMissingDatabase allows creating the database again, empty, when it was provisioned
	// and has since been dropped by hand. Without it that is an error: an empty database under an
	// application that had data would hide the loss.
	RecreateMissingDatabase bool
}

// Validate checks every name before any of it reaches SQL.
func (t Tenant) Validate() error {
	if err := ValidateDatabaseName(t.Database); err != nil {
		return err
	}
	if err := ValidateUserName(t.User); err != nil {
		return err
	}
	if err := ValidateCharsetName("charset", t.Charset); err != nil {
		return err
	}
	if err := ValidateCharsetName("collation", t.Collation); err != nil {
		return err
	}
	if t.Owner.UID == "" {
		return errors.New("tenant has no owner UID")
	}
	return nil
}

// DatabaseMissingError says a database that was provisioned has since been dropped outside DB
// Concierge, and may not be recreated empty.
type DatabaseMissingError struct{ Name string }

func (e *DatabaseMissingError) Error() string {
	return fmt.Sprintf("database %q was provisioned but no longer exists (dropped outside DB Concierge?); "+
		"it is not recreated empty: restore it from a backup, or delete and recreate the AppDatabase "+
		"(with deletionPolicy Delete, the operator's --recreate-missing-databases recreates it empty)", e.Name)
}

// ChangeKind names one kind of change Provision makes; the drift-repair metrics count them.
type ChangeKind string

// The changes Provision makes.
const (
	CreatedDatabase   ChangeKind = "database_created"
	RecreatedDatabase ChangeKind = "database_recreated"
	AlteredDatabase   ChangeKind = "database_altered"
	CreatedUser       ChangeKind = "user_created"
	ResetPassword     ChangeKind = "password_reset"
	Granted           ChangeKind = "grant_restored"
	Revoked           ChangeKind = "grant_revoked"
)

// Change is one thing Provision changed.
type Change struct {
	Kind   ChangeKind
	Detail string
}

func (c Change) String() string { return c.Detail }

// Provision brings the server to t: database, user logging in with password, the one grant and
// nothing more, and ownership committed. Each step reads before it writes, except for what c says
// this pass found missing; Provision returns what it changed, which is nothing when the tenant is
// already as it should be. The caller claims t (Claim) and stores password where the application
// reads it before calling Provision, so that a crash at any step leaves a tenant whose next pass
// converges on that password.
func (a *Admin) Provision(ctx context.Context, t Tenant, c Claim, password string) (changes []Change, err error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	add := func(change *Change, err error) error {
		if change != nil {
			changes = append(changes, *change)
		}
		return err
	}
	if err := add(a.ensureDatabase(ctx, t, c)); err != nil {
		return changes, err
	}
	var loginErr error
	// The user's grants as SHOW GRANTS prints them, once read; a user created now has none.
	var grantLines []string
	grantsKnown := c.freshUser
	if c.freshUser {
		err = add(a.createUser(ctx, t, password))
	} else {
		// MariaDB prints the password hash with the grants. When it is the hash of the Secret's
		// password, the login that would prove the same is skipped: a new connection costs the
		// operator and the server more than every other step of a drift check. Servers that do
		// not print it (MySQL 8), or another hash, take the login.
		// A failed SHOW GRANTS is not final (a missing user answers "no such grant"): the login
		// tells a missing user from a wrong password, and the grants are read again below.
		var grantsErr error
		grantLines, grantsErr = a.showGrants(ctx, t.User)
		grantsKnown = grantsErr == nil
		if !grantsKnown || !nativePasswordIs(grantLines, password) {
			if loginErr = a.VerifyLogin(ctx, t.User, password, t.Database); loginErr != nil {
				var change *Change
				change, err = a.ensureUser(ctx, t, password, loginErr)
				if change != nil && change.Kind == CreatedUser {
					grantLines, grantsKnown = nil, true
				}
				err = add(change, err)
			}
		}
	}
	if err != nil {
		return changes, err
	}
	if !grantsKnown {
		if grantLines, err = a.showGrants(ctx, t.User); err != nil {
			return changes, err
		}
	}
	grants, err := a.ensureGrants(ctx, t, grantLines)
	changes = append(changes, grants...)
	if err != nil {
		return changes, err
	}
	if c.pending {
		if err := a.commitClaim(ctx, t.Owner); err != nil {
			return changes, err
		}
		failpoint.Hit("after-commit")
	}
	if loginErr != nil || len(changes) > 0 {
		if err := a.VerifyLogin(ctx, t.User, password, t.Database); err != nil {
			return changes, fmt.Errorf("verifying the new login: %w", err)
		}
	}
	return changes, nil
}

func (a *Admin) ensureDatabase(ctx context.Context, t Tenant, c Claim) (*Change, error) {
	var charset, collation string
	err := sql.ErrNoRows
	if !c.freshDatabase {
		err = a.db.QueryRowContext(ctx,
			"SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
			t.Database).Scan(&charset, &collation)
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		change := &Change{Kind: CreatedDatabase, Detail: "created database"}
		if c.databaseCommitted {
			if !t.RecreateMissingDatabase {
				return nil, &DatabaseMissingError{Name: t.Database}
			}
			change = &Change{Kind: RecreatedDatabase, Detail: "recreated the database, empty, after it was dropped outside DB Concierge"}
		}
		if err := a.exec(ctx, createDatabase(t.Database, t.Charset, t.Collation)); err != nil {
			return nil, fmt.Errorf("creating database %q: %w", t.Database, err)
		}
		failpoint.Hit("after-create-database")
		return change, nil
	case err != nil:
		a.observe(opRead, err)
		return nil, fmt.Errorf("reading database %q: %w", t.Database, err)
	}
	if strings.EqualFold(charset, t.Charset) && strings.EqualFold(collation, t.Collation) {
		return nil, nil
	}
	if err := a.exec(ctx, alterDatabase(t.Database, t.Charset, t.Collation)); err != nil {
		return nil, fmt.Errorf("changing charset of database %q: %w", t.Database, err)
	}
	return &Change{Kind: AlteredDatabase, Detail: fmt.Sprintf("changed the database's charset/collation from %s/%s", charset, collation)}, nil
}

// ensureUser creates the user, or brings its password to the given one, after a failed login
// (loginErr). A login refused for the database only (the grant is missing) needs no change here.
func (a *Admin) ensureUser(ctx context.Context, t Tenant, password string, loginErr error) (*Change, error) {
	existing, err := a.existing(ctx, KindUser, t.User)
	if err != nil {
		return nil, err
	}
	if existing == "" {
		return a.createUser(ctx, t, password)
	}
	d, err := a.dialectFor(ctx)
	if err != nil {
		return nil, err
	}
	switch errorNumber(loginErr) {
	case erDBAccessDenied:
		return nil, nil
	case erAccessDenied:
		if err := a.exec(ctx, d.alterUserPassword(t.User, password)); err != nil {
			return nil, fmt.Errorf("setting the password of user %q: %w", t.User, err)
		}
		return &Change{Kind: ResetPassword, Detail: "set the user's password to the Secret's"}, nil
	}
	return nil, loginErr
}

func (a *Admin) createUser(ctx context.Context, t Tenant, password string) (*Change, error) {
	d, err := a.dialectFor(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.exec(ctx, d.createUser(t.User, password)); err != nil {
		return nil, fmt.Errorf("creating user %q: %w", t.User, err)
	}
	failpoint.Hit("after-create-user")
	return &Change{Kind: CreatedUser, Detail: "created user"}, nil
}

// ensureGrants brings the user's grants, lines as SHOW GRANTS printed them, to exactly ALL
// PRIVILEGES on its database (planGrants).
func (a *Admin) ensureGrants(ctx context.Context, t Tenant, lines []string) ([]Change, error) {
	// SHOW GRANTS output can carry the password hash: it is parsed here and never logged.
	plan, err := planGrants(lines, t.Database, t.User)
	if err != nil {
		return nil, fmt.Errorf("reading grants of user %q: %w", t.User, err)
	}
	var changes []Change
	for _, st := range plan.revokes {
		if err := a.exec(ctx, st); err != nil {
			return changes, fmt.Errorf("revoking a grant of %q the tenant must not hold: %w", t.User, err)
		}
		changes = append(changes, Change{Kind: Revoked, Detail: "revoked a grant beyond the database (" + strings.TrimPrefix(strings.SplitN(st.query, " FROM ", 2)[0], "REVOKE ") + ")"})
	}
	if plan.grant {
		if err := a.exec(ctx, grantAllOnDatabase(t.Database, t.User)); err != nil {
			return changes, fmt.Errorf("granting privileges on %q to %q: %w", t.Database, t.User, err)
		}
		failpoint.Hit("after-grant")
		changes = append(changes, Change{Kind: Granted, Detail: "granted all privileges on the database"})
	}
	return changes, nil
}

func (a *Admin) showGrants(ctx context.Context, user string) ([]string, error) {
	st := showGrants(user)
	rows, err := a.db.QueryContext(ctx, st.query)
	if err != nil {
		// "No such grant" is how a user dropped by hand shows: drift, not an error of the server.
		if errorNumber(err) != erNonexistingGrant {
			a.observe(opRead, err)
		}
		return nil, fmt.Errorf("reading grants of user %q: %w", user, err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, fmt.Errorf("reading grants of user %q: %w", user, err)
		}
		lines = append(lines, line)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading grants of user %q: %w", user, err)
	}
	return lines, nil
}

// DropOwned drops the databases and users that the ownership table attributes to owner uid — and
// nothing else, whatever names the caller's spec holds — then forgets them. It returns what it
// dropped.
func (a *Admin) DropOwned(ctx context.Context, uid string) ([]string, error) {
	rows, err := a.owned(ctx, uid)
	if err != nil {
		return nil, err
	}
	var dropped []string
	for _, r := range rows {
		var st statement
		switch r.kind {
		case KindDatabase:
			st = dropDatabase(r.name)
		case KindUser:
			st = dropUser(r.name)
		default:
			continue
		}
		if err := a.exec(ctx, st); err != nil {
			return dropped, fmt.Errorf("dropping %s %q: %w", r.kind, r.name, err)
		}
		dropped = append(dropped, fmt.Sprintf("%s %q", r.kind, r.name))
	}
	if len(rows) > 0 {
		_, err := a.db.ExecContext(ctx, "DELETE FROM "+ownershipTable+" WHERE owner_uid = ?", uid)
		a.observe(opOwnership, err)
		if err != nil {
			return dropped, fmt.Errorf("removing ownership records: %w", err)
		}
	}
	return dropped, nil
}
