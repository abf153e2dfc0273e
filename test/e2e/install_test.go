//go:build integration

package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/cluster"
	"github.com/stillwaters/db-concierge/test/stack"
)

// standIns writes aws, gcloud, docker, kind and minikube commands that record their arguments
// in a file and answer the few queries install.sh makes, and returns the folder and the file.
func standIns(t *testing.T) (dir, record string) {
	t.Helper()
	dir = t.TempDir()
	record = filepath.Join(dir, "calls.log")
	scripts := map[string]string{
		"aws": `case "$*" in
  "sts get-caller-identity --query Account --output text") echo 123456789012 ;;
  "configure get region") echo eu-west-1 ;;
  "ecr get-login-password"*) echo not-a-real-token ;;
  "ecr describe-repositories"*) exit 254 ;;
esac`,
		"gcloud": `case "$*" in
  "config get-value project") echo my-project ;;
  "artifacts repositories describe"*) exit 1 ;;
esac`,
		"docker":   `[ "$1" = login ] && cat >/dev/null`,
		"kind":     ``,
		"minikube": ``,
	}
	for name, body := range scripts {
		script := fmt.Sprintf("#!/bin/sh\necho \"%s $*\" >> %q\n%s\nexit 0\n", name, record, body)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir, record
}

// runScript runs install.sh or uninstall.sh as a platform engineer would, with the stand-ins and
// kubectl first on PATH.
func runScript(t *testing.T, kubeconfig, bin string, env []string, script string, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(root, script), args...)
	cmd.Env = append(os.Environ(), append(env,
		"KUBECONFIG="+kubeconfig,
		"PATH="+bin+":"+filepath.Dir(kube.Kubectl)+":"+os.Getenv("PATH"),
	)...)
	cmd.Stdin = nil
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", script, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func sorted(list []string) []string { return slices.Sorted(slices.Values(list)) }

// releasedImage is the image of the release this checkout installs.
func releasedImage(t *testing.T) string {
	t.Helper()
	version, err := stack.ReleaseVersion()
	if err != nil {
		t.Fatal(err)
	}
	return stack.ReleasedRepository + ":" + version
}

// sourceTag is the tag install.sh gives an image it builds from the checkout at root: git
// describe, and a hash of the uncommitted changes (untracked files included) when there are
// any, so that no two different builds share a tag.
func sourceTag(t *testing.T, root string) string {
	t.Helper()
	git := func(args ...string) string {
		out, err := exec.Command("git", append([]string{"-C", root}, args...)...).Output()
		if err != nil {
			t.Fatalf("git %v: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	tag := git("describe", "--tags", "--always")
	if git("status", "--porcelain") != "" {
		changes, err := exec.Command("git", "-C", root, "diff", "HEAD").Output()
		if err != nil {
			t.Fatal(err)
		}
		// Each untracked file as sha256sum lists it.
		for _, name := range strings.Fields(git("ls-files", "--others", "--exclude-standard")) {
			data, err := os.ReadFile(filepath.Join(root, name))
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(data)
			changes = append(changes, hex.EncodeToString(sum[:])+"  "+name+"\n"...)
		}
		sum := sha256.Sum256(changes)
		tag += "-dirty-" + hex.EncodeToString(sum[:])[:8]
	}
	return tag
}

// printedToolCalls returns the commands of image tools that --dry-run printed, pipes split.
func printedToolCalls(output string) []string {
	var calls []string
	for _, line := range strings.Split(output, "\n") {
		cmd, ok := strings.CutPrefix(line, "$ ")
		if !ok {
			continue
		}
		for _, part := range strings.Split(cmd, " | ") {
			tool, _, _ := strings.Cut(part, " ")
			if slices.Contains([]string{"aws", "gcloud", "docker", "kind", "minikube"}, tool) {
				calls = append(calls, strings.ReplaceAll(part, root, "ROOT"))
			}
		}
	}
	return calls
}

// Without --kind-cluster, install.sh loads the image into the kind cluster of a kind-NAME context,
// not into one named kind.
func TestInstallKindClusterFromContext(t *testing.T) {
	installBase(t)
	bin, _ := standIns(t)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	b, err := os.ReadFile(kube.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kubeconfig, b, 0o600); err != nil {
		t.Fatal(err)
	}
	current, err := exec.Command(kube.Kubectl, "--kubeconfig", kubeconfig, "config", "current-context").Output()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(kube.Kubectl, "--kubeconfig", kubeconfig, "config", "rename-context", strings.TrimSpace(string(current)), "kind-staging").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	env := []string{
		"MYSQL_ADMIN_HOST=127.0.0.1", fmt.Sprintf("MYSQL_ADMIN_PORT=%d", maria.Port),
		"MYSQL_ADMIN_USER=" + adminUser, "MYSQL_ADMIN_PASSWORD=" + adminPassword,
	}
	printed := printedToolCalls(runScript(t, kubeconfig, bin, env, "install.sh", "--yes", "--dry-run", "--tag", "v1"))
	if !slices.Contains(printed, "kind load docker-image db-concierge-operator:v1 --name staging") {
		t.Errorf("with context kind-staging, install.sh would run %q", printed)
	}
}

// Every image branch of install.sh runs the commands its --dry-run prints, and deploys the image
// it built.
func TestInstallImageBranches(t *testing.T) {
	installBase(t)
	env := []string{
		"MYSQL_ADMIN_HOST=127.0.0.1", fmt.Sprintf("MYSQL_ADMIN_PORT=%d", maria.Port),
		"MYSQL_ADMIN_USER=" + adminUser, "MYSQL_ADMIN_PASSWORD=" + adminPassword,
	}
	cases := []struct {
		registry string
		args     []string
		image    string
		want     []string // the commands that must run
	}{
		{"ecr", []string{"--buildspec-file", "BUILDSPEC"}, "123456789012.dkr.ecr.eu-west-1.amazonaws.com/db-concierge-operator:SOURCE", []string{
			"aws ecr create-repository --repository-name db-concierge-operator --region eu-west-1",
			"aws ecr get-login-password --region eu-west-1",
			"docker login --username AWS --password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com",
			"docker build -t 123456789012.dkr.ecr.eu-west-1.amazonaws.com/db-concierge-operator:SOURCE ROOT",
			"docker push 123456789012.dkr.ecr.eu-west-1.amazonaws.com/db-concierge-operator:SOURCE",
		}},
		{"artifact-registry", []string{"--gcp-region", "europe-west1"}, "europe-west1-docker.pkg.dev/my-project/db-concierge/db-concierge-operator:SOURCE", []string{
			"gcloud artifacts repositories create db-concierge --repository-format=docker --location=europe-west1 --project=my-project",
			"gcloud auth configure-docker europe-west1-docker.pkg.dev --quiet",
			"docker build -t europe-west1-docker.pkg.dev/my-project/db-concierge/db-concierge-operator:SOURCE ROOT",
			"docker push europe-west1-docker.pkg.dev/my-project/db-concierge/db-concierge-operator:SOURCE",
		}},
		{"kind", []string{"--kind-cluster", "dev", "--tag", "v1"}, "db-concierge-operator:v1", []string{
			"docker build -t db-concierge-operator:v1 ROOT",
			"kind load docker-image db-concierge-operator:v1 --name dev",
		}},
		{"minikube", nil, "db-concierge-operator:SOURCE", []string{
			"docker build -t db-concierge-operator:SOURCE ROOT",
			"minikube image load db-concierge-operator:SOURCE -p minikube",
		}},
		{"other", []string{"--image", "registry.example.com/team/dbc:1.0"}, "registry.example.com/team/dbc:1.0", []string{
			"docker build -t registry.example.com/team/dbc:1.0 ROOT",
			"docker push registry.example.com/team/dbc:1.0",
		}},
		{"release", nil, releasedImage(t), nil},
		{"skip", []string{"--image", "registry.example.com/team/dbc:2.0"}, "registry.example.com/team/dbc:2.0", nil},
	}
	tag := sourceTag(t, root)
	revision, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		// Images built here are stamped with the tag they get and the commit.
		built := tag
		if i := slices.Index(c.args, "--tag"); i >= 0 {
			built = c.args[i+1]
		}
		stamp := "docker build --build-arg VERSION=" + built + " --build-arg REVISION=" + strings.TrimSpace(string(revision)) + " -t "
		c.image = strings.ReplaceAll(c.image, "SOURCE", tag)
		for i := range c.want {
			c.want[i] = strings.ReplaceAll(strings.ReplaceAll(c.want[i], "SOURCE", tag), "docker build -t ", stamp)
		}
		t.Run(c.registry, func(t *testing.T) {
			bin, record := standIns(t)
			buildspec := filepath.Join(t.TempDir(), "buildspec.yml")
			args := []string{"--yes", "--registry", c.registry}
			for _, a := range c.args {
				args = append(args, strings.ReplaceAll(a, "BUILDSPEC", buildspec))
			}
			if c.registry == "ecr" {
				args = append(args, "--buildspec")
			}

			printed := printedToolCalls(runScript(t, kube.Kubeconfig, bin, env, "install.sh", append(args, "--dry-run")...))
			queries := readLines(t, record) // read-only questions also run in a dry run
			if _, err := os.Stat(buildspec); err == nil {
				t.Error("--dry-run wrote buildspec.yml")
			}
			if err := os.Remove(record); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			runScript(t, kube.Kubeconfig, bin, env, "install.sh", args...)
			var ran []string
			for _, call := range readLines(t, record) {
				if !slices.Contains(queries, call) {
					ran = append(ran, strings.ReplaceAll(call, root, "ROOT"))
				}
			}
			// The two sides of a pipe (aws ... | docker login) run at once, in either order, so
			// the lists are compared as sets; the build must still come before the push.
			if !slices.Equal(sorted(ran), sorted(printed)) {
				t.Errorf("the commands run differ from those --dry-run printed:\nran:     %q\nprinted: %q", ran, printed)
			}
			if !slices.Equal(sorted(ran), sorted(c.want)) {
				t.Errorf("commands run:\n%q\nwant:\n%q", ran, c.want)
			}
			build := slices.IndexFunc(ran, func(s string) bool { return strings.HasPrefix(s, "docker build") })
			push := slices.IndexFunc(ran, func(s string) bool { return strings.HasPrefix(s, "docker push") })
			if push >= 0 && push < build {
				t.Errorf("pushed before building: %q", ran)
			}
			var d appsv1.Deployment
			if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: platformNS, Name: "db-concierge-operator"}, &d); err != nil {
				t.Fatal(err)
			}
			if got := d.Spec.Template.Spec.Containers[0].Image; got != c.image {
				t.Errorf("Deployment image %q, want %q", got, c.image)
			}
			if c.registry == "ecr" {
				if b, err := os.ReadFile(buildspec); err != nil || !strings.Contains(string(b), "docker push "+c.image) {
					t.Errorf("buildspec.yml not written for %s: %v", c.image, err)
				}
			}
		})
	}
}

// install.sh on a fresh API server, a tenant with deletionPolicy Delete, then uninstall.sh: the
// cluster is clean again and MySQL was never touched.
func TestInstallAndUninstall(t *testing.T) {
	fresh, err := stack.StartKube(stack.WithoutCRDs())
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Stop()
	ctx := context.Background()
	bin, record := standIns(t)
	env := []string{
		"MYSQL_ADMIN_HOST=127.0.0.1", fmt.Sprintf("MYSQL_ADMIN_PORT=%d", maria.Port),
		"MYSQL_ADMIN_USER=" + adminUser, "MYSQL_ADMIN_PASSWORD=" + adminPassword,
	}
	for _, name := range []string{"team-a", "uninstall-app"} {
		if err := fresh.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
			t.Fatal(err)
		}
	}
	out := runScript(t, fresh.Kubeconfig, bin, env, "install.sh", "--yes",
		"--dev-namespace", "team-a", "--dev-group", "developers")
	if strings.Contains(out, adminPassword) {
		t.Error("install.sh printed the admin password")
	}
	if calls := readLines(t, record); len(calls) > 0 {
		t.Errorf("the skipped image step ran %q", calls)
	}

	c := fresh.Client
	installed := []client.Object{}
	for _, o := range []struct {
		obj       client.Object
		namespace string
		name      string
	}{
		{&corev1.Namespace{}, "", platformNS},
		{&corev1.ServiceAccount{}, platformNS, "db-concierge-operator"},
		{&corev1.Service{}, platformNS, "db-concierge-operator"},
		{&appsv1.Deployment{}, platformNS, "db-concierge-operator"},
		{&corev1.Secret{}, platformNS, cluster.LegacySecretName},
	} {
		if err := c.Get(ctx, client.ObjectKey{Namespace: o.namespace, Name: o.name}, o.obj); err != nil {
			t.Fatalf("install.sh did not create %T %s: %v", o.obj, o.name, err)
		}
		installed = append(installed, o.obj)
	}
	for _, args := range [][]string{
		{"get", "crd", "appdatabases.db.stillwaters.io"},
		{"get", "crd", "mysqlclusters.db.stillwaters.io"},
		{"get", "clusterrole", "db-concierge-operator"},
		{"get", "clusterrolebinding", "db-concierge-operator"},
		{"get", "role,rolebinding", "-n", platformNS, "db-concierge-operator"},
		{"get", "validatingadmissionpolicy,validatingadmissionpolicybinding", "appdatabase-namespace-rule.db.stillwaters.io"},
		{"get", "clusterrole", "appdatabase-creator"},
		{"get", "rolebinding", "-n", "team-a", "developers-can-create-databases"},
	} {
		if out, err := kubectl(fresh.Kubeconfig, nil, args...); err != nil {
			t.Errorf("after install.sh, kubectl %s: %s", strings.Join(args, " "), out)
		}
	}
	if img := installed[3].(*appsv1.Deployment).Spec.Template.Spec.Containers[0].Image; img != releasedImage(t) {
		t.Errorf("Deployment image %q", img)
	}

	// The operator, with the installed ServiceAccount, provisions a Delete-policy tenant.
	kubeconfig, err := fresh.ServiceAccountKubeconfig(ctx, platformNS, "db-concierge-operator")
	if err != nil {
		t.Fatal(err)
	}
	op, err := stack.StartOperator(operatorBin, []string{"--kubeconfig=" + kubeconfig, "--platform-namespace=" + platformNS,
		"--metrics-bind-address=0", "--health-probe-bind-address=0", "--max-backoff=2s"}, nil, operatorLog)
	if err != nil {
		t.Fatal(err)
	}
	db := &dbv1.AppDatabase{}
	db.Namespace, db.Name = platformNS, "kept-on-uninstall"
	db.Spec = dbv1.AppDatabaseSpec{ClusterRef: dbv1.DefaultClusterName, DBName: "kept_on_uninstall", AppNamespace: "uninstall-app", DeletionPolicy: dbv1.DeletionPolicyDelete}
	if err := c.Create(ctx, db); err != nil {
		t.Fatal(err)
	}
	stack.WaitForAppDatabase(t, c, client.ObjectKeyFromObject(db), dbv1.PhaseReady, dbv1.ReasonProvisioned)
	// Deleting the Deployment stops the operator's pods; here the operator is a local process.
	op.Stop()

	counters, err := maria.WriteCounters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dry := runScript(t, fresh.Kubeconfig, bin, nil, "uninstall.sh", "--yes", "--dry-run")
	if !strings.Contains(dry, "kubectl patch appdatabase kept-on-uninstall") {
		t.Errorf("uninstall --dry-run does not show the finalizer removal:\n%s", dry)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(db), db); err != nil || len(db.Finalizers) == 0 {
		t.Fatalf("uninstall --dry-run changed something: %v %v", err, db.Finalizers)
	}

	runScript(t, fresh.Kubeconfig, bin, nil, "uninstall.sh", "--yes")
	for _, args := range [][]string{
		{"get", "crd", "appdatabases.db.stillwaters.io"},
		{"get", "crd", "mysqlclusters.db.stillwaters.io"},
		{"get", "clusterrole", "db-concierge-operator"},
		{"get", "clusterrole", "appdatabase-creator"},
		{"get", "clusterrolebinding", "db-concierge-operator"},
		{"get", "validatingadmissionpolicy", "appdatabase-namespace-rule.db.stillwaters.io"},
		{"get", "rolebinding", "-n", "team-a", "developers-can-create-databases"},
		{"get", "deployment", "-n", platformNS, "db-concierge-operator"},
		{"get", "secret", "-n", platformNS, cluster.LegacySecretName},
	} {
		if out, err := kubectl(fresh.Kubeconfig, nil, args...); err == nil {
			t.Errorf("after uninstall.sh, kubectl %s still finds: %s", strings.Join(args, " "), out)
		}
	}
	var ns corev1.Namespace
	if err := c.Get(ctx, client.ObjectKey{Name: platformNS}, &ns); err == nil && ns.DeletionTimestamp.IsZero() {
		t.Error("the platform namespace is not being deleted")
	} else if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	// The application's Secret, database and user stay; MySQL saw no write at all.
	var appSecret corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: "uninstall-app", Name: "kept-on-uninstall-mysql-creds"}, &appSecret); err != nil {
		t.Errorf("the application's Secret was removed: %v", err)
	}
	if !databaseExists(t, "kept_on_uninstall") {
		t.Error("uninstalling dropped the Delete-policy tenant's database")
	}
	after, err := maria.WriteCounters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range after {
		if v != counters[k] {
			t.Errorf("MySQL counter %s moved from %d to %d during uninstall", k, counters[k], v)
		}
	}
}
