package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/stillwaters/db-concierge/internal/failpoint"
	"github.com/stillwaters/db-concierge/internal/tenant"
)

// naming words the changes made to one account. A tenant with a single account keeps the words
// it always had ("created user"); with several, each change names its account.
type naming struct {
	user    string
	several bool
}

func (p *pass) naming(user string) naming {
	return naming{user: user, several: len(p.spec.Accounts) > 1}
}

// subject is "the user", or "user <name>".
func (n naming) subject() string {
	if n.several {
		return "user " + n.user
	}
	return "the user"
}

// possessive is "the user's", or "user <name>'s".
func (n naming) possessive() string { return n.subject() + "'s" }

// suffix is " <preposition> user <name>", or nothing for a single account.
func (n naming) suffix(preposition string) string {
	if n.several {
		return " " + preposition + " user " + n.user
	}
	return ""
}

// ensureAccount brings one account to the spec: it exists, logs in with its password, holds
// exactly its access, and has the cluster's TLS requirement and its own connection limit.
func (p *pass) ensureAccount(ctx context.Context, acc tenant.Account) error {
	oc, claimed := p.claim.account(acc.Name)
	if !claimed {
		return fmt.Errorf("user %q is not claimed for AppDatabase %s/%s", acc.Name, p.spec.Owner.Namespace, p.spec.Owner.Name)
	}
	n := p.naming(acc.Name)
	before := len(p.changes)
	var loginErr error
	// The account's grants as SHOW GRANTS prints them, once read; an account created now has none.
	var lines []string
	grantsKnown, createdNow := oc.fresh, oc.fresh
	switch {
	case oc.fresh:
		if err := p.add(p.a.createUser(ctx, p.d, acc, n)); err != nil {
			return err
		}
	case acc.Standby:
		// Its password is nobody's business here: it only has to exist.
		existing, err := p.a.existing(ctx, tenant.ObjectUser, acc.Name)
		if err != nil {
			return err
		}
		if existing == "" {
			if err := p.add(p.a.createUser(ctx, p.d, acc, n)); err != nil {
				return err
			}
			lines, grantsKnown, createdNow = nil, true, true
		}
	default:
		// MariaDB prints the password hash with the grants. When it is the hash of the Secret's
		// password, the login that would prove the same is skipped: a new connection costs the
		// operator and the server more than every other step of a drift check. Servers that do
		// not print it (MySQL 8), or another hash, take the login.
		// A failed SHOW GRANTS is not final (a missing user answers "no such grant"): the login
		// tells a missing user from a wrong password, and the grants are read again below.
		var grantsErr error
		lines, grantsErr = p.a.showGrants(ctx, acc.Name)
		grantsKnown = grantsErr == nil
		if !grantsKnown || !nativePasswordIs(lines, acc.Password) {
			if loginErr = p.a.verifyLogin(ctx, acc.Name, acc.Password, p.spec.Database); loginErr != nil {
				change, err := p.a.ensureUser(ctx, p.d, acc, loginErr, n, p.spec.Rotating())
				if change != nil && change.Kind == tenant.CreatedUser {
					lines, grantsKnown, createdNow = nil, true, true
				}
				if err := p.add(change, err); err != nil {
					return err
				}
			}
		}
	}
	if createdNow {
		p.created = append(p.created, acc.Name)
	}
	if !grantsKnown {
		var err error
		if lines, err = p.a.showGrants(ctx, acc.Name); err != nil {
			return err
		}
	}
	changes, err := p.a.ensureAccess(ctx, p.d, p.spec.Database, acc, lines, createdNow, n)
	p.changes = append(p.changes, changes...)
	if err != nil {
		return err
	}
	if p.spec.Rotating() && !createdNow {
		if err := p.add(p.a.ensureLock(ctx, p.d, acc, n)); err != nil {
			return err
		}
	}
	if acc.Second == tenant.SecondDiscarded && !createdNow {
		discarded, err := p.a.discardSecond(ctx, p.d, acc.Name, acc.Password, n)
		p.changes = append(p.changes, discarded...)
		if err != nil {
			return err
		}
	}
	if acc.Standby {
		return nil
	}
	if loginErr != nil || len(p.changes) > before || p.databaseChanged {
		p.verify = append(p.verify, acc)
	}
	return nil
}

