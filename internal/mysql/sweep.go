package mysql

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/stillwaters/db-concierge/internal/tenant"
)

// A sweep is the periodic drift check of a whole cluster. A full pass reads one tenant's records,
// database, grants and, when the password hash cannot be compared, logs in: a few round trips per
// tenant. A sweep reads the same facts for every tenant of the cluster in six statements and
// compares each Ready tenant with them in memory. It vouches for a tenant only where what it read
// answers every question a full pass would ask; anything else — a difference, or a fact it cannot
// judge — sends the tenant to a full pass, which decides and repairs. A superfluous full pass
// costs some CPU; a drift vouched for would stay unrepaired.

// The findings, each a reason a sweep sends a tenant to a full pass (it labels a metric: the set is
// fixed). findingNone vouches for the tenant.
const (
	findingNone tenant.Finding = ""
	// FindingOwnershipRecord: a record of the database or of an account is missing, still
	// pending, spelled otherwise, or names another owner; or the owner holds a record of an
	// account the spec no longer lists.
	FindingOwnershipRecord tenant.Finding = "ownership_record"
	FindingDatabaseMissing tenant.Finding = "database_missing"
	FindingCharset         tenant.Finding = "charset_differs"
	FindingUserMissing     tenant.Finding = "user_missing"
	FindingPassword        tenant.Finding = "password_differs"
	// FindingGrantMissing: a privilege of the account's access on the database is missing.
	FindingGrantMissing tenant.Finding = "grant_missing"
	// FindingGrantBeyond: a privilege beyond the database, GRANT OPTION, a role, a default role
	// or a PROXY grant.
	FindingGrantBeyond tenant.Finding = "grant_beyond_database"
	// FindingAccessDiffers: inside the database, the account holds more than its access: a
	// database privilege beyond its preset, or (DataOnly, ReadOnly) a grant on a table, column
	// or routine.
	FindingAccessDiffers tenant.Finding = "access_differs"
	FindingTLS           tenant.Finding = "tls_requirement_differs"
	// FindingConnectionLimit: the account's own connection limit is not the spec's.
	FindingConnectionLimit tenant.Finding = "connection_limit_differs"
	// FindingLock: an account of a rotating tenant is locked or unlocked against the spec.
	FindingLock tenant.Finding = "lock_differs"
	// FindingUnverifiable: the sweep cannot judge the tenant (a password stored by another
	// plugin, a server whose hashes are salted, an account row it cannot read).
	FindingUnverifiable tenant.Finding = "unverifiable"
)

// nativePlugin is the authentication plugin whose stored hash a sweep can compare with a password.
const nativePlugin = "mysql_native_password"

// Sweep reads what the cluster holds for its tenants and compares every expected tenant, each of
// its accounts, with it. It returns, by owner UID, the tenants a full pass must look at and why;
// the others match. An error means nothing was judged: an outage (tenant.KindUnreachable), or a
// read that failed.
func (a *Admin) Sweep(ctx context.Context, expected []tenant.Expectation) (findings map[string]tenant.Finding, err error) {
	defer func() { err = a.settle(ctx, err) }()
	findings = map[string]tenant.Finding{}
	if len(expected) == 0 {
		return findings, nil
	}
	d, err := a.dialectFor(ctx)
	if err != nil {
		return nil, err
	}
	if d.mysqlFamily() {
		// MySQL 8 stores salted caching_sha2_password hashes: only a login tells whether the
		// Secret's password is the account's.
		return allFound(expected, FindingUnverifiable), nil
	}
	inv, err := a.readInventory(ctx, d.names, len(expected))
	if errorNumber(err) == erNoSuchTable {
		return allFound(expected, FindingUnverifiable), nil
	}
	if err != nil {
		return nil, err
	}
	for _, e := range expected {
		want, err := a.wantedFor(ctx, d, e.Spec)
		if err != nil {
			if classify(err) == tenant.KindUnreachable {
				return nil, err
			}
			// A charset the server no longer knows: the full pass reports it.
			findings[e.Spec.Owner.UID] = FindingUnverifiable
			continue
		}
		if f := inv.judge(e.Spec, want); f != findingNone {
			findings[e.Spec.Owner.UID] = f
		}
	}
	return findings, nil
}

