//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/cluster"
	"github.com/stillwaters/db-concierge/test/stack"
)

// hostile is one request an attacker, or a careless developer, might make.
type hostile struct {
	name        string
	namespace   string
	object      string // AppDatabase name; "x" when empty
	spec        dbv1.AppDatabaseSpec
	annotations map[string]string
	// Exactly one of apiError (a substring of the API server's rejection) or reason (the Failed
	// reason the operator reports, with message containing message) is set.
	apiError string
	reason   string
	message  string
}

// snapshot is everything a hostile request must leave as it was.
type snapshot struct {
	secrets    map[string]string // namespace/name -> the whole Secret as JSON
	grants     map[string][]string
	schemas    []string
	users      []string
	ownership  []string
	adminRV    string
	passwords  map[string]string // user -> password
	databaseOf map[string]string // user -> database
}

func takeSnapshot(t *testing.T, victims ...*dbv1.AppDatabase) snapshot {
	t.Helper()
	ctx := context.Background()
	s := snapshot{secrets: map[string]string{}, grants: map[string][]string{}, passwords: map[string]string{}, databaseOf: map[string]string{}}
	for _, v := range victims {
		secret := secretOf(t, v)
		b, _ := json.Marshal(secret)
		s.secrets[secret.Namespace+"/"+secret.Name] = string(b)
		user := v.Spec.EffectiveUserName()
		s.grants[user] = grantsOf(t, user)
		s.passwords[user] = string(secret.Data["password"])
		s.databaseOf[user] = v.Spec.DBName
	}
	var admin corev1.Secret
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: platformNS, Name: cluster.LegacySecretName}, &admin); err != nil {
		t.Fatal(err)
	}
	s.adminRV = admin.ResourceVersion
	s.schemas = column(t, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY CAST(SCHEMA_NAME AS BINARY)")
	s.users = column(t, "SELECT CONCAT(User, '@', Host) AS account FROM mysql.user ORDER BY CAST(account AS BINARY)")
	s.ownership = column(t, "SELECT CONCAT_WS(' ', kind, name, owner_uid, state) FROM db_concierge.ownership ORDER BY 1")
	return s
}