// ensureUser creates the account, or brings its password to the spec's, after a failed login
// (loginErr). A login refused for the database only (the grant is missing) needs no change here.
// For a rotating tenant, whose account in use may have been its partner's locked idle one, the
// password is set and the lock lifted in one statement.
func (a *Admin) ensureUser(ctx context.Context, d dialect, acc tenant.Account, loginErr error, n naming, rotating bool) (*tenant.Change, error) {
	existing, err := a.existing(ctx, tenant.ObjectUser, acc.Name)
	if err != nil {
		return nil, err
	}
	if existing == "" {
		return a.createUser(ctx, d, acc, n)
	}
	switch errorNumber(loginErr) {
	case erDBAccessDenied:
		return nil, nil
	case erAccessDenied, erAccountLocked, erAccountLockedMySQL:
		if acc.Second == tenant.SecondRetained && errorNumber(loginErr) == erAccessDenied {
			return a.retainPassword(ctx, d, acc, n)
		}
		// A locked account does not say whether the password was right: it is set anyway, and
		// the lock is lifted after (ensureLock).
		err := a.execPassword(ctx, d, acc.Name, func(form passwordForm) statement {
			st := d.alterUserPassword(acc.Name, acc.Password, form)
			if rotating {
				st.query += " ACCOUNT UNLOCK"
			}
			return st
		})
		if err != nil {
			return nil, fmt.Errorf("setting the password of user %q: %w", acc.Name, err)
		}
		return &tenant.Change{Kind: tenant.ResetPassword, Detail: "set " + n.possessive() + " password to the Secret's"}, nil
	}
	return nil, loginErr
}

// retainPassword gives the account its new password and keeps the one it had as its second, so
// that credentials read before the rotation log in until the grace period ends. RETAIN CURRENT
// PASSWORD keeps the account's first password, and that must be the previous one, the Secret's:
// unless the account has no second password and logs in with it, it is set first (ALTER USER
// without RETAIN leaves the second as it is, and RETAIN then replaces it).
func (a *Admin) retainPassword(ctx context.Context, d dialect, acc tenant.Account, n naming) (*tenant.Change, error) {
	has, err := a.hasSecondPassword(ctx, acc.Name)
	if err != nil {
		return nil, err
	}
	if has || a.verifyLogin(ctx, acc.Name, acc.Previous, "") != nil {
		err := a.execPassword(ctx, d, acc.Name, func(form passwordForm) statement { return d.alterUserPassword(acc.Name, acc.Previous, form) })
		if err != nil {
			return nil, fmt.Errorf("setting the previous password of user %q before keeping it: %w", acc.Name, err)
		}
	}
	err = a.execPassword(ctx, d, acc.Name, func(passwordForm) statement { return alterUserRetainingPassword(acc.Name, acc.Password) })
	if err != nil {
		return nil, fmt.Errorf("setting a new password on user %q, keeping the previous one: %w", acc.Name, err)
	}
	failpoint.Hit("after-retain-password")
	return &tenant.Change{Kind: tenant.RetainedPassword, Detail: "set a new password on " + n.subject() + ", keeping the previous one for the grace period"}, nil
}

// discardSecond takes away the account's second password, if it has one, and makes sure that
// password still logs in: should it have been the second (a rotation ended between its
// statements, or someone ran ALTER USER by hand), it is set again as the account's only one.
func (a *Admin) discardSecond(ctx context.Context, d dialect, user, password string, n naming) ([]tenant.Change, error) {
	has, err := a.hasSecondPassword(ctx, user)
	if err != nil || !has {
		return nil, err
	}
	if err := a.exec(ctx, discardOldPassword(user)); err != nil {
		return nil, fmt.Errorf("discarding the previous password of user %q: %w", user, err)
	}
	changes := []tenant.Change{{Kind: tenant.DiscardedPassword, Detail: "discarded the previous password of " + n.subject()}}
	loginErr := a.verifyLogin(ctx, user, password, "")
	if errorNumber(loginErr) != erAccessDenied {
		return changes, loginErr
	}
	err = a.execPassword(ctx, d, user, func(form passwordForm) statement { return d.alterUserPassword(user, password, form) })
	if err != nil {
		return changes, fmt.Errorf("setting the password of user %q: %w", user, err)
	}
	return append(changes, tenant.Change{Kind: tenant.ResetPassword, Detail: "set " + n.possessive() + " password to the Secret's"}), nil
}

// hasSecondPassword reads whether user keeps a second password.
func (a *Admin) hasSecondPassword(ctx context.Context, user string) (bool, error) {
	var has bool
	if err := a.scanRow(ctx, selectHasSecondPassword(user), &has); err != nil {
		a.observe(opRead, err)
		return false, fmt.Errorf("reading whether user %q keeps a second password: %w", user, err)
	}
	return has, nil
}

