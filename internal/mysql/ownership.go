package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/stillwaters/db-concierge/internal/failpoint"
)

// Ownership is recorded in the server itself, in OperatorSchema.ownership: one row per database
// and per user that DB Concierge created, naming the AppDatabase (by UID) it was created for.
// The row is written as an intent ("pending") before any DDL and marked "committed" once the
// tenant is complete, so a crash between steps leaves a claim that only its owner's retry can
// finish, and nobody else can take over.
//
// The table is InnoDB with a primary key (Galera and PXC's strict mode require both). Names compare
// without regard to case, so names that differ only in case can never belong to two owners, on
// servers that fold database names to lower case (lower_case_table_names) or not.

// ObjectKind names what an ownership record is about.
type ObjectKind string

// The objects an ownership record can be about.
const (
	ObjectDatabase ObjectKind = "database"
	ObjectUser     ObjectKind = "user"
)

const (
	statePending   = "pending"
	stateCommitted = "committed"
)

// Owner identifies the AppDatabase a tenant is provisioned for. UID decides ownership; namespace
// and name are recorded for people reading the table.
type Owner struct {
	UID       string
	Namespace string
	Name      string
}

// ConflictError says a database or user cannot be provisioned for this owner: it belongs to
// another AppDatabase (Owner), exists without having been created by DB Concierge (Owner nil), or
// an existing one differs from it only in case (Existing).
type ConflictError struct {
	Kind  ObjectKind
	Name  string
	Owner *Owner
	// Existing is the name as recorded or as the server has it, when it differs in case.
	Existing string
}

func (e *ConflictError) Error() string {
	switch {
	case e.Existing != "" && e.Existing != e.Name:
		return fmt.Sprintf("%s %q differs only in case from the existing %s %q; it is refused, since some servers treat them as one: choose another name",
			e.Kind, e.Name, e.Kind, e.Existing)
	case e.Owner == nil:
		return fmt.Sprintf("%s %q already exists and was not created by DB Concierge; it is left untouched: choose another name, "+
			"or ask the platform team to adopt it (annotation db.stillwaters.io/adopt=true on an AppDatabase in the platform namespace)", e.Kind, e.Name)
	}
	return fmt.Sprintf("%s %q belongs to another AppDatabase; it is left untouched: choose another name", e.Kind, e.Name)
}

// Claim is a tenant's ownership as Claim found or recorded it. Provision takes it, so that it
// need not read it again, and need not look for what this claim has just seen does not exist.
type Claim struct {
	databaseCommitted bool
	userCommitted     bool
	pending           bool
	// freshDatabase and freshUser: recorded by this claim for names under which nothing
	// existed, so Provision creates them without looking first.
	freshDatabase, freshUser bool
}

type ownershipRow struct {
	kind                                   ObjectKind
	name, uid, namespace, ownerName, state string
}

// ensureSchema creates the bookkeeping table on first use. It reads before it writes, so a
// restarted operator issues no DDL (which Galera would replicate to every node).
func (a *Admin) ensureSchema(ctx context.Context) error {
	a.schemaMu.Lock()
	defer a.schemaMu.Unlock()
	if a.schemaReady {
		return nil
	}
	var n int
	err := a.queryRow(ctx, selectOwnershipTable).Scan(&n)
	if err != nil {
		return fmt.Errorf("looking for the ownership table: %w", err)
	}
	if n == 0 {
		for _, st := range ownershipDDL {
			if err := a.exec(ctx, st); err != nil {
				return fmt.Errorf("creating the ownership table in schema %q: %w", OperatorSchema, err)
			}
		}
	}
	a.schemaReady = true
	return nil
}

// readOwnership reads the ownership rows a select… statement names.
func (a *Admin) readOwnership(ctx context.Context, st statement) ([]ownershipRow, error) {
	rows, err := a.db.QueryContext(ctx, st.query, st.args...)
	if err != nil {
		a.observe(opRead, err)
		return nil, fmt.Errorf("reading the ownership table: %w", err)
	}
	defer rows.Close()
	var found []ownershipRow
	for rows.Next() {
		var r ownershipRow
		if err := rows.Scan(&r.kind, &r.name, &r.uid, &r.namespace, &r.ownerName, &r.state); err != nil {
			return nil, fmt.Errorf("reading the ownership table: %w", err)
		}
		found = append(found, r)
	}
	return found, rows.Err()
}

