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
	TLSRequirementSet ChangeKind = "tls_requirement_set"
	SessionsEnded     ChangeKind = "sessions_ended"
)

// Change is one thing Provision changed.
type Change struct {
	Kind   ChangeKind
	Detail string
}

func (c Change) String() string { return c.Detail }

// Provision brings the server to t: database, user logging in with password, the one grant and
// nothing more, the account's TLS requirement, and ownership committed. Each step reads before it
// writes, except for what c says this pass found missing; Provision returns what it changed, which
// is nothing when the tenant is already as it should be. The caller claims t (Claim) and stores
// password where the application reads it before calling Provision, so that a crash at any step
// leaves a tenant whose next pass converges on that password.
func (a *Admin) Provision(ctx context.Context, t Tenant, c Claim, password string) (changes []Change, err error) {
	defer func() { err = a.settle(ctx, err) }()
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if err := ValidatePassword(password); err != nil {
		return nil, err
	}
	d, err := a.dialectFor(ctx)
	if err != nil {
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
	grantsKnown, createdNow := c.freshUser, c.freshUser
	if c.freshUser {
		err = add(a.createUser(ctx, d, t, password))
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
				change, err = a.ensureUser(ctx, d, t, password, loginErr)
				if change != nil && change.Kind == CreatedUser {
					grantLines, grantsKnown, createdNow = nil, true, true
				}
				err = add(change, err)
			}
		}
	}
	var refused *PasswordPolicyError
	if errors.As(err, &refused) {
		// Nothing of this tenant can work until the policy admits the password: what this pass
		// created is taken back, so that the name is not held by an empty shell.
		return changes, errors.Join(err, a.undoRefusedPass(ctx, t, c, changes))
	}
	if err != nil {
		return changes, err
	}
	if !grantsKnown {
		if grantLines, err = a.showGrants(ctx, t.User); err != nil {
			return changes, err
		}
	}
	grants, err := a.ensureGrants(ctx, d, t, grantLines, createdNow)
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

// undoRefusedPass takes back what a pass created for a tenant that cannot be completed: the database, if
// this pass created it (it is empty), and the ownership records of what does not exist.
func (a *Admin) undoRefusedPass(ctx context.Context, t Tenant, c Claim, changes []Change) error {
	for _, change := range changes {
		if change.Kind == CreatedDatabase && c.freshDatabase {
			if err := a.exec(ctx, dropDatabase(t.Database)); err != nil {
				return fmt.Errorf("dropping the database %q created for the refused tenant: %w", t.Database, err)
			}
		}
	}
	return a.Release(ctx, t.Owner.UID)
}

