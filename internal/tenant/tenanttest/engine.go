// Package tenanttest is an in-memory tenant.Engine for tests of the reconciler that need no
// MySQL. It keeps the ownership rules of internal/mysql (a ledger of who owns which name, pending
// until provisioned, names compared without regard to case, adoption only of what is unrecorded or
// belongs to a vanished owner), and lets a test make drift, faults and crashes by hand.
package tenanttest

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/stillwaters/db-concierge/internal/tenant"
)

var _ tenant.Engine = (*Engine)(nil)

// FindingDrift is the one finding of Sweep: the fake does not tell drifts apart, a full pass
// repairs them all alike.
const FindingDrift tenant.Finding = "drift"

// ForeignPassword is the password of a user made by CreateForeign, so that a test can adopt it.
const ForeignPassword = "foreign-password"

// Name limits, as internal/mysql has them: the lowest common limits of the servers it serves.
const (
	MaxDatabaseNameLength = 64
	MaxUserNameLength     = 32
)

// methods are the tenant.Engine methods, the names Calls records and FailNext takes.
var methods = []string{"Validate", "Claim", "Unclaim", "Provision", "DropOwned", "Inspect", "CheckPrivileges", "SecondPasswords", "VerifyLogin", "RunScript", "Sweep", "Close"}

var identifierPattern = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// Engine is an in-memory server and its ownership ledger. Create it with New; it is safe for
// concurrent use. Set the exported fields before the engine is used.
type Engine struct {
	// AdminUser is the operator's own account: no tenant may be given its name.
	AdminUser string
	// PolicyRefuses, when set, is the server's password policy: a password it matches cannot be
	// set, and Provision fails with a *tenant.PasswordPolicyError.
	PolicyRefuses func(password string) bool
	// KeepsSecondPasswords makes the fake keep a second password per account, as MySQL 8.0.14
	// and later do: both log in, RETAIN CURRENT PASSWORD fills it and DISCARD OLD PASSWORD
	// empties it.
	KeepsSecondPasswords bool
	// RefuseScript, when set, says why the server refuses a script RunScript is given; "" runs
	// it.
	RefuseScript func(script string) string
	// LoseScript, when set, is the error of a connection lost while a script runs: RunScript
	// returns it after starting, and the script is not kept.
	LoseScript error

	mu        sync.Mutex
	databases map[string]*database // by lower-cased name
	accounts  map[string]*account  // by lower-cased name
	ledger    map[key]*record
	calls     []string
	scripts   []string
	down      bool
	failNext  map[string]error
	stepHook  func(step string) error
}

type database struct{ name, charset, collation string }

type account struct {
	name, password string
	// second is the second password, "" for none.
	second         string
	access         tenant.Access
	maxConnections int
	locked         bool
	// database is the one database access applies to; "" with no access.
	database string
}

// key identifies a ledger record: names compare without regard to case, so that MyApp and myapp
// can never belong to two owners.
type key struct {
	object tenant.Object
	name   string
}

func keyOf(object tenant.Object, name string) key {
	return key{object, strings.ToLower(name)}
}

type record struct {
	owner     tenant.Owner
	name      string // as the owner spelled it
	committed bool
}

// claim is this engine's tenant.Claim. The ledger holds all Provision needs; the claim only lets
// Provision check that it follows a Claim of this engine for the same owner.
type claim struct {
	engine   *Engine
	ownerUID string
}

// New returns an empty server: no database, no account, no record.
func New() *Engine {
	return &Engine{
		databases: map[string]*database{},
		accounts:  map[string]*account{},
		ledger:    map[key]*record{},
		failNext:  map[string]error{},
	}
}

// AccountState is an account as the fake server holds it.
type AccountState struct {
	Password           string
	SecondPassword     string
	Locked             bool
	Access             tenant.Access
	MaxUserConnections int
	// Database is the database Access applies to.
	Database string
}

// Record is one ownership record.
type Record struct {
	Object    tenant.Object
	Name      string
	OwnerUID  string
	Committed bool
}

// Database reports whether a database spelled exactly so exists.
func (e *Engine) Database(name string) (exists bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	d, ok := e.databases[strings.ToLower(name)]
	return ok && d.name == name
}

