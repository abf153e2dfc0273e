package controller

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/tenant"
)

func TestCheckSecretOwner(t *testing.T) {
	const uid, earlierUID = "uid-now", "uid-earlier"
	fresh := &dbv1.AppDatabase{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "orders", UID: uid}}
	wasReady := fresh.DeepCopy()
	wasReady.Status.ConnectionString = "mysql://orders_app@db:3306/orders"
	managed := map[string]string{dbv1.LabelManagedBy: dbv1.ManagedByValue}
	secret := func(labels, annotations map[string]string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "s", Labels: labels, Annotations: annotations}}
	}
	owned := func(owner, ownerUID string) *corev1.Secret {
		annotations := map[string]string{dbv1.AnnotationOwner: owner}
		if ownerUID != "" {
			annotations[dbv1.AnnotationOwnerUID] = ownerUID
		}
		return secret(managed, annotations)
	}
	// team-b/gone no longer exists; team-b/orders does.
	ownerGone := func(o tenant.Owner) bool { return o.Namespace == "team-b" && o.Name == "gone" }
	cases := []struct {
		name     string
		secret   *corev1.Secret
		db       *dbv1.AppDatabase
		adopting bool
		refusal  string // empty: accepted
	}{
		{"ours", owned("team-a/orders", uid), fresh, false, ""},
		{"ours, written before UIDs were recorded, Ready before", owned("team-a/orders", ""), wasReady, false, ""},
		{"same name, no UID, never Ready", owned("team-a/orders", ""), fresh, false, "never been Ready"},
		{"same name, no UID, never Ready, adopting", owned("team-a/orders", ""), fresh, true, ""},
		{"an earlier AppDatabase of the same name's", owned("team-a/orders", earlierUID), fresh, false, "earlier AppDatabase of the same name"},
		{"an earlier AppDatabase of the same name's, Ready before", owned("team-a/orders", earlierUID), wasReady, false, "earlier AppDatabase of the same name"},
		{"an earlier AppDatabase of the same name's, adopting", owned("team-a/orders", earlierUID), fresh, true, ""},
		{"hand-made", secret(nil, nil), fresh, false, "not created by DB Concierge"},
		{"hand-made, adopting", secret(nil, nil), fresh, true, "not created by DB Concierge"},
		{"another AppDatabase's", owned("team-b/orders", earlierUID), fresh, false, "belongs to another AppDatabase"},
		{"another AppDatabase's, adopting", owned("team-b/orders", earlierUID), fresh, true, "belongs to another AppDatabase"},
		{"a deleted AppDatabase's", owned("team-b/gone", earlierUID), fresh, false, "belongs to another AppDatabase"},
		{"a deleted AppDatabase's, adopting", owned("team-b/gone", earlierUID), fresh, true, ""},
		{"the seed's", secret(managed, nil), fresh, false, dbv1.AnnotationAdopt},
		{"the seed's, adopting", secret(managed, nil), fresh, true, ""},
	}
	for _, c := range cases {
		err := checkSecretOwner(c.secret, c.db, c.adopting, ownerGone)
		switch {
		case c.refusal == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.refusal != "" && (err == nil || !strings.Contains(err.Error(), c.refusal)):
			t.Errorf("%s: got %v, want a refusal mentioning %q", c.name, err, c.refusal)
		}
	}
}
