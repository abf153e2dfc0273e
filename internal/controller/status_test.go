package controller

import (
	"errors"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/tenant"
)

func TestDesiredStatus(t *testing.T) {
	earlier := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	now := metav1.NewTime(earlier.Add(time.Hour))
	const url = "mysql://myapp_app@db:3306/myapp"
	fresh := func() *dbv1.AppDatabase {
		return &dbv1.AppDatabase{
			ObjectMeta: metav1.ObjectMeta{Namespace: "db-concierge", Name: "myapp", Generation: 1},
			Spec:       dbv1.AppDatabaseSpec{DBName: "my_app", AppNamespace: "myapp", ClusterRef: "c"},
		}
	}
	ready := func() *dbv1.AppDatabase {
		db := fresh()
		db.Status = desiredStatus(db, outcome{ready: true}, url, earlier)
		return db
	}

	t.Run("first Ready fills every field", func(t *testing.T) {
		s := desiredStatus(fresh(), outcome{ready: true}, url, now)
		if s.Phase != dbv1.PhaseReady || s.UserName != "my_app_app" || s.SecretName != "my-app-mysql-creds" ||
			s.AppNamespace != "myapp" || s.ConnectionString != url || s.ObservedGeneration != 1 || !s.LastReconcileTime.Equal(&now) {
			t.Errorf("%+v", s)
		}
		if c := readyCondition(s); c.Status != metav1.ConditionTrue || c.Reason != dbv1.ReasonProvisioned || c.ObservedGeneration != 1 {
			t.Errorf("condition %+v", c)
		}
	})
	t.Run("a pass that changed nothing keeps the status, time included", func(t *testing.T) {
		db := ready()
		s := desiredStatus(db, outcome{ready: true}, url, now)
		if !s.LastReconcileTime.Equal(&earlier) {
			t.Errorf("lastReconcileTime moved to %v", s.LastReconcileTime)
		}
	})
	t.Run("a change in MySQL moves lastReconcileTime", func(t *testing.T) {
		s := desiredStatus(ready(), outcome{ready: true, changes: []tenant.Change{{Kind: tenant.CreatedUser, Detail: "created user"}}}, url, now)
		if !s.LastReconcileTime.Equal(&now) {
			t.Error("lastReconcileTime did not move")
		}
	})
	t.Run("a new reconcile annotation moves lastReconcileTime once", func(t *testing.T) {
		db := ready()
		db.Annotations = map[string]string{dbv1.AnnotationReconcile: "42"}
		s := desiredStatus(db, outcome{ready: true}, url, now)
		if !s.LastReconcileTime.Equal(&now) || s.LastHandledReconcileAt != "42" {
			t.Errorf("forced reconcile not recorded: %+v", s)
		}
		db.Status = s
		later := metav1.NewTime(now.Add(time.Hour))
		if again := desiredStatus(db, outcome{ready: true}, url, later); !again.LastReconcileTime.Equal(&now) {
			t.Error("the same annotation value moved lastReconcileTime again")
		}
	})
	t.Run("a failure keeps the connection string and says why", func(t *testing.T) {
		s := desiredStatus(ready(), failed(dbv1.ReasonClusterUnreachable, "cannot reach"), "", now)
		c := readyCondition(s)
		if s.Phase != dbv1.PhaseFailed || s.Message != "cannot reach" || c.Status != metav1.ConditionFalse ||
			c.Reason != dbv1.ReasonClusterUnreachable || s.ConnectionString != url {
			t.Errorf("%+v", s)
		}
	})
	t.Run("provisioning shows Creating", func(t *testing.T) {
		s := desiredStatus(fresh(), outcome{reason: dbv1.ReasonProvisioning, message: "Provisioning"}, url, now)
		if s.Phase != dbv1.PhaseCreating || s.ConnectionString != "" {
			t.Errorf("%+v", s)
		}
	})
	t.Run("isReady needs the current generation", func(t *testing.T) {
		db := ready()
		if !isReady(db) {
			t.Fatal("not ready")
		}
		db.Generation = 2
		if isReady(db) {
			t.Error("ready for an older generation counts as ready")
		}
	})
}