func column(t *testing.T, query string, args ...any) []string {
	t.Helper()
	out, err := stack.Strings(context.Background(), root(t), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// assertUnchanged compares a snapshot with now, and logs in as every victim.
func assertUnchanged(t *testing.T, before snapshot, victims ...*dbv1.AppDatabase) {
	t.Helper()
	after := takeSnapshot(t, victims...)
	for key, s := range before.secrets {
		if after.secrets[key] != s {
			t.Errorf("Secret %s changed", key)
		}
	}
	for user, g := range before.grants {
		if !slices.Equal(after.grants[user], g) {
			t.Errorf("grants of %s changed:\n%q\n%q", user, g, after.grants[user])
		}
		if err := canLogin(context.Background(), user, before.passwords[user], before.databaseOf[user]); err != nil {
			t.Errorf("victim %s no longer logs in: %v", user, err)
		}
	}
	if after.adminRV != before.adminRV {
		t.Error("the admin Secret changed")
	}
	for what, pair := range map[string][2][]string{
		"databases": {before.schemas, after.schemas}, "users": {before.users, after.users}, "ownership records": {before.ownership, after.ownership},
	} {
		if !slices.Equal(pair[0], pair[1]) {
			t.Errorf("MySQL %s changed:\nbefore %q\nafter  %q", what, pair[0], pair[1])
		}
	}
}

func hostileCorpus() []hostile {
	var cases []hostile
	api := func(field string, spec dbv1.AppDatabaseSpec, payloads ...string) {
		for _, p := range payloads {
			s := spec
			switch field {
			case "dbName":
				s.DBName = p
			case "userName":
				s.UserName = p
			case "charset":
				s.Charset = p
			case "collation":
				s.Collation = p
			case "secretName":
				s.SecretName = p
			case "appNamespace":
				s.AppNamespace = p
			case "clusterRef":
				s.ClusterRef = p
			}
			name := fmt.Sprintf("%s %q", field, p)
			if len(name) > 60 {
				name = fmt.Sprintf("%s of %d characters", field, len(p))
			}
			cases = append(cases, hostile{name: name, namespace: "attacker", spec: s, apiError: "spec." + field})
		}
	}
	long := func(n int) string { return strings.Repeat("a", n) }
	base := dbv1.AppDatabaseSpec{ClusterRef: dbv1.DefaultClusterName, DBName: "attacker_db", UserName: "attacker_app"}
	api("dbName", base, "a`b", "a'b", `a"b`, "a;b", "a b", "a--b", "a/*b*/", "a#b", "a\x00b", "a\nb", "a\tb", `a\b`,
		"a%b", "a.b", "a-b", "\u0430pp", "\uff41pp", "a\u200bb", "app\U0001F600", "x' OR '1'='1",
		"x`; DROP DATABASE victim; --", long(65), long(10000))
	api("userName", base, "u`x", "u'x", "u@x", "u%x", "x'@'%", "u x", "u\x00x", long(33), "\uff55ser", "u;DROP USER root")
	api("charset", base, "utf8mb4; DROP DATABASE victim", "utf8`", long(33))
	api("collation", base, "utf8mb4_bin`; --", "x'", long(65))
	api("secretName", base, "Victim", "a_b", "../x", "a/b", long(254), "\uff53")
	api("appNamespace", base, "Team", "a.b", long(64), "-a")
	api("clusterRef", base, "Cluster", "a;b", "a b", "")
	cases = append(cases, hostile{name: "64-character object name", namespace: "attacker", object: long(64), spec: base, apiError: "metadata.name"})

	op := func(name, namespace string, spec dbv1.AppDatabaseSpec, reason, message string) {
		if spec.ClusterRef == "" {
			spec.ClusterRef = dbv1.DefaultClusterName
		}
		cases = append(cases, hostile{name: name, namespace: namespace, spec: spec, reason: reason, message: message})
	}
	reserved := "reserved"
	op("database mysql", "attacker", dbv1.AppDatabaseSpec{DBName: "mysql"}, dbv1.ReasonInvalidSpec, reserved)
	op("database MySQL", "attacker", dbv1.AppDatabaseSpec{DBName: "MySQL"}, dbv1.ReasonInvalidSpec, reserved)
	op("database sys", "attacker", dbv1.AppDatabaseSpec{DBName: "sys"}, dbv1.ReasonInvalidSpec, reserved)
	op("database information_schema", "attacker", dbv1.AppDatabaseSpec{DBName: "information_schema"}, dbv1.ReasonInvalidSpec, reserved)
	op("database PERFORMANCE_SCHEMA", "attacker", dbv1.AppDatabaseSpec{DBName: "PERFORMANCE_SCHEMA"}, dbv1.ReasonInvalidSpec, reserved)
	op("the operator's schema", "attacker", dbv1.AppDatabaseSpec{DBName: "db_concierge"}, dbv1.ReasonInvalidSpec, reserved)
	op("a schema named like the operator's", "attacker", dbv1.AppDatabaseSpec{DBName: "DB_Concierge_x"}, dbv1.ReasonInvalidSpec, reserved)
	op("user root", "attacker", dbv1.AppDatabaseSpec{DBName: "attacker_db", UserName: "root"}, dbv1.ReasonInvalidSpec, reserved)
	op("user ROOT", "attacker", dbv1.AppDatabaseSpec{DBName: "attacker_db", UserName: "ROOT"}, dbv1.ReasonInvalidSpec, reserved)
	op("user mysql", "attacker", dbv1.AppDatabaseSpec{DBName: "attacker_db", UserName: "mysql"}, dbv1.ReasonInvalidSpec, reserved)
	op("the admin user", "attacker", dbv1.AppDatabaseSpec{DBName: "attacker_db", UserName: adminUser}, dbv1.ReasonInvalidSpec, "admin account")

	op("database VICTIM", "attacker", dbv1.AppDatabaseSpec{DBName: "VICTIM", UserName: "attacker_app"}, dbv1.ReasonOwnershipConflict, "differs only in case")
	op("database Victim", "attacker", dbv1.AppDatabaseSpec{DBName: "Victim", UserName: "attacker_app"}, dbv1.ReasonOwnershipConflict, "differs only in case")
	op("database BILLING", "attacker", dbv1.AppDatabaseSpec{DBName: "BILLING", UserName: "attacker_app"}, dbv1.ReasonOwnershipConflict, "differs only in case")
	op("user VICTIM_APP", "attacker", dbv1.AppDatabaseSpec{DBName: "attacker_db", UserName: "VICTIM_APP"}, dbv1.ReasonOwnershipConflict, "differs only in case")

	op("the victim's database from another namespace", "attacker", dbv1.AppDatabaseSpec{DBName: "victim", UserName: "attacker_app"}, dbv1.ReasonOwnershipConflict, "belongs to another AppDatabase")
	op("the victim's database, Delete policy", "attacker", dbv1.AppDatabaseSpec{DBName: "victim", UserName: "attacker_app", DeletionPolicy: dbv1.DeletionPolicyDelete}, dbv1.ReasonOwnershipConflict, "belongs to another AppDatabase")
	op("a victim's database from the platform namespace", platformNS, dbv1.AppDatabaseSpec{DBName: "billing", UserName: "attacker_app", AppNamespace: "attacker"}, dbv1.ReasonOwnershipConflict, "belongs to another AppDatabase")
	op("the victim's user with another database", "attacker", dbv1.AppDatabaseSpec{DBName: "attacker_db", UserName: "victim_app", DeletionPolicy: dbv1.DeletionPolicyDelete}, dbv1.ReasonOwnershipConflict, "belongs to another AppDatabase")
	op("the victim's Secret", platformNS, dbv1.AppDatabaseSpec{DBName: "attacker_db", UserName: "attacker_app", AppNamespace: "victim", SecretName: "victim-mysql-creds"}, dbv1.ReasonSecretConflict, "belongs to another AppDatabase") //nolint:gosec // G101: a Secret's name, no credential
	op("the admin Secret", platformNS, dbv1.AppDatabaseSpec{DBName: "attacker_db", UserName: "attacker_app", SecretName: cluster.LegacySecretName}, dbv1.ReasonSecretConflict, "not created by DB Concierge")
	op("appNamespace of the victim", "attacker", dbv1.AppDatabaseSpec{DBName: "attacker_db", UserName: "attacker_app", AppNamespace: "victim"}, dbv1.ReasonNamespaceNotAllowed, "only AppDatabases in the platform namespace")
	op("appNamespace of the platform", "attacker", dbv1.AppDatabaseSpec{DBName: "attacker_db", UserName: "attacker_app", AppNamespace: platformNS}, dbv1.ReasonNamespaceNotAllowed, "only AppDatabases in the platform namespace")
	op("an unknown cluster", "attacker", dbv1.AppDatabaseSpec{DBName: "attacker_db", UserName: "attacker_app", ClusterRef: "nowhere"}, dbv1.ReasonUnknownCluster, "not configured")
	op("a database made by hand, without adoption", "attacker", dbv1.AppDatabaseSpec{DBName: "handmade2", UserName: "attacker_app"}, dbv1.ReasonOwnershipConflict, "db.stillwaters.io/adopt")

	// What the application receives: a template may not write the operator's keys or labels, nor
	// read beyond the connection; init SQL comes only from a ConfigMap labelled for it.
	tpl := func(t dbv1.SecretTemplate) dbv1.AppDatabaseSpec {
		return dbv1.AppDatabaseSpec{ClusterRef: dbv1.DefaultClusterName, DBName: "attacker_db", UserName: "attacker_app", SecretTemplate: &t}
	}
	cases = append(cases,
		hostile{name: "a template of the password key", namespace: "attacker", spec: tpl(dbv1.SecretTemplate{
			Data: []dbv1.SecretTemplateKey{{Key: "password", Template: "x"}}}), apiError: "written by DB Concierge"},
		hostile{name: "a template of the owner label", namespace: "attacker", spec: tpl(dbv1.SecretTemplate{
			Labels: map[string]string{dbv1.LabelAppDatabaseNamespace: "victim"}}), apiError: "are the operator's"},
		hostile{name: "a template reading past the connection", namespace: "attacker", spec: tpl(dbv1.SecretTemplate{
			Data: []dbv1.SecretTemplateKey{{Key: "k", Template: `{{ template "x" }}`}}}), reason: dbv1.ReasonInvalidSpec, message: "not allowed"},
		hostile{name: "init SQL from a ConfigMap not labelled for it", namespace: "attacker", spec: dbv1.AppDatabaseSpec{
			ClusterRef: dbv1.DefaultClusterName, DBName: "attacker_db", UserName: "attacker_app",
			Init: &dbv1.DatabaseInit{ConfigMapRef: dbv1.ConfigMapKeyRef{Name: "kube-root-ca.crt", Key: "ca.crt"}}},
			reason: dbv1.ReasonInitSQLNotFound, message: dbv1.LabelInitSQL},
	)

	adopt := map[string]string{dbv1.AnnotationAdopt: "true"}
	cases = append(cases,
		hostile{name: "adoption from outside the platform namespace", namespace: "attacker", annotations: adopt,
			spec:   dbv1.AppDatabaseSpec{ClusterRef: dbv1.DefaultClusterName, DBName: "handmade2", UserName: "attacker_app"},
			reason: dbv1.ReasonInvalidSpec, message: "honoured only on AppDatabases in the platform namespace"},
		hostile{name: "adoption of a live tenant's database", namespace: platformNS, annotations: adopt,
			spec:   dbv1.AppDatabaseSpec{ClusterRef: dbv1.DefaultClusterName, DBName: "victim", UserName: "attacker_app", AppNamespace: "attacker"},
			reason: dbv1.ReasonOwnershipConflict, message: "belongs to another AppDatabase"},
	)
	return cases
}

// A security reviewer's corpus: each request is refused where it should be, with a message that
// says why, and nothing any other tenant has changes.
func TestHostileInputCorpus(t *testing.T) {
	ctx := ctxFor(t)
	for _, ns := range []string{"victim", "billing", "attacker"} {
		ensureNamespace(t, ns)
	}
	victim := newAppDB("victim", "victim", dbv1.AppDatabaseSpec{DBName: "victim"})
	billing := newAppDB(platformNS, "billing-victim", dbv1.AppDatabaseSpec{DBName: "billing", AppNamespace: "billing"})
	for _, v := range []*dbv1.AppDatabase{victim, billing} {
		create(t, v)
	}
	victim, billing = waitReady(t, victim), waitReady(t, billing)
	if _, err := root(t).Exec("CREATE DATABASE IF NOT EXISTS handmade2"); err != nil {
		t.Fatal(err)
	}
	before := takeSnapshot(t, victim, billing)

	cases := hostileCorpus()
	if len(cases) < 60 {
		t.Fatalf("the corpus has %d cases; it should have at least 60", len(cases))
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := c.object
			if name == "" {
				name = fmt.Sprintf("hostile-%d", i)
			}
			db := newAppDB(c.namespace, name, c.spec)
			db.Spec = c.spec // as given: an empty clusterRef stays empty
			db.Annotations = c.annotations
			err := k8s.Create(ctx, db)
			if c.apiError != "" {
				if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), c.apiError) {
					t.Errorf("not rejected by the API server on %s: %v", c.apiError, err)
					if err == nil {
						deleteAndWait(t, db)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("the API server refused what the operator should judge: %v", err)
			}
			failed := waitFor(t, clientKey(db), dbv1.PhaseFailed, c.reason)
			if !strings.Contains(failed.Status.Message, c.message) {
				t.Errorf("message %q does not contain %q", failed.Status.Message, c.message)
			}
			deleteAndWait(t, db)
		})
	}
	assertUnchanged(t, before, victim, billing)
}

