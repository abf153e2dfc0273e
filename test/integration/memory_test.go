//go:build integration

package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
)

// operatorRSS is the operator process's resident memory, from /proc.
func operatorRSS(t *testing.T) int64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", operator.PID()))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if value, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(value), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS line %q: %v", line, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/PID/status")
	return 0
}

// Padding Secrets with the managed-by label, and AppDatabases with annotations, does not grow the
// operator's memory by what they weigh: the cache keeps what the operator reads. Legitimate
// objects that are large still work, read from the API.
func TestCacheHoldsWhatTheOperatorReads(t *testing.T) {
	const (
		paddedSecrets   = 30
		secretPadding   = 900 << 10
		paddedDatabases = 30
		annotationPad   = 200 << 10
		// The padding weighs about 33 MiB, and costs more once decoded and cached; trimmed away,
		// it leaves a fraction of that behind.
		maxGrowth = 20 << 20
	)
	ctx := ctxFor(t)
	ensureNamespace(t, "mem-secrets")
	ensureNamespace(t, "mem-databases")
	// A fresh operator, warmed up by one tenant, gives a baseline free of earlier tests' garbage.
	restartOperator(t)
	warm := newAppDB("mem-databases", "mem-warm", dbv1.AppDatabaseSpec{DBName: "mem_warm"})
	create(t, warm)
	waitReady(t, warm)
	baseline := operatorRSS(t)
	t.Logf("operator RSS before: %d MiB", baseline>>20)

	var created []client.Object
	t.Cleanup(func() {
		for _, o := range created {
			_ = k8s.Delete(context.Background(), o)
		}
	})
	for i := range paddedSecrets {
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: "mem-secrets", Name: fmt.Sprintf("padded-%d", i),
				Labels: map[string]string{dbv1.LabelManagedBy: dbv1.ManagedByValue}},
			Data: map[string][]byte{"padding": bytes.Repeat([]byte{byte('a' + i%26)}, secretPadding)},
		}
		create(t, s)
		created = append(created, s)
	}
	var databases []*dbv1.AppDatabase
	for i := range paddedDatabases {
		db := newAppDB("mem-databases", fmt.Sprintf("mem-pad-%d", i), dbv1.AppDatabaseSpec{DBName: fmt.Sprintf("mem_pad_%d", i)})
		db.Annotations = map[string]string{"example.com/padding": strings.Repeat(string(rune('a'+i%26)), annotationPad)}
		create(t, db)
		created = append(created, db)
		databases = append(databases, db)
	}
	// Ready AppDatabases have been through the operator's cache.
	for _, db := range databases {
		waitReady(t, db)
	}

	// A tenant's own Secret, padded with a big extra key, is too large to be cached whole: the
	// operator reads it from the API, keeps its password and puts the Secret back in shape. That
	// it did also shows that the Secret watch has delivered the padded Secrets, created before.
	own := databases[0]
	secret := secretOf(t, own)
	password := string(secret.Data["password"])
	secret.Data["padding"] = bytes.Repeat([]byte("p"), secretPadding)
	if err := k8s.Update(ctx, secret); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the padded Secret to be repaired", func() error {
		current := secretOf(t, own)
		if _, padded := current.Data["padding"]; padded {
			return fmt.Errorf("still padded")
		}
		if string(current.Data["password"]) != password {
			t.Fatalf("the password changed")
		}
		return nil
	})
	waitReady(t, own)

	eventually(t, "the operator's memory to settle below the padding's weight", func() error {
		if growth := operatorRSS(t) - baseline; growth > maxGrowth {
			return fmt.Errorf("RSS grew by %d MiB, more than %d MiB", growth>>20, maxGrowth>>20)
		}
		return nil
	})
	t.Logf("operator RSS after: %d MiB", operatorRSS(t)>>20)

	// Padded with a big annotation instead, its data is right: a forced reconcile reads it from
	// the API, finds nothing to do, and writes nothing — an update from the cache's partial copy
	// would have emptied it.
	secret = secretOf(t, own)
	secret.Annotations["example.com/padding"] = strings.Repeat("q", annotationPad)
	if err := k8s.Update(ctx, secret); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(own.DeepCopy())
	own.Annotations[dbv1.AnnotationReconcile] = "padded-secret"
	if err := k8s.Patch(ctx, own, patch); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the forced reconcile", func() error {
		var current dbv1.AppDatabase
		if err := k8s.Get(ctx, clientKey(own), &current); err != nil {
			return err
		}
		if current.Status.LastHandledReconcileAt != "padded-secret" || current.Status.Phase != dbv1.PhaseReady {
			return fmt.Errorf("phase %s, last handled %q", current.Status.Phase, current.Status.LastHandledReconcileAt)
		}
		return nil
	})
	after := secretOf(t, own)
	if after.ResourceVersion != secret.ResourceVersion || string(after.Data["password"]) != password || len(after.Data) != len(secret.Data) {
		t.Errorf("the Secret padded with an annotation was rewritten (resourceVersion %s -> %s, %d keys)",
			secret.ResourceVersion, after.ResourceVersion, len(after.Data))
	}
	if err := canLogin(ctx, own.Spec.EffectiveUserName(), password, own.Spec.DBName); err != nil {
		t.Errorf("the tenant's login: %v", err)
	}
}
