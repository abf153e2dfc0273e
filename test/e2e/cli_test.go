//go:build integration

package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/test/stack"
)

type cliResult struct {
	stdout, stderr string
	code           int
	took           time.Duration
}

// cli runs the built bootstrap-mysql-schema as a user would, with the given kubeconfig.
func cli(t testing.TB, kubeconfig string, args ...string) cliResult {
	t.Helper()
	cmd := exec.Command(cliBin, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := cliResult{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return r
}

// developer binds dev-rbac.yaml's role in namespace and returns an identity holding just that.
func developer(t testing.TB, namespace string) *stack.User {
	t.Helper()
	ensureNamespace(t, namespace)
	role := mustKubectl(t, nil, "create", "--dry-run=client", "-o", "yaml", "-f", "deploy/dev-rbac.yaml")
	mustKubectl(t, []byte(strings.ReplaceAll(role, "namespace: default", "namespace: "+namespace)), "apply", "-f", "-")
	dev, err := kube.AddUser("developer@example.com", "developers")
	if err != nil {
		t.Fatal(err)
	}
	return dev
}

// The seed's default flow, as a developer with dev-rbac.yaml's access only.
func TestCLIProvisions(t *testing.T) {
	installBase(t)
	ensureOperator(t)
	dev := developer(t, "cli-team")

	r := cli(t, dev.Kubeconfig, "--name", "cli-app", "--namespace", "cli-team")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	assertInOrder(t, r.stdout,
		"DB Concierge - Bootstrap MySQL Schema",
		"Creating database: cli_app",
		"Target namespace: cli-team",
		"PXC cluster:      cluster1-haproxy",
		"appdatabase.db.stillwaters.io/cli-app created",
		"Waiting for database provisioning...",
		"✓ Database provisioned successfully!",
		"Database Created Successfully!",
		"Database Information:",
		"  Database Name: cli_app",
		"  Username:      cli_app_app",
		"  Host:          127.0.0.1",
		"Kubernetes Secret:",
		"  Name:      cli-app-mysql-creds",
		"  Namespace: cli-team",
		"Connect to MySQL:",
		"        -u cli_app_app \\",
		"        -p************ \\",
		"        cli_app",
	)
	var s corev1.Secret
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: "cli-team", Name: "cli-app-mysql-creds"}, &s); err != nil {
		t.Fatal(err)
	}
	password := string(s.Data["password"])
	if strings.Contains(r.stdout+r.stderr, password) {
		t.Error("the output shows the password")
	}
	conn, err := maria.Connect("cli_app_app", password, "cli_app")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Ping(); err != nil {
		t.Fatalf("the Secret's credentials do not log in: %v", err)
	}

	// Again, same request: nothing changes, the same result is printed.
	again := cli(t, dev.Kubeconfig, "--name", "cli-app", "--namespace", "cli-team")
	if again.code != 0 || stripProgress(strings.Replace(again.stdout, " unchanged", " created", 1)) != stripProgress(r.stdout) {
		t.Errorf("re-run: exit %d, output differs:\n%s\n---\n%s", again.code, again.stdout, r.stdout)
	}
	// Again with another spec: refused, explained, nothing changed.
	other := cli(t, dev.Kubeconfig, "--name", "cli-app", "--namespace", "cli-team", "--deletion-policy", "Delete")
	if other.code == 0 || !strings.Contains(other.stderr, `deletionPolicy is "Retain", you asked for "Delete"`) {
		t.Errorf("re-run with another spec: exit %d\n%s", other.code, other.stderr)
	}
	var db dbv1.AppDatabase
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: "cli-team", Name: "cli-app"}, &db); err != nil || db.Spec.DeletionPolicy != dbv1.DeletionPolicyRetain {
		t.Errorf("the existing AppDatabase changed: %v %s", err, db.Spec.DeletionPolicy)
	}
}

