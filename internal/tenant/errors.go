package tenant

import (
	"errors"
	"fmt"
)

// Kind sorts errors by what the reconciler should do about them.
type Kind int

// The kinds of error.
const (
	// KindOther is any error without a better class; retry it.
	KindOther Kind = iota
	// KindUnreachable: no connection, a lost connection, or a server that is not serving. It
	// fixes itself when the server is back.
	KindUnreachable
	// KindAccessDenied: the server refused the operator's admin account or a privilege it needs;
	// the platform team fixes it.
	KindAccessDenied
	// KindInvalidInput: the spec, or a password, cannot be served as it is; retrying it cannot
	// succeed.
	KindInvalidInput
	// KindConflict: a name belongs to someone else.
	KindConflict
	// KindMissing: something provisioned is gone and is not recreated without being asked.
	KindMissing
)

// String is the kind's label in metrics.
func (k Kind) String() string {
	switch k {
	case KindUnreachable:
		return "unreachable"
	case KindAccessDenied:
		return "access_denied"
	case KindInvalidInput:
		return "invalid_input"
	case KindConflict:
		return "conflict"
	case KindMissing:
		return "missing"
	}
	return "other"
}

// kinded is an error that knows its kind.
type kinded interface{ TenantKind() Kind }

// KindOf returns the kind of the outermost error in err's chain that knows its kind; KindOther
// when none does.
func KindOf(err error) Kind {
	var k kinded
	if errors.As(err, &k) {
		return k.TenantKind()
	}
	return KindOther
}