func (a *Admin) ensureDatabase(ctx context.Context, t Tenant, c Claim) (*Change, error) {
	var charset, collation string
	err := sql.ErrNoRows
	if !c.freshDatabase {
		err = a.queryRow(ctx, selectDatabaseCharset(t.Database)).Scan(&charset, &collation)
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
	// The spec may name an alias (utf8 for utf8mb3, a collation without its character set):
	// compared with what the server reports, it is resolved the way the server resolves it.
	wantCharset, wantCollation, err := a.resolveCharset(ctx, t.Charset, t.Collation)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(charset, wantCharset) && strings.EqualFold(collation, wantCollation) {
		return nil, nil
	}
	if err := a.exec(ctx, alterDatabase(t.Database, t.Charset, t.Collation)); err != nil {
		return nil, fmt.Errorf("changing charset of database %q: %w", t.Database, err)
	}
	return &Change{Kind: AlteredDatabase, Detail: fmt.Sprintf("changed the database's charset/collation from %s/%s", charset, collation)}, nil
}

// ensureUser creates the user, or brings its password to the given one, after a failed login
// (loginErr). A login refused for the database only (the grant is missing) needs no change here.
func (a *Admin) ensureUser(ctx context.Context, d dialect, t Tenant, password string, loginErr error) (*Change, error) {
	existing, err := a.existing(ctx, ObjectUser, t.User)
	if err != nil {
		return nil, err
	}
	if existing == "" {
		return a.createUser(ctx, d, t, password)
	}
	switch errorNumber(loginErr) {
	case erDBAccessDenied:
		return nil, nil
	case erAccessDenied:
		err := a.execPassword(ctx, d, func(form passwordForm) statement { return d.alterUserPassword(t.User, password, form) })
		if err != nil {
			return nil, fmt.Errorf("setting the password of user %q: %w", t.User, err)
		}
		return &Change{Kind: ResetPassword, Detail: "set the user's password to the Secret's"}, nil
	}
	return nil, loginErr
}

func (a *Admin) createUser(ctx context.Context, d dialect, t Tenant, password string) (*Change, error) {
	err := a.execPassword(ctx, d, func(form passwordForm) statement { return d.createUser(t.User, password, form) })
	if err != nil {
		return nil, fmt.Errorf("creating user %q: %w", t.User, err)
	}
	failpoint.Hit("after-create-user")
	return &Change{Kind: CreatedUser, Detail: "created user"}, nil
}

// execPassword runs a statement that sets a password, in the form the server takes now
// (passwordFormNow). A password the server's policy refuses is a *PasswordPolicyError.
func (a *Admin) execPassword(ctx context.Context, d dialect, st func(passwordForm) statement) error {
	form, err := a.passwordFormNow(ctx, d)
	if err != nil {
		return err
	}
	statement := st(form)
	err = a.exec(ctx, statement)
	switch n := errorNumber(err); {
	case n == erNotValidPassword,
		// MariaDB answers a refused ALTER USER with its generic "operation failed"; the user
		// exists (ensureUser checked), so under a validation plugin it is the policy.
		n == erCannotUser && form == inClear && statement.op == opAlterUser && !d.mysqlFamily():
		return &PasswordPolicyError{Err: err}
	}
	return err
}

// passwordFormNow tells how MariaDB must be given a password: as its hash, unless a password
// validation plugin is active and strict_password_validation makes the server refuse hashes (the
// plugin must read the password). It is asked each time a password is set — rarely — since a
// platform team can load or unload a plugin at any moment, and a stale answer would either fail
// or send a password in clear for nothing.
func (a *Admin) passwordFormNow(ctx context.Context, d dialect) (passwordForm, error) {
	if d.mysqlFamily() {
		return inClear, nil
	}
	var strict, plugins int
	err := a.queryRow(ctx, selectPasswordValidation).Scan(&strict, &plugins)
	if err != nil {
		a.observe(opRead, err)
		return hashed, fmt.Errorf("asking whether the server validates passwords: %w", err)
	}
	if strict != 0 && plugins > 0 {
		return inClear, nil
	}
	return hashed, nil
}

// ensureGrants brings the user's grants, lines as SHOW GRANTS printed them, to exactly ALL
// PRIVILEGES on its database (planGrants), and its TLS requirement to the cluster's. A user
// createdNow has the requirement it was created with.
func (a *Admin) ensureGrants(ctx context.Context, d dialect, t Tenant, lines []string, createdNow bool) ([]Change, error) {
	// SHOW GRANTS output can carry the password hash: it is parsed here and never logged.
	plan, err := planGrants(lines, t.Database, t.User, d)
	if err != nil {
		return nil, fmt.Errorf("reading grants of user %q: %w", t.User, err)
	}
	changes, err := a.revokeBeyondDatabase(ctx, t.User, plan.revokes)
	if err != nil {
		return changes, err
	}
	if plan.grant {
		if err := a.exec(ctx, grantAllOnDatabase(t.Database, t.User)); err != nil {
			return changes, fmt.Errorf("granting privileges on %q to %q: %w", t.Database, t.User, err)
		}
		failpoint.Hit("after-grant")
		changes = append(changes, Change{Kind: Granted, Detail: "granted all privileges on the database"})
	}
	tls, known := plan.tls, plan.tlsKnown
	if createdNow {
		tls, known = d.wantedTLS(), true
	}
	if !known {
		if tls, err = a.tlsRequirement(ctx, t.User); err != nil {
			return changes, err
		}
	}
	if tls != d.wantedTLS() {
		if err := a.exec(ctx, d.alterUserTLS(t.User)); err != nil {
			return changes, fmt.Errorf("setting the TLS requirement of user %q: %w", t.User, err)
		}
		changes = append(changes, Change{Kind: TLSRequirementSet, Detail: fmt.Sprintf("set the user's TLS requirement to %q (it was %q)", d.wantedTLS(), tls)})
	}
	return changes, nil
}

// revokeBeyondDatabase takes away what the user holds beyond its database, then ends its sessions:
// a session keeps the global and database privileges it started with (a database's until it
// leaves it), so what was revoked takes effect only then. Every revoke is tried, and the sessions
// are ended whenever one succeeded, even if another failed: one the admin account may not make
// (a *RevokeError) does not leave the others in effect.
func (a *Admin) revokeBeyondDatabase(ctx context.Context, user string, revokes []revocation) (changes []Change, err error) {
	var refused *RevokeError
	var failed error
	for _, r := range revokes {
		err := a.exec(ctx, r.statement)
		switch {
		case err == nil:
			changes = append(changes, Change{Kind: Revoked, Detail: "revoked " + r.what + " beyond the database"})
		case Classify(err) == KindAccessDenied:
			if refused == nil {
				refused = &RevokeError{User: user, Err: err}
			}
			refused.What = append(refused.What, r.what)
		case failed == nil:
			failed = fmt.Errorf("revoking %s from user %q: %w", r.what, user, err)
		}
	}
	if len(changes) > 0 {
		if err := a.endSessions(ctx, user); err != nil {
			return changes, err
		}
		changes = append(changes, Change{Kind: SessionsEnded, Detail: "ended the user's sessions, so that the revoked privileges no longer apply"})
	}
	if failed != nil {
		return changes, failed
	}
	if refused != nil {
		return changes, refused
	}
	return changes, nil
}

// tlsRequirement reads an account's REQUIRE clause where SHOW GRANTS does not print it (MySQL 8).
func (a *Admin) tlsRequirement(ctx context.Context, user string) (tlsRequirement, error) {
	var sslType string
	err := a.queryRow(ctx, selectTLSRequirement(user)).Scan(&sslType)
	if err != nil {
		a.observe(opRead, err)
		return "", fmt.Errorf("reading the TLS requirement of user %q: %w", user, err)
	}
	return parseTLSRequirement(sslType), nil
}

func (a *Admin) showGrants(ctx context.Context, user string) ([]string, error) {
	st := showGrants(user)
	rows, err := a.db.QueryContext(ctx, st.query, st.args...)
	if err != nil {
		// "No such grant" is how a user dropped by hand shows: drift, not an error of the server.
		if errorNumber(err) != erNonexistingGrant {
			a.observe(opRead, err)
		}
		return nil, fmt.Errorf("reading grants of user %q: %w", user, err)
	}
	lines, err := column[string](rows)
	if err != nil {
		return nil, fmt.Errorf("reading grants of user %q: %w", user, err)
	}
	return lines, nil
}

// column reads the one column of every row, and closes rows.
func column[T any](rows *sql.Rows) ([]T, error) {
	defer rows.Close()
	var values []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		values = append(values, v)
	}
	return values, rows.Err()
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
		case ObjectDatabase:
			st = dropDatabase(r.name)
		case ObjectUser:
			st = dropUser(r.name)
		default:
			continue
		}
		if err := a.exec(ctx, st); err != nil {
			return dropped, fmt.Errorf("dropping %s %q: %w", r.kind, r.name, err)
		}
		dropped = append(dropped, fmt.Sprintf("%s %q", r.kind, r.name))
		if r.kind == ObjectUser {
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

// endSessions ends every session of user, on every server the cluster's admin endpoints reach:
// sessions are local to a node, and a Galera cluster's nodes each hold their own. The user is
// dropped (or its privileges revoked) first, so no new session can start with what it had; the
// list is read again in case one was logging in meanwhile. Endpoints that accept no connection
// hold no sessions and are passed over. Behind a proxy, only the node the proxy picks is reached:
// the admin endpoints should name the nodes.
func (a *Admin) endSessions(ctx context.Context, user string) error {
	if len(a.opts.Endpoints) == 1 {
		return a.endSessionsOn(ctx, a.db, user)
	}
	var errs []error
	for _, e := range a.opts.Endpoints {
		opts := a.opts
		opts.Endpoints = []Endpoint{e}
		// Not an admin session: a read-only replica's sessions are ended too.
		connector, err := newFailover(opts, opts.User, opts.Password, "", false)
		if err != nil {
			return err
		}
		db := sql.OpenDB(connector)
		err = a.endSessionsOn(ctx, db, user)
		_ = db.Close()
		var connectErr *ConnectError
		switch {
		case errors.As(err, &connectErr):
			// A node that takes no connection serves no session either.
		case err != nil:
			// The other nodes are still visited: a session left on one is no reason to leave
			// those on the rest.
			errs = append(errs, fmt.Errorf("on %s: %w", e, err))
		}
	}
	return errors.Join(errs...)
}

// endSessionsOn ends user's sessions on the server db reaches, listing and ending them over one
// connection: behind a proxy that spreads connections, another connection may reach another
// node, where the same session ids belong to other sessions.
func (a *Admin) endSessionsOn(ctx context.Context, db *sql.DB, user string) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for range 3 {
		ids, err := sessionsOf(ctx, conn, user)
		if err != nil || len(ids) == 0 {
			return err
		}
		for _, id := range ids {
			st := killConnection(id)
			_, err := conn.ExecContext(ctx, st.query)
			if errorNumber(err) == erNoSuchThread {
				continue // it ended by itself
			}
			a.observe(st.op, err)
			if err != nil {
				return fmt.Errorf("ending session %d of user %q: %w", id, user, err)
			}
		}
	}
	return nil
}

func sessionsOf(ctx context.Context, conn *sql.Conn, user string) ([]int64, error) {
	st := selectSessionsOf(user)
	rows, err := conn.QueryContext(ctx, st.query, st.args...)
	if err != nil {
		return nil, fmt.Errorf("listing the sessions of user %q: %w", user, err)
	}
	ids, err := column[int64](rows)
	if err != nil {
		return nil, fmt.Errorf("listing the sessions of user %q: %w", user, err)
	}
	return ids, nil
}