// Every password the operator generated or was given appears in no Event and no status — through
// provisioning, forced reconciles, failures (a password MySQL refuses) and deletion. The suite
// also searches the operator's whole log output for them when it ends.
func TestPasswordsLeakNowhere(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "leaks")
	var dbs []*dbv1.AppDatabase
	for i := range 8 {
		policy := dbv1.DeletionPolicyRetain
		if i%2 == 0 {
			policy = dbv1.DeletionPolicyDelete
		}
		db := newAppDB("leaks", fmt.Sprintf("leak-%d", i), dbv1.AppDatabaseSpec{DBName: fmt.Sprintf("leak_%d", i), DeletionPolicy: policy})
		create(t, db)
		dbs = append(dbs, db)
	}
	for i, db := range dbs {
		dbs[i] = waitReady(t, db)
		secretOf(t, dbs[i])
	}

	// A password in the Secret that MySQL's password policy refuses: ALTER USER fails, and the
	// tenant says why.
	if _, err := root(t).Exec("INSTALL SONAME 'simple_password_check'"); err != nil {
		t.Fatal(err)
	}
	weak := "weakpass"
	secrets.Store(weak, "weak password")
	s := secretOf(t, dbs[1])
	s.Data["password"] = []byte(weak)
	if err := k8s.Update(ctx, s); err != nil {
		t.Fatal(err)
	}
	waitFor(t, clientKey(dbs[1]), dbv1.PhaseFailed, dbv1.ReasonPasswordRejected)
	if _, err := root(t).Exec("UNINSTALL SONAME 'simple_password_check'"); err != nil {
		t.Fatal(err)
	}
	waitReady(t, dbs[1])

	for _, db := range dbs[:4] {
		patch := client.MergeFrom(db.DeepCopy())
		db.Annotations = map[string]string{dbv1.AnnotationReconcile: "leak"}
		if err := k8s.Patch(ctx, db, patch); err != nil {
			t.Fatal(err)
		}
	}
	for _, db := range dbs[4:] {
		deleteAndWait(t, db)
	}

	var events eventsv1.EventList
	if err := k8s.List(ctx, &events); err != nil {
		t.Fatal(err)
	}
	var list dbv1.AppDatabaseList
	if err := k8s.List(ctx, &list); err != nil {
		t.Fatal(err)
	}
	var haystack strings.Builder
	for _, e := range events.Items {
		fmt.Fprintln(&haystack, e.Reason, e.Note)
	}
	for _, db := range list.Items {
		b, _ := json.Marshal(db.Status)
		haystack.Write(b)
	}
	if events.Items == nil || !strings.Contains(haystack.String(), "PasswordRegenerated") && !strings.Contains(haystack.String(), "Provisioned") {
		t.Fatal("no Events to search: the test would prove nothing")
	}
	checked := 0
	secrets.Range(func(k, v any) bool {
		if pw := k.(string); pw != "" {
			checked++
			if strings.Contains(haystack.String(), pw) {
				t.Errorf("password of %s appears in an Event or a status", v)
			}
		}
		return true
	})
	t.Logf("searched %d Events and %d statuses for %d passwords", len(events.Items), len(list.Items), checked)
}