func TestRefuseSpec(t *testing.T) {
	cases := []struct {
		name        string
		namespace   string
		spec        dbv1.AppDatabaseSpec
		annotations map[string]string
		reason      string // empty: served
	}{
		{"self-service", "team-a", dbv1.AppDatabaseSpec{DBName: "a"}, nil, ""},
		{"self-service naming itself", "team-a", dbv1.AppDatabaseSpec{DBName: "a", AppNamespace: "team-a"}, nil, ""},
		{"self-service naming another", "team-a", dbv1.AppDatabaseSpec{DBName: "a", AppNamespace: "team-b"}, nil, dbv1.ReasonNamespaceNotAllowed},
		{"platform naming another", "db-concierge", dbv1.AppDatabaseSpec{DBName: "a", AppNamespace: "team-b"}, nil, ""},
		{"extra accounts", "team-a", dbv1.AppDatabaseSpec{DBName: "a", Users: []dbv1.AppDatabaseUser{
			{Name: "a_ro", Access: dbv1.AccessReadOnly}, {Name: "a_rw", Access: dbv1.AccessDataOnly}}}, nil, ""},
		{"an account named twice", "team-a", dbv1.AppDatabaseSpec{DBName: "a", Users: []dbv1.AppDatabaseUser{
			{Name: "a_ro", Access: dbv1.AccessReadOnly}, {Name: "A_RO", Access: dbv1.AccessDataOnly}}}, nil, dbv1.ReasonInvalidSpec},
		{"an extra account named like the main one", "team-a", dbv1.AppDatabaseSpec{DBName: "a", Users: []dbv1.AppDatabaseUser{
			{Name: "a_app", Access: dbv1.AccessReadOnly}}}, nil, dbv1.ReasonInvalidSpec},
		{"an access outside the presets", "team-a", dbv1.AppDatabaseSpec{DBName: "a", Users: []dbv1.AppDatabaseUser{
			{Name: "a_ro", Access: "SUPER"}}}, nil, dbv1.ReasonInvalidSpec},
		{"an explicit Secret name equal to another's default", "team-a", dbv1.AppDatabaseSpec{DBName: "a", Users: []dbv1.AppDatabaseUser{
			{Name: "ro", Access: dbv1.AccessReadOnly}, {Name: "rw", Access: dbv1.AccessDataOnly, SecretName: "a-ro-mysql-creds"}}}, nil, dbv1.ReasonInvalidSpec}, //nolint:gosec // G101: a Secret's name
		{"an extra account's Secret is the main one", "team-a", dbv1.AppDatabaseSpec{DBName: "a", Users: []dbv1.AppDatabaseUser{
			{Name: "ro", Access: dbv1.AccessReadOnly, SecretName: "a-mysql-creds"}}}, nil, dbv1.ReasonInvalidSpec}, //nolint:gosec // G101: a Secret's name
		{"adoption outside the platform namespace", "team-a", dbv1.AppDatabaseSpec{DBName: "a"}, map[string]string{dbv1.AnnotationAdopt: "true"}, dbv1.ReasonInvalidSpec},
		{"adoption annotation of any value outside", "team-a", dbv1.AppDatabaseSpec{DBName: "a"}, map[string]string{dbv1.AnnotationAdopt: "false"}, dbv1.ReasonInvalidSpec},
		{"adoption in the platform namespace", "db-concierge", dbv1.AppDatabaseSpec{DBName: "a"}, map[string]string{dbv1.AnnotationAdopt: "true"}, ""},
	}
	for _, c := range cases {
		db := &dbv1.AppDatabase{ObjectMeta: metav1.ObjectMeta{Namespace: c.namespace, Name: "x", UID: "u", Annotations: c.annotations}, Spec: c.spec}
		o, refused := refuseSpec(db, "db-concierge")
		if refused != (c.reason != "") || o.reason != c.reason {
			t.Errorf("%s: refused=%v reason=%q, want reason %q", c.name, refused, o.reason, c.reason)
		}
	}
}

