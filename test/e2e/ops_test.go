//go:build integration

package e2e

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stillwaters/db-concierge/test/stack"
)

// The seed's "Monitoring & Operations" commands, run with kubectl as a platform team runs them.
func TestSeedOperationsCommands(t *testing.T) {
	installBase(t)
	ensureOperator(t)
	db := provisionFromPlatform(t, "wookie", "wookie", "wookie")

	// kubectl get appdatabase -n db-concierge: the seed's columns.
	out := mustKubectl(t, nil, "get", "appdatabase", "-n", platformNS)
	if !regexp.MustCompile(`(?m)^NAME\s+DATABASE\s+NAMESPACE\s+PHASE\s+AGE$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^wookie\s+wookie\s+wookie\s+Ready\s+\S+$`).MatchString(out) {
		t.Errorf("kubectl get appdatabase -n db-concierge:\n%s", out)
	}
	if out := mustKubectl(t, nil, "get", "appdb", "-A"); !strings.Contains(out, "wookie") {
		t.Errorf("kubectl get appdb -A:\n%s", out)
	}
	// kubectl get secrets -A -l app.kubernetes.io/managed-by=db-concierge-operator: the
	// applications' Secrets, not the admin Secret.
	out = mustKubectl(t, nil, "get", "secrets", "-A", "-l", "app.kubernetes.io/managed-by=db-concierge-operator")
	if !strings.Contains(out, "wookie-mysql-creds") || strings.Contains(out, "db-concierge-mysql-admin") {
		t.Errorf("managed Secrets:\n%s", out)
	}
	// kubectl describe tells the story: the condition and the Events.
	out = mustKubectl(t, nil, "describe", "appdatabase", "wookie", "-n", platformNS)
	for _, want := range []string{"Provisioned", "Database wookie is ready", "Events:"} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl describe lacks %q:\n%s", want, out)
		}
	}
	// The force-reconcile annotation.
	mustKubectl(t, nil, "annotate", "appdatabase", "wookie", "-n", platformNS, "reconcile=1234", "--overwrite")
	stack.Eventually(t, "the forced reconcile to be recorded", func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(db), db); err != nil {
			return err
		}
		if db.Status.LastHandledReconcileAt != "1234" {
			return errString("not yet")
		}
		return nil
	})
	// kubectl logs -l app.kubernetes.io/name=db-concierge-operator and the Service's port-forward
	// need a kubelet; test/manifests checks that the Deployment and Service carry what they select.
}
