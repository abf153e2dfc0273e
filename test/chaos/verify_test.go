//go:build integration

package chaos

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/credentials"
)

// operatorSchema holds the ownership ledger (docs/ownership.md).
const operatorSchema = "db_concierge"

// findings are what the checks found wrong, by check; each entry names the object and what was
// seen, so that a failure can be reproduced from the report.
type findings struct {
	notReady        []string // AppDatabases not Ready (or deletions not finished) after the settle time
	logins          []string // Secrets whose credentials do not log in and see their database
	deletedLeft     []string // what remains of deleted Delete-policy tenants
	retainedMissing []string // what Retain-policy deletions lost
	orphans         []string // MySQL objects no AppDatabase accounts for, and AppDatabases missing theirs
	rewrites        []string // Secrets written more than once
	leaks           []string // passwords found in operator output
	crashes         []string // operator panics, and faults that could not be injected or recovered from
}

// checks run in this order after the run has settled; each one reads MySQL or the API server.
var checks = []struct {
	name string
	run  func(r *run, ctx context.Context, f *findings)
}{
	{"Secrets log in", func(r *run, ctx context.Context, f *findings) { f.logins = r.checkLogins(ctx) }},
	{"Delete-policy tenants gone", func(r *run, ctx context.Context, f *findings) { f.deletedLeft = r.eventually(r.checkDeleted) }},
	{"Retain-policy tenants kept", func(r *run, ctx context.Context, f *findings) { f.retainedMissing = r.eventually(r.checkRetained) }},
	{"no orphans", func(r *run, ctx context.Context, f *findings) { f.orphans = r.eventually(r.checkOrphans) }},
	{"Secrets written once", func(r *run, ctx context.Context, f *findings) { f.rewrites = r.checkRewrites(ctx) }},
}

// eventually repeats a check for a while: Galera nodes apply what another node committed a little
// later, so a node may briefly lag behind the one the operator wrote to.
func (r *run) eventually(check func() []string) []string {
	deadline := time.Now().Add(30 * time.Second)
	for {
		found := check()
		if len(found) == 0 || time.Now().After(deadline) {
			return found
		}
		time.Sleep(time.Second)
	}
}

// survivors are the tenants the run did not delete; deleted are those it did, by policy.
func (r *run) survivors() []*tenant {
	var out []*tenant
	for _, t := range r.tenants {
		if !t.isDeleted() {
			out = append(out, t)
		}
	}
	return out
}

func (r *run) deleted(policy dbv1.DeletionPolicy) []*tenant {
	var out []*tenant
	for _, t := range r.tenants {
		if t.isDeleted() && t.plan.effectivePolicy() == policy {
			out = append(out, t)
		}
	}
	return out
}

// checkLogins logs in with every surviving tenant's Secret, at the host and port it names and
// on every server, and checks that the session sees its database.
func (r *run) checkLogins(ctx context.Context) []string {
	deadline := time.Now().Add(time.Minute)
	for {
		var failed []string
		for _, t := range r.survivors() {
			if err := r.login(ctx, t); err != nil {
				failed = append(failed, fmt.Sprintf("%s: %v", t.key(), err))
			}
		}
		if len(failed) == 0 || time.Now().After(deadline) {
			return failed
		}
		time.Sleep(time.Second)
	}
}

func (r *run) login(ctx context.Context, t *tenant) error {
	var s corev1.Secret
	if err := r.kube.Client.Get(ctx, t.secretKey(), &s); err != nil {
		return fmt.Errorf("reading Secret %s: %w", t.secretKey(), err)
	}
	user, password := string(s.Data[credentials.KeyUsername]), string(s.Data[credentials.KeyPassword])
	database, host := string(s.Data[credentials.KeyDatabase]), string(s.Data[credentials.KeyHost])
	if user != t.user() || database != t.plan.dbName {
		return fmt.Errorf("Secret %s names user %q, database %q; want %q, %q", t.secretKey(), user, database, t.user(), t.plan.dbName)
	}
	port, err := strconv.Atoi(string(s.Data[credentials.KeyPort]))
	if err != nil {
		return fmt.Errorf("Secret %s: port %q", t.secretKey(), s.Data[credentials.KeyPort])
	}
	if err := sees(ctx, host, port, user, password, database); err != nil {
		return fmt.Errorf("at the Secret's %s:%d: %w", host, port, err)
	}
	for _, srv := range r.db.servers {
		if srv.port == port {
			continue
		}
		if err := sees(ctx, "127.0.0.1", srv.port, user, password, database); err != nil {
			return fmt.Errorf("on %s: %w", srv.name, err)
		}
	}
	return nil
}