func allFound(expected []tenant.Expectation, f tenant.Finding) map[string]tenant.Finding {
	findings := make(map[string]tenant.Finding, len(expected))
	for _, e := range expected {
		findings[e.Spec.Owner.UID] = f
	}
	return findings
}

// wanted is what a tenant's database and account must show, as the server spells it.
type wanted struct {
	charset, collation string
	tls                tlsRequirement
}

// wantedFor resolves a tenant's charset and collation the way the server does (aliases, a
// collation named alone), as the full pass compares them.
func (a *Admin) wantedFor(ctx context.Context, d dialect, t tenant.Spec) (wanted, error) {
	charset, collation, err := a.resolveCharset(ctx, t.Charset, t.Collation)
	if err != nil {
		return wanted{}, err
	}
	return wanted{charset: charset, collation: collation, tls: d.wantedTLS()}, nil
}

// inventory is what a cluster holds for its tenants, as one sweep read it. Accounts and grants
// are those of the host '%', the only one a full pass looks at.
type inventory struct {
	names nameComparison
	// records are keyed by kind and lower-cased name: the table compares names without regard to
	// case, so at most one record answers a name.
	records map[recordKey]sweptRecord
	// ownedUsers are the names of the account records by owner UID.
	ownedUsers     map[string][]string
	schemata       map[string]schemaFacts
	accounts       map[string]accountFacts
	databaseGrants map[string][]databaseGrant
	objectGrants   map[string][]objectGrant
	// delegated holds the users granted a role or PROXY.
	delegated map[string]bool
}

type recordKey struct {
	kind tenant.Object
	name string
}

// sweptRecord is what a sweep keeps of an ownership record.
type sweptRecord struct {
	name, uid string
	committed bool
}

type schemaFacts struct{ name, charset, collation string }

// accountFacts is an account's row of mysql.global_priv.
type accountFacts struct {
	// unreadable: the row is not the JSON the server writes; nothing about it is known.
	unreadable bool
	// access is the bitmask of global privileges, GRANT OPTION included: 0 is USAGE alone.
	access      uint64
	plugin      string
	authString  string
	tls         tlsRequirement
	defaultRole string
	// maxConnections is the account's own connection limit, 0 for none.
	maxConnections int
	// alternatives: the account also authenticates another way (IDENTIFIED VIA … OR …).
	alternatives bool
	locked       bool
}

// databaseGrant is a row of mysql.db: pattern is the Db column, wildcards escaped as stored.
type databaseGrant struct {
	pattern string
	all     bool
	// held lists the privilege columns set, lower-cased (select_priv, ...), Grant_priv aside.
	held        []string
	grantOption bool
}

// objectGrant is a grant on a table, column or routine, in database.
type objectGrant struct {
	database    string
	grantOption bool
}

// newInventory makes an inventory sized for tenants, each with a database and an account or more:
// maps grown from empty would leave a trail of discarded tables as large as the maps themselves.
func newInventory(names nameComparison, tenants int) *inventory {
	return &inventory{
		names:          names,
		records:        make(map[recordKey]sweptRecord, 2*tenants),
		ownedUsers:     make(map[string][]string, tenants),
		schemata:       make(map[string]schemaFacts, tenants),
		accounts:       make(map[string]accountFacts, tenants),
		databaseGrants: make(map[string][]databaseGrant, tenants),
		objectGrants:   map[string][]objectGrant{},
		delegated:      map[string]bool{},
	}
}

// key is how the server tells database names apart.
func (c nameComparison) key(name string) string {
	if c == namesFolded {
		return strings.ToLower(name)
	}
	return name
}

