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
// Concierge. It is not recreated: an empty database under an application that had data would
// hide the loss.
type DatabaseMissingError struct{ Name string }

func (e *DatabaseMissingError) Error() string {
	return fmt.Sprintf("database %q was provisioned but no longer exists (dropped outside DB Concierge?); "+
		"it is not recreated empty: restore it from a backup, or delete and recreate the AppDatabase", e.Name)
}

// Provision brings the server to t: database, user logging in with password, the one grant, and
// ownership committed. Each step reads before it writes; Provision returns what it changed, which
// is nothing when the tenant is already complete. The caller claims t (Claim) and stores password
// where the application reads it before calling Provision, so that a crash at any step leaves a
// tenant whose next Provision converges on that password.
func (a *Admin) Provision(ctx context.Context, t Tenant, password string) (changes []string, err error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	c, err := a.claim(ctx, t, nil)
	if err != nil {
		return nil, err
	}
	if changed, err := a.ensureDatabase(ctx, t, c.databaseCommitted); err != nil {
		return changes, err
	} else if changed != "" {
		changes = append(changes, changed)
	}

	loginErr := a.VerifyLogin(ctx, t.User, password, t.Database)
	if loginErr != nil {
		changed, err := a.ensureUser(ctx, t, password, loginErr)
		if err != nil {
			return changes, err
		}
		if changed != "" {
			changes = append(changes, changed)
		}
	}
	if granted, err := a.ensureGrant(ctx, t); err != nil {
		return changes, err
	} else if granted {
		changes = append(changes, "granted all privileges on the database")
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

func (a *Admin) ensureDatabase(ctx context.Context, t Tenant, committed bool) (string, error) {
	var charset, collation string
	err := a.db.QueryRowContext(ctx,
		"SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
		t.Database).Scan(&charset, &collation)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if committed {
			return "", &DatabaseMissingError{Name: t.Database}
		}
		if err := a.exec(ctx, createDatabase(t.Database, t.Charset, t.Collation)); err != nil {
			return "", fmt.Errorf("creating database %q: %w", t.Database, err)
		}
		failpoint.Hit("after-create-database")
		return "created database", nil
	case err != nil:
		return "", fmt.Errorf("reading database %q: %w", t.Database, err)
	}
	if strings.EqualFold(charset, t.Charset) && strings.EqualFold(collation, t.Collation) {
		return "", nil
	}
	if err := a.exec(ctx, alterDatabase(t.Database, t.Charset, t.Collation)); err != nil {
		return "", fmt.Errorf("changing charset of database %q: %w", t.Database, err)
	}
	return fmt.Sprintf("changed database charset/collation from %s/%s", charset, collation), nil
}

// ensureUser creates the user, or brings its password to the given one, after a failed login
// (loginErr). A login refused for the database only (the grant is missing) needs no change here.
func (a *Admin) ensureUser(ctx context.Context, t Tenant, password string, loginErr error) (string, error) {
	existing, err := a.existing(ctx, KindUser, t.User)
	if err != nil {
		return "", err
	}
	d, err := a.dialectFor(ctx)
	if err != nil {
		return "", err
	}
	if existing == "" {
		if err := a.exec(ctx, d.createUser(t.User, password)); err != nil {
			return "", fmt.Errorf("creating user %q: %w", t.User, err)
		}
		failpoint.Hit("after-create-user")
		return "created user", nil
	}
	switch errorNumber(loginErr) {
	case erDBAccessDenied:
		return "", nil
	case erAccessDenied:
		if err := a.exec(ctx, d.alterUserPassword(t.User, password)); err != nil {
			return "", fmt.Errorf("setting the password of user %q: %w", t.User, err)
		}
		return "set the user's password to the Secret's", nil
	}
	return "", loginErr
}

func (a *Admin) ensureGrant(ctx context.Context, t Tenant) (bool, error) {
	st := showGrants(t.User)
	rows, err := a.db.QueryContext(ctx, st.query)
	if err != nil {
		return false, fmt.Errorf("reading grants of user %q: %w", t.User, err)
	}
	// SHOW GRANTS output can carry the password hash: it is matched here and never logged.
	want, wildcard := grantLinePrefix(t.Database), wildcardGrantLinePrefix(t.Database)
	found, widened := false, false
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			rows.Close()
			return false, fmt.Errorf("reading grants of user %q: %w", t.User, err)
		}
		found = found || strings.HasPrefix(line, want)
		widened = widened || want != wildcard && strings.HasPrefix(line, wildcard)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return false, fmt.Errorf("reading grants of user %q: %w", t.User, err)
	}
	if widened {
		// An adopted user may hold the unescaped grant, which reaches look-alike databases.
		if err := a.exec(ctx, revokeAllOnPattern(t.Database, t.User)); err != nil {
			return false, fmt.Errorf("revoking the wildcard grant on %q from %q: %w", t.Database, t.User, err)
		}
	}
	if found {
		return widened, nil
	}
	if err := a.exec(ctx, grantAllOnDatabase(t.Database, t.User)); err != nil {
		return false, fmt.Errorf("granting privileges on %q to %q: %w", t.Database, t.User, err)
	}
	failpoint.Hit("after-grant")
	return true, nil
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
		if _, err := a.db.ExecContext(ctx, "DELETE FROM "+ownershipTable+" WHERE owner_uid = ?", uid); err != nil {
			return dropped, fmt.Errorf("removing ownership records: %w", err)
		}
	}
	return dropped, nil
}
