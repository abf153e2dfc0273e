// Package tenant is what DB Concierge asks of a database engine, in terms no engine owns: a
// tenant's database and accounts, who owns them, the changes made, and the kinds of failure. The
// reconciler speaks only this; an engine (internal/mysql) turns it into its server's language.
// Nothing here knows Kubernetes or database/sql.
package tenant

import (
	"context"
	"fmt"
	"strings"
)

// Access is what an account may do in its tenant's database: one of a few presets, never
// free-form privileges, so that no spec can ask for more than its database.
type Access string

// The presets.
const (
	// ReadWrite may do anything inside the database, DDL included: the main account's access.
	ReadWrite Access = "ReadWrite"
	// DataOnly reads and writes rows, runs routines, and uses temporary tables and table locks;
	// it cannot create, alter or drop tables.
	DataOnly Access = "DataOnly"
	// ReadOnly reads tables and views and runs routines.
	ReadOnly Access = "ReadOnly"
)

// Accesses lists the presets, in order of what they allow.
var Accesses = []Access{ReadWrite, DataOnly, ReadOnly}

// Valid reports whether a is one of the presets.
func (a Access) Valid() bool {
	for _, known := range Accesses {
		if a == known {
			return true
		}
	}
	return false
}

// Account is one login of a tenant.
type Account struct {
	Name   string
	Access Access
	// Password is the account's password, as its Secret holds it; empty where only names matter
	// (a claim).
	Password string
	// MaxUserConnections caps the account's simultaneous connections; 0 sets no cap of its own.
	MaxUserConnections int
	// Standby marks the idle account of a rotating pair: it holds the access of its partner, the
	// account in use, but its password is not known. An existing standby's password is left as
	// it is; Password serves only to create a missing one, and is never verified.
	Standby bool
	// Locked says whether a standby account is locked (its grace period is over) rather than
	// still logging in with the password it had before a rotation. Accounts in use are never
	// locked.
	Locked bool
	// Second says what becomes of the account's second password, on an engine that keeps two
	// per account (Engine.SecondPasswords): how such servers rotate, without partners.
	Second SecondPassword
	// Previous is the password the account had before this pass, which it keeps as its second
	// (Second is SecondRetained).
	Previous string
}

// SecondPassword says what a pass does with an account's second password.
type SecondPassword int

// What a pass does with a second password.
const (
	// SecondIgnored: the tenant does not rotate on such an engine; the second is not read.
	SecondIgnored SecondPassword = iota
	// SecondDiscarded: the account has no second password (no grace period runs); one found is
	// discarded.
	SecondDiscarded
	// SecondKept: a grace period runs; the second password, the one before the last rotation,
	// is left as it is.
	SecondKept
	// SecondRetained: the account rotates now: it takes Password, and keeps Previous as its
	// second.
	SecondRetained
)

// Owner is the AppDatabase a tenant's objects belong to. UID decides ownership; namespace and
// name are recorded for people reading the records.
type Owner struct {
	UID       string
	Namespace string
	Name      string
}

// Spec is one application's share of a server: a database and the accounts allowed to use it.
type Spec struct {
	Database  string
	Charset   string
	Collation string
	// Accounts are the tenant's logins; the first is the main account.
	Accounts []Account
	Owner    Owner
	// RecreateMissingDatabase allows creating the database again, empty, when it was provisioned
	// and has since been dropped by hand. Without it that is a *MissingError: an empty database
	// under an application that had data would hide the loss.
	RecreateMissingDatabase bool
	// Quota caps the databases a claim may add; the zero Quota caps nothing.
	Quota Quota
	// HeldOnly refuses, with a *HeldOnlyError, a claim of anything the owner does not hold
	// already: the tenant may be kept as it is, not grown.
	HeldOnly bool
}

// Quota caps the databases recorded on a server: per namespace (of the owners) and in all. A
// claim of a database its owner does not hold yet is refused with a *QuotaError when it would go
// past either.
type Quota struct {
	// Namespace is the owner namespace counted against PerNamespace; "" counts none.
	Namespace string
	// PerNamespace and Total are the caps; nil sets none.
	PerNamespace, Total *int
}