// stripProgress drops the plain progress lines, which depend on how far the operator had got.
func stripProgress(out string) string {
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		if !progressLine.MatchString(l) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

var progressLine = regexp.MustCompile(`^  (Pending|Creating|Ready|Failed)\b`)

func assertInOrder(t *testing.T, out string, lines ...string) {
	t.Helper()
	rest := out
	for _, l := range lines {
		i := strings.Index(rest, l)
		if i < 0 {
			t.Errorf("output lacks %q (in order); output:\n%s", l, out)
			return
		}
		rest = rest[i+len(l):]
	}
}

// --output-env prints only exported shell assignments, which sh can source and whose programs
// log in with them; --output-env-format dotenv prints the same without export.
func TestCLIOutputEnv(t *testing.T) {
	installBase(t)
	ensureOperator(t)
	dev := developer(t, "cli-team")
	for _, format := range []struct{ flag, prefix string }{{"shell", "export "}, {"dotenv", ""}} {
		r := cli(t, dev.Kubeconfig, "--name", "env-app", "--namespace", "cli-team", "--output-env", "--output-env-format", format.flag)
		if r.code != 0 {
			t.Fatalf("%s: exit %d\n%s", format.flag, r.code, r.stderr)
		}
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		assignment := regexp.MustCompile(`^` + format.prefix + `MYSQL_(HOST|PORT|USER|PASSWORD|DATABASE|URL|JDBC_URL|GO_DSN)='[^']*'$`)
		if len(lines) != 8 {
			t.Fatalf("%s: stdout has %d lines, want the 8 assignments only:\n%s", format.flag, len(lines), r.stdout)
		}
		for _, l := range lines {
			if !assignment.MatchString(l) {
				t.Errorf("%s: not a plain assignment: %q", format.flag, l)
			}
		}
		if format.flag != "shell" {
			continue
		}
		env := filepath.Join(t.TempDir(), ".env")
		if err := os.WriteFile(env, []byte(r.stdout), 0o600); err != nil {
			t.Fatal(err)
		}
		// The variables reach a program the shell starts, which reads MYSQL_PASSWORD itself.
		login := exec.Command("sh", "-c", `. "$1" && sh -c 'MYSQL_PWD="$MYSQL_PASSWORD" exec mariadb --protocol=TCP -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER" "$MYSQL_DATABASE" -N -e "SELECT DATABASE()"'`, "sh", env)
		out, err := login.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "env_app" {
			t.Errorf("sourcing the output does not log in: %v\n%s", err, out)
		}
	}
}

// --read-only-user adds an account of its own, with its own Secret, that can read the database
// and change nothing; the output names it, and --output-env stays the main user's.
func TestCLIReadOnlyUser(t *testing.T) {
	installBase(t)
	ensureOperator(t)
	dev := developer(t, "cli-team")
	args := []string{"--name", "ro-app", "--namespace", "cli-team", "--read-only-user", "ro_app_reports"}

	r := cli(t, dev.Kubeconfig, args...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	assertInOrder(t, r.stdout,
		"✓ Database provisioned successfully!",
		"  Username:      ro_app_app",
		"Kubernetes Secret:",
		"  Name:      ro-app-mysql-creds",
		"  Namespace: cli-team",
		"Extra Accounts:",
		"  Username: ro_app_reports",
		"  Access:   ReadOnly",
		"  Secret:   ro-app-ro-app-reports-mysql-creds",
		"Connect to MySQL:",
		"        -u ro_app_app \\",
	)
	var db dbv1.AppDatabase
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: "cli-team", Name: "ro-app"}, &db); err != nil {
		t.Fatal(err)
	}
	if len(db.Spec.Users) != 1 || db.Spec.Users[0] != (dbv1.AppDatabaseUser{Name: "ro_app_reports", Access: dbv1.AccessReadOnly}) {
		t.Errorf("spec.users = %+v", db.Spec.Users)
	}

	secret := func(name string) (user, password string) {
		t.Helper()
		var s corev1.Secret
		if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: "cli-team", Name: name}, &s); err != nil {
			t.Fatal(err)
		}
		return string(s.Data["username"]), string(s.Data["password"])
	}
	mainUser, mainPassword := secret("ro-app-mysql-creds")
	roUser, roPassword := secret("ro-app-ro-app-reports-mysql-creds")
	if roUser != "ro_app_reports" {
		t.Errorf("the account's Secret holds user %q", roUser)
	}
	if strings.Contains(r.stdout+r.stderr, roPassword) {
		t.Error("the output shows the extra account's password")
	}
	owner, err := maria.Connect(mainUser, mainPassword, "ro_app")
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	for _, stmt := range []string{"CREATE TABLE IF NOT EXISTS t (id INT PRIMARY KEY)", "REPLACE INTO t VALUES (7)"} {
		if _, err := owner.Exec(stmt); err != nil {
			t.Fatalf("main user: %s: %v", stmt, err)
		}
	}
	reader, err := maria.Connect(roUser, roPassword, "ro_app")
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	var id int
	if err := reader.QueryRow("SELECT id FROM t").Scan(&id); err != nil || id != 7 {
		t.Errorf("the read-only account cannot read: %d, %v", id, err)
	}
	for _, stmt := range []string{"INSERT INTO t VALUES (8)", "CREATE TABLE u (id INT)", "DROP TABLE t"} {
		if _, err := reader.Exec(stmt); err == nil || !strings.Contains(err.Error(), "denied") {
			t.Errorf("read-only account: %s: %v, want access denied", stmt, err)
		}
	}

	// The same request again changes nothing; --output-env prints the main user's credentials.
	again := cli(t, dev.Kubeconfig, args...)
	if again.code != 0 || stripProgress(strings.Replace(again.stdout, " unchanged", " created", 1)) != stripProgress(r.stdout) {
		t.Errorf("re-run: exit %d, output differs:\n%s\n---\n%s", again.code, again.stdout, r.stdout)
	}
	env := cli(t, dev.Kubeconfig, append(args, "--output-env")...)
	if env.code != 0 || !strings.Contains(env.stdout, "MYSQL_USER='ro_app_app'\n") || strings.Contains(env.stdout, "ro_app_reports") {
		t.Errorf("--output-env: exit %d\n%s%s", env.code, env.stdout, env.stderr)
	}
	// Another set of accounts is another spec: refused, nothing changed.
	other := cli(t, dev.Kubeconfig, "--name", "ro-app", "--namespace", "cli-team", "--user", "ro_app_reports:DataOnly")
	if other.code != 1 || !strings.Contains(other.stderr, `users[ro_app_reports].access is "ReadOnly", you asked for "DataOnly"`) {
		t.Errorf("re-run with another access: exit %d\n%s", other.code, other.stderr)
	}
}

