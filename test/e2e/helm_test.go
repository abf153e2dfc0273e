//go:build integration

package e2e

import (
	"bytes"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/stillwaters/db-concierge/test/manifests"
)

// helm runs the helm that hack/helm.sh builds (once per machine) from the Go module proxy, and
// returns what it printed on standard output. Standard error, where the first run also reports
// the build, is added only to an error.
func helm(args ...string) (string, error) {
	cmd := exec.Command("hack/helm.sh", args...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out) + stderr.String(), err
	}
	return string(out), nil
}

func TestHelmChart(t *testing.T) {
	installBase(t)
	if out, err := helm("lint", "--strict", "charts/db-concierge"); err != nil {
		t.Fatalf("helm lint: %v\n%s", err, out)
	}
	variants := []struct {
		name      string
		namespace string
		values    []string
	}{
		{"defaults", "db-concierge", nil},
		{"admin Secret from values", "db-concierge", []string{"adminSecret.create=true", "adminSecret.host=mysql.example", "adminSecret.password=s3cret"}},
		{"existing Secret, other platform namespace", "platform", []string{"adminSecret.existingSecret=mysql-admin", "image.repository=registry.example/dbc", "image.tag=v1"}},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			args := []string{"template", "dbc", "charts/db-concierge", "--namespace", v.namespace}
			for _, s := range v.values {
				args = append(args, "--set", s)
			}
			rendered, err := helm(args...)
			if err != nil {
				t.Fatalf("helm template: %v\n%s", err, rendered)
			}
			ensureNamespace(t, v.namespace)
			// The API server accepts every object (server-side dry run: validation and admission run).
			mustKubectl(t, []byte(rendered), "apply", "--dry-run=server", "-f", "-")

			objs := decodeAll(t, []byte(rendered))
			deployments := ofKind(objs, "Deployment")
			if len(deployments) != 1 {
				t.Fatalf("%d Deployments rendered", len(deployments))
			}
			var d appsv1.Deployment
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(deployments[0].Object, &d); err != nil {
				t.Fatal(err)
			}
			for _, p := range manifests.CheckOperatorDeployment(&d) {
				t.Error(p)
			}
			args = d.Spec.Template.Spec.Containers[0].Args
			if !slices.Contains(args, "--platform-namespace="+v.namespace) {
				t.Errorf("the operator is not told its platform namespace: %v", args)
			}
			policy := ofKind(objs, "ValidatingAdmissionPolicy")
			if len(policy) != 1 || !strings.Contains(asJSON(t, policy[0]), "'"+v.namespace+"'") {
				t.Error("the admission policy does not follow the platform namespace")
			}
		})
	}
}

// The chart installs the same objects as deploy/ (kubectl apply -k), with the same permissions.
func TestHelmChartMatchesManifests(t *testing.T) {
	rendered, err := helm("template", "dbc", "charts/db-concierge", "--namespace", "db-concierge")
	if err != nil {
		t.Fatal(err)
	}
	base := mustKubectl(t, nil, "kustomize", "deploy/")
	key := func(o *unstructured.Unstructured) string {
		return o.GetKind() + "/" + o.GetNamespace() + "/" + o.GetName()
	}
	chart := map[string]*unstructured.Unstructured{}
	for _, o := range decodeAll(t, []byte(rendered)) {
		chart[key(o)] = o
	}
	for _, o := range decodeAll(t, []byte(base)) {
		switch o.GetKind() {
		case "Namespace", "CustomResourceDefinition":
			continue // Helm creates the release namespace and installs crds/ itself.
		}
		c, ok := chart[key(o)]
		if !ok {
			t.Errorf("the chart lacks %s", key(o))
			continue
		}
		if o.GetKind() == "ClusterRole" || o.GetKind() == "Role" {
			var want, got rbacv1.ClusterRole
			_ = runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &want)
			_ = runtime.DefaultUnstructuredConverter.FromUnstructured(c.Object, &got)
			if !reflect.DeepEqual(want.Rules, got.Rules) {
				t.Errorf("%s: the chart's rules differ from deploy/'s", key(o))
			}
		}
	}
	// The seed's path holds both CRDs; the chart holds the same, one file per kind.
	seedCRDs := string(readFile(t, "crds/appdatabase-crd.yaml"))
	for _, kind := range []string{"appdatabase", "mysqlcluster"} {
		_, body, _ := strings.Cut(string(readFile(t, "charts/db-concierge/crds/"+kind+"-crd.yaml")), "\n")
		if !strings.Contains(seedCRDs, body) {
			t.Errorf("crds/appdatabase-crd.yaml does not hold the chart's %s CRD (run make generate)", kind)
		}
	}
}

func asJSON(t *testing.T, o *unstructured.Unstructured) string {
	t.Helper()
	b, err := o.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