// Caps reports whether the quota caps anything.
func (q Quota) Caps() bool { return q.Namespace != "" && q.PerNamespace != nil || q.Total != nil }

// Main returns the main account.
func (s Spec) Main() Account {
	if len(s.Accounts) == 0 {
		return Account{}
	}
	return s.Accounts[0]
}

// Rotating reports whether the tenant's accounts take turns with partners (see Account.Standby):
// only then are accounts' locks read and kept.
func (s Spec) Rotating() bool {
	for _, a := range s.Accounts {
		if a.Standby {
			return true
		}
	}
	return false
}

// Account returns the account of that name (compared without regard to case, as servers compare
// account names in the records), if the spec has one.
func (s Spec) Account(name string) (Account, bool) {
	for _, a := range s.Accounts {
		if strings.EqualFold(a.Name, name) {
			return a, true
		}
	}
	return Account{}, false
}

// Validate checks what holds for every engine: an owner, at least one account, known presets,
// limits that are not negative, and no two accounts of one name. Each engine checks the names
// themselves against its own rules (Engine.Validate).
func (s Spec) Validate() error {
	if s.Owner.UID == "" {
		return invalid("the tenant has no owner UID")
	}
	if s.Database == "" {
		return invalid("the tenant has no database name")
	}
	if len(s.Accounts) == 0 {
		return invalid("the tenant has no account")
	}
	seen := map[string]bool{}
	for _, a := range s.Accounts {
		if a.Name == "" {
			return invalid("an account has no name")
		}
		if !a.Access.Valid() {
			return invalid(fmt.Sprintf("account %q has access %q, which is not one of ReadWrite, DataOnly, ReadOnly", a.Name, a.Access))
		}
		if a.Locked && !a.Standby {
			return invalid(fmt.Sprintf("account %q is in use and locked", a.Name))
		}
		if a.Second != SecondIgnored && a.Standby {
			return invalid(fmt.Sprintf("account %q both has a partner and keeps a second password", a.Name))
		}
		if a.Second == SecondRetained && a.Previous == "" {
			return invalid(fmt.Sprintf("account %q is to keep its previous password, which is not given", a.Name))
		}
		if a.MaxUserConnections < 0 {
			return invalid(fmt.Sprintf("account %q has a negative connection limit", a.Name))
		}
		key := strings.ToLower(a.Name)
		if seen[key] {
			return invalid(fmt.Sprintf("account %q is named twice (names compare without regard to case)", a.Name))
		}
		seen[key] = true
	}
	return nil
}

// Object is the kind of a thing a tenant owns on a server.
type Object string

// The objects.
const (
	ObjectDatabase Object = "database"
	ObjectUser     Object = "user"
)

// ChangeKind names one kind of change; the drift-repair metrics count them.
type ChangeKind string

// The changes an engine makes.
const (
	CreatedDatabase   ChangeKind = "database_created"
	RecreatedDatabase ChangeKind = "database_recreated"
	AlteredDatabase   ChangeKind = "database_altered"
	CreatedUser       ChangeKind = "user_created"
	DroppedUser       ChangeKind = "user_dropped"
	ResetPassword     ChangeKind = "password_reset"
	Granted           ChangeKind = "grant_restored"
	Revoked           ChangeKind = "grant_revoked"
	TLSRequirementSet ChangeKind = "tls_requirement_set"
	ConnectionLimit   ChangeKind = "connection_limit_set"
	AccountLocked     ChangeKind = "account_locked"
	AccountUnlocked   ChangeKind = "account_unlocked"
	RetainedPassword  ChangeKind = "password_retained"
	DiscardedPassword ChangeKind = "old_password_discarded"
	SessionsEnded     ChangeKind = "sessions_ended"
)

// Change is one thing that was changed, with a description for people that names no secret.
type Change struct {
	Kind   ChangeKind
	Detail string
}

func (c Change) String() string { return c.Detail }