// sees logs in and checks that the session is in its database and the database is visible.
func sees(ctx context.Context, host string, port int, user, password, database string) error {
	db, err := connect(host, port, user, password, database)
	if err != nil {
		return err
	}
	defer db.Close()
	var current sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&current); err != nil {
		return err
	}
	var visible int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", database).Scan(&visible); err != nil {
		return err
	}
	if current.String != database || visible != 1 {
		return fmt.Errorf("DATABASE() is %q and %d schemata named %s are visible", current.String, visible, database)
	}
	return nil
}

// serverState is what one server holds, as root sees it.
type serverState struct {
	databases map[string]bool
	users     map[string]bool // user@host
	ledger    []ledgerRow
	sessions  map[string][]string // user -> "id command time"
}

type ledgerRow struct{ kind, name, uid, namespace, owner, state string }

func (l ledgerRow) String() string {
	return fmt.Sprintf("ledger %s %q owner %s/%s uid %s %s", l.kind, l.name, l.namespace, l.owner, l.uid, l.state)
}

// readState reads the databases, accounts, ledger and sessions of a server.
func readState(srv server) (*serverState, error) {
	db, err := srv.root()
	if err != nil {
		return nil, err
	}
	defer db.Close()
	st := &serverState{databases: map[string]bool{}, users: map[string]bool{}, sessions: map[string][]string{}}
	if err := eachRow(db, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA", func(v []string) { st.databases[v[0]] = true }); err != nil {
		return nil, err
	}
	if err := eachRow(db, "SELECT CONCAT(User, '@', Host) FROM mysql.user", func(v []string) { st.users[v[0]] = true }); err != nil {
		return nil, err
	}
	if err := eachRow(db, "SELECT USER, CONCAT_WS(' ', ID, COMMAND, TIME) FROM information_schema.PROCESSLIST", func(v []string) {
		st.sessions[v[0]] = append(st.sessions[v[0]], v[1])
	}); err != nil {
		return nil, err
	}
	if !st.databases[operatorSchema] {
		return st, nil
	}
	err = eachRow(db, "SELECT kind, name, owner_uid, owner_namespace, owner_name, state FROM "+operatorSchema+".ownership", func(v []string) {
		st.ledger = append(st.ledger, ledgerRow{v[0], v[1], v[2], v[3], v[4], v[5]})
	})
	return st, err
}

func eachRow(db *sql.DB, query string, each func([]string)) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return fmt.Errorf("%s: %w", query, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		out := make([]string, len(cols))
		for i, v := range vals {
			out[i] = v.String
		}
		each(out)
	}
	return rows.Err()
}

// perServer runs check on every server's state, prefixing what it finds with the server's name
// when there are several.
func (r *run) perServer(check func(st *serverState) []string) []string {
	var found []string
	for _, srv := range r.db.servers {
		st, err := readState(srv)
		if err != nil {
			found = append(found, fmt.Sprintf("%s: reading its state: %v", srv.name, err))
			continue
		}
		for _, f := range check(st) {
			if len(r.db.servers) > 1 {
				f = srv.name + ": " + f
			}
			found = append(found, f)
		}
	}
	return found
}

