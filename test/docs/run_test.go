//go:build integration

package docs

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stillwaters/db-concierge/test/stack"
)

// The documentation's placeholders, and what stands for them on the local stack.
const (
	docAdminHost     = "cluster1-haproxy.default.svc.cluster.local"
	docAdminPassword = "your-root-password"
)

// docRun is the state the documentation's blocks run in: a working directory with the repository's
// scripts and manifests, and a PATH with kubectl and the CLI.
type docRun struct {
	t     *testing.T
	dir   string
	path  string
	subst *strings.Replacer
	// env is what the application snippets need of this machine: where the client libraries are.
	env []string
}

// TestDocumentationWorks follows the platform team's page and the developer's page, block by block,
// as they are written: install, let a developer in, ask for databases with the CLI and with YAML,
// use the credentials, operate, uninstall. Blocks marked skip say why; everything else must work.
func TestDocumentationWorks(t *testing.T) {
	ctx := context.Background()
	kube, err := stack.StartKube(stack.WithoutCRDs())
	if err != nil {
		t.Fatal(err)
	}
	defer kube.Stop()
	maria, err := stack.StartMariaDB()
	if err != nil {
		t.Fatal(err)
	}
	defer maria.Close()
	// The docs log in as root with a placeholder password; give root that password here.
	rootDB, err := maria.RootDB()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rootDB.Exec("ALTER USER root@'127.0.0.1' IDENTIFIED BY ?", docAdminPassword); err != nil {
		t.Fatal(err)
	}
	rootDB.Close()

	bin := t.TempDir()
	operatorBin, err := stack.BuildOperator(bin, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stack.Build(bin, "./cmd/bootstrap-mysql-schema", "bootstrap-mysql-schema"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(kube.Kubectl, filepath.Join(bin, "kubectl")); err != nil {
		t.Fatal(err)
	}
	clientEnv := clientLibraries(t, bin)
	run := &docRun{
		t:    t,
		dir:  t.TempDir(),
		path: bin + ":" + os.Getenv("PATH"),
		subst: strings.NewReplacer(
			docAdminHost, "127.0.0.1",
			"MYSQL_ADMIN_PORT=3306", fmt.Sprintf("MYSQL_ADMIN_PORT=%d", maria.Port),
		),
		env: clientEnv,
	}
	for _, name := range []string{"install.sh", "uninstall.sh", "deploy", "crds", "charts", "examples", "Dockerfile"} {
		if err := os.Symlink(filepath.Join(stack.RepoRoot(), name), filepath.Join(run.dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	platform := blocksOf(t, "docs/platform.md")
	developers := blocksOf(t, "docs/developers.md")

	run.phase(platform, "run install", kube.Kubeconfig)

	// Without a kubelet the Deployment install.sh created does not run: the operator runs here as
	// a process, with the token of the ServiceAccount the installation made.
	token, err := kube.ServiceAccountKubeconfig(ctx, "db-concierge", "db-concierge-operator")
	if err != nil {
		t.Fatal(err)
	}
	operator, err := stack.StartOperator(operatorBin, []string{"--kubeconfig=" + token, "--platform-namespace=db-concierge",
		"--leader-elect", "--metrics-bind-address=0", "--health-probe-bind-address=0", "--max-backoff=2s"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer operator.Stop()

	developer, err := kube.AddUser("developer@example.com", "developers")
	if err != nil {
		t.Fatal(err)
	}
	run.phase(developers, "run", developer.Kubeconfig)
	// What a developer looks at first when something goes wrong, with the developer's rights.
	run.phase(blocksOf(t, "docs/troubleshooting.md"), "run", developer.Kubeconfig)
	run.phase(platform, "run operate", kube.Kubeconfig)

	// Uninstalling deletes the Deployment, which stops the operator's pods.
	operator.Stop()
	run.phase(platform, "run uninstall", kube.Kubeconfig)

	// The databases stay: uninstalling never touches MySQL.
	check, err := maria.Connect("root", docAdminPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	for _, db := range []string{"myapp", "orders"} {
		if !schemaExists(t, check, db) {
			t.Errorf("database %s is gone after following the docs", db)
		}
	}
	if schemaExists(t, check, "scratch") {
		t.Error("the Delete-policy database of the docs' example was not dropped")
	}
}

// clientLibraries points the application snippets at the client libraries installed here
// (hack/ensure-packages.sh, hack/node-clients.sh): Debian's python3 with PyMySQL and SQLAlchemy
// first on PATH (in bin), MariaDB Connector/J on the class path, the npm packages on NODE_PATH.
func clientLibraries(t *testing.T, bin string) []string {
	t.Helper()
	if err := os.Symlink("/usr/bin/python3", filepath.Join(bin, "python3")); err != nil {
		t.Fatal(err)
	}
	modules, err := exec.Command(filepath.Join(stack.RepoRoot(), "hack", "node-clients.sh")).Output()
	if err != nil {
		t.Fatalf("installing the npm client packages: %v", err)
	}
	return []string{"CLASSPATH=/usr/share/java/mariadb-java-client.jar", "NODE_PATH=" + strings.TrimSpace(string(modules))}
}

func blocksOf(t *testing.T, page string) []Block {
	t.Helper()
	blocks, err := Blocks(filepath.Join(stack.RepoRoot(), page))
	if err != nil {
		t.Fatal(err)
	}
	return blocks
}

// phase runs, in order, the blocks marked with marker, and writes the "file" blocks it passes.
func (r *docRun) phase(blocks []Block, marker, kubeconfig string) {
	r.t.Helper()
	ran := 0
	for _, b := range blocks {
		if name, ok := strings.CutPrefix(b.Marker, "file "); ok {
			path := filepath.Join(r.dir, name)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				r.t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(r.subst.Replace(b.Body)), 0o644); err != nil {
				r.t.Fatal(err)
			}
			continue
		}
		if b.Marker != marker {
			continue
		}
		ran++
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", r.subst.Replace(b.Body))
		cmd.Dir = r.dir
		cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "PATH="+r.path)
		cmd.Env = append(cmd.Env, r.env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			r.t.Fatalf("%s:%d (%s): %v\n--- block\n%s--- output\n%s", rel(b.File), b.Line, marker, err, b.Body, out)
		}
		r.t.Logf("%s:%d (%s): ok", rel(b.File), b.Line, marker)
	}
	if ran == 0 {
		r.t.Fatalf("no block marked %q: the docs and this test disagree", marker)
	}
}

func schemaExists(t *testing.T, db *sql.DB, name string) bool {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}