// Adoption lets a claim take a database or user that is not recorded for its owner: one that
// exists without an ownership record (created by hand, or by the seed's operator), or one recorded
// for an owner that no longer exists. It is the platform team's deliberate step, never a default.
type Adoption struct {
	// Password is the password in the application's Secret. An existing user is adopted only if
	// it logs in with it, so adopting never changes a password an application may be using.
	Password string
}

// OwnerGone reports whether the AppDatabase a record names no longer exists. A record passes to
// another owner only then: a live owner's database is never taken, adoption or not.
type OwnerGone func(Owner) bool

// AdoptionError says an adoption was refused, and why.
type AdoptionError struct{ Reason string }

func (e *AdoptionError) Error() string { return e.Reason }

// Claim records that t.Owner owns t's database and user, or fails with a *ConflictError when
// either belongs to someone else, or with a *ForeignGrantError when a new database would be open
// to another account. With adopt, what exists unrecorded or belongs to a vanished owner is taken
// over instead (see Adoption). A pending record of a vanished owner under which nothing exists
// (its pass failed or crashed before creating anything) protects nothing, and passes to the
// claimant without adoption. Claim writes only what is missing: claiming what the owner already
// holds writes nothing.
func (a *Admin) Claim(ctx context.Context, t Tenant, adopt *Adoption, gone OwnerGone) (c Claim, err error) {
	defer func() { err = a.settle(ctx, err) }()
	if err := t.Validate(); err != nil {
		return Claim{}, err
	}
	return a.claim(ctx, t, adopt, gone, 1)
}

// claimAction is what a claim does about one of the tenant's names.
type claimAction int

const (
	keep     claimAction = iota // already this owner's
	record                      // nothing by that name: record the intent to create it
	takeOver                    // adopted: record it (or move its record) to this owner
)

// maxClaimAttempts bounds how often a claim that lost a race reads again: each retry follows a
// write of another claimant, so more than a few mean something else is wrong.
const maxClaimAttempts = 5

// errClaimRace says a record changed between the claim's read and its write.
var errClaimRace = errors.New("an ownership record changed while it was being claimed")

