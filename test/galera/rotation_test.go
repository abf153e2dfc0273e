//go:build integration

package galera

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/test/stack"
)

// Five rotations on the 3-node cluster while a client logs in every 50 ms, each time on the next
// node, with whatever the Secret holds: an application behind a proxy that spreads connections.
// No login fails; after each grace period the previous credentials are refused on every node.
func TestRotationWithoutDowntimeAcrossNodes(t *testing.T) {
	ctx := context.Background()
	db := appDB("rotating")
	db.Spec.PasswordRotation = &dbv1.PasswordRotation{GracePeriod: &metav1.Duration{Duration: 6 * time.Second}}
	if err := k8s.Create(ctx, db); err != nil {
		t.Fatal(err)
	}
	stack.WaitForAppDatabase(t, k8s, client.ObjectKeyFromObject(db), dbv1.PhaseReady, dbv1.ReasonProvisioned)
	key := client.ObjectKey{Namespace: tenantNS, Name: db.Spec.EffectiveSecretName()}
	var next atomic.Int64
	probe := stack.StartLoginProber(k8s, key, 50*time.Millisecond, func(ctx context.Context, user, password string) error {
		n := galera.Nodes[int(next.Add(1))%len(galera.Nodes)]
		return login(ctx, n, user, password, "rotating")
	})
	start := time.Now()
	const rotations = 5
	for i := range rotations {
		var s corev1.Secret
		if err := k8s.Get(ctx, key, &s); err != nil {
			t.Fatal(err)
		}
		oldUser, oldPassword := string(s.Data["username"]), string(s.Data["password"])
		stamp := randomHex()
		var current dbv1.AppDatabase
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(db), &current); err != nil {
			t.Fatal(err)
		}
		patch := client.MergeFrom(current.DeepCopy())
		metav1.SetMetaDataAnnotation(&current.ObjectMeta, dbv1.AnnotationRotatePassword, stamp)
		if err := k8s.Patch(ctx, &current, patch); err != nil {
			t.Fatal(err)
		}
		stack.Eventually(t, fmt.Sprintf("rotation %d", i+1), func() error {
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(db), &current); err != nil {
				return err
			}
			if r := current.Status.PasswordRotation; r == nil || r.LastHandledRotateAt != stamp || current.Status.Phase != dbv1.PhaseReady {
				return fmt.Errorf("phase %s, rotation %+v", current.Status.Phase, current.Status.PasswordRotation)
			}
			return nil
		})
		for _, n := range galera.Nodes {
			stack.Eventually(t, fmt.Sprintf("rotation %d: %s refused on node %s after the grace period", i+1, oldUser, n.Name), func() error {
				if err := login(ctx, n, oldUser, oldPassword, "rotating"); err == nil {
					return fmt.Errorf("%s still logs in", oldUser)
				}
				return nil
			})
		}
	}
	attempts, failures := probe.Stop()
	t.Logf("%d rotations in %s: %d logins spread over %d nodes, %d failed", rotations, time.Since(start).Round(time.Second), attempts, len(galera.Nodes), len(failures))
	if len(failures) > 0 {
		t.Errorf("%d of %d logins failed during the rotations: %s", len(failures), attempts, strings.Join(failures, "; "))
	}
	if err := k8s.Delete(ctx, db); err != nil {
		t.Fatal(err)
	}
}
