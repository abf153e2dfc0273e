package mysql

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stillwaters/db-concierge/internal/failpoint"
	"github.com/stillwaters/db-concierge/internal/metrics"
	"github.com/stillwaters/db-concierge/internal/tenant"
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

const (
	statePending   = "pending"
	stateCommitted = "committed"
)

// ownershipClaim is a tenant's ownership as Claim found or recorded it, handed to Provision as a
// tenant.Claim so that it need not read it again, nor look for what this claim has just seen does
// not exist.
type ownershipClaim struct {
	owner    string
	database objectClaim
	// databaseName is the database the claim knows of.
	databaseName string
	// accounts are by lower-cased name: the ledger compares names without regard to case.
	accounts map[string]objectClaim
	// pending: a record of the tenant is not committed yet.
	pending bool
	// dropped are the accounts recorded for the owner that the spec no longer lists, as recorded.
	dropped []string
}

// objectClaim is what a claim knows of one database or account.
type objectClaim struct {
	// committed: recorded as committed for the owner, so it was provisioned once.
	committed bool
	// fresh: recorded by this claim for a name under which nothing existed, so Provision
	// creates it without looking first.
	fresh bool
}

func (c *ownershipClaim) account(name string) (objectClaim, bool) {
	oc, ok := c.accounts[strings.ToLower(name)]
	return oc, ok
}

type ownershipRow struct {
	kind                                   tenant.Object
	name, uid, namespace, ownerName, state string
}

// claimTarget is one name a tenant claims.
type claimTarget struct {
	kind tenant.Object
	name string
}

// key is how the ledger tells names apart: without regard to case.
func (t claimTarget) key() claimTarget { return claimTarget{t.kind, strings.ToLower(t.name)} }

// targetsOf lists the names a spec claims: its database, then its accounts in order.
func targetsOf(s tenant.Spec) []claimTarget {
	targets := []claimTarget{{tenant.ObjectDatabase, s.Database}}
	for _, a := range s.Accounts {
		targets = append(targets, claimTarget{tenant.ObjectUser, a.Name})
	}
	return targets
}

// ensureSchema creates the bookkeeping table on first use. It reads before it writes, so a
// restarted operator issues no DDL (which Galera would replicate to every node).
func (a *Admin) ensureSchema(ctx context.Context) error {
	a.schemaMu.Lock()
	defer a.schemaMu.Unlock()
	if a.schemaReady {
		return nil
	}
	// Nothing is created on a server other than the one the records are expected on.
	if err := a.checkServer(ctx); err != nil {
		return err
	}
	for _, table := range []struct {
		exists statement
		ddl    []statement
		what   string
	}{{selectOwnershipTable, ownershipDDL, "ownership"}, {selectServerTable, serverDDL, "server identity"}} {
		var n int
		if err := a.scanRow(ctx, table.exists, &n); err != nil {
			return fmt.Errorf("looking for the %s table: %w", table.what, err)
		}
		if n > 0 {
			continue
		}
		for _, st := range table.ddl {
			if err := a.exec(ctx, st); err != nil {
				return fmt.Errorf("creating the %s table in schema %q: %w", table.what, OperatorSchema, err)
			}
		}
	}
	// Drawn apart from the table's creation, so that a pass that ended between the two leaves
	// nothing for the next to miss.
	id, err := a.serverIdentity(ctx)
	if err != nil {
		return err
	}
	if id == "" {
		if err := a.exec(ctx, insertServerIdentity(newIdentity())); err != nil {
			return fmt.Errorf("drawing the server's identity: %w", err)
		}
	}
	a.schemaReady = true
	return nil
}

// newIdentity draws a random (version 4) UUID.
func newIdentity() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read does not fail
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// serverIdentity reads the identity the server's records hold; "" for a server without them.
func (a *Admin) serverIdentity(ctx context.Context) (string, error) {
	var id string
	err := a.scanRow(ctx, selectServerIdentity, &id)
	switch {
	case errors.Is(err, sql.ErrNoRows) || errorNumber(err) == erNoSuchTable || errorNumber(err) == erBadDB:
		return "", nil
	case err != nil:
		a.observe(opRead, err)
		return "", fmt.Errorf("reading the server's identity: %w", err)
	}
	return id, nil
}