// judge compares one tenant with the inventory, in the order a full pass checks: its records, its
// database, then each account in the spec's order.
func (inv *inventory) judge(s tenant.Spec, want wanted) tenant.Finding {
	if !inv.recordedFor(s) {
		return FindingOwnershipRecord
	}
	schema, found := inv.schemata[inv.names.key(s.Database)]
	switch {
	case !found:
		return FindingDatabaseMissing
	case !strings.EqualFold(schema.charset, want.charset) || !strings.EqualFold(schema.collation, want.collation):
		return FindingCharset
	}
	for _, acc := range s.Accounts {
		if f := inv.judgeAccount(s.Database, acc, want); f != findingNone {
			return f
		}
		if s.Rotating() && inv.accounts[acc.Name].locked != acc.Locked {
			return FindingLock
		}
	}
	return findingNone
}

// judgeAccount compares one account with the inventory, as a full pass checks it.
func (inv *inventory) judgeAccount(database string, acc tenant.Account, want wanted) tenant.Finding {
	facts, found := inv.accounts[acc.Name]
	if !found {
		return FindingUserMissing
	}
	switch {
	case acc.Standby && facts.unreadable:
		return FindingUnverifiable
	case !acc.Standby:
		if f := facts.judgePassword(acc.Password); f != findingNone {
			return f
		}
	}
	if f := inv.judgeGrants(database, acc, facts); f != findingNone {
		return f
	}
	if facts.tls != want.tls {
		return FindingTLS
	}
	if facts.maxConnections != acc.MaxUserConnections {
		return FindingConnectionLimit
	}
	return findingNone
}

// recordedFor reports whether the records of the database and of every account name the
// tenant's owner, as committed, under the tenant's own spelling, and the owner holds no record of
// an account the spec does not list: what a claim finds with nothing to write, and a pass with
// nothing to drop.
func (inv *inventory) recordedFor(s tenant.Spec) bool {
	if !inv.recordedAs(tenant.ObjectDatabase, s.Database, s.Owner.UID) {
		return false
	}
	for _, acc := range s.Accounts {
		if !inv.recordedAs(tenant.ObjectUser, acc.Name, s.Owner.UID) {
			return false
		}
	}
	for _, name := range inv.ownedUsers[s.Owner.UID] {
		if _, listed := s.Account(name); !listed {
			return false
		}
	}
	return true
}

func (inv *inventory) recordedAs(kind tenant.Object, name, uid string) bool {
	r, found := inv.records[recordKey{kind, strings.ToLower(name)}]
	return found && r.name == name && r.uid == uid && r.committed
}

// judgePassword compares the stored mysql_native_password hash with the password's. Any other
// way to log in is beyond what a hash comparison can tell.
func (acc accountFacts) judgePassword(password string) tenant.Finding {
	if acc.unreadable || acc.alternatives || acc.plugin != nativePlugin {
		return FindingUnverifiable
	}
	stored := []byte(strings.ToUpper(acc.authString))
	if subtle.ConstantTimeCompare(stored, []byte(nativePasswordHash(password))) != 1 {
		return FindingPassword
	}
	return findingNone
}

// judgeGrants asks what planGrants asks of SHOW GRANTS: exactly the account's access on the
// tenant's escaped pattern (ALL PRIVILEGES, or the preset's privileges), grants on objects inside
// its database for ReadWrite at most, and nothing else.
func (inv *inventory) judgeGrants(database string, acc tenant.Account, facts accountFacts) tenant.Finding {
	if facts.access != 0 || facts.defaultRole != "" || inv.delegated[acc.Name] {
		return FindingGrantBeyond
	}
	own := escapePattern(database)
	var line *databaseGrant
	for _, g := range inv.databaseGrants[acc.Name] {
		if !inv.names.equal(g.pattern, own) || g.grantOption {
			return FindingGrantBeyond
		}
		line = &g
	}
	insideObjects := false
	for _, g := range inv.objectGrants[acc.Name] {
		if !inv.names.equal(g.database, database) || g.grantOption {
			return FindingGrantBeyond
		}
		insideObjects = true
	}
	if insideObjects && acc.Access != tenant.ReadWrite {
		return FindingAccessDiffers
	}
	if line == nil {
		return FindingGrantMissing
	}
	return line.judgeAccess(acc.Access)
}

