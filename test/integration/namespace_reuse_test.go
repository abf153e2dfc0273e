//go:build integration

package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
)

// replaceNamespace deletes a namespace with its Secrets and creates one of the same name, as
// someone else could. There is no namespace controller here: the test empties and finalizes the
// terminating namespace itself, as that controller would.
func replaceNamespace(t *testing.T, name string) *corev1.Namespace {
	t.Helper()
	ctx := context.Background()
	var ns corev1.Namespace
	if err := k8s.Get(ctx, client.ObjectKey{Name: name}, &ns); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Delete(ctx, &ns); err != nil {
		t.Fatal(err)
	}
	// Terminating, the namespace takes no new objects.
	if err := k8s.DeleteAllOf(ctx, &corev1.Secret{}, client.InNamespace(name)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "namespace "+name+" to be gone", func() error {
		var current corev1.Namespace
		err := k8s.Get(ctx, client.ObjectKey{Name: name}, &current)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		current.Spec.Finalizers = nil
		if err := k8s.SubResource("finalize").Update(ctx, &current); err != nil {
			return err
		}
		return fmt.Errorf("still there")
	})
	fresh := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	create(t, fresh)
	return fresh
}

// A namespace that an AppDatabase of the platform namespace targets is deleted and created again
// by someone else: it gets no credentials until the platform team confirms the new namespace.
func TestReplacedNamespaceGetsNoCredentials(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "replaced")
	db := newAppDB(platformNS, "replaced", dbv1.AppDatabaseSpec{DBName: "replaced", AppNamespace: "replaced"})
	create(t, db)
	db = waitReady(t, db)
	var original corev1.Namespace
	if err := k8s.Get(ctx, client.ObjectKey{Name: "replaced"}, &original); err != nil {
		t.Fatal(err)
	}
	if db.Status.AppNamespaceUID != string(original.UID) {
		t.Fatalf("status.appNamespaceUID = %q, want the namespace's UID %s", db.Status.AppNamespaceUID, original.UID)
	}
	password := string(secretOf(t, db).Data["password"])

	replacement := replaceNamespace(t, "replaced")
	failed := waitFor(t, clientKey(db), dbv1.PhaseFailed, dbv1.ReasonNamespaceReplaced)
	for _, want := range []string{"platform team", dbv1.AnnotationAcceptAppNamespaceUID + "=" + string(replacement.UID)} {
		if !strings.Contains(failed.Status.Message, want) {
			t.Errorf("the message does not say %q: %s", want, failed.Status.Message)
		}
	}
	if failed.Status.AppNamespaceUID != string(original.UID) {
		t.Errorf("the recorded UID moved to %q without confirmation", failed.Status.AppNamespaceUID)
	}
	var s corev1.Secret
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: "replaced", Name: db.Spec.EffectiveSecretName()}, &s); !apierrors.IsNotFound(err) {
		t.Fatalf("the replaced namespace got a Secret (err %v)", err)
	}
	if err := canLogin(ctx, "replaced_app", password, "replaced"); err != nil {
		t.Errorf("the password was changed in MySQL: %v", err)
	}

	// Confirmed, the new namespace gets the Secret, with a new password: the old one went with the
	// old namespace.
	patch := client.MergeFrom(failed.DeepCopy())
	failed.Annotations = map[string]string{dbv1.AnnotationAcceptAppNamespaceUID: string(replacement.UID)}
	if err := k8s.Patch(ctx, failed, patch); err != nil {
		t.Fatal(err)
	}
	ready := waitReady(t, db)
	if ready.Status.AppNamespaceUID != string(replacement.UID) {
		t.Errorf("status.appNamespaceUID = %q after confirmation, want %s", ready.Status.AppNamespaceUID, replacement.UID)
	}
	if err := canLogin(ctx, "replaced_app", string(secretOf(t, ready).Data["password"]), "replaced"); err != nil {
		t.Errorf("the new Secret's login: %v", err)
	}
}