// checkDeleted: a deleted Delete-policy tenant has no database, user, ledger row or session left
// on any server, and the session held open across its deletion was ended.
func (r *run) checkDeleted() []string {
	found := r.perServer(func(st *serverState) []string {
		var found []string
		for _, t := range r.deleted(dbv1.DeletionPolicyDelete) {
			if st.databases[t.plan.dbName] {
				found = append(found, fmt.Sprintf("%s: database %s still exists", t.key(), t.plan.dbName))
			}
			if st.users[t.user()+"@%"] {
				found = append(found, fmt.Sprintf("%s: user %s still exists", t.key(), t.user()))
			}
			for _, row := range st.ledger {
				if row.uid == string(t.uid) || row.name == t.plan.dbName || row.name == t.user() {
					found = append(found, fmt.Sprintf("%s: %s remains", t.key(), row))
				}
			}
			if s := st.sessions[t.user()]; len(s) > 0 {
				found = append(found, fmt.Sprintf("%s: sessions of %s remain in PROCESSLIST: %v", t.key(), t.user(), s))
			}
		}
		return found
	})
	for _, t := range r.deleted(dbv1.DeletionPolicyDelete) {
		if t.session == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var one int
		if err := t.session.QueryRowContext(ctx, "SELECT 1").Scan(&one); err == nil {
			found = append(found, fmt.Sprintf("%s: a session of %s opened before the deletion still answers", t.key(), t.user()))
		}
		cancel()
	}
	return found
}

// checkRetained: a Retain-policy tenant that was Ready when it was deleted keeps its database,
// user and committed ledger rows.
func (r *run) checkRetained() []string {
	return r.perServer(func(st *serverState) []string {
		var found []string
		for _, t := range r.deleted(dbv1.DeletionPolicyRetain) {
			if !t.readyWhenDeleted {
				continue
			}
			for _, missing := range missingObjects(st, t) {
				found = append(found, fmt.Sprintf("%s (Retain, deleted when Ready): %s", t.key(), missing))
			}
		}
		return found
	})
}

// missingObjects lists which of a tenant's database, user and committed ledger rows a server lacks.
func missingObjects(st *serverState, t *tenant) []string {
	var missing []string
	if !st.databases[t.plan.dbName] {
		missing = append(missing, "database "+t.plan.dbName+" missing")
	}
	if !st.users[t.user()+"@%"] {
		missing = append(missing, "user "+t.user()+" missing")
	}
	for _, want := range expectedRows(t) {
		if !slices.Contains(st.ledger, want) {
			missing = append(missing, fmt.Sprintf("%s missing", want))
		}
	}
	return missing
}

// expectedRows are a provisioned tenant's ledger rows.
func expectedRows(t *tenant) []ledgerRow {
	return []ledgerRow{
		{"database", t.plan.dbName, string(t.uid), t.plan.namespace, t.plan.name, "committed"},
		{"user", t.user(), string(t.uid), t.plan.namespace, t.plan.name, "committed"},
	}
}

