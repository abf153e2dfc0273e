//go:build integration

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/test/stack"
)

// Every example is applied to the API server as a user would, and provisioned.
func TestExamples(t *testing.T) {
	installBase(t)
	ensureOperator(t)
	helmApp, err := helm("template", "my-shop", "examples/helm-app", "--namespace", "my-shop")
	if err != nil {
		t.Fatalf("helm template examples/helm-app: %v\n%s", err, helmApp)
	}
	cases := []struct {
		name       string
		manifest   []byte
		namespaces []string
	}{
		{"myapp.yaml", readFile(t, "examples/myapp.yaml"), []string{"myapp"}},
		{"simple-app.yaml", readFile(t, "examples/simple-app.yaml"), []string{"frontend"}},
		{"microservices.yaml", readFile(t, "examples/microservices.yaml"), []string{"user-service", "order-service", "inventory-service"}},
		{"self-service.yaml", readFile(t, "examples/self-service.yaml"), []string{"team-a"}},
		{"reporting.yaml", readFile(t, "examples/reporting.yaml"), []string{"shop"}},
		{"rotation.yaml", readFile(t, "examples/rotation.yaml"), []string{"billing"}},
		{"storefront.yaml", readFile(t, "examples/storefront.yaml"), []string{"storefront"}},
		{"helm-app", []byte(helmApp), []string{"my-shop"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, ns := range c.namespaces {
				ensureNamespace(t, ns)
			}
			mustKubectl(t, c.manifest, "apply", "-f", "-")
			objs := decodeAll(t, c.manifest)
			dbs := ofKind(objs, "AppDatabase")
			if len(dbs) == 0 {
				t.Fatal("the example has no AppDatabase")
			}
			secrets := map[string]bool{}
			for _, u := range dbs {
				var db dbv1.AppDatabase
				if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &db); err != nil {
					t.Fatal(err)
				}
				ready := stack.WaitForAppDatabase(t, k8s, client.ObjectKeyFromObject(&db), dbv1.PhaseReady, dbv1.ReasonProvisioned)
				var s corev1.Secret
				key := client.ObjectKey{Namespace: ready.Status.AppNamespace, Name: ready.Status.SecretName}
				if err := k8s.Get(context.Background(), key, &s); err != nil {
					t.Fatalf("Secret %s: %v", key, err)
				}
				secrets[key.String()] = true
			}
			// Deployments in the example read Secrets that now exist.
			for _, u := range ofKind(objs, "Deployment") {
				var d appsv1.Deployment
				if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &d); err != nil {
					t.Fatal(err)
				}
				for _, c := range d.Spec.Template.Spec.Containers {
					for _, e := range c.Env {
						if ref := e.ValueFrom.SecretKeyRef; ref != nil && !secrets[d.Namespace+"/"+ref.Name] {
							t.Errorf("Deployment %s reads Secret %s, which the example's AppDatabases did not create", d.Name, ref.Name)
						}
					}
				}
			}
		})
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The MySQLCluster example names hosts that do not exist here, so it is only checked for being
// accepted by the API server.
func TestMySQLClusterExampleIsValid(t *testing.T) {
	installBase(t)
	mustKubectl(t, nil, "apply", "--dry-run=server", "-f", "examples/mysqlcluster.yaml")
}