// judgeAccess compares a database line with an access: ALL PRIVILEGES for ReadWrite, exactly the
// preset's privileges for the others.
func (g databaseGrant) judgeAccess(access tenant.Access) tenant.Finding {
	if access == tenant.ReadWrite {
		if !g.all {
			return FindingGrantMissing
		}
		return findingNone
	}
	wanted := map[string]bool{}
	for _, p := range presetPrivileges[access] {
		wanted[p.column] = true
	}
	for _, column := range g.held {
		if !wanted[column] {
			return FindingAccessDiffers
		}
	}
	if len(g.held) != len(wanted) {
		return FindingGrantMissing
	}
	return findingNone
}

// readInventory reads the ownership records, and the schemata, accounts and grants of the names
// they record.
func (a *Admin) readInventory(ctx context.Context, names nameComparison, tenants int) (*inventory, error) {
	if err := a.ensureSchema(ctx); err != nil {
		return nil, err
	}
	inv := newInventory(names, tenants)
	reads := []struct {
		what string
		st   statement
		scan func(*sql.Rows) error
	}{
		{"the ownership table", selectOwnershipRecords, inv.scanRecord},
		{"schemata", selectSchemata, inv.scanSchema},
		{"accounts", selectAccounts, inv.scanAccount},
		{"grants on tables and routines", selectObjectGrants, inv.scanObjectGrant},
		{"roles and PROXY grants", selectDelegations, inv.scanDelegation},
	}
	for _, r := range reads {
		if err := a.eachRow(ctx, r.st, r.scan); err != nil {
			return nil, fmt.Errorf("reading %s: %w", r.what, err)
		}
	}
	if err := a.readDatabaseGrants(ctx, inv); err != nil {
		return nil, fmt.Errorf("reading grants on databases: %w", err)
	}
	return inv, nil
}