// Tenants made as the seed's operator made them — database, user, grant, labelled Secret, no
// ownership record — are refused until the platform team adopts them, then adopted in bulk
// without a password change.
func TestSeedEraAdoption(t *testing.T) {
	ctx := ctxFor(t)
	names := []string{"legacy_one", "legacy_two", "legacy_3x"}
	for _, db := range names {
		ns := strings.ReplaceAll(db, "_", "-")
		ensureNamespace(t, ns)
		password := "Seed" + randomString()
		secrets.Store(password, db+" seed password")
		for _, q := range []string{
			"CREATE DATABASE " + db,
			"CREATE USER '" + db + "_app'@'%' IDENTIFIED BY '" + password + "'",
			// The seed's grant, unescaped: on legacy_one it also reaches legacyXone.
			"GRANT ALL PRIVILEGES ON " + db + ".* TO '" + db + "_app'@'%'",
		} {
			if _, err := root(t).Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		if db == "legacy_3x" {
			password = "not-the-password" // this one's Secret has drifted: it must not be adopted
		}
		create(t, &corev1.Secret{
			ObjectMeta: metaFor(ns, strings.ReplaceAll(db, "_", "-")+"-mysql-creds", map[string]string{dbv1.LabelManagedBy: dbv1.ManagedByValue}),
			StringData: map[string]string{"host": "127.0.0.1", "port": fmt.Sprint(maria.Port), "username": db + "_app",
				"password": password, "database": db, "connection-string": "mysql://seed"},
		})
		create(t, newAppDB(platformNS, ns, dbv1.AppDatabaseSpec{DBName: db, AppNamespace: ns}))
	}
	hashes := column(t, "SELECT CONCAT(User, ' ', authentication_string) FROM mysql.user WHERE User LIKE 'legacy%' ORDER BY 1")

	// Without the platform team's step: refused, with the way to adopt, and nothing changed.
	for _, db := range names {
		failed := waitFor(t, client.ObjectKey{Namespace: platformNS, Name: strings.ReplaceAll(db, "_", "-")}, dbv1.PhaseFailed, dbv1.ReasonSecretConflict)
		if !strings.Contains(failed.Status.Message, dbv1.AnnotationAdopt) {
			t.Errorf("%s: the message does not say how to adopt: %s", db, failed.Status.Message)
		}
	}

	// The documented bulk step.
	out, err := kubectlRun("annotate", "appdatabase", "--all", "-n", platformNS, dbv1.AnnotationAdopt+"=true")
	if err != nil {
		t.Fatalf("kubectl annotate: %v\n%s", err, out)
	}
	for _, db := range names[:2] {
		ns := strings.ReplaceAll(db, "_", "-")
		ready := waitReady(t, newAppDB(platformNS, ns, dbv1.AppDatabaseSpec{}))
		s := secretOf(t, ready)
		if err := canLogin(ctx, db+"_app", string(s.Data["password"]), db); err != nil {
			t.Errorf("%s: the seed's password no longer logs in: %v", db, err)
		}
		if s.Annotations[dbv1.AnnotationOwner] != platformNS+"/"+ns || string(s.Data["connection-string"]) == "mysql://seed" {
			t.Errorf("%s: the adopted Secret was not brought up to date: %v", db, s.Annotations)
		}
		for _, g := range grantsOf(t, db+"_app") {
			if strings.Contains(g, "`"+db+"`.*") {
				t.Errorf("%s: the unescaped wildcard grant survived adoption: %s", db, g)
			}
		}
	}
	failed := waitFor(t, client.ObjectKey{Namespace: platformNS, Name: "legacy-3x"}, dbv1.PhaseFailed, dbv1.ReasonOwnershipConflict)
	if !strings.Contains(failed.Status.Message, "does not log in with the password in the application's Secret") {
		t.Errorf("a drifted Secret's tenant: %s", failed.Status.Message)
	}
	if after := column(t, "SELECT CONCAT(User, ' ', authentication_string) FROM mysql.user WHERE User LIKE 'legacy%' ORDER BY 1"); !slices.Equal(after, hashes) {
		t.Error("adoption changed a password")
	}
	for _, db := range names {
		deleteAndWait(t, newAppDB(platformNS, strings.ReplaceAll(db, "_", "-"), dbv1.AppDatabaseSpec{}))
	}
}

// An AppDatabase deleted with Retain and created again (a new UID) does not get its database back
// by accident; another namespace never does; the platform team's annotation reclaims it, and the
// Secret's password still logs in.
func TestReclaimAfterRetainDelete(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "reclaim")
	ensureNamespace(t, "claimant")
	first := newAppDB(platformNS, "reclaim", dbv1.AppDatabaseSpec{DBName: "reclaim", AppNamespace: "reclaim"})
	create(t, first)
	first = waitReady(t, first)
	password := string(secretOf(t, first).Data["password"])
	deleteAndWait(t, first)

	// Its Secret, checked first, records the earlier AppDatabase's UID: refused as well.
	again := newAppDB(platformNS, "reclaim", dbv1.AppDatabaseSpec{DBName: "reclaim", AppNamespace: "reclaim"})
	create(t, again)
	failed := waitFor(t, clientKey(again), dbv1.PhaseFailed, dbv1.ReasonSecretConflict)
	if !strings.Contains(failed.Status.Message, "earlier AppDatabase of the same name") {
		t.Errorf("message: %s", failed.Status.Message)
	}
	other := newAppDB("claimant", "reclaim", dbv1.AppDatabaseSpec{DBName: "reclaim"})
	create(t, other)
	waitFor(t, clientKey(other), dbv1.PhaseFailed, dbv1.ReasonOwnershipConflict)
	deleteAndWait(t, other)

	patch := client.MergeFrom(again.DeepCopy())
	again.Annotations = map[string]string{dbv1.AnnotationAdopt: "true"}
	if err := k8s.Patch(ctx, again, patch); err != nil {
		t.Fatal(err)
	}
	again = waitReady(t, again)
	if got := string(secretOf(t, again).Data["password"]); got != password {
		t.Error("reclaiming changed the password")
	}
	if err := canLogin(ctx, "reclaim_app", password, "reclaim"); err != nil {
		t.Errorf("the password no longer logs in: %v", err)
	}
}

