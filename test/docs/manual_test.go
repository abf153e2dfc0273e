//go:build integration

package docs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stillwaters/db-concierge/test/stack"
)

// TestManualInstallWorks runs the platform page's install by hand, word for word, on an API server
// of its own: the seed's files applied in the seed's order, then the optional ones. There is no
// Docker engine here, so a stand-in docker records what it was asked; deploy/ is a copy, since the
// steps edit deployment.yaml. test/e2e runs an operator from the same files and provisions with it.
func TestManualInstallWorks(t *testing.T) {
	kube, err := stack.StartKube(stack.WithoutCRDs())
	if err != nil {
		t.Fatal(err)
	}
	defer kube.Stop()

	bin := t.TempDir()
	if err := os.Symlink(kube.Kubectl, filepath.Join(bin, "kubectl")); err != nil {
		t.Fatal(err)
	}
	dockerLog := filepath.Join(t.TempDir(), "docker.log")
	standIn := "#!/bin/sh\necho \"docker $*\" >> " + dockerLog + "\n"
	if err := os.WriteFile(filepath.Join(bin, "docker"), []byte(standIn), 0o755); err != nil {
		t.Fatal(err)
	}
	run := &docRun{
		t:     t,
		dir:   t.TempDir(),
		path:  bin + ":" + os.Getenv("PATH"),
		subst: strings.NewReplacer(docAdminHost, "127.0.0.1"),
	}
	if err := os.Symlink(filepath.Join(stack.RepoRoot(), "crds"), filepath.Join(run.dir, "crds")); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-R", filepath.Join(stack.RepoRoot(), "deploy"), run.dir).CombinedOutput(); err != nil {
		t.Fatalf("copying deploy/: %v: %s", err, out)
	}

	run.phase(blocksOf(t, "docs/platform.md"), "run manual", kube.Kubeconfig)

	docker, err := os.ReadFile(dockerLog)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"docker build -t REGISTRY/db-concierge-operator:TAG .", "docker push REGISTRY/db-concierge-operator:TAG"} {
		if !strings.Contains(string(docker), want) {
			t.Errorf("the steps did not run %q; docker was asked:\n%s", want, docker)
		}
	}
	for _, check := range []struct{ args, want string }{
		{"get crd appdatabases.db.stillwaters.io mysqlclusters.db.stillwaters.io -o name", "customresourcedefinition.apiextensions.k8s.io/mysqlclusters.db.stillwaters.io"},
		{"get role,rolebinding -n db-concierge -o name", "role.rbac.authorization.k8s.io/db-concierge-operator"},
		{"get secret -n db-concierge db-concierge-mysql-admin -o jsonpath={.data.MYSQL_ADMIN_HOST}", "MTI3LjAuMC4x"}, // 127.0.0.1
		{"get deployment -n db-concierge db-concierge-operator -o jsonpath={.spec.template.spec.containers[0].image}", "REGISTRY/db-concierge-operator:TAG"},
		{"get validatingadmissionpolicy -o name", "appdatabase-namespace-rule.db.stillwaters.io"},
		{"get service -n db-concierge db-concierge-operator -o name", "service/db-concierge-operator"},
	} {
		out, err := exec.Command(kube.Kubectl, append([]string{"--kubeconfig", kube.Kubeconfig}, strings.Fields(check.args)...)...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), check.want) {
			t.Errorf("kubectl %s: %v: %s (want %q)", check.args, err, out, check.want)
		}
	}
}