// Account returns the account spelled exactly so, if it exists.
func (e *Engine) Account(name string) (AccountState, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.accounts[strings.ToLower(name)]
	if !ok || a.name != name {
		return AccountState{}, false
	}
	return AccountState{Password: a.password, SecondPassword: a.second, Locked: a.locked, Access: a.access, MaxUserConnections: a.maxConnections, Database: a.database}, true
}

// Ledger returns the ownership records, sorted by object then name.
func (e *Engine) Ledger() []Record {
	e.mu.Lock()
	defer e.mu.Unlock()
	records := make([]Record, 0, len(e.ledger))
	for k, r := range e.ledger {
		records = append(records, Record{Object: k.object, Name: r.name, OwnerUID: r.owner.UID, Committed: r.committed})
	}
	slices.SortFunc(records, func(a, b Record) int {
		return strings.Compare(string(a.Object)+"\x00"+a.Name, string(b.Object)+"\x00"+b.Name)
	})
	return records
}

// Calls returns the engine methods called so far, in order, failed calls included.
func (e *Engine) Calls() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.calls)
}

// ResetCalls forgets the calls made so far.
func (e *Engine) ResetCalls() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = nil
}

// DropAccount drops an account behind the operator's back; its record stays.
func (e *Engine) DropAccount(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.mustAccount(name)
	delete(e.accounts, strings.ToLower(name))
}

// SetPassword changes an account's password behind the operator's back.
func (e *Engine) SetPassword(name, password string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.mustAccount(name).password = password
}

// SetAccess changes an account's access behind the operator's back; "" takes all access away.
func (e *Engine) SetAccess(name string, access tenant.Access) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.mustAccount(name).access = access
}

// DropDatabase drops a database behind the operator's back; its record stays.
func (e *Engine) DropDatabase(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.databases[strings.ToLower(name)]; !ok {
		panic(fmt.Sprintf("tenanttest: DropDatabase of database %q, which does not exist", name))
	}
	delete(e.databases, strings.ToLower(name))
}

// CreateForeign makes a database or user that DB Concierge did not create: it exists without a
// record. A user logs in with ForeignPassword and has no access.
func (e *Engine) CreateForeign(object tenant.Object, name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.exists(keyOf(object, name)) {
		panic(fmt.Sprintf("tenanttest: CreateForeign of %s %q, which exists", object, name))
	}
	switch object {
	case tenant.ObjectDatabase:
		e.databases[strings.ToLower(name)] = &database{name: name}
	case tenant.ObjectUser:
		e.accounts[strings.ToLower(name)] = &account{name: name, password: ForeignPassword}
	default:
		panic(fmt.Sprintf("tenanttest: CreateForeign of unknown object %q", object))
	}
}

// mustAccount returns an account a test changes by hand; a name that does not exist is the
// test's mistake, not drift, so it panics.
func (e *Engine) mustAccount(name string) *account {
	a, ok := e.accounts[strings.ToLower(name)]
	if !ok {
		panic(fmt.Sprintf("tenanttest: account %q does not exist", name))
	}
	return a
}

// SetDown makes the server unreachable (true) or brings it back (false). While it is down,
// every method but Validate and Close, which do not reach the server, fails with
// tenant.KindUnreachable and changes nothing.
func (e *Engine) SetDown(down bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.down = down
}

// FailNext makes the next call of method (a tenant.Engine method name: "Claim", "Provision", ...)
// return err before changing anything; while the server is down, calls fail as unreachable and
// leave err armed. err is returned as it is: give it the kind the test needs.
func (e *Engine) FailNext(method string, err error) {
	if !slices.Contains(methods, method) {
		panic(fmt.Sprintf("tenanttest: FailNext of unknown method %q", method))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failNext[method] = err
}

// SetStepHook sets a function Provision calls after each of its steps: "database", then
// "account:<name>" for each account of the spec, then "commit". When it returns an error,
// Provision stops there and returns it, leaving what it did so far in place, like a crash. The
// hook runs with the engine unlocked, so it may inspect or change it. nil removes the hook.
func (e *Engine) SetStepHook(hook func(step string) error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stepHook = hook
}

// enter records a call and returns the error it must fail with, if any: a cancelled context,
// the server down (when the method reaches it), or the error FailNext armed.
func (e *Engine) enter(ctx context.Context, method string, reachesServer bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, method)
	if ctx.Err() != nil {
		return fmt.Errorf("tenanttest: %s: %w", method, ctx.Err())
	}
	if reachesServer && e.down {
		return &tenant.Error{Kind: tenant.KindUnreachable, Cause: "the server does not accept connections",
			Err: fmt.Errorf("tenanttest: %s: the fake server is down", method)}
	}
	if err, armed := e.failNext[method]; armed {
		delete(e.failNext, method)
		return err
	}
	return nil
}