// The seed's manual cleanup drops a database and user by hand; the documented release step frees
// the name for a new AppDatabase.
func TestReleaseName(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "released")
	ensureNamespace(t, "newcomer")
	old := newAppDB("released", "released", dbv1.AppDatabaseSpec{DBName: "released"})
	create(t, old)
	waitReady(t, old)
	deleteAndWait(t, old)
	for _, q := range []string{"DROP DATABASE released", "DROP USER 'released_app'@'%'"} {
		if _, err := root(t).Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	newcomer := newAppDB("newcomer", "released", dbv1.AppDatabaseSpec{DBName: "released"})
	create(t, newcomer)
	failed := waitFor(t, clientKey(newcomer), dbv1.PhaseFailed, dbv1.ReasonOwnershipConflict)
	if !strings.Contains(failed.Status.Message, "docs/ownership.md") {
		t.Errorf("the message does not point at the release step: %s", failed.Status.Message)
	}

	// docs/ownership.md, "Releasing a name".
	for _, q := range []string{
		"DELETE FROM db_concierge.ownership WHERE kind = 'database' AND name = 'released'",
		"DELETE FROM db_concierge.ownership WHERE kind = 'user' AND name = 'released_app'",
	} {
		if _, err := root(t).Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	patch := client.MergeFrom(newcomer.DeepCopy())
	newcomer.Annotations = map[string]string{dbv1.AnnotationReconcile: "released"}
	if err := k8s.Patch(ctx, newcomer, patch); err != nil {
		t.Fatal(err)
	}
	newcomer = waitReady(t, newcomer)
	if err := canLogin(ctx, "released_app", string(secretOf(t, newcomer).Data["password"]), "released"); err != nil {
		t.Error(err)
	}
}

// '_' in any position of a database name reaches no look-alike database, for using or creating.
func TestWildcardsInEveryPosition(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "wildcards")
	for i, name := range []string{"_wx", "w_x", "wx_", "w__x", "_w_x_"} {
		spec := dbv1.AppDatabaseSpec{DBName: name, SecretName: fmt.Sprintf("wild-%d", i), DeletionPolicy: dbv1.DeletionPolicyDelete}
		db := newAppDB("wildcards", fmt.Sprintf("wild-%d", i), spec)
		create(t, db)
		db = waitReady(t, db)
		conn := login(t, db.Spec.EffectiveUserName(), string(secretOf(t, db).Data["password"]), name)
		lookAlikes := map[string]bool{}
		for _, r := range []string{"Q", "0", "%"} {
			for pos := range name {
				if name[pos] == '_' {
					lookAlikes[name[:pos]+r+name[pos+1:]] = true
				}
			}
			lookAlikes[strings.ReplaceAll(name, "_", r)] = true
		}
		for _, other := range slices.Sorted(maps.Keys(lookAlikes)) {
			if _, err := root(t).Exec("CREATE DATABASE IF NOT EXISTS `" + other + "`"); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.ExecContext(ctx, "USE `"+other+"`"); err == nil {
				t.Errorf("tenant %s can use %s", name, other)
			}
			if _, err := root(t).Exec("DROP DATABASE `" + other + "`"); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.ExecContext(ctx, "CREATE DATABASE `"+other+"`"); err == nil {
				t.Errorf("tenant %s can create %s", name, other)
				_, _ = root(t).Exec("DROP DATABASE `" + other + "`")
			}
		}
		deleteAndWait(t, db)
	}
}