// createUser creates the account with its password, the cluster's TLS requirement, its own
// connection limit and its lock, so that a new account needs no ALTER USER.
func (a *Admin) createUser(ctx context.Context, d dialect, acc tenant.Account, n naming) (*tenant.Change, error) {
	err := a.execPassword(ctx, d, acc.Name, func(form passwordForm) statement {
		return d.createUser(acc.Name, acc.Password, form, acc.MaxUserConnections, acc.Locked)
	})
	if err != nil {
		return nil, fmt.Errorf("creating user %q: %w", acc.Name, err)
	}
	failpoint.Hit("after-create-user")
	detail := "created user"
	if n.several {
		detail += " " + acc.Name
	}
	return &tenant.Change{Kind: tenant.CreatedUser, Detail: detail}, nil
}

// execPassword runs a statement that sets user's password, in the form the server takes now
// (passwordFormNow). A password the server's policy refuses is a *tenant.PasswordPolicyError.
func (a *Admin) execPassword(ctx context.Context, d dialect, user string, st func(passwordForm) statement) error {
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
		return passwordPolicyError(user, err)
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
	err := a.scanRow(ctx, selectPasswordValidation, &strict, &plugins)
	if err != nil {
		a.observe(opRead, err)
		return hashed, fmt.Errorf("asking whether the server validates passwords: %w", err)
	}
	if strict != 0 && plugins > 0 {
		return inClear, nil
	}
	return hashed, nil
}

// ensureAccess brings the account's grants, lines as SHOW GRANTS printed them, to exactly its
// access on the database (planGrants), and its TLS requirement and connection limit to what they
// should be. An account createdNow has the requirement and limit it was created with.
func (a *Admin) ensureAccess(ctx context.Context, d dialect, database string, acc tenant.Account, lines []string, createdNow bool, n naming) ([]tenant.Change, error) {
	// SHOW GRANTS output can carry the password hash: it is parsed here and never logged.
	plan, err := planGrants(lines, database, acc.Name, acc.Access, d)
	if err != nil {
		return nil, fmt.Errorf("reading grants of user %q: %w", acc.Name, err)
	}
	changes, err := a.revoke(ctx, acc, plan.revokes, n)
	if err != nil {
		return changes, err
	}
	change, err := a.grant(ctx, database, acc.Name, plan, n)
	if change != nil {
		changes = append(changes, *change)
	}
	if err != nil {
		return changes, err
	}
	options, err := a.ensureAccountOptions(ctx, d, acc, plan, createdNow, n)
	return append(changes, options...), err
}

// grant grants what the plan says the database line lacks, in one statement.
func (a *Admin) grant(ctx context.Context, database, user string, plan grantPlan, n naming) (*tenant.Change, error) {
	var st statement
	var what string
	switch {
	case plan.grantAll:
		st, what = grantAllOnDatabase(database, user), "all privileges"
	case len(plan.grant) > 0:
		names := make([]string, len(plan.grant))
		for i, p := range plan.grant {
			names[i] = p.name
		}
		st, what = grantOnDatabase(database, user, plan.grant), strings.Join(names, ", ")
	default:
		return nil, nil
	}
	if err := a.exec(ctx, st); err != nil {
		return nil, fmt.Errorf("granting privileges on %q to %q: %w", database, user, err)
	}
	failpoint.Hit("after-grant")
	return &tenant.Change{Kind: tenant.Granted, Detail: "granted " + what + " on the database" + n.suffix("to")}, nil
}

// revoke takes away what the account must not hold, then ends its sessions: a session keeps the
// global and database privileges it started with (a database's until it leaves it), so what was
// revoked takes effect only then. Every revoke is tried, and the sessions are ended whenever one
// succeeded, even if another failed: one the admin account may not make (a *RevokeError) does
// not leave the others in effect.
func (a *Admin) revoke(ctx context.Context, acc tenant.Account, revokes []revocation, n naming) (changes []tenant.Change, err error) {
	var refused *RevokeError
	var failed error
	for _, r := range revokes {
		err := a.exec(ctx, r.statement)
		switch {
		case err == nil:
			where := " beyond the database"
			if r.inside {
				where = " beyond its access (" + string(acc.Access) + ")"
			}
			changes = append(changes, tenant.Change{Kind: tenant.Revoked, Detail: "revoked " + r.what + where + n.suffix("from")})
		case classify(err) == tenant.KindAccessDenied:
			if refused == nil {
				refused = &RevokeError{User: acc.Name, Err: err}
			}
			refused.What = append(refused.What, r.what)
		case failed == nil:
			failed = fmt.Errorf("revoking %s from user %q: %w", r.what, acc.Name, err)
		}
	}
	if len(changes) > 0 {
		if err := a.endSessions(ctx, acc.Name); err != nil {
			return changes, err
		}
		changes = append(changes, tenant.Change{Kind: tenant.SessionsEnded, Detail: "ended " + n.possessive() + " sessions, so that the revoked privileges no longer apply"})
	}
	if failed != nil {
		return changes, failed
	}
	if refused != nil {
		return changes, refused
	}
	return changes, nil
}

