//go:build integration

package integration

import (
	"bytes"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
)

// A new AppDatabase of the name of one deleted with Retain, asking for another database and user
// but the same Secret, does not get the earlier tenant's password for its user: the Secret records
// the earlier owner's UID. The platform team can still take the earlier tenant over.
func TestSecretOfAnEarlierAppDatabaseOfTheSameName(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "reuse")
	earlier := newAppDB("reuse", "shop", dbv1.AppDatabaseSpec{DBName: "reuse_first", UserName: "reuse_first_app", SecretName: "shop-creds"})
	create(t, earlier)
	earlier = waitReady(t, earlier)
	secret := secretOf(t, earlier)
	password := string(secret.Data["password"])
	if uid := secret.Annotations[dbv1.AnnotationOwnerUID]; uid != string(earlier.UID) {
		t.Errorf("the Secret records owner UID %q, want %q", uid, earlier.UID)
	}
	deleteAndWait(t, earlier)

	later := newAppDB("reuse", "shop", dbv1.AppDatabaseSpec{DBName: "reuse_second", UserName: "reuse_second_app", SecretName: "shop-creds"})
	create(t, later)
	failed := waitFor(t, clientKey(later), dbv1.PhaseFailed, dbv1.ReasonSecretConflict)
	for _, want := range []string{"reuse/shop-creds", "earlier AppDatabase of the same name", dbv1.AnnotationAdopt + "=true"} {
		if !strings.Contains(failed.Status.Message, want) {
			t.Errorf("the message does not say %q: %s", want, failed.Status.Message)
		}
	}
	// Rechecks (every few seconds here) change nothing either.
	time.Sleep(7 * time.Second)
	after := secretOf(t, earlier)
	if after.ResourceVersion != secret.ResourceVersion || string(after.Data["password"]) != password {
		t.Error("the earlier tenant's Secret was changed")
	}
	if userExists(t, "reuse_second_app") || databaseExists(t, "reuse_second") {
		t.Error("the new AppDatabase got a database or user, with the earlier tenant's password")
	}
	if err := canLogin(ctx, "reuse_first_app", password, "reuse_first"); err != nil {
		t.Errorf("the earlier tenant's login: %v", err)
	}

	// The platform team takes the earlier tenant over, Secret included, password unchanged.
	deleteAndWait(t, later)
	adopter := newAppDB(platformNS, "reuse-shop", dbv1.AppDatabaseSpec{DBName: "reuse_first", UserName: "reuse_first_app",
		SecretName: "shop-creds", AppNamespace: "reuse"})
	adopter.Annotations = map[string]string{dbv1.AnnotationAdopt: "true"}
	create(t, adopter)
	adopter = waitReady(t, adopter)
	adopted := secretOf(t, adopter)
	if string(adopted.Data["password"]) != password {
		t.Error("adoption changed the password")
	}
	if adopted.Annotations[dbv1.AnnotationOwner] != platformNS+"/reuse-shop" || adopted.Annotations[dbv1.AnnotationOwnerUID] != string(adopter.UID) {
		t.Errorf("the adopted Secret records owner %q, UID %q", adopted.Annotations[dbv1.AnnotationOwner], adopted.Annotations[dbv1.AnnotationOwnerUID])
	}
}

// A Secret in the way is not watched (it is not DB Concierge's), yet deleting it is enough: the
// AppDatabase is tried again and turns Ready without any change to it.
func TestSecretConflictClearsWhenTheSecretGoes(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "in-the-way")
	blocking := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "in-the-way", Name: "blocked-mysql-creds"},
		Data:       map[string][]byte{"password": []byte("hand-written")},
	}
	create(t, blocking)
	db := newAppDB("in-the-way", "blocked", dbv1.AppDatabaseSpec{DBName: "blocked"})
	create(t, db)
	failed := waitFor(t, clientKey(db), dbv1.PhaseFailed, dbv1.ReasonSecretConflict)

	if err := k8s.Delete(ctx, blocking); err != nil {
		t.Fatal(err)
	}
	ready := waitReady(t, db)
	if ready.Generation != failed.Generation || len(ready.Annotations) != len(failed.Annotations) {
		t.Errorf("the AppDatabase was changed: generation %d -> %d, annotations %v -> %v",
			failed.Generation, ready.Generation, failed.Annotations, ready.Annotations)
	}
	s := secretOf(t, ready)
	if bytes.Equal(s.Data["password"], []byte("hand-written")) || s.Labels[dbv1.LabelManagedBy] != dbv1.ManagedByValue {
		t.Errorf("the new Secret is not DB Concierge's: %v", s.Labels)
	}
	if err := canLogin(ctx, "blocked_app", string(s.Data["password"]), "blocked"); err != nil {
		t.Errorf("login: %v", err)
	}
}
