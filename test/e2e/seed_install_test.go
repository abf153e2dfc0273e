//go:build integration

package e2e

import (
	"fmt"
	"testing"

	"github.com/stillwaters/db-concierge/test/stack"
)

// The seed's install steps, word for word — the files it names and nothing else — give an
// operator that serves both kinds and holds its leader-election Lease under its own
// ServiceAccount. What the other tests installed beyond those files is removed first.
func TestSeedInstallSteps(t *testing.T) {
	stopOperator()
	t.Cleanup(func() { installBase(t) })
	for _, args := range [][]string{
		{"delete", "--ignore-not-found", "--wait", "crd", "mysqlclusters.db.stillwaters.io"},
		{"delete", "--ignore-not-found", "-n", platformNS, "role,rolebinding", "db-concierge-operator"},
		{"delete", "--ignore-not-found", "-n", platformNS, "lease", "db-concierge-operator.db.stillwaters.io"},
	} {
		mustKubectl(t, nil, args...)
	}

	for _, file := range []string{
		"crds/appdatabase-crd.yaml",
		"deploy/namespace.yaml",
		"deploy/serviceaccount.yaml",
		"deploy/clusterrole.yaml",
		"deploy/clusterrolebinding.yaml",
	} {
		stack.Eventually(t, "kubectl apply -f "+file, func() error {
			// A CRD just deleted may still be terminating.
			if out, err := kubectl(kube.Kubeconfig, nil, "apply", "-f", file); err != nil {
				return fmt.Errorf("%w: %s", err, out)
			}
			return nil
		})
	}
	mustKubectl(t, nil, "wait", "--for=condition=Established", "--timeout=60s",
		"crd/appdatabases.db.stillwaters.io", "crd/mysqlclusters.db.stillwaters.io")
	ensureAdminSecret(t)

	logStart := len(operatorLog.String())
	ensureOperator(t)
	provisionFromPlatform(t, "seed-steps", "seed_steps", "seed-steps")
	stack.Eventually(t, "leader election to hold a Lease", func() error {
		if out, err := kubectl(kube.Kubeconfig, nil, "get", "lease", "-n", platformNS, "db-concierge-operator.db.stillwaters.io"); err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	})
	assertNoForbidden(t, logStart)
	stopOperator()
}