// Validate checks the spec as every engine does, then the names as MySQL would take them.
func (e *Engine) Validate(s tenant.Spec) error {
	if err := e.enter(context.Background(), "Validate", false); err != nil {
		return err
	}
	return e.validate(s)
}

func (e *Engine) validate(s tenant.Spec) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if err := checkIdentifier("database name", s.Database, MaxDatabaseNameLength); err != nil {
		return err
	}
	for _, a := range s.Accounts {
		if err := checkIdentifier("user name", a.Name, MaxUserNameLength); err != nil {
			return err
		}
		if strings.EqualFold(a.Name, "root") || (e.AdminUser != "" && strings.EqualFold(a.Name, e.AdminUser)) {
			return tenant.Invalid("user name %q is reserved for the server's own use", a.Name)
		}
	}
	return nil
}

func checkIdentifier(what, name string, maxLength int) error {
	switch {
	case len(name) > maxLength:
		return tenant.Invalid("%s %q is %d characters long, more than the %d allowed", what, name, len(name), maxLength)
	case !identifierPattern.MatchString(name):
		return tenant.Invalid("%s %q may hold only letters, digits and '_'", what, name)
	}
	return nil
}

// exists reports whether anything exists under k's name, in any case.
func (e *Engine) exists(k key) bool {
	_, ok := e.existingName(k)
	return ok
}

// existingName returns the name as the server spells it, if something exists under k's name.
func (e *Engine) existingName(k key) (string, bool) {
	switch k.object {
	case tenant.ObjectDatabase:
		if d, ok := e.databases[k.name]; ok {
			return d.name, true
		}
	case tenant.ObjectUser:
		if a, ok := e.accounts[k.name]; ok {
			return a.name, true
		}
	}
	return "", false
}

// named is one name of a spec, with its object.
type named struct {
	object tenant.Object
	name   string
}

func namesOf(s tenant.Spec) []named {
	names := []named{{tenant.ObjectDatabase, s.Database}}
	for _, a := range s.Accounts {
		names = append(names, named{tenant.ObjectUser, a.Name})
	}
	return names
}

// Claim records s.Owner as the owner of every name of s, all or none, under the rules of
// internal/mysql. gone is called with the engine locked: it must not call the engine.
func (e *Engine) Claim(ctx context.Context, s tenant.Spec, adopt *tenant.Adoption, gone tenant.OwnerGone) (tenant.Claim, error) {
	if err := e.enter(ctx, "Claim", true); err != nil {
		return nil, err
	}
	if err := e.validate(s); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	// Every name is judged before any is written, so that a refused claim holds nothing.
	var writes []named
	for _, n := range namesOf(s) {
		k := keyOf(n.object, n.name)
		if r, ok := e.ledger[k]; ok {
			if r.owner.UID == s.Owner.UID && r.name == n.name {
				continue // already this owner's: nothing to write
			}
			owner := r.owner
			conflict := &tenant.ConflictError{Object: n.object, Name: n.name, Owner: &owner, Existing: r.name}
			// A live owner's name is never taken, nor a name spelled otherwise (by anyone).
			if r.name != n.name || gone == nil || !gone(owner) {
				return nil, conflict
			}
			// A vanished owner's pending record under which nothing exists protects nothing
			// and passes without adoption; anything else takes the platform team's adoption.
			if adopt == nil && (r.committed || e.exists(k)) {
				return nil, conflict
			}
		}
		if existing, ok := e.existingName(k); ok {
			switch {
			case existing != n.name:
				return nil, &tenant.ConflictError{Object: n.object, Name: n.name, Existing: existing}
			case adopt == nil:
				return nil, &tenant.ConflictError{Object: n.object, Name: n.name}
			case n.object == tenant.ObjectUser && !e.logsIn(n.name, adoptionPassword(adopt, n.name)):
				// Adopting must not change a password an application may be using.
				return nil, &tenant.AdoptionError{Reason: fmt.Sprintf("user %q exists but does not log in with the password in the application's Secret; "+
					"adopting it would change a password an application may use: put its password in the Secret, or choose another name", n.name)}
			}
		}
		writes = append(writes, n)
	}
	for _, n := range writes {
		e.ledger[keyOf(n.object, n.name)] = &record{owner: s.Owner, name: n.name}
	}
	return &claim{engine: e, ownerUID: s.Owner.UID}, nil
}

