package cli

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
)

func valid() Options {
	return Options{Name: "my-app", Namespace: "team-a", Cluster: "c", DeletionPolicy: "Retain", Timeout: time.Minute}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Options)
		ok     bool
	}{
		{"defaults", func(*Options) {}, true},
		{"no name", func(o *Options) { o.Name = "" }, false},
		{"upper case name", func(o *Options) { o.Name = "MyApp" }, false},
		{"underscore in name", func(o *Options) { o.Name = "my_app" }, false},
		{"28-character database", func(o *Options) { o.Name = strings.Repeat("a", 28) }, true},
		{"29-character database without user", func(o *Options) { o.Name = strings.Repeat("a", 29) }, false},
		{"29-character database with user", func(o *Options) { o.Name = strings.Repeat("a", 29); o.UserName = "u" }, true},
		{"db name with dash", func(o *Options) { o.DBName = "a-b" }, false},
		{"long user", func(o *Options) { o.UserName = strings.Repeat("u", 33) }, false},
		{"bad secret name", func(o *Options) { o.SecretName = "A_B" }, false},
		{"bad policy", func(o *Options) { o.DeletionPolicy = "Keep" }, false},
		{"bad output", func(o *Options) { o.Output = "table" }, false},
		{"env with no-wait", func(o *Options) { o.OutputEnv, o.NoWait = true, true }, false},
		{"bad namespace", func(o *Options) { o.Namespace = "Team" }, false},
	}
	for _, c := range cases {
		o := valid()
		c.change(&o)
		err := o.validate()
		if (err == nil) != c.ok {
			t.Errorf("%s: validate() = %v, want ok=%v", c.name, err, c.ok)
		}
		if err != nil && ExitCode(err) != ExitUsage {
			t.Errorf("%s: exit code %d, want %d", c.name, ExitCode(err), ExitUsage)
		}
	}
}

func TestAppDatabase(t *testing.T) {
	o := valid()
	db := o.appDatabase("team-a")
	if db.Namespace != "team-a" || db.Spec.AppNamespace != "" || db.Spec.DBName != "my_app" || db.Name != "my-app" {
		t.Errorf("self-service: %s/%s %+v", db.Namespace, db.Name, db.Spec)
	}
	o.PlatformNamespace = "db-concierge"
	db = o.appDatabase("team-a")
	if db.Namespace != "db-concierge" || db.Spec.AppNamespace != "team-a" {
		t.Errorf("platform: %s, appNamespace %q", db.Namespace, db.Spec.AppNamespace)
	}
}

func TestSpecDifferences(t *testing.T) {
	o := valid()
	want := o.appDatabase("team-a")
	same := want.DeepCopy()
	same.Spec.Charset, same.Spec.Collation = dbv1.DefaultCharset, dbv1.DefaultCollation // as the API server defaults them
	if d := specDifferences(same, want); len(d) != 0 {
		t.Errorf("defaulted copy differs: %v", d)
	}
	other := same.DeepCopy()
	other.Spec.UserName = "custom"
	other.Spec.DeletionPolicy = dbv1.DeletionPolicyDelete
	if d := specDifferences(other, want); len(d) != 2 {
		t.Errorf("differences %v, want userName and deletionPolicy", d)
	}
}

// Whatever a value holds, sourcing the output gives it back exactly to the programs the shell
// starts, and runs nothing.
func TestPrintEnvIsSafeToSource(t *testing.T) {
	tricky := `it's $(touch /tmp/pwned) "quoted" ` + "`x`\\\nline two"
	s := &corev1.Secret{Data: map[string][]byte{
		"host": []byte("db"), "port": []byte("3306"), "username": []byte("u"),
		"password": []byte(tricky), "database": []byte("d"), "connection-string": []byte("mysql://u@db:3306/d"),
	}}
	var out bytes.Buffer
	if err := printEnv(&out, s, "shell"); err != nil {
		t.Fatal(err)
	}
	got, err := exec.Command("sh", "-c", out.String()+`sh -c 'printf %s "$MYSQL_PASSWORD"'`).Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != tricky {
		t.Errorf("password seen by a child of the shell = %q, want %q", got, tricky)
	}

	// The dotenv form refuses what dotenv loaders would read back differently, and writes nothing.
	out.Reset()
	if err := printEnv(&out, s, "dotenv"); err == nil || strings.Contains(err.Error(), tricky) || out.Len() != 0 {
		t.Errorf("dotenv form of a value with quotes: %v, wrote %d bytes", err, out.Len())
	}
	s.Data["password"] = []byte("Generated-Pass.word_~0123")
	if err := printEnv(&out, s, "dotenv"); err != nil || !strings.Contains(out.String(), "MYSQL_PASSWORD='Generated-Pass.word_~0123'\n") ||
		strings.Contains(out.String(), "export") {
		t.Errorf("dotenv form: %v\n%s", err, out.String())
	}
}

func TestDone(t *testing.T) {
	db := func(phase dbv1.Phase, status metav1.ConditionStatus, reason string, observed int64) *dbv1.AppDatabase {
		d := &dbv1.AppDatabase{}
		d.Generation = 2
		d.Status.Phase, d.Status.ObservedGeneration = phase, observed
		d.Status.Conditions = []metav1.Condition{{Type: dbv1.ConditionReady, Status: status, Reason: reason, ObservedGeneration: observed}}
		return d
	}
	cases := []struct {
		name          string
		db            *dbv1.AppDatabase
		ready, failed bool
	}{
		{"ready", db(dbv1.PhaseReady, metav1.ConditionTrue, dbv1.ReasonProvisioned, 2), true, false},
		{"ready for an older spec", db(dbv1.PhaseReady, metav1.ConditionTrue, dbv1.ReasonProvisioned, 1), false, false},
		{"terminal", db(dbv1.PhaseFailed, metav1.ConditionFalse, dbv1.ReasonOwnershipConflict, 2), false, true},
		{"retrying", db(dbv1.PhaseFailed, metav1.ConditionFalse, dbv1.ReasonClusterUnreachable, 2), false, false},
		{"creating", db(dbv1.PhaseCreating, metav1.ConditionFalse, dbv1.ReasonProvisioning, 2), false, false},
		{"no status", &dbv1.AppDatabase{}, false, false},
	}
	for _, c := range cases {
		if r, f := done(c.db); r != c.ready || f != c.failed {
			t.Errorf("%s: done = %v, %v; want %v, %v", c.name, r, f, c.ready, c.failed)
		}
	}
}