// Error is an engine's error with its kind. For KindUnreachable, Cause says in words fit for a
// tenant why the server could not be reached, naming no address and no account; the whole error
// is the platform team's.
type Error struct {
	Kind  Kind
	Cause string
	Err   error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// TenantKind says what the reconciler does about it.
func (e *Error) TenantKind() Kind { return e.Kind }

// UnreachableCause returns the Cause of the unreachable error in err's chain, or a general one.
func UnreachableCause(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Cause != "" {
		return e.Cause
	}
	return "no admin endpoint accepted a connection"
}

func invalid(msg string) error {
	return &Error{Kind: KindInvalidInput, Err: errors.New(msg)}
}

// Invalid returns a KindInvalidInput error with that message.
func Invalid(format string, args ...any) error {
	return &Error{Kind: KindInvalidInput, Err: fmt.Errorf(format, args...)}
}

// ConflictError says a database or account cannot be provisioned for this owner: it belongs to
// another AppDatabase (Owner), exists without having been created by DB Concierge (Owner nil), or
// an existing one differs from it only in case (Existing).
type ConflictError struct {
	Object Object
	Name   string
	Owner  *Owner
	// Existing is the name as recorded or as the server has it, when it differs in case.
	Existing string
}

// TenantKind says what the reconciler does about it.
func (e *ConflictError) TenantKind() Kind { return KindConflict }

func (e *ConflictError) Error() string {
	switch {
	case e.Existing != "" && e.Existing != e.Name:
		return fmt.Sprintf("%s %q differs only in case from the existing %s %q; it is refused, since some servers treat them as one: choose another name",
			e.Object, e.Name, e.Object, e.Existing)
	case e.Owner == nil:
		return fmt.Sprintf("%s %q already exists and was not created by DB Concierge; it is left untouched: choose another name, "+
			"or ask the platform team to adopt it (annotation db.stillwaters.io/adopt=true on an AppDatabase in the platform namespace)", e.Object, e.Name)
	}
	return fmt.Sprintf("%s %q belongs to another AppDatabase; it is left untouched: choose another name", e.Object, e.Name)
}

// ForeignAccessError says a database about to be created would be open to another account at
// once, through a grant the server already holds.
type ForeignAccessError struct {
	Database string
	// Account and On are the grant as the server holds it: 'user'@'host' and its target.
	Account, On string
}

// TenantKind says what the reconciler does about it.
func (e *ForeignAccessError) TenantKind() Kind { return KindConflict }

func (e *ForeignAccessError) Error() string {
	return fmt.Sprintf("database %q would be open to account %s through its existing grant on %s "+
		"(in a database-level grant '_' and '%%' match any character); it is refused: choose another dbName, "+
		"or ask the platform team to revoke or narrow that grant", e.Database, e.Account, e.On)
}

// AdoptionError says an adoption was refused, and why.
type AdoptionError struct{ Reason string }

// TenantKind says what the reconciler does about it.
func (e *AdoptionError) TenantKind() Kind { return KindConflict }
func (e *AdoptionError) Error() string    { return e.Reason }

// MissingError says a database that was provisioned has since been dropped outside DB Concierge,
// and may not be recreated empty.
type MissingError struct{ Database string }

// TenantKind says what the reconciler does about it.
func (e *MissingError) TenantKind() Kind { return KindMissing }

func (e *MissingError) Error() string {
	return fmt.Sprintf("database %q was provisioned but no longer exists (dropped outside DB Concierge?); "+
		"it is not recreated empty: restore it from a backup, or delete and recreate the AppDatabase "+
		"(with deletionPolicy Delete, the operator's --recreate-missing-databases recreates it empty)", e.Database)
}

// PasswordError says a password cannot be used as it is (a Secret holding an empty or malformed
// one). Account names the account whose password it is.
type PasswordError struct{ Account, Reason string }

// TenantKind says what the reconciler does about it.
func (e *PasswordError) TenantKind() Kind { return KindInvalidInput }
func (e *PasswordError) Error() string    { return "the password " + e.Reason }

// PasswordPolicyError says the server's password policy refused a password. Reason is the
// server's words, which never quote the password.
type PasswordPolicyError struct {
	Account string
	Reason  string
	Err     error
}

// TenantKind says what the reconciler does about it.
func (e *PasswordPolicyError) TenantKind() Kind { return KindInvalidInput }
func (e *PasswordPolicyError) Unwrap() error    { return e.Err }

func (e *PasswordPolicyError) Error() string {
	return fmt.Sprintf("the server's password policy refused the password of account %q: %s", e.Account, e.Reason)
}

// ScriptError is a statement of a tenant's own SQL that the server refused: the tenant's to fix.
type ScriptError struct {
	// Message is the server's error, its first line, which names no password.
	Message string
}

func (e *ScriptError) Error() string { return "the server refused a statement: " + e.Message }

// TenantKind says what the reconciler does about it.
func (e *ScriptError) TenantKind() Kind { return KindInvalidInput }

// QuotaError says a claim would give a namespace, or the server, more databases than its quota.
type QuotaError struct {
	// Namespace is the namespace whose quota is full; "" for the server's total.
	Namespace string
	// Count is how many databases are recorded; Limit the quota.
	Count, Limit int
}

// TenantKind says what the reconciler does about it.
func (e *QuotaError) TenantKind() Kind { return KindConflict }

func (e *QuotaError) Error() string {
	if e.Namespace == "" {
		return fmt.Sprintf("the cluster holds %d databases of DB Concierge, as many as its quota of %d allows", e.Count, e.Limit)
	}
	return fmt.Sprintf("namespace %q has %d databases on the cluster, as many as its quota of %d allows", e.Namespace, e.Count, e.Limit)
}

// ServerChangedError says a cluster's admin endpoints lead to another server than the one its
// records are expected on (ServerInfo.Identity).
type ServerChangedError struct{ Expected, Found string }

func (e *ServerChangedError) Error() string {
	found := e.Found
	if found == "" {
		found = "none: the server holds no records of DB Concierge"
	}
	return fmt.Sprintf("the admin endpoints lead to a server of identity %s, not %s as recorded: nothing is created there until the platform team accepts it",
		found, e.Expected)
}

// HeldOnlyError says a claim with Spec.HeldOnly would have recorded a name the owner does not
// hold.
type HeldOnlyError struct {
	Object Object
	Name   string
}

// TenantKind says what the reconciler does about it.
func (e *HeldOnlyError) TenantKind() Kind { return KindConflict }

func (e *HeldOnlyError) Error() string {
	return fmt.Sprintf("%s %q is not recorded for this AppDatabase, and nothing new may be recorded for it", e.Object, e.Name)
}