// checkOrphans compares each server with the AppDatabases: every database, account and ledger
// row the operator may have made must belong to a surviving AppDatabase or to a Retain-policy one
// the run deleted; every surviving AppDatabase must have its database, account and ledger rows.
func (r *run) checkOrphans() []string {
	return r.perServer(func(st *serverState) []string {
		var found []string
		accountedDB, accountedUser, accountedUID := map[string]bool{operatorSchema: true}, map[string]bool{}, map[string]bool{}
		for k := range r.baseline.databases {
			accountedDB[k] = true
		}
		for k := range r.baseline.users {
			accountedUser[k] = true
		}
		for _, t := range r.survivors() {
			for _, missing := range missingObjects(st, t) {
				found = append(found, fmt.Sprintf("%s: %s", t.key(), missing))
			}
			accountedDB[t.plan.dbName], accountedUser[t.user()+"@%"] = true, true
		}
		for _, t := range r.deleted(dbv1.DeletionPolicyRetain) {
			accountedDB[t.plan.dbName], accountedUser[t.user()+"@%"], accountedUID[string(t.uid)] = true, true, true
		}
		for _, name := range sortedKeys(st.databases) {
			if !accountedDB[name] {
				found = append(found, "database "+name+" belongs to no AppDatabase")
			}
		}
		for _, name := range sortedKeys(st.users) {
			if !accountedUser[name] {
				found = append(found, "user "+name+" belongs to no AppDatabase")
			}
		}
		expected, survivorUID := map[ledgerRow]bool{}, map[string]bool{}
		for _, t := range r.survivors() {
			survivorUID[string(t.uid)] = true
			for _, row := range expectedRows(t) {
				expected[row] = true
			}
		}
		for _, row := range st.ledger {
			switch {
			case expected[row] || accountedUID[row.uid]:
			case survivorUID[row.uid]:
				found = append(found, fmt.Sprintf("%s is not what its AppDatabase should hold", row))
			default:
				found = append(found, fmt.Sprintf("%s belongs to no AppDatabase", row))
			}
		}
		return found
	})
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// checkRewrites: nothing in the run deletes a Secret, so each is written exactly once, when it is
// created, and keeps that password. The watch's history is compared with what the API server
// holds now, in case two writes fell into the API server's restart.
func (r *run) checkRewrites(ctx context.Context) []string {
	histories, _ := r.obs.snapshot()
	var found []string
	for _, key := range sortedHistoryKeys(histories) {
		h := histories[key]
		if h.creates > 1 || h.deletes > 0 {
			found = append(found, fmt.Sprintf("Secret %s: created %d times, deleted %d times", key, h.creates, h.deletes))
		}
		if len(h.rewrites) > 0 {
			found = append(found, fmt.Sprintf("Secret %s rewritten %d times (%s); its password changed %d times",
				key, len(h.rewrites), strings.Join(h.rewrites, "; "), len(h.passwords)-1))
		}
	}
	var list corev1.SecretList
	if err := r.kube.Client.List(ctx, &list, client.MatchingLabels{dbv1.LabelManagedBy: dbv1.ManagedByValue}); err != nil {
		return append(found, "listing Secrets: "+err.Error())
	}
	for _, s := range list.Items {
		key := client.ObjectKeyFromObject(&s).String()
		h, seen := histories[key]
		switch {
		case !seen:
			found = append(found, fmt.Sprintf("Secret %s was never seen by the watch", key))
		case len(h.passwords) > 0 && string(s.Data[credentials.KeyPassword]) != h.passwords[0]:
			found = append(found, fmt.Sprintf("Secret %s holds another password than when it was created (resourceVersion %s then, %s now)",
				key, h.firstRV, s.ResourceVersion))
		}
	}
	return found
}

func sortedHistoryKeys(m map[string]secretHistory) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// checkLogs searches every replica's output for every password the run has seen (the admin's, and
// each that a Secret held), and for crashes. It names the Secret, never the password.
func (r *run) checkLogs(ctx context.Context) (leaks, crashes []string) {
	passwords := map[string]string{r.adminPassword: "the admin account"}
	histories, _ := r.obs.snapshot()
	for key, h := range histories {
		for _, pw := range h.passwords {
			passwords[pw] = "Secret " + key
		}
	}
	var list corev1.SecretList
	if err := r.kube.Client.List(ctx, &list, client.MatchingLabels{dbv1.LabelManagedBy: dbv1.ManagedByValue}); err == nil {
		for _, s := range list.Items {
			passwords[string(s.Data[credentials.KeyPassword])] = "Secret " + client.ObjectKeyFromObject(&s).String()
		}
	}
	delete(passwords, "")
	for _, out := range r.ops.logs() {
		for pw, whose := range passwords {
			if strings.Contains(out.log, pw) {
				leaks = append(leaks, fmt.Sprintf("operator %s printed the password of %s", out.name, whose))
			}
		}
		for _, sign := range []string{"panic:", "fatal error:", "WARNING: DATA RACE"} {
			if strings.Contains(out.log, sign) {
				crashes = append(crashes, fmt.Sprintf("operator %s: %q in its output", out.name, sign))
			}
		}
	}
	slices.Sort(leaks)
	slices.Sort(crashes)
	return leaks, crashes
}

// reconcileErrors counts the reconcile passes that returned an error, in every replica's output.
func (r *run) reconcileErrors() int {
	n := 0
	for _, out := range r.ops.logs() {
		n += strings.Count(out.log, `"Reconciler error"`)
	}
	return n
}