// Claim is what an engine's Claim found or recorded, handed back to the same engine's Provision
// so that it need not read it again. Only the engine that made it knows what it holds.
type Claim any

// Adoption lets a claim take objects that are not recorded for its owner: ones that exist without
// a record (created by hand, or by the seed's operator), or ones recorded for an owner that no
// longer exists. It is the platform team's deliberate step, never a default.
type Adoption struct {
	// Passwords are the passwords in the application's Secrets, by account name. An existing
	// account is adopted only if it logs in with its password, so adopting never changes a
	// password an application may be using.
	Passwords map[string]string
}

// OwnerGone reports whether the AppDatabase a record names no longer exists. A record passes to
// another owner only then: a live owner's objects are never taken, adoption or not.
type OwnerGone func(Owner) bool

// ServerInfo is what a server says about itself.
type ServerInfo struct {
	// Flavor names the server's kind (MySQL, MariaDBGalera, ...).
	Flavor   string
	Version  string
	Endpoint string
	// LowerCaseTableNames is 0 where database names compare as written, 1 or 2 where they fold
	// to lower case.
	LowerCaseTableNames int
	// Identity is the identity the server's records of DB Concierge hold; "" for a server
	// without them.
	Identity string
}

// Finding is why a sweep sends a tenant to a full pass. It labels a metric: each engine's set is
// fixed.
type Finding string

// Expectation is a Ready tenant as a sweep expects to find it, passwords included.
type Expectation struct {
	Spec Spec
}

// Engine provisions tenants on one server or cluster. Every error it returns carries a Kind
// (KindOf); none carries a password.
type Engine interface {
	// Validate checks a spec's names against the engine's rules before anything reaches the
	// server; a refusal is KindInvalidInput.
	Validate(s Spec) error
	// Claim records that s.Owner owns s's database and accounts, or fails with a *ConflictError
	// when one belongs to someone else. Adoption, when not nil, takes over what exists
	// unrecorded or belongs to a vanished owner. Claiming what the owner holds writes nothing.
	Claim(ctx context.Context, s Spec, adopt *Adoption, gone OwnerGone) (Claim, error)
	// Unclaim takes back the owner's records of what does not exist (a pass that could not
	// create it), so that a refused request does not hold its names.
	Unclaim(ctx context.Context, ownerUID string) error
	// Provision brings the server to s: the database, each account logging in with its
	// password and holding exactly its access, and no account of the owner that s no longer
	// lists. It returns what it changed, nothing when all was as it should be.
	Provision(ctx context.Context, s Spec, c Claim) ([]Change, error)
	// DropOwned drops everything recorded for the owner and forgets it, returning what it dropped
	// in words.
	DropOwned(ctx context.Context, ownerUID string) ([]string, error)
	// Inspect asks the server what it is.
	Inspect(ctx context.Context) (ServerInfo, error)
	// SecondPasswords reports whether the server keeps a second password per account (MySQL
	// 8.0.14 and later), so that a rotation needs no partner accounts (Account.Second).
	SecondPasswords(ctx context.Context) (bool, error)
	// CheckPrivileges refuses, with a KindAccessDenied error naming them, the privileges the
	// engine's admin account lacks.
	CheckPrivileges(ctx context.Context) error
	// VerifyLogin logs in as an account, to database when not empty.
	VerifyLogin(ctx context.Context, user, password, database string) error
	// RunScript logs in as an account and runs script, statements separated by semicolons, in
	// database. Once logged in, and before sending anything, it calls starting, and sends
	// nothing if that fails: the caller records that a run begins only when one can. A statement
	// the server refuses ends it with a *ScriptError; the statements before it stay done.
	RunScript(ctx context.Context, user, password, database, script string, starting func() error) error
	// Sweep compares Ready tenants with what the server holds, in bulk, and returns by owner UID
	// those a full pass must look at, and why.
	Sweep(ctx context.Context, expected []Expectation) (map[string]Finding, error)
	// Close gives back the engine's connections.
	Close() error
}