// ensureAccountOptions brings the account's TLS requirement to the cluster's and its connection
// limit to the spec's, reading them from mysql.user where SHOW GRANTS did not print them.
func (a *Admin) ensureAccountOptions(ctx context.Context, d dialect, acc tenant.Account, plan grantPlan, createdNow bool, n naming) ([]tenant.Change, error) {
	tls, limit := plan.tls, plan.maxConnections
	switch {
	case createdNow:
		tls, limit = d.wantedTLS(), acc.MaxUserConnections
	case !plan.tlsKnown || !plan.maxConnectionsKnown:
		var err error
		if tls, limit, err = a.accountOptions(ctx, acc.Name); err != nil {
			return nil, err
		}
	}
	var changes []tenant.Change
	if tls != d.wantedTLS() {
		if err := a.exec(ctx, d.alterUserTLS(acc.Name)); err != nil {
			return changes, fmt.Errorf("setting the TLS requirement of user %q: %w", acc.Name, err)
		}
		changes = append(changes, tenant.Change{Kind: tenant.TLSRequirementSet,
			Detail: fmt.Sprintf("set %s TLS requirement to %q (it was %q)", n.possessive(), d.wantedTLS(), tls)})
	}
	if limit != acc.MaxUserConnections {
		if err := a.exec(ctx, alterUserConnectionLimit(acc.Name, acc.MaxUserConnections)); err != nil {
			return changes, fmt.Errorf("setting the connection limit of user %q: %w", acc.Name, err)
		}
		changes = append(changes, tenant.Change{Kind: tenant.ConnectionLimit,
			Detail: fmt.Sprintf("set the connection limit of %s to %s (it was %s)", n.subject(), limitText(acc.MaxUserConnections), limitText(limit))})
	}
	return changes, nil
}

// ensureLock locks a standby account whose grace period is over, and unlocks any other: the
// account in use, and a standby still in its grace period or about to take over.
func (a *Admin) ensureLock(ctx context.Context, d dialect, acc tenant.Account, n naming) (*tenant.Change, error) {
	var locked string
	err := a.scanRow(ctx, d.selectAccountLocked(acc.Name), &locked)
	if err != nil {
		a.observe(opRead, err)
		return nil, fmt.Errorf("reading whether user %q is locked: %w", acc.Name, err)
	}
	if isLocked(locked) == acc.Locked {
		return nil, nil
	}
	if err := a.exec(ctx, alterUserLock(acc.Name, acc.Locked)); err != nil {
		return nil, fmt.Errorf("locking or unlocking user %q: %w", acc.Name, err)
	}
	if acc.Locked {
		return &tenant.Change{Kind: tenant.AccountLocked, Detail: "locked " + n.subject() + ": its grace period is over"}, nil
	}
	return &tenant.Change{Kind: tenant.AccountUnlocked, Detail: "unlocked " + n.subject()}, nil
}

// isLocked reads mysql.user.account_locked (Y or N) or MariaDB's JSON flag, which JSON_VALUE
// gives as 1 when set.
func isLocked(v string) bool { return v == "Y" || v == "1" }

// limitText words a connection limit for people.
func limitText(n int) string {
	if n == 0 {
		return "none"
	}
	return strconv.Itoa(n)
}

// accountOptions reads an account's REQUIRE clause and connection limit where SHOW GRANTS does
// not print them (MySQL 8).
func (a *Admin) accountOptions(ctx context.Context, user string) (tlsRequirement, int, error) {
	var sslType string
	var limit int64
	err := a.scanRow(ctx, selectAccountOptions(user), &sslType, &limit)
	if err != nil {
		a.observe(opRead, err)
		return "", 0, fmt.Errorf("reading the TLS requirement and connection limit of user %q: %w", user, err)
	}
	return parseTLSRequirement(sslType), int(limit), nil
}

func (a *Admin) showGrants(ctx context.Context, user string) ([]string, error) {
	st := showGrants(user)
	rows, err := a.query(ctx, st)
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