func TestCheckAppNamespace(t *testing.T) {
	const platform, first, second = "db-concierge", "ns-uid-1", "ns-uid-2"
	db := func(namespace, appNamespace, recorded, accepted string) *dbv1.AppDatabase {
		d := &dbv1.AppDatabase{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "orders"},
			Spec:       dbv1.AppDatabaseSpec{DBName: "orders", AppNamespace: appNamespace},
			Status:     dbv1.AppDatabaseStatus{AppNamespaceUID: recorded},
		}
		if accepted != "" {
			d.Annotations = map[string]string{dbv1.AnnotationAcceptAppNamespaceUID: accepted}
		}
		return d
	}
	cases := []struct {
		name   string
		db     *dbv1.AppDatabase
		found  string
		record string
		reason string // empty: the namespace may receive the credentials
	}{
		{"first found: recorded", db(platform, "team-a", "", ""), first, first, ""},
		{"the recorded namespace", db(platform, "team-a", first, ""), first, first, ""},
		{"replaced", db(platform, "team-a", first, ""), second, "", dbv1.ReasonNamespaceReplaced},
		{"replaced, confirmed", db(platform, "team-a", first, second), second, second, ""},
		{"replaced, an older confirmation", db(platform, "team-a", first, first), second, "", dbv1.ReasonNamespaceReplaced},
		{"self-service: nothing recorded", db("team-a", "", "", ""), first, "", ""},
		{"self-service naming itself: nothing recorded", db("team-a", "team-a", "", ""), first, "", ""},
		{"the platform namespace's own: nothing recorded", db(platform, platform, "", ""), first, "", ""},
	}
	for _, c := range cases {
		record, refusal := checkAppNamespace(c.db, types.UID(c.found), platform)
		reason := ""
		if refusal != nil {
			reason = refusal.reason
		}
		if record != c.record || reason != c.reason {
			t.Errorf("%s: record %q, reason %q; want %q, %q", c.name, record, reason, c.record, c.reason)
		}
		if refusal != nil && (!strings.Contains(refusal.message, dbv1.AnnotationAcceptAppNamespaceUID+"="+c.found) || !strings.Contains(refusal.message, "platform team")) {
			t.Errorf("%s: the message does not say how the platform team confirms: %s", c.name, refusal.message)
		}
	}
	if !dbv1.IsTerminalReason(dbv1.ReasonNamespaceReplaced) {
		t.Error("NamespaceReplaced is retried: only the platform team can resolve it")
	}
}

func TestDesiredStatusRecordsTheNamespaceUID(t *testing.T) {
	db := &dbv1.AppDatabase{
		ObjectMeta: metav1.ObjectMeta{Namespace: "db-concierge", Name: "orders", Generation: 1},
		Spec:       dbv1.AppDatabaseSpec{DBName: "orders", AppNamespace: "team-a"},
		Status:     dbv1.AppDatabaseStatus{AppNamespaceUID: "ns-uid-1"},
	}
	now := metav1.Now()
	if s := desiredStatus(db, failed(dbv1.ReasonNamespaceReplaced, "replaced"), "", now); s.AppNamespaceUID != "ns-uid-1" {
		t.Errorf("a refusal changed the recorded UID to %q", s.AppNamespaceUID)
	}
	if s := desiredStatus(db, outcome{ready: true, appNamespaceUID: "ns-uid-2"}, "", now); s.AppNamespaceUID != "ns-uid-2" {
		t.Errorf("a confirmed namespace was not recorded: %q", s.AppNamespaceUID)
	}
}

// TestTerminal: a failure a person has to fix is a terminal error to controller-runtime, retried
// by nothing but a watch event, unless no watch sees its cause.
func TestTerminal(t *testing.T) {
	r := &AppDatabaseReconciler{ConflictRecheckPeriod: time.Minute}
	for reason, recheck := range map[string]time.Duration{
		dbv1.ReasonSecretConflict:      time.Minute,
		dbv1.ReasonOwnershipConflict:   time.Minute,
		dbv1.ReasonDatabaseMissing:     time.Minute,
		dbv1.ReasonPasswordRejected:    time.Minute,
		dbv1.ReasonInvalidSpec:         0, // the spec changes, and that is watched
		dbv1.ReasonNamespaceNotAllowed: 0,
		dbv1.ReasonNamespaceReplaced:   0, // the confirming annotation is watched
		dbv1.ReasonUnknownCluster:      0, // MySQLClusters and the admin Secret are watched
	} {
		result, err := r.terminal(failed(reason, "why"))
		if result.RequeueAfter != recheck {
			t.Errorf("%s: rechecked after %v, want %v", reason, result.RequeueAfter, recheck)
		}
		if terminal := errors.Is(err, reconcile.TerminalError(nil)); terminal != (recheck == 0) {
			t.Errorf("%s: returned %v, a terminal error: %v", reason, err, recheck == 0)
		}
	}
}

func TestSummarize(t *testing.T) {
	cases := []struct {
		details []string
		limit   int
		want    string
	}{
		{[]string{"a", "b"}, 100, "a; b"},
		{[]string{"aaaa", "bbbb", "cccc"}, 10, "aaaa; bbbb; and 1 more (the operator's log lists them)"},
		{[]string{"aaaa"}, 2, "more than fits here (the operator's log lists every change)"},
	}
	for _, c := range cases {
		if got := summarize(c.details, c.limit); got != c.want {
			t.Errorf("summarize(%q, %d) = %q, want %q", c.details, c.limit, got, c.want)
		}
	}
}