// --no-wait returns before the operator has done anything; --deletion-policy reaches the spec.
func TestCLINoWaitAndTimeout(t *testing.T) {
	installBase(t)
	dev := developer(t, "cli-team")
	stopOperator()
	defer ensureOperator(t)

	r := cli(t, dev.Kubeconfig, "--name", "nowait", "--namespace", "cli-team", "--no-wait", "--deletion-policy", "Delete")
	if r.code != 0 || !strings.Contains(r.stdout, "Not waiting") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var db dbv1.AppDatabase
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: "cli-team", Name: "nowait"}, &db); err != nil {
		t.Fatal(err)
	}
	if db.Status.Phase != "" || db.Spec.DeletionPolicy != dbv1.DeletionPolicyDelete {
		t.Errorf("phase %q, deletionPolicy %q", db.Status.Phase, db.Spec.DeletionPolicy)
	}

	// Nobody provisions while the operator is away: the wait ends at --timeout, and says where it was stuck.
	r = cli(t, dev.Kubeconfig, "--name", "nowait", "--namespace", "cli-team", "--deletion-policy", "Delete", "--timeout", "2s")
	if r.code != 4 || !strings.Contains(r.stderr, "not ready within 2s") || !strings.Contains(r.stderr, "kubectl describe appdatabase nowait -n cli-team") {
		t.Errorf("timeout: exit %d\n%s", r.code, r.stderr)
	}

	ensureOperator(t)
	stack.WaitForAppDatabase(t, k8s, client.ObjectKeyFromObject(&db), dbv1.PhaseReady, dbv1.ReasonProvisioned)
}

