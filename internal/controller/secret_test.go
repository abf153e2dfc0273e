package controller

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
)

func TestCheckSecretOwner(t *testing.T) {
	db := &dbv1.AppDatabase{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "orders"}}
	managed := map[string]string{dbv1.LabelManagedBy: dbv1.ManagedByValue}
	secret := func(labels, annotations map[string]string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "s", Labels: labels, Annotations: annotations}}
	}
	cases := []struct {
		name     string
		secret   *corev1.Secret
		adopting bool
		refusal  string // empty: accepted
	}{
		{"ours", secret(managed, map[string]string{dbv1.AnnotationOwner: "team-a/orders"}), false, ""},
		{"hand-made", secret(nil, nil), false, "not created by DB Concierge"},
		{"hand-made, adopting", secret(nil, nil), true, "not created by DB Concierge"},
		{"another AppDatabase's", secret(managed, map[string]string{dbv1.AnnotationOwner: "team-b/orders"}), false, "belongs to another AppDatabase"},
		{"another AppDatabase's, adopting", secret(managed, map[string]string{dbv1.AnnotationOwner: "team-b/orders"}), true, "belongs to another AppDatabase"},
		{"the seed's", secret(managed, nil), false, dbv1.AnnotationAdopt},
		{"the seed's, adopting", secret(managed, nil), true, ""},
	}
	for _, c := range cases {
		err := checkSecretOwner(c.secret, db, c.adopting)
		switch {
		case c.refusal == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.refusal != "" && (err == nil || !strings.Contains(err.Error(), c.refusal)):
			t.Errorf("%s: got %v, want a refusal mentioning %q", c.name, err, c.refusal)
		}
	}
}