func adoptionPassword(adopt *tenant.Adoption, name string) string {
	if pw, ok := adopt.Passwords[name]; ok {
		return pw
	}
	for n, pw := range adopt.Passwords {
		if strings.EqualFold(n, name) {
			return pw
		}
	}
	return ""
}

// logsIn reports whether an account spelled exactly so logs in with password.
func (e *Engine) logsIn(name, password string) bool {
	a, ok := e.accounts[strings.ToLower(name)]
	return ok && a.name == name && password != "" && (a.password == password || a.second == password) && !a.locked
}

// CheckPrivileges finds nothing missing: the fake's admin may do anything.
func (e *Engine) CheckPrivileges(ctx context.Context) error {
	return e.enter(ctx, "CheckPrivileges", true)
}

// SecondPasswords reports KeepsSecondPasswords.
func (e *Engine) SecondPasswords(ctx context.Context) (bool, error) {
	if err := e.enter(ctx, "SecondPasswords", true); err != nil {
		return false, err
	}
	return e.KeepsSecondPasswords, nil
}

// Unclaim deletes the owner's pending records of names under which nothing exists; records of
// what exists stay, since they protect it.
func (e *Engine) Unclaim(ctx context.Context, ownerUID string) error {
	if err := e.enter(ctx, "Unclaim", true); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.unclaim(ownerUID)
	return nil
}

func (e *Engine) unclaim(ownerUID string) {
	for k, r := range e.ledger {
		if r.owner.UID == ownerUID && !r.committed && !e.exists(k) {
			delete(e.ledger, k)
		}
	}
}