func (a *Admin) claim(ctx context.Context, t Tenant, adopt *Adoption, gone OwnerGone, attempt int) (Claim, error) {
	if err := a.ensureSchema(ctx); err != nil {
		return Claim{}, err
	}
	// Names compare case-insensitively here (the column's collation), so a tenant cannot take
	// MyApp next to myapp on a server with lower_case_table_names=1.
	rows, err := a.readOwnership(ctx, selectOwnershipOfNames(t.Database, t.User))
	if err != nil {
		return Claim{}, err
	}
	var c Claim
	actions := map[ObjectKind]claimAction{ObjectDatabase: record, ObjectUser: record}
	// recorded holds the row found for each kind: a takeover changes that row, and only if it is
	// still as read.
	recorded := map[ObjectKind]ownershipRow{}
	for _, r := range rows {
		recorded[r.kind] = r
		if r.uid != t.Owner.UID || r.name != t.nameOf(r.kind) {
			owner := Owner{UID: r.uid, Namespace: r.namespace, Name: r.ownerName}
			conflict := &ConflictError{Kind: r.kind, Name: t.nameOf(r.kind), Existing: r.name, Owner: &owner}
			if r.name != t.nameOf(r.kind) || !gone(owner) {
				return Claim{}, conflict
			}
			if adopt == nil {
				if r.state != statePending {
					return Claim{}, conflict
				}
				existing, err := a.existing(ctx, r.kind, r.name)
				if err != nil {
					return Claim{}, err
				}
				if existing != "" {
					return Claim{}, conflict
				}
			}
			actions[r.kind] = takeOver
			continue
		}
		actions[r.kind] = keep
		committed := r.state == stateCommitted
		switch r.kind {
		case ObjectDatabase:
			c.databaseCommitted = committed
		case ObjectUser:
			c.userCommitted = committed
		}
		c.pending = c.pending || !committed
	}
	for _, kind := range []ObjectKind{ObjectDatabase, ObjectUser} {
		if actions[kind] == keep {
			continue
		}
		name := t.nameOf(kind)
		existing, err := a.existing(ctx, kind, name)
		if err != nil {
			return Claim{}, err
		}
		switch {
		case existing == "":
			if kind == ObjectDatabase {
				if adopt == nil {
					if err := a.checkForeignGrants(ctx, t); err != nil {
						return Claim{}, err
					}
				}
				c.freshDatabase = true
			} else {
				c.freshUser = true
			}
			continue
		case existing != name:
			return Claim{}, &ConflictError{Kind: kind, Name: name, Existing: existing}
		case adopt == nil:
			return Claim{}, &ConflictError{Kind: kind, Name: name}
		}
		actions[kind] = takeOver
		if kind == ObjectUser {
			if err := a.VerifyLogin(ctx, name, adopt.Password, ""); err != nil {
				return Claim{}, &AdoptionError{Reason: fmt.Sprintf("user %q exists but does not log in with the password in the application's Secret (%v); "+
					"adopting it would change a password an application may use: put its password in the Secret, or choose another userName", name, errorText(err))}
			}
		}
	}
	if actions[ObjectDatabase] == keep && actions[ObjectUser] == keep {
		return c, nil
	}
	if err := a.recordIntent(ctx, t, actions, recorded); err != nil {
		if (errorNumber(err) == erDuplicateKey || errors.Is(err, errClaimRace)) && attempt < maxClaimAttempts {
			// Another AppDatabase claimed the same name between our read and our write: read
			// again, and meet its claim.
			return a.claim(ctx, t, adopt, gone, attempt+1)
		}
		return Claim{}, err
	}
	c.pending = true
	if actions[ObjectDatabase] == takeOver {
		c.databaseCommitted = false
	}
	return c, nil
}

func (t Tenant) nameOf(kind ObjectKind) string {
	if kind == ObjectDatabase {
		return t.Database
	}
	return t.User
}

// recordIntent writes this owner's rows in one transaction, so a tenant never holds its database
// without its user or the reverse: a new row for a name nobody recorded, a changed owner for a
// record taken over.
func (a *Admin) recordIntent(ctx context.Context, t Tenant, actions map[ObjectKind]claimAction, recorded map[ObjectKind]ownershipRow) (err error) {
	defer func() { a.observe(opOwnership, err) }()
	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("recording ownership: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var fresh []ownershipRecord
	for _, kind := range []ObjectKind{ObjectDatabase, ObjectUser} {
		if actions[kind] == keep {
			continue
		}
		name := t.nameOf(kind)
		previous, found := recorded[kind]
		if !found {
			fresh = append(fresh, ownershipRecord{kind, name})
			continue
		}
		// Only the record as it was read passes: two claimants of a vanished owner's name cannot
		// both take it.
		st := takeOverOwnership(kind, name, t.Owner, previous)
		result, err := tx.ExecContext(ctx, st.query, st.args...)
		if err != nil {
			return fmt.Errorf("recording ownership of %s %q: %w", kind, name, err)
		}
		if n, err := result.RowsAffected(); err != nil || n != 1 {
			return errors.Join(errClaimRace, err)
		}
	}
	if len(fresh) > 0 {
		st := insertOwnership(t.Owner, fresh)
		if _, err := tx.ExecContext(ctx, st.query, st.args...); err != nil {
			return fmt.Errorf("recording ownership of database %q and user %q: %w", t.Database, t.User, err)
		}
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("recording ownership: %w", err)
	}
	failpoint.Hit("after-intent")
	return nil
}

func (a *Admin) commitClaim(ctx context.Context, owner Owner) error {
	if err := a.exec(ctx, commitOwnership(owner.UID)); err != nil {
		return fmt.Errorf("committing ownership: %w", err)
	}
	return nil
}

// existing returns the name under which a database or user of that name exists, or "", spelled
// as the server has it: on a server that folds database names to lower case
// (lower_case_table_names), asking for MyApp finds myapp, and the caller refuses the difference.
// Names that differ only in case among DB Concierge's own tenants are refused by the ownership
// table, whose names compare without regard to case.
func (a *Admin) existing(ctx context.Context, kind ObjectKind, name string) (string, error) {
	st := selectDatabaseName(name)
	if kind == ObjectUser {
		st = selectUserName(name)
	}
	var found string
	err := a.queryRow(ctx, st).Scan(&found)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("checking whether %s %q exists: %w", kind, name, err)
	}
	return found, nil
}