// eachRow runs a read and hands every row to scan; it closes the rows and reports their error.
func (a *Admin) eachRow(ctx context.Context, st statement, scan func(*sql.Rows) error) error {
	rows, err := a.query(ctx, st)
	if err != nil {
		a.observe(opRead, err)
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (inv *inventory) scanRecord(rows *sql.Rows) error {
	var kind tenant.Object
	var r sweptRecord
	var namespace, ownerName, state sql.RawBytes
	if err := rows.Scan(&kind, &r.name, &r.uid, &namespace, &ownerName, &state); err != nil {
		return err
	}
	r.committed = string(state) == stateCommitted
	inv.records[recordKey{kind, strings.ToLower(r.name)}] = r
	if kind == tenant.ObjectUser {
		inv.ownedUsers[r.uid] = append(inv.ownedUsers[r.uid], r.name)
	}
	return nil
}

func (inv *inventory) scanSchema(rows *sql.Rows) error {
	var s schemaFacts
	if err := rows.Scan(&s.name, &s.charset, &s.collation); err != nil {
		return err
	}
	inv.schemata[inv.names.key(s.name)] = s
	return nil
}

func (inv *inventory) scanAccount(rows *sql.Rows) error {
	var user string
	var priv []byte
	if err := rows.Scan(&user, &priv); err != nil {
		return err
	}
	inv.accounts[user] = parseGlobalPriv(priv)
	return nil
}

// globalPriv is the JSON MariaDB keeps per account in mysql.global_priv.Priv.
type globalPriv struct {
	Access               *uint64           `json:"access"`
	Plugin               string            `json:"plugin"`
	AuthenticationString string            `json:"authentication_string"`
	SSLType              int               `json:"ssl_type"`
	DefaultRole          string            `json:"default_role"`
	MaxUserConnections   int               `json:"max_user_connections"`
	AuthOr               []json.RawMessage `json:"auth_or"`
	AccountLocked        bool              `json:"account_locked"`
}

// sslTypes maps MariaDB's stored ssl_type numbers to requirements.
var sslTypes = map[int]tlsRequirement{0: tlsNone, 1: tlsSSL, 2: tlsX509, 3: tlsSpecified}

func parseGlobalPriv(priv []byte) accountFacts {
	var p globalPriv
	if err := json.Unmarshal(priv, &p); err != nil || p.Access == nil {
		return accountFacts{unreadable: true}
	}
	tls, known := sslTypes[p.SSLType]
	if !known {
		tls = tlsSpecified
	}
	return accountFacts{
		access:         *p.Access,
		plugin:         p.Plugin,
		authString:     p.AuthenticationString,
		tls:            tls,
		defaultRole:    p.DefaultRole,
		maxConnections: p.MaxUserConnections,
		alternatives:   len(p.AuthOr) > 0,
		locked:         p.AccountLocked,
	}
}

func (inv *inventory) scanObjectGrant(rows *sql.Rows) error {
	var user, database, privileges string
	if err := rows.Scan(&user, &database, &privileges); err != nil {
		return err
	}
	inv.objectGrants[user] = append(inv.objectGrants[user], objectGrant{database: database, grantOption: holdsGrantOption(privileges)})
	return nil
}

// holdsGrantOption reads a Table_priv or Proc_priv set ("Select,Insert,Grant").
func holdsGrantOption(privileges string) bool {
	for _, p := range strings.Split(privileges, ",") {
		if strings.EqualFold(p, "Grant") {
			return true
		}
	}
	return false
}

func (inv *inventory) scanDelegation(rows *sql.Rows) error {
	var user string
	if err := rows.Scan(&user); err != nil {
		return err
	}
	inv.delegated[user] = true
	return nil
}

// readDatabaseGrants reads mysql.db. Its privilege columns differ between server versions (each
// new database privilege adds one), so they are found by name: ALL PRIVILEGES is every one of
// them but Grant_priv.
func (a *Admin) readDatabaseGrants(ctx context.Context, inv *inventory) error {
	rows, err := a.query(ctx, selectDatabaseGrants)
	if err != nil {
		a.observe(opRead, err)
		return err
	}
	defer rows.Close()
	columns, err := rows.Columns()
	if err != nil {
		return err
	}
	layout, err := databaseGrantLayoutOf(columns)
	if err != nil {
		return err
	}
	values := make([]sql.RawBytes, len(columns))
	targets := make([]any, len(columns))
	for i := range values {
		targets[i] = &values[i]
	}
	for rows.Next() {
		if err := rows.Scan(targets...); err != nil {
			return err
		}
		user, grant := layout.read(values)
		inv.databaseGrants[user] = append(inv.databaseGrants[user], grant)
	}
	return rows.Err()
}

// databaseGrantLayout says where mysql.db keeps what a sweep reads.
type databaseGrantLayout struct {
	user, db, grantOption int
	privileges            []int
	// names are the privilege columns' names, lower-cased, by index.
	names map[int]string
}

func databaseGrantLayoutOf(columns []string) (databaseGrantLayout, error) {
	l := databaseGrantLayout{user: -1, db: -1, grantOption: -1, names: map[int]string{}}
	for i, c := range columns {
		switch name := strings.ToLower(c); {
		case name == "user":
			l.user = i
		case name == "db":
			l.db = i
		case name == "grant_priv":
			l.grantOption = i
		case strings.HasSuffix(name, "_priv"):
			l.privileges = append(l.privileges, i)
			l.names[i] = name
		}
	}
	if l.user < 0 || l.db < 0 || l.grantOption < 0 || len(l.privileges) == 0 {
		return l, errors.New("mysql.db does not have the columns User, Db, Grant_priv and the privileges")
	}
	return l, nil
}

func (l databaseGrantLayout) read(values []sql.RawBytes) (user string, g databaseGrant) {
	g = databaseGrant{pattern: string(values[l.db]), all: true, grantOption: isYes(values[l.grantOption])}
	for _, i := range l.privileges {
		held := isYes(values[i])
		g.all = g.all && held
		if held {
			g.held = append(g.held, l.names[i])
		}
	}
	return string(values[l.user]), g
}

func isYes(v []byte) bool { return len(v) == 1 && (v[0] == 'Y' || v[0] == 'y') }