// Provision brings the fake server to s, then commits the owner's records. It needs a claim
// made by this engine for s's owner, and every name of s recorded for that owner.
func (e *Engine) Provision(ctx context.Context, s tenant.Spec, c tenant.Claim) ([]tenant.Change, error) {
	if err := e.enter(ctx, "Provision", true); err != nil {
		return nil, err
	}
	if err := e.validate(s); err != nil {
		return nil, err
	}
	for _, a := range s.Accounts {
		if err := tenant.ValidatePassword(a.Name, a.Password); err != nil {
			return nil, err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.checkClaim(s, c); err != nil {
		return nil, err
	}
	var changes []tenant.Change
	change, err := e.ensureDatabase(s)
	if err != nil {
		return nil, err
	}
	if change != nil {
		changes = append(changes, *change)
	}
	if err := e.step("database"); err != nil {
		return changes, err
	}
	var created []string
	for _, a := range s.Accounts {
		accountChanges, err := e.ensureAccount(s.Database, a, s.Rotating())
		changes = append(changes, accountChanges...)
		var refused *tenant.PasswordPolicyError
		if errors.As(err, &refused) {
			// Nothing of this tenant works until the policy admits the password: what this pass
			// created is taken back, so that the names are not held by empty shells.
			e.undo(s, changes, created)
			return changes, err
		}
		if len(accountChanges) > 0 && accountChanges[0].Kind == tenant.CreatedUser {
			created = append(created, a.Name)
		}
		if err := e.step("account:" + a.Name); err != nil {
			return changes, err
		}
	}
	changes = append(changes, e.dropRemoved(s)...)
	for _, r := range e.ledger {
		if r.owner.UID == s.Owner.UID {
			r.committed = true
		}
	}
	if err := e.step("commit"); err != nil {
		return changes, err
	}
	return changes, nil
}

// checkClaim refuses a Provision that no Claim of this engine prepared: in a test that is the
// reconciler's mistake, which the real engine would not notice until names were taken.
func (e *Engine) checkClaim(s tenant.Spec, c tenant.Claim) error {
	cl, ok := c.(*claim)
	if !ok || cl.engine != e || cl.ownerUID != s.Owner.UID {
		return fmt.Errorf("tenanttest: Provision for owner %q without a claim of this engine for that owner", s.Owner.UID)
	}
	for _, n := range namesOf(s) {
		r, ok := e.ledger[keyOf(n.object, n.name)]
		if !ok || r.owner.UID != s.Owner.UID {
			return fmt.Errorf("tenanttest: Provision of %s %q, which is not recorded for owner %q", n.object, n.name, s.Owner.UID)
		}
	}
	return nil
}

// step calls the step hook, with the engine unlocked as a real server would be between two
// statements.
func (e *Engine) step(name string) error {
	hook := e.stepHook
	if hook == nil {
		return nil
	}
	e.mu.Unlock()
	defer e.mu.Lock()
	return hook(name)
}

func (e *Engine) ensureDatabase(s tenant.Spec) (*tenant.Change, error) {
	k := strings.ToLower(s.Database)
	d, ok := e.databases[k]
	if !ok {
		change := &tenant.Change{Kind: tenant.CreatedDatabase, Detail: "created database"}
		if r := e.ledger[keyOf(tenant.ObjectDatabase, s.Database)]; r != nil && r.committed {
			// Provisioned, then dropped by hand: an empty database would hide the loss of data.
			if !s.RecreateMissingDatabase {
				return nil, &tenant.MissingError{Database: s.Database}
			}
			change = &tenant.Change{Kind: tenant.RecreatedDatabase, Detail: "recreated the database, empty, after it was dropped outside DB Concierge"}
		}
		e.databases[k] = &database{name: s.Database, charset: s.Charset, collation: s.Collation}
		return change, nil
	}
	// An empty charset or collation leaves the server's choice alone.
	if (s.Charset == "" || strings.EqualFold(d.charset, s.Charset)) && (s.Collation == "" || strings.EqualFold(d.collation, s.Collation)) {
		return nil, nil
	}
	detail := fmt.Sprintf("changed the database's charset/collation from %s/%s", d.charset, d.collation)
	d.charset, d.collation = s.Charset, s.Collation
	return &tenant.Change{Kind: tenant.AlteredDatabase, Detail: detail}, nil
}

// ensureAccount creates the account, or brings its password, access and connection limit to
// the spec's. A new account reports CreatedUser alone.
func (e *Engine) ensureAccount(db string, want tenant.Account, rotating bool) ([]tenant.Change, error) {
	k := strings.ToLower(want.Name)
	a, ok := e.accounts[k]
	if !ok {
		if err := e.checkPolicy(want); err != nil {
			return nil, err
		}
		e.accounts[k] = &account{name: want.Name, password: want.Password, access: want.Access, maxConnections: want.MaxUserConnections, database: db, locked: want.Locked}
		return []tenant.Change{{Kind: tenant.CreatedUser, Detail: fmt.Sprintf("created user %q", want.Name)}}, nil
	}
	var changes []tenant.Change
	switch {
	case e.KeepsSecondPasswords && want.Second == tenant.SecondRetained:
		if a.password == want.Password || a.second == want.Password {
			break // retained by an earlier pass
		}
		if err := e.checkPolicy(want); err != nil {
			return nil, err
		}
		if a.password != want.Previous {
			// As internal/mysql does: an earlier second is discarded, and the previous password
			// set again, so that RETAIN keeps it.
			a.password = want.Previous
		}
		a.password, a.second = want.Password, a.password
		changes = append(changes, tenant.Change{Kind: tenant.RetainedPassword, Detail: fmt.Sprintf("set a new password on user %q, keeping the previous one", want.Name)})
	case a.password != want.Password && a.second != want.Password && !want.Standby,
		// The Secret's password is the second one: it is the one to keep when the second goes.
		a.second == want.Password && want.Second == tenant.SecondDiscarded:
		if err := e.checkPolicy(want); err != nil {
			return nil, err
		}
		a.password = want.Password
		changes = append(changes, tenant.Change{Kind: tenant.ResetPassword, Detail: fmt.Sprintf("set the password of user %q to the Secret's", want.Name)})
	}
	if a.second != "" && want.Second == tenant.SecondDiscarded {
		a.second = ""
		changes = append(changes, tenant.Change{Kind: tenant.DiscardedPassword, Detail: fmt.Sprintf("discarded the previous password of user %q", want.Name)})
	}
	if a.access != want.Access || !strings.EqualFold(a.database, db) {
		a.access, a.database = want.Access, db
		changes = append(changes, tenant.Change{Kind: tenant.Granted, Detail: fmt.Sprintf("granted %s on the database to user %q", want.Access, want.Name)})
	}
	if a.maxConnections != want.MaxUserConnections {
		a.maxConnections = want.MaxUserConnections
		changes = append(changes, tenant.Change{Kind: tenant.ConnectionLimit, Detail: fmt.Sprintf("set the connection limit of user %q to %d", want.Name, want.MaxUserConnections)})
	}
	if rotating && a.locked != want.Locked {
		a.locked = want.Locked
		kind := tenant.AccountUnlocked
		if a.locked {
			kind = tenant.AccountLocked
		}
		changes = append(changes, tenant.Change{Kind: kind, Detail: fmt.Sprintf("%s user %q", strings.ReplaceAll(string(kind), "account_", ""), want.Name)})
	}
	return changes, nil
}

func (e *Engine) checkPolicy(a tenant.Account) error {
	if e.PolicyRefuses == nil || !e.PolicyRefuses(a.Password) {
		return nil
	}
	return &tenant.PasswordPolicyError{Account: a.Name, Reason: "Your password does not satisfy the current policy requirements",
		Err: errors.New("tenanttest: the password policy refused the password")}
}

// undo takes back what a refused pass created: the database if it was new (not recreated), the
// accounts it created, and then the pending records of what no longer exists.
func (e *Engine) undo(s tenant.Spec, changes []tenant.Change, createdAccounts []string) {
	for _, c := range changes {
		if c.Kind == tenant.CreatedDatabase {
			delete(e.databases, strings.ToLower(s.Database))
		}
	}
	for _, name := range createdAccounts {
		delete(e.accounts, strings.ToLower(name))
	}
	e.unclaim(s.Owner.UID)
}

// dropRemoved drops the accounts recorded for s's owner that s no longer lists, and their
// records.
func (e *Engine) dropRemoved(s tenant.Spec) []tenant.Change {
	var removed []key
	for k, r := range e.ledger {
		if k.object != tenant.ObjectUser || r.owner.UID != s.Owner.UID {
			continue
		}
		if _, listed := s.Account(r.name); !listed {
			removed = append(removed, k)
		}
	}
	slices.SortFunc(removed, func(a, b key) int { return strings.Compare(a.name, b.name) })
	var changes []tenant.Change
	for _, k := range removed {
		name := e.ledger[k].name
		delete(e.accounts, k.name)
		delete(e.ledger, k)
		changes = append(changes, tenant.Change{Kind: tenant.DroppedUser, Detail: fmt.Sprintf("dropped user %q, which the spec no longer lists", name)})
	}
	return changes
}

// DropOwned drops everything recorded for the owner, users before databases, and forgets it.
func (e *Engine) DropOwned(ctx context.Context, ownerUID string) ([]string, error) {
	if err := e.enter(ctx, "DropOwned", true); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var owned []key
	for k, r := range e.ledger {
		if r.owner.UID == ownerUID {
			owned = append(owned, k)
		}
	}
	slices.SortFunc(owned, func(a, b key) int {
		// "user" sorts after "database": reversed, users go first.
		if c := strings.Compare(string(b.object), string(a.object)); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	var dropped []string
	for _, k := range owned {
		if k.object == tenant.ObjectDatabase {
			delete(e.databases, k.name)
		} else {
			delete(e.accounts, k.name)
		}
		dropped = append(dropped, fmt.Sprintf("%s %q", k.object, e.ledger[k].name))
		delete(e.ledger, k)
	}
	return dropped, nil
}

// Inspect returns a fixed description of the fake server.
func (e *Engine) Inspect(ctx context.Context) (tenant.ServerInfo, error) {
	if err := e.enter(ctx, "Inspect", true); err != nil {
		return tenant.ServerInfo{}, err
	}
	return tenant.ServerInfo{Flavor: "Fake", Version: "1"}, nil
}

// VerifyLogin logs in as user with password, and into database when it is not empty: the
// database must exist and the account have access to it.
func (e *Engine) VerifyLogin(ctx context.Context, user, password, db string) error {
	if err := e.enter(ctx, "VerifyLogin", true); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.logsIn(user, password) {
		return &tenant.Error{Kind: tenant.KindAccessDenied, Err: fmt.Errorf("tenanttest: access denied for user %q", user)}
	}
	if db == "" {
		return nil
	}
	a := e.accounts[strings.ToLower(user)]
	if d, ok := e.databases[strings.ToLower(db)]; !ok || d.name != db || a.access == "" || !strings.EqualFold(a.database, db) {
		return &tenant.Error{Kind: tenant.KindAccessDenied, Err: fmt.Errorf("tenanttest: access denied for user %q to database %q", user, db)}
	}
	return nil
}

// RunScript logs in as user and keeps script (Scripts), unless RefuseScript refuses it.
func (e *Engine) RunScript(ctx context.Context, user, password, db, script string, starting func() error) error {
	if err := e.VerifyLogin(ctx, user, password, db); err != nil {
		return err
	}
	if err := e.enter(ctx, "RunScript", true); err != nil {
		return err
	}
	if err := starting(); err != nil {
		return err
	}
	if e.LoseScript != nil {
		return e.LoseScript
	}
	if e.RefuseScript != nil {
		if why := e.RefuseScript(script); why != "" {
			return &tenant.ScriptError{Message: why}
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.scripts = append(e.scripts, script)
	return nil
}

// Scripts returns the scripts RunScript ran, in order.
func (e *Engine) Scripts() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.scripts)
}

// Sweep returns FindingDrift for each expectation whose tenant differs from its spec in any way
// Provision would change, or whose records are not all committed for its owner.
func (e *Engine) Sweep(ctx context.Context, expected []tenant.Expectation) (map[string]tenant.Finding, error) {
	if err := e.enter(ctx, "Sweep", true); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	findings := map[string]tenant.Finding{}
	for _, x := range expected {
		if e.drifted(x.Spec) {
			findings[x.Spec.Owner.UID] = FindingDrift
		}
	}
	return findings, nil
}

func (e *Engine) drifted(s tenant.Spec) bool {
	for _, n := range namesOf(s) {
		r, ok := e.ledger[keyOf(n.object, n.name)]
		if !ok || r.owner.UID != s.Owner.UID || r.name != n.name || !r.committed {
			return true
		}
	}
	for k, r := range e.ledger {
		if _, listed := s.Account(r.name); k.object == tenant.ObjectUser && r.owner.UID == s.Owner.UID && !listed {
			return true // an account Provision would drop
		}
	}
	d, ok := e.databases[strings.ToLower(s.Database)]
	if !ok || d.name != s.Database ||
		(s.Charset != "" && !strings.EqualFold(d.charset, s.Charset)) || (s.Collation != "" && !strings.EqualFold(d.collation, s.Collation)) {
		return true
	}
	for _, want := range s.Accounts {
		a, ok := e.accounts[strings.ToLower(want.Name)]
		if !ok || a.name != want.Name || (!want.Standby && a.password != want.Password) || a.access != want.Access ||
			!strings.EqualFold(a.database, s.Database) || a.maxConnections != want.MaxUserConnections ||
			(s.Rotating() && a.locked != want.Locked) {
			return true
		}
	}
	return false
}

// Close does nothing: the fake holds no connection.
func (e *Engine) Close() error {
	return e.enter(context.Background(), "Close", false)
}