// What goes wrong is said plainly, with a non-zero exit.
func TestCLIErrors(t *testing.T) {
	installBase(t)
	ensureOperator(t)
	dev := developer(t, "cli-team")
	stranger, err := kube.AddUser("stranger@example.com")
	if err != nil {
		t.Fatal(err)
	}
	bare, err := stack.StartKube(stack.WithoutCRDs())
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Stop()

	cases := []struct {
		name       string
		kubeconfig string
		args       []string
		code       int
		want       []string
	}{
		{"terminal failure", dev.Kubeconfig, []string{"--name", "lost", "--namespace", "cli-team", "--cluster", "nowhere"}, 3,
			[]string{"provisioning failed (UnknownCluster)", `cluster "nowhere" is not configured; check spec.clusterRef, or ask the platform team which clusters you may use`}},
		{"forbidden", stranger.Kubeconfig, []string{"--name", "x", "--namespace", "cli-team"}, 1,
			[]string{`you are not allowed to create appdatabases in namespace "cli-team"`, "ask your platform team for access"}},
		{"not installed", bare.Kubeconfig, []string{"--name", "x", "--namespace", "default"}, 1,
			[]string{"DB Concierge is not installed in this cluster"}},
		{"invalid name, before any API call", "/nonexistent", []string{"--name", "My_App", "--namespace", "cli-team"}, 2,
			[]string{`--name "My_App" is not a valid name`}},
		{"default user name too long", "/nonexistent", []string{"--name", strings.Repeat("a", 29), "--namespace", "cli-team"}, 2,
			[]string{"pass --user-name"}},
		{"bad deletion policy", "/nonexistent", []string{"--name", "x", "--deletion-policy", "Keep"}, 2,
			[]string{"--deletion-policy must be Retain or Delete"}},
		{"extra account named as the main user", "/nonexistent", []string{"--name", "x", "--namespace", "cli-team", "--read-only-user", "X_APP"}, 2,
			[]string{`--read-only-user "X_APP": "x_app" is the main user`}},
		{"extra account without access", "/nonexistent", []string{"--name", "x", "--namespace", "cli-team", "--user", "x_ro"}, 2,
			[]string{`--user "x_ro" must be NAME:ACCESS`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := cli(t, c.kubeconfig, c.args...)
			if r.code != c.code {
				t.Errorf("exit %d, want %d\n%s%s", r.code, c.code, r.stdout, r.stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
		})
	}
}

func TestCLIDryRunAndOutput(t *testing.T) {
	r := cli(t, "/nonexistent", "--name", "dry-app", "--namespace", "team-x", "--dry-run")
	if r.code != 0 || !strings.Contains(r.stdout, "kind: AppDatabase") || !strings.Contains(r.stdout, "dbName: dry_app") || !strings.Contains(r.stdout, "namespace: team-x") {
		t.Errorf("--dry-run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = cli(t, "/nonexistent", "--name", "dry-app", "--namespace", "team-x", "--dry-run", "--platform-namespace", "db-concierge", "-o", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"appNamespace": "team-x"`) || !strings.Contains(r.stdout, `"namespace": "db-concierge"`) {
		t.Errorf("--dry-run --platform-namespace -o json: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = cli(t, "/nonexistent", "--name", "dry-app", "--namespace", "team-x", "--dry-run", "--read-only-user", "dry_ro", "--user", "dry_web:data-only", "--max-user-connections", "0")
	if r.code != 0 || !strings.Contains(r.stdout, "maxUserConnections: 0\n") ||
		!strings.Contains(r.stdout, "  users:\n  - access: DataOnly\n    name: dry_web\n  - access: ReadOnly\n    name: dry_ro\n") {
		t.Errorf("--dry-run with accounts: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// A developer rotates their AppDatabase's credentials with the CLI, with dev-rbac.yaml's access
// only: the Secret names the partner account with a new password, and both log in while the
// grace period runs.
func TestCLIRotate(t *testing.T) {
	installBase(t)
	ensureOperator(t)
	dev := developer(t, "cli-rotate")
	if r := cli(t, dev.Kubeconfig, "--name", "cli-rot", "--namespace", "cli-rotate"); r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	key := client.ObjectKey{Namespace: "cli-rotate", Name: "cli-rot-mysql-creds"}
	var before corev1.Secret
	if err := k8s.Get(context.Background(), key, &before); err != nil {
		t.Fatal(err)
	}

	r := cli(t, dev.Kubeconfig, "rotate", "--name", "cli-rot", "--namespace", "cli-rotate")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	assertInOrder(t, r.stdout,
		"Rotation of AppDatabase cli-rotate/cli-rot asked for.",
		"✓ Credentials rotated.",
		"  Secret cli-rotate/cli-rot-mysql-creds now holds user cli_rot_app_2",
		"The previous credentials log in until ",
	)
	var after corev1.Secret
	if err := k8s.Get(context.Background(), key, &after); err != nil {
		t.Fatal(err)
	}
	for _, s := range []corev1.Secret{before, after} {
		user, password := string(s.Data["username"]), string(s.Data["password"])
		if strings.Contains(r.stdout+r.stderr, password) {
			t.Error("the output shows a password")
		}
		conn, err := maria.Connect(user, password, "cli_rot")
		if err != nil {
			t.Fatal(err)
		}
		if err := conn.Ping(); err != nil {
			t.Errorf("%s does not log in: %v", user, err)
		}
		conn.Close()
	}

	missing := cli(t, dev.Kubeconfig, "rotate", "--name", "no-such-app", "--namespace", "cli-rotate")
	if missing.code != 1 || !strings.Contains(missing.stderr, "not found") {
		t.Errorf("rotating a missing AppDatabase: exit %d\n%s", missing.code, missing.stderr)
	}
	if usage := cli(t, dev.Kubeconfig, "rotate", "--namespace", "cli-rotate"); usage.code != 2 {
		t.Errorf("rotate without --name: exit %d, want 2\n%s", usage.code, usage.stderr)
	}
}