// owned lists what the ownership table attributes to an owner UID.
func (a *Admin) owned(ctx context.Context, uid string) ([]ownershipRow, error) {
	if err := a.ensureSchema(ctx); err != nil {
		return nil, err
	}
	return a.readOwnership(ctx, selectOwnershipOf(uid))
}

// Release takes back the pending ownership records of owner uid under which nothing exists: what
// a pass recorded and then could not create (its Secret belongs to someone else, the server's
// password policy refused it, it crashed). A refused request leaves no record behind to block the
// name. Records of what exists stay: they protect what was created.
func (a *Admin) Release(ctx context.Context, uid string) (err error) {
	defer func() { err = a.settle(ctx, err) }()
	if err := a.ensureSchema(ctx); err != nil {
		return err
	}
	rows, err := a.readOwnership(ctx, selectPendingOwnershipOf(uid))
	if err != nil {
		return err
	}
	for _, r := range rows {
		existing, err := a.existing(ctx, r.kind, r.name)
		if err != nil {
			return err
		}
		if existing != "" {
			continue
		}
		if err := a.exec(ctx, deletePendingOwnership(r.kind, r.name, uid)); err != nil {
			return fmt.Errorf("taking back the ownership record of %s %q: %w", r.kind, r.name, err)
		}
	}
	return nil
}

// ForeignGrantError says a database about to be created would be open to another account at
// once: a grant on a pattern that matches its name ('_' and '%' are wildcards in database-level
// grants, so a seed-era GRANT ALL ON rt_seed.* reaches rtXseed), or on a table or routine in a
// database of that name.
type ForeignGrantError struct {
	Database string
	// Account and On are the grant as the server holds it: 'user'@'host' and its target.
	Account, On string
}

func (e *ForeignGrantError) Error() string {
	return fmt.Sprintf("database %q would be open to account %s through its existing grant on %s "+
		"(in a database-level grant '_' and '%%' match any character); it is refused: choose another dbName, "+
		"or ask the platform team to revoke or narrow that grant", e.Database, e.Account, e.On)
}

// checkForeignGrants looks, before a database is created, for grants of other accounts (users
// and roles) that would reach it, and refuses the name with a *ForeignGrantError if one does.
// Names compare as the server compares them when it checks a privilege: bytes as written, or
// folded to lower case under lower_case_table_names.
func (a *Admin) checkForeignGrants(ctx context.Context, t Tenant) error {
	d, err := a.dialectFor(ctx)
	if err != nil {
		return err
	}
	name := t.Database
	if d.names == namesFolded {
		name = strings.ToLower(name)
	}
	var user, host, db, object string
	err = a.queryRow(ctx, selectForeignGrant(name, t.User, a.opts.User)).Scan(&user, &host, &db, &object)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		a.observe(opRead, err)
		return fmt.Errorf("looking for other accounts' grants on database %q: %w", t.Database, err)
	}
	on := quoteIdentifier(db) + ".*"
	if object != "" {
		on = quoteIdentifier(db) + "." + quoteIdentifier(object)
	}
	return &ForeignGrantError{Database: t.Database, Account: "'" + user + "'@'" + host + "'", On: on}
}