// checkServer refuses a server whose identity is not Options.ExpectedServer. To a tenant it is an
// unreachable cluster: its own status is left alone, and the platform team reads the rest.
func (a *Admin) checkServer(ctx context.Context) error {
	expected := a.opts.ExpectedServer
	if p := a.expectedServer.Load(); p != nil {
		expected = *p
	}
	if expected == "" {
		return nil
	}
	id, err := a.serverIdentity(ctx)
	if err != nil || id == expected {
		return err
	}
	return &tenant.Error{Kind: tenant.KindUnreachable, Cause: "its admin endpoints lead to another server than the one recorded",
		Err: &tenant.ServerChangedError{Expected: expected, Found: id}}
}

// SetExpectedServer changes the identity checkServer expects, without a new pool: recording the
// first identity must not cost every tenant of the cluster its connections.
func (a *Admin) SetExpectedServer(id string) { a.expectedServer.Store(&id) }

// readOwnership reads the ownership rows a select… statement names.
func (a *Admin) readOwnership(ctx context.Context, st statement) ([]ownershipRow, error) {
	rows, err := a.query(ctx, st)
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

// Claim records that s.Owner owns s's database and every one of its accounts, or fails with a
// *tenant.ConflictError when one belongs to someone else, or with a *tenant.ForeignAccessError
// when a new database would be open to another account. With adopt, what exists unrecorded or
// belongs to a vanished owner is taken over instead (see tenant.Adoption): an existing account
// only if it logs in with its password there. A pending record of a vanished owner under which
// nothing exists (its pass failed or crashed before creating anything) protects nothing, and
// passes to the claimant without adoption. Claim writes only what is missing, in one transaction:
// claiming what the owner already holds writes nothing.
func (a *Admin) Claim(ctx context.Context, s tenant.Spec, adopt *tenant.Adoption, gone tenant.OwnerGone) (c tenant.Claim, err error) {
	defer func() { err = a.settle(ctx, err) }()
	if err := a.Validate(s); err != nil {
		return nil, err
	}
	oc, err := a.claim(ctx, s, adopt, gone, 1)
	if err != nil {
		return nil, err
	}
	return oc, nil
}

// claimOf returns the claim Claim made for s, or, when c is none (nil, another engine's, or
// another spec's), the claim as the ledger holds it: nothing is taken as known, nothing as fresh.
// What the ledger does not record for the owner is not provisioned: only a claim may take a name.
func (a *Admin) claimOf(ctx context.Context, s tenant.Spec, c tenant.Claim) (*ownershipClaim, error) {
	if oc, ok := c.(*ownershipClaim); ok && oc != nil && oc.covers(s) {
		return oc, nil
	}
	rows, err := a.owned(ctx, s.Owner.UID)
	if err != nil {
		return nil, err
	}
	oc := &ownershipClaim{owner: s.Owner.UID, accounts: map[string]objectClaim{}, dropped: droppedAccounts(rows, s)}
	for _, r := range rows {
		oc.pending = oc.pending || r.state != stateCommitted
		if (r.kind == tenant.ObjectDatabase && r.name == s.Database) || (r.kind == tenant.ObjectUser && slices.Contains(accountNames(s), r.name)) {
			oc.set(claimTarget{r.kind, r.name}, objectClaim{committed: r.state == stateCommitted})
		}
	}
	if !oc.covers(s) {
		return nil, fmt.Errorf("database %q or one of its accounts is not recorded for AppDatabase %s/%s: it is claimed first", s.Database, s.Owner.Namespace, s.Owner.Name)
	}
	return oc, nil
}

// covers reports whether the claim is s.Owner's and knows the database and every account of s.
func (c *ownershipClaim) covers(s tenant.Spec) bool {
	if c.owner != s.Owner.UID || c.databaseName != s.Database {
		return false
	}
	for _, acc := range s.Accounts {
		if _, ok := c.account(acc.Name); !ok {
			return false
		}
	}
	return true
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

func (a *Admin) claim(ctx context.Context, s tenant.Spec, adopt *tenant.Adoption, gone tenant.OwnerGone, attempt int) (*ownershipClaim, error) {
	if err := a.ensureSchema(ctx); err != nil {
		return nil, err
	}
	targets := targetsOf(s)
	// Names compare case-insensitively here (the column's collation), so a tenant cannot take
	// MyApp next to myapp on a server with lower_case_table_names=1.
	rows, err := a.readOwnership(ctx, selectOwnershipForClaim(s.Owner.UID, s.Database, accountNames(s)))
	if n := errorNumber(err); n == erNoSuchTable || n == erBadDB {
		// The records are gone from under an open pool: the endpoints' names lead to another
		// server now, or they were dropped by hand. The schema is looked for, and the server
		// checked, again.
		a.schemaMu.Lock()
		a.schemaReady = false
		a.schemaMu.Unlock()
		if err := a.ensureSchema(ctx); err != nil {
			return nil, err
		}
		rows, err = a.readOwnership(ctx, selectOwnershipForClaim(s.Owner.UID, s.Database, accountNames(s)))
	}
	if err != nil {
		return nil, err
	}
	c := &ownershipClaim{owner: s.Owner.UID, accounts: map[string]objectClaim{}}
	// recorded holds the row found for each name: a takeover changes that row, and only if it is
	// still as read.
	recorded := map[claimTarget]ownershipRow{}
	for _, r := range rows {
		recorded[claimTarget{r.kind, r.name}.key()] = r
	}
	c.dropped = droppedAccounts(rows, s)
	actions := map[claimTarget]claimAction{}
	for _, t := range targets {
		action, committed, err := a.judgeRecord(ctx, t, s.Owner, recorded, adopt, gone)
		if err != nil {
			return nil, err
		}
		actions[t.key()] = action
		if action == keep {
			c.set(t, objectClaim{committed: committed})
			c.pending = c.pending || !committed
		}
	}
	var unheld []claimTarget
	for _, t := range targets {
		if actions[t.key()] != keep {
			unheld = append(unheld, t)
		}
	}
	existing, err := a.existingNames(ctx, unheld)
	if err != nil {
		return nil, err
	}
	for _, t := range unheld {
		fresh, err := a.judgeExisting(ctx, t, existing[t.key()], s, adopt)
		if err != nil {
			return nil, err
		}
		if !fresh {
			actions[t.key()] = takeOver
		}
		// Taken over or new, it is pending until this owner's pass completes.
		c.set(t, objectClaim{fresh: fresh})
	}
	if !slices.ContainsFunc(targets, func(t claimTarget) bool { return actions[t.key()] != keep }) {
		return c, nil
	}
	if s.HeldOnly {
		for _, t := range targets {
			if actions[t.key()] != keep {
				return nil, &tenant.HeldOnlyError{Object: t.kind, Name: t.name}
			}
		}
	}
	if err := a.recordWithinQuota(ctx, s, targets, actions, recorded); err != nil {
		if (errorNumber(err) == erDuplicateKey || errors.Is(err, errClaimRace)) && attempt < maxClaimAttempts {
			// Another AppDatabase claimed the same name between our read and our write: read
			// again, and meet its claim.
			return a.claim(ctx, s, adopt, gone, attempt+1)
		}
		return nil, err
	}
	c.pending = true
	return c, nil
}

// recordWithinQuota records the claim's intent, after checking, when it adds a database its owner
// does not hold yet, that the quota has room for it.
func (a *Admin) recordWithinQuota(ctx context.Context, s tenant.Spec, targets []claimTarget, actions map[claimTarget]claimAction,
	recorded map[claimTarget]ownershipRow) error {
	// A pool reaches whatever the endpoints' names lead to now: new records are written only on
	// the expected server.
	if err := a.checkServer(ctx); err != nil {
		return err
	}
	// Only a database no record names is one more: one taken over (adopted, or a vanished
	// owner's) is counted already.
	database := claimTarget{tenant.ObjectDatabase, s.Database}.key()
	if actions[database] != record || !s.Quota.Caps() {
		return a.recordIntent(ctx, s, targets, actions, recorded)
	}
	lock := quotaLock(a.opts.Cluster)
	lock.Lock()
	defer lock.Unlock()
	if err := a.checkQuota(ctx, s); err != nil {
		return err
	}
	return a.recordIntent(ctx, s, targets, actions, recorded)
}

// quotaLocks hold, by cluster, the lock that makes counting a quota and recording a new database
// one step. It outlives the cluster's pools, which a configuration change replaces while passes
// may still use the old one; the elected leader is the only writer of a cluster's records.
var quotaLocks sync.Map

func quotaLock(cluster string) *sync.Mutex {
	lock, _ := quotaLocks.LoadOrStore(cluster, &sync.Mutex{})
	return lock.(*sync.Mutex)
}

// checkQuota counts the databases recorded for owners other than s's, in s's namespace and in
// all, and refuses one more past either cap.
func (a *Admin) checkQuota(ctx context.Context, s tenant.Spec) error {
	q := s.Quota
	var inNamespace, total int
	if err := a.scanRow(ctx, countDatabaseRecords(s.Owner.UID, q.Namespace), &inNamespace, &total); err != nil {
		a.observe(opRead, err)
		return fmt.Errorf("counting the databases of the quota: %w", err)
	}
	if q.Namespace != "" && q.PerNamespace != nil && inNamespace >= *q.PerNamespace {
		return &tenant.QuotaError{Namespace: q.Namespace, Count: inNamespace, Limit: *q.PerNamespace}
	}
	if q.Total != nil && total >= *q.Total {
		return &tenant.QuotaError{Count: total, Limit: *q.Total}
	}
	return nil
}

// set records what the claim knows of one of its names.
func (c *ownershipClaim) set(t claimTarget, oc objectClaim) {
	if t.kind == tenant.ObjectDatabase {
		c.database, c.databaseName = oc, t.name
		return
	}
	c.accounts[strings.ToLower(t.name)] = oc
}

func accountNames(s tenant.Spec) []string {
	names := make([]string, len(s.Accounts))
	for i, acc := range s.Accounts {
		names[i] = acc.Name
	}
	return names
}

// droppedAccounts lists the accounts recorded for the spec's owner that the spec does not list.
func droppedAccounts(rows []ownershipRow, s tenant.Spec) []string {
	var dropped []string
	for _, r := range rows {
		if r.kind != tenant.ObjectUser || r.uid != s.Owner.UID {
			continue
		}
		if _, listed := s.Account(r.name); !listed {
			dropped = append(dropped, r.name)
		}
	}
	slices.Sort(dropped)
	return dropped
}

// judgeRecord decides about a name from its record: keep it (the owner's, committed or not), take
// it over from a vanished owner, or record it anew (no record). A record of another live owner,
// or spelled otherwise, is a conflict; so is a vanished owner's, unless adopting or it is a
// pending record under which nothing exists.
func (a *Admin) judgeRecord(ctx context.Context, t claimTarget, owner tenant.Owner, recorded map[claimTarget]ownershipRow,
	adopt *tenant.Adoption, gone tenant.OwnerGone) (action claimAction, committed bool, err error) {
	r, found := recorded[t.key()]
	switch {
	case !found:
		return record, false, nil
	case r.uid == owner.UID && r.name == t.name:
		return keep, r.state == stateCommitted, nil
	}
	previous := tenant.Owner{UID: r.uid, Namespace: r.namespace, Name: r.ownerName}
	conflict := &tenant.ConflictError{Object: t.kind, Name: t.name, Existing: r.name, Owner: &previous}
	if r.name != t.name || !gone(previous) {
		return 0, false, conflict
	}
	if adopt == nil {
		if r.state != statePending {
			return 0, false, conflict
		}
		existing, err := a.existing(ctx, r.kind, r.name)
		if err != nil {
			return 0, false, err
		}
		if existing != "" {
			return 0, false, conflict
		}
	}
	return takeOver, false, nil
}

// judgeExisting looks at what exists under a name the owner does not hold yet (existing, spelled
// as the server has it, or ""). Nothing: it is fresh (and a new database must not be open to
// another account at once). Something: it is adopted, or refused. An existing account is adopted
// only if it logs in with the password its Secret holds, so that adopting never changes a
// password an application may be using.
func (a *Admin) judgeExisting(ctx context.Context, t claimTarget, existing string, s tenant.Spec, adopt *tenant.Adoption) (fresh bool, err error) {
	switch {
	case existing == "":
		if t.kind == tenant.ObjectDatabase && adopt == nil {
			if err := a.checkForeignGrants(ctx, s); err != nil {
				return false, err
			}
		}
		return true, nil
	case existing != t.name:
		return false, &tenant.ConflictError{Object: t.kind, Name: t.name, Existing: existing}
	case adopt == nil:
		return false, &tenant.ConflictError{Object: t.kind, Name: t.name}
	}
	if t.kind == tenant.ObjectUser {
		if err := a.adoptAccount(ctx, t.name, adopt); err != nil {
			return false, err
		}
	}
	return false, nil
}

// adoptAccount checks that an existing account logs in with the password adopt holds for it.
func (a *Admin) adoptAccount(ctx context.Context, name string, adopt *tenant.Adoption) error {
	password, found := adopt.Passwords[name]
	if !found {
		return &tenant.AdoptionError{Reason: fmt.Sprintf("user %q exists, and there is no password for it in the application's Secret: "+
			"adopting it would change a password an application may use: put its password in the Secret, or choose another user name", name)}
	}
	if err := a.verifyLogin(ctx, name, password, ""); err != nil {
		return &tenant.AdoptionError{Reason: fmt.Sprintf("user %q exists but does not log in with the password in the application's Secret (%v); "+
			"adopting it would change a password an application may use: put its password in the Secret, or choose another user name", name, errorText(err))}
	}
	return nil
}

// recordIntent writes this owner's rows at once, so a tenant never holds its database without its
// accounts or the reverse: a new row for a name nobody recorded, a changed owner for a record
// taken over. New rows alone are one INSERT, atomic by itself; takeovers join them in a
// transaction.
func (a *Admin) recordIntent(ctx context.Context, s tenant.Spec, targets []claimTarget, actions map[claimTarget]claimAction,
	recorded map[claimTarget]ownershipRow) (err error) {
	defer metrics.ObserveSQL(a.opts.Cluster, opOwnership, time.Now())
	defer func() { a.observe(opOwnership, err) }()
	var fresh []ownershipRecord
	var takenOver []claimTarget
	for _, t := range targets {
		switch _, found := recorded[t.key()]; {
		case actions[t.key()] == keep:
		case found:
			takenOver = append(takenOver, t)
		default:
			fresh = append(fresh, ownershipRecord(t))
		}
	}
	if len(takenOver) == 0 {
		if err := insertIntent(ctx, a.db, s, fresh); err != nil {
			return err
		}
		failpoint.Hit("after-intent")
		return nil
	}
	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("recording ownership: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, t := range takenOver {
		previous := recorded[t.key()]
		// Only the record as it was read passes: two claimants of a vanished owner's name cannot
		// both take it.
		st := takeOverOwnership(t.kind, t.name, s.Owner, previous)
		result, err := tx.ExecContext(ctx, st.query, st.args...)
		if err != nil {
			return fmt.Errorf("recording ownership of %s %q: %w", t.kind, t.name, err)
		}
		if n, err := result.RowsAffected(); err != nil || n != 1 {
			return errors.Join(errClaimRace, err)
		}
	}
	if len(fresh) > 0 {
		if err := insertIntent(ctx, tx, s, fresh); err != nil {
			return err
		}
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("recording ownership: %w", err)
	}
	failpoint.Hit("after-intent")
	return nil
}

// insertIntent writes the pending rows of names nobody recorded, through the pool or a transaction.
func insertIntent(ctx context.Context, ex interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, s tenant.Spec, fresh []ownershipRecord) error {
	st := insertOwnership(s.Owner, fresh)
	if _, err := ex.ExecContext(ctx, st.query, st.args...); err != nil {
		return fmt.Errorf("recording ownership of database %q and its accounts: %w", s.Database, err)
	}
	return nil
}

func (a *Admin) commitClaim(ctx context.Context, uid string) error {
	if err := a.exec(ctx, commitOwnership(uid)); err != nil {
		return fmt.Errorf("committing ownership: %w", err)
	}
	return nil
}

// existing returns the name under which a database or user of that name exists, or "", spelled
// as the server has it: on a server that folds database names to lower case
// (lower_case_table_names), asking for MyApp finds myapp, and the caller refuses the difference.
// Names that differ only in case among DB Concierge's own tenants are refused by the ownership
// table, whose names compare without regard to case.
func (a *Admin) existing(ctx context.Context, kind tenant.Object, name string) (string, error) {
	st := selectDatabaseName(name)
	if kind == tenant.ObjectUser {
		st = selectUserName(name)
	}
	var found string
	err := a.scanRow(ctx, st, &found)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("checking whether %s %q exists: %w", kind, name, err)
	}
	return found, nil
}

// existingNames is existing for several names in one read: the name each target exists under,
// by the target's key, absent when nothing does.
func (a *Admin) existingNames(ctx context.Context, targets []claimTarget) (map[claimTarget]string, error) {
	found := map[claimTarget]string{}
	if len(targets) == 0 {
		return found, nil
	}
	var database string
	var users []string
	for _, t := range targets {
		if t.kind == tenant.ObjectDatabase {
			database = t.name
		} else {
			users = append(users, t.name)
		}
	}
	rows, err := a.query(ctx, selectExistingNames(database, users))
	if err != nil {
		a.observe(opRead, err)
		return nil, fmt.Errorf("checking whether database %q or its accounts exist: %w", database, err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, name string
		if err := rows.Scan(&kind, &name); err != nil {
			return nil, fmt.Errorf("checking whether database %q or its accounts exist: %w", database, err)
		}
		found[claimTarget{tenant.Object(kind), name}.key()] = name
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("checking whether database %q or its accounts exist: %w", database, err)
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

// Unclaim takes back the pending ownership records of owner uid under which nothing exists: what
// a pass recorded and then could not create (its Secret belongs to someone else, the server's
// password policy refused it, it crashed). A refused request leaves no record behind to block the
// name. Records of what exists stay: they protect what was created.
func (a *Admin) Unclaim(ctx context.Context, uid string) (err error) {
	defer func() { err = a.settle(ctx, err) }()
	return a.unclaim(ctx, uid)
}

func (a *Admin) unclaim(ctx context.Context, uid string) error {
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

// checkForeignGrants looks, before a database is created, for grants of other accounts (users
// and roles) that would reach it, and refuses the name with a *tenant.ForeignAccessError if one
// does: a grant on a pattern that matches its name ('_' and '%' are wildcards in database-level
// grants, so a seed-era GRANT ALL ON rt_seed.* reaches rtXseed), or on a table or routine in a
// database of that name. The tenant's own accounts and the admin account are not others. Names
// compare as the server compares them when it checks a privilege: bytes as written, or folded to
// lower case under lower_case_table_names.
func (a *Admin) checkForeignGrants(ctx context.Context, t tenant.Spec) error {
	d, err := a.dialectFor(ctx)
	if err != nil {
		return err
	}
	name := t.Database
	if d.names == namesFolded {
		name = strings.ToLower(name)
	}
	var user, host, db, object string
	err = a.scanRow(ctx, selectForeignGrant(name, append(accountNames(t), a.opts.User)), &user, &host, &db, &object)
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
	return &tenant.ForeignAccessError{Database: t.Database, Account: "'" + user + "'@'" + host + "'", On: on}
}
