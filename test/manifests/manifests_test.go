package manifests

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/stillwaters/db-concierge/test/stack"
)

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(stack.RepoRoot(), path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode[T any](t *testing.T, path string) *T {
	t.Helper()
	var obj T
	if err := yaml.UnmarshalStrict(read(t, path), &obj); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &obj
}

// decodeFirst decodes the first document of a file of several.
func decodeFirst[T any](t *testing.T, path string) *T {
	t.Helper()
	first, _, _ := strings.Cut(string(read(t, path)), "\n---\n")
	var obj T
	if err := yaml.UnmarshalStrict([]byte(first), &obj); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &obj
}

func TestDeploymentPolicy(t *testing.T) {
	d := decode[appsv1.Deployment](t, "deploy/deployment.yaml")
	for _, p := range CheckOperatorDeployment(d) {
		t.Error(p)
	}
}

func TestPolicyCatchesAnInsecureDeployment(t *testing.T) {
	d := decode[appsv1.Deployment](t, "deploy/deployment.yaml")
	d.Spec.Template.Spec.SecurityContext = nil
	c := &d.Spec.Template.Spec.Containers[0]
	c.SecurityContext = nil
	c.Env = append(c.Env, corev1.EnvVar{Name: "MYSQL_ADMIN_PASSWORD", ValueFrom: &corev1.EnvVarSource{
		SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "db-concierge-mysql-admin"}, Key: "MYSQL_ADMIN_PASSWORD"},
	}})
	problems := strings.Join(CheckOperatorDeployment(d), "\n")
	for _, want := range []string{"no pod securityContext", "no container securityContext", "comes from a Secret"} {
		if !strings.Contains(problems, want) {
			t.Errorf("the policy missed %q; it found:\n%s", want, problems)
		}
	}
}

// The seed's `kubectl port-forward svc/db-concierge-operator 8080:8080` + `curl /healthz` must
// reach the operator.
func TestServiceReachesHealthz(t *testing.T) {
	svc := decode[corev1.Service](t, "deploy/service.yaml")
	d := decode[appsv1.Deployment](t, "deploy/deployment.yaml")
	if svc.Name != "db-concierge-operator" {
		t.Errorf("Service is named %q", svc.Name)
	}
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("Service selector %s=%s does not match the pods", k, v)
		}
	}
	c := d.Spec.Template.Spec.Containers[0]
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 8080 {
		t.Fatalf("Service ports %+v, want 8080", svc.Spec.Ports)
	}
	target := svc.Spec.Ports[0].TargetPort.String()
	var containerPort int32
	for _, p := range c.Ports {
		if p.Name == target {
			containerPort = p.ContainerPort
		}
	}
	// The metrics server also answers /healthz and /readyz (cmd/operator).
	if containerPort != 8080 || !slices.Contains(c.Args, "--metrics-bind-address=:8080") {
		t.Errorf("Service port 8080 targets %s (container port %d), which is not the metrics server on :8080", target, containerPort)
	}
}

func TestKustomizationListsTheBase(t *testing.T) {
	var k struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(read(t, "deploy/kustomization.yaml"), &k); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(stack.RepoRoot(), "deploy", "*.yaml"))
	for _, f := range files {
		name := filepath.Base(f)
		if name == "kustomization.yaml" || name == "dev-rbac.yaml" {
			continue
		}
		if !slices.Contains(k.Resources, name) {
			t.Errorf("deploy/%s is not in deploy/kustomization.yaml", name)
		}
	}
	if slices.Contains(k.Resources, "dev-rbac.yaml") || !slices.Contains(k.Resources, "../crds") {
		t.Errorf("kustomization resources %v: want ../crds, and not the example dev-rbac.yaml", k.Resources)
	}
}

// Developers get exactly what the seed's security model promises: AppDatabases, and reading
// Secrets, in the namespaces they are bound in; and the ConfigMaps of spec.init.
func TestDeveloperRole(t *testing.T) {
	docs := bytes.Split(read(t, "deploy/dev-rbac.yaml"), []byte("\n---\n"))
	var role rbacv1.ClusterRole
	if err := yaml.Unmarshal(docs[0], &role); err != nil {
		t.Fatal(err)
	}
	if role.Name != "appdatabase-creator" {
		t.Fatalf("first document is %s %s", role.Kind, role.Name)
	}
	want := map[string][]string{
		"db.stillwaters.io/appdatabases": {"create", "delete", "get", "list", "patch", "update", "watch"},
		"/secrets":                       {"get"},
		"/configmaps":                    {"create", "delete", "get", "list", "patch", "update", "watch"},
	}
	got := map[string][]string{}
	for _, r := range role.Rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				verbs := slices.Clone(r.Verbs)
				slices.Sort(verbs)
				got[g+"/"+res] = verbs
			}
		}
	}
	if len(got) != len(want) {
		t.Errorf("rules cover %v, want exactly %v", got, want)
	}
	for k, verbs := range want {
		if !slices.Equal(got[k], verbs) {
			t.Errorf("%s: verbs %v, want %v", k, got[k], verbs)
		}
	}
}

// The operator's ClusterRole never deletes, never escalates, and touches nothing beyond its list.
func TestOperatorClusterRoleIsLeast(t *testing.T) {
	role := decodeFirst[rbacv1.ClusterRole](t, "deploy/clusterrole.yaml")
	allowed := map[string][]string{
		"db.stillwaters.io/appdatabases":         {"get", "list", "patch", "watch"},
		"db.stillwaters.io/appdatabases/status":  {"update"},
		"db.stillwaters.io/mysqlclusters":        {"get", "list", "watch"},
		"db.stillwaters.io/mysqlclusters/status": {"patch"},
		"/secrets":                               {"create", "get", "list", "update", "watch"},
		"/configmaps":                            {"get", "list", "watch"},
		"/namespaces":                            {"get", "list", "watch"},
		"events.k8s.io/events":                   {"create", "patch"},
	}
	for _, r := range role.Rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				key := g + "/" + res
				for _, v := range r.Verbs {
					if !slices.Contains(allowed[key], v) {
						t.Errorf("ClusterRole grants %s on %s", v, key)
					}
				}
			}
		}
		if len(r.ResourceNames) == 0 && slices.Contains(r.Verbs, "*") {
			t.Error("ClusterRole uses a wildcard verb")
		}
	}
}

func TestInstallScriptsUseTheSeedPaths(t *testing.T) {
	install := string(read(t, "install.sh"))
	for _, path := range []string{"crds/appdatabase-crd.yaml", "deploy/$f.yaml", "deploy/deployment.yaml", "deploy/dev-rbac.yaml"} {
		if !strings.Contains(install, path) {
			t.Errorf("install.sh does not use %s", path)
		}
	}
}
