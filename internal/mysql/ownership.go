package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/stillwaters/db-concierge/internal/failpoint"
)

// Ownership is recorded in the server itself, in OperatorSchema.ownership: one row per database
// and per user that DB Concierge created, naming the AppDatabase (by UID) it was created for.
// The row is written as an intent ("pending") before any DDL and marked "committed" once the
// tenant is complete, so a crash between steps leaves a claim that only its owner's retry can
// finish, and nobody else can take over.
//
// The table is InnoDB with a primary key (Galera and PXC's strict mode require both), and its
// names compare byte for byte (utf8mb4_bin), as MySQL compares database and user names on Linux.

const ownershipTable = "`" + OperatorSchema + "`.`ownership`"

var ownershipDDL = []statement{
	{query: "CREATE DATABASE IF NOT EXISTS " + quoteIdentifier(OperatorSchema) +
		" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"},
	{query: "CREATE TABLE IF NOT EXISTS " + ownershipTable + ` (
  kind            VARCHAR(16)  NOT NULL,
  name            VARCHAR(80)  NOT NULL,
  owner_uid       CHAR(36)     NOT NULL,
  owner_namespace VARCHAR(63)  NOT NULL,
  owner_name      VARCHAR(253) NOT NULL,
  state           VARCHAR(16)  NOT NULL,
  created_at      TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (kind, name),
  KEY owner_uid (owner_uid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`},
}

// Kinds of owned objects.
const (
	KindDatabase = "database"
	KindUser     = "user"
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

// ConflictError says a database or user cannot be provisioned for this owner because it belongs
// to another AppDatabase, or exists without having been created by DB Concierge (Owner is nil).
type ConflictError struct {
	Kind  string
	Name  string
	Owner *Owner
}

func (e *ConflictError) Error() string {
	if e.Owner == nil {
		return fmt.Sprintf("%s %q already exists and was not created by DB Concierge; it is left untouched: "+
			"choose another name, or ask the platform team to adopt it", e.Kind, e.Name)
	}
	return fmt.Sprintf("%s %q belongs to another AppDatabase; it is left untouched: choose another name", e.Kind, e.Name)
}

// claim is the ownership state of one tenant, as read or written by Claim.
type claim struct {
	databaseCommitted bool
	userCommitted     bool
	pending           bool
}

type ownershipRow struct {
	kind, name, uid, namespace, ownerName, state string
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
	err := a.db.QueryRowContext(ctx,
		"SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'ownership'",
		OperatorSchema).Scan(&n)
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

// queryOwnership reads the ownership rows matching condition, a constant SQL expression whose
// values are placeholders.
func (a *Admin) queryOwnership(ctx context.Context, condition string, args ...any) ([]ownershipRow, error) {
	rows, err := a.db.QueryContext(ctx, "SELECT kind, name, owner_uid, owner_namespace, owner_name, state FROM "+
		ownershipTable+" WHERE "+condition, args...)
	if err != nil {
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

// Claim records that t.Owner owns t's database and user, or fails with a *ConflictError when
// either belongs to someone else. It writes only the rows that are missing: claiming what the
// owner already holds writes nothing.
func (a *Admin) Claim(ctx context.Context, t Tenant) error {
	if err := t.Validate(); err != nil {
		return err
	}
	_, err := a.claim(ctx, t)
	return err
}

func (a *Admin) claim(ctx context.Context, t Tenant) (claim, error) {
	if err := a.ensureSchema(ctx); err != nil {
		return claim{}, err
	}
	rows, err := a.queryOwnership(ctx, "(kind = ? AND name = ?) OR (kind = ? AND name = ?)",
		KindDatabase, t.Database, KindUser, t.User)
	if err != nil {
		return claim{}, err
	}
	var c claim
	held := map[string]bool{}
	for _, r := range rows {
		if r.uid != t.Owner.UID {
			return claim{}, &ConflictError{Kind: r.kind, Name: r.name, Owner: &Owner{UID: r.uid, Namespace: r.namespace, Name: r.ownerName}}
		}
		held[r.kind] = true
		committed := r.state == stateCommitted
		switch r.kind {
		case KindDatabase:
			c.databaseCommitted = committed
		case KindUser:
			c.userCommitted = committed
		}
		c.pending = c.pending || !committed
	}
	var missing []string
	for _, kind := range []string{KindDatabase, KindUser} {
		if held[kind] {
			continue
		}
		name := t.nameOf(kind)
		exists, err := a.exists(ctx, kind, name)
		if err != nil {
			return claim{}, err
		}
		if exists {
			return claim{}, &ConflictError{Kind: kind, Name: name}
		}
		missing = append(missing, kind)
	}
	if len(missing) == 0 {
		return c, nil
	}
	if err := a.insertIntent(ctx, t, missing); err != nil {
		if errorNumber(err) == erDuplicateKey {
			// Another AppDatabase claimed the same name between our read and our write.
			return a.claim(ctx, t)
		}
		return claim{}, err
	}
	c.pending = true
	return c, nil
}

func (t Tenant) nameOf(kind string) string {
	if kind == KindDatabase {
		return t.Database
	}
	return t.User
}

// insertIntent writes the missing rows in one transaction, so a tenant never holds its database
// without its user or the reverse.
func (a *Admin) insertIntent(ctx context.Context, t Tenant, kinds []string) error {
	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("recording ownership: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, kind := range kinds {
		_, err := tx.ExecContext(ctx, "INSERT INTO "+ownershipTable+
			" (kind, name, owner_uid, owner_namespace, owner_name, state) VALUES (?, ?, ?, ?, ?, ?)",
			kind, t.nameOf(kind), t.Owner.UID, t.Owner.Namespace, t.Owner.Name, statePending)
		if err != nil {
			return fmt.Errorf("recording ownership of %s %q: %w", kind, t.nameOf(kind), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("recording ownership: %w", err)
	}
	failpoint.Hit("after-intent")
	return nil
}

func (a *Admin) commitClaim(ctx context.Context, owner Owner) error {
	_, err := a.db.ExecContext(ctx, "UPDATE "+ownershipTable+" SET state = ? WHERE owner_uid = ? AND state = ?",
		stateCommitted, owner.UID, statePending)
	if err != nil {
		return fmt.Errorf("committing ownership: %w", err)
	}
	return nil
}

func (a *Admin) exists(ctx context.Context, kind, name string) (bool, error) {
	var query string
	switch kind {
	case KindDatabase:
		query = "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?"
	case KindUser:
		// Any host counts: a hand-made 'name'@'localhost' is somebody else's account too.
		query = "SELECT 1 FROM mysql.user WHERE User = ? LIMIT 1"
	}
	var one int
	err := a.db.QueryRowContext(ctx, query, name).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("checking whether %s %q exists: %w", kind, name, err)
	}
	return true, nil
}

// owned lists what the ownership table attributes to an owner UID.
func (a *Admin) owned(ctx context.Context, uid string) ([]ownershipRow, error) {
	if err := a.ensureSchema(ctx); err != nil {
		return nil, err
	}
	return a.queryOwnership(ctx, "owner_uid = ?", uid)
}
