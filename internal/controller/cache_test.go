package controller

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
)

// The mark that sends readers to the API must not be something a stored object can carry.
func TestTrimmedMarkCannotBeStored(t *testing.T) {
	if len(validation.IsQualifiedName(trimmedMark)) == 0 {
		t.Errorf("%q is a valid annotation key and finalizer name: a stored object could carry it", trimmedMark)
	}
}

func TestTransformSecret(t *testing.T) {
	ours := map[string]string{dbv1.LabelManagedBy: dbv1.ManagedByValue, dbv1.LabelAppDatabaseName: "orders", dbv1.LabelAppDatabaseNamespace: "team-a", "team": "orders"}
	owner := map[string]string{dbv1.AnnotationOwner: "team-a/orders", dbv1.AnnotationOwnerUID: "u1", "note": "hello"}
	big := strings.Repeat("x", maxCachedSecretBytes)
	secret := func(data map[string][]byte, annotations map[string]string) *corev1.Secret {
		return &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "orders-mysql-creds", UID: "s1", ResourceVersion: "7",
				Labels: ours, Annotations: annotations, ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}},
			Data: data,
		}
	}
	cases := []struct {
		name    string
		in      *corev1.Secret
		trimmed bool
	}{
		{"ours", secret(map[string][]byte{"password": []byte("p")}, owner), false},
		{"padded data", secret(map[string][]byte{"password": []byte("p"), "pad": []byte(big)}, owner), true},
		{"padded annotation", secret(map[string][]byte{"password": []byte("p")}, map[string]string{dbv1.AnnotationOwner: "team-a/orders", "pad": big}), true},
		{"padded owner annotation", secret(nil, map[string]string{dbv1.AnnotationOwner: big}), true},
	}
	for _, c := range cases {
		out, err := transformSecret(c.in.DeepCopy())
		if err != nil {
			t.Fatal(err)
		}
		s := out.(*corev1.Secret)
		if s.ManagedFields != nil {
			t.Errorf("%s: managedFields kept", c.name)
		}
		if isTrimmed(s) != c.trimmed {
			t.Errorf("%s: trimmed %v, want %v", c.name, isTrimmed(s), c.trimmed)
		}
		if !c.trimmed {
			if len(s.Data) != len(c.in.Data) || len(s.Annotations) != len(c.in.Annotations) || len(s.Labels) != len(c.in.Labels) {
				t.Errorf("%s: a small Secret was changed: %+v", c.name, s)
			}
			continue
		}
		if s.Data != nil || s.Name != c.in.Name || s.Namespace != c.in.Namespace || s.UID != c.in.UID || s.ResourceVersion != c.in.ResourceVersion {
			t.Errorf("%s: stub %+v", c.name, s)
		}
		if s.Labels["team"] != "" || s.Labels[dbv1.LabelManagedBy] != dbv1.ManagedByValue || s.Annotations["pad"] != "" || s.Annotations["note"] != "" {
			t.Errorf("%s: the stub keeps more or less than what maps it to its AppDatabase: %v %v", c.name, s.Labels, s.Annotations)
		}
		if want := c.in.Annotations[dbv1.AnnotationOwner]; len(want) <= maxCachedValueBytes && s.Annotations[dbv1.AnnotationOwner] != want {
			t.Errorf("%s: owner annotation %q, want %q", c.name, s.Annotations[dbv1.AnnotationOwner], want)
		}
		if secretBytes(s) > 4<<10 {
			t.Errorf("%s: the stub holds %d bytes", c.name, secretBytes(s))
		}
	}
}

func TestTransformAppDatabase(t *testing.T) {
	long := strings.Repeat("r", maxCachedValueBytes+1)
	db := func(annotations map[string]string, finalizers ...string) *dbv1.AppDatabase {
		return &dbv1.AppDatabase{ObjectMeta: metav1.ObjectMeta{
			Namespace: "team-a", Name: "orders", Annotations: annotations, Finalizers: finalizers,
			Labels:          map[string]string{"team": "orders"},
			OwnerReferences: []metav1.OwnerReference{{Name: "app"}},
			ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
		}}
	}
	manyFinalizers := make([]string, 0, 400)
	for range 400 {
		manyFinalizers = append(manyFinalizers, "example.com/padding-finalizer")
	}
	cases := []struct {
		name        string
		in          *dbv1.AppDatabase
		annotations map[string]string
		trimmed     bool
	}{
		{"the operator's annotations kept, others dropped",
			db(map[string]string{dbv1.AnnotationReconcile: "42", dbv1.AnnotationAdopt: "true", dbv1.AnnotationAcceptAppNamespaceUID: "ns-uid",
				"kubectl.kubernetes.io/last-applied-configuration": "{}", "db.stillwaters.io/padding": "x"}, dbv1.Finalizer),
			map[string]string{dbv1.AnnotationReconcile: "42", dbv1.AnnotationAdopt: "true", dbv1.AnnotationAcceptAppNamespaceUID: "ns-uid"}, false},
		{"no annotations", db(nil), nil, false},
		{"a long value is cached as its digest", db(map[string]string{dbv1.AnnotationReconcile: long}),
			map[string]string{dbv1.AnnotationReconcile: digestOf(long)}, false},
		{"padded finalizers", db(nil, append([]string{dbv1.Finalizer}, manyFinalizers...)...), nil, true},
	}
	for _, c := range cases {
		out, err := transformAppDatabase(c.in.DeepCopy())
		if err != nil {
			t.Fatal(err)
		}
		got := out.(*dbv1.AppDatabase)
		if got.Labels != nil || got.OwnerReferences != nil || got.ManagedFields != nil {
			t.Errorf("%s: labels, owner references or managedFields kept", c.name)
		}
		if len(got.Annotations) != len(c.annotations) {
			t.Errorf("%s: annotations %v, want %v", c.name, got.Annotations, c.annotations)
		}
		for k, v := range c.annotations {
			if got.Annotations[k] != v {
				t.Errorf("%s: annotation %s = %.40q, want %.40q", c.name, k, got.Annotations[k], v)
			}
		}
		if isTrimmed(got) != c.trimmed {
			t.Errorf("%s: trimmed %v, want %v", c.name, isTrimmed(got), c.trimmed)
		}
		if !c.trimmed && len(got.Finalizers) != len(c.in.Finalizers) {
			t.Errorf("%s: finalizers %v, want them whole (a finalizer patch replaces the list)", c.name, got.Finalizers)
		}
	}
	// Every annotation the operator reads from an AppDatabase survives the cache.
	for _, k := range []string{dbv1.AnnotationReconcile, dbv1.AnnotationAdopt, dbv1.AnnotationAcceptAppNamespaceUID} {
		out, _ := transformAppDatabase(db(map[string]string{k: "v"}))
		if out.(*dbv1.AppDatabase).Annotations[k] != "v" {
			t.Errorf("annotation %s is not kept", k)
		}
	}
}

func digestOf(v string) string {
	sum := sha256.Sum256([]byte(v))
	return "sha256:" + hex.EncodeToString(sum[:])
}
