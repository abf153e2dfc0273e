//go:build integration

package integration

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
)

// A template adds labels, annotations and keys to every account's Secret, rendered from that
// account's connection, and the operator keeps them as it keeps its own keys.
func TestSecretTemplate(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "tpl")
	template := &dbv1.SecretTemplate{
		Labels:      map[string]string{"team": "shop"},
		Annotations: map[string]string{"reloader.stakater.com/match": "true"},
		Data: []dbv1.SecretTemplateKey{
			{Key: "jdbc-mariadb-uri", Template: "jdbc:mariadb://{{ .Host }}:{{ .Port }}/{{ .Database }}"},
			{Key: "SQLALCHEMY_URL", Template: "mysql+pymysql://{{ .Username | urlencode }}:{{ .Password | urlencode }}@{{ .Host }}:{{ .Port }}/{{ .Database }}"},
		},
	}
	db := newAppDB("tpl", "tpl", dbv1.AppDatabaseSpec{DBName: "tpl", SecretTemplate: template,
		Users: []dbv1.AppDatabaseUser{{Name: "tpl_ro", Access: dbv1.AccessReadOnly}}})
	create(t, db)
	db = waitReady(t, db)

	check := func(when string) {
		t.Helper()
		for _, a := range db.Status.Accounts {
			var s corev1.Secret
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: "tpl", Name: a.SecretName}, &s); err != nil {
				t.Fatal(err)
			}
			secrets.Store(string(s.Data["password"]), "tpl "+a.Name)
			if s.Labels["team"] != "shop" || s.Annotations["reloader.stakater.com/match"] != "true" || s.Labels[dbv1.LabelManagedBy] != dbv1.ManagedByValue {
				t.Errorf("%s, Secret %s: labels %v, annotations %v", when, a.SecretName, s.Labels, s.Annotations)
			}
			if got := string(s.Data["jdbc-mariadb-uri"]); got != "jdbc:mariadb://127.0.0.1:"+string(s.Data["port"])+"/tpl" {
				t.Errorf("%s, Secret %s: jdbc-mariadb-uri %q", when, a.SecretName, got)
			}
			u, err := url.Parse(string(s.Data["SQLALCHEMY_URL"]))
			if err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			if pw, _ := u.User.Password(); u.User.Username() != a.Name || pw != string(s.Data["password"]) {
				t.Errorf("%s, Secret %s: SQLALCHEMY_URL does not carry its account's credentials", when, a.SecretName)
			}
		}
	}
	check("once Ready")

	// Edited by hand: the templated key, label and annotation are written again.
	s := secretOf(t, db)
	delete(s.Data, "jdbc-mariadb-uri")
	s.Labels["team"] = "other"
	delete(s.Annotations, "reloader.stakater.com/match")
	if err := k8s.Update(ctx, s); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the templated keys restored", func() error {
		s := secretOf(t, db)
		if s.Labels["team"] != "shop" || s.Data["jdbc-mariadb-uri"] == nil || s.Annotations["reloader.stakater.com/match"] != "true" {
			return errors.New("not yet")
		}
		return nil
	})
	check("after an edit by hand")

	// A changed template is applied.
	patch := client.MergeFrom(db.DeepCopy())
	db.Spec.SecretTemplate.Data[0].Template = "jdbc:mariadb://{{ .Host }}:{{ .Port }}/{{ .Database }}?useSsl=false"
	if err := k8s.Patch(ctx, db, patch); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the changed template applied", func() error {
		if !strings.HasSuffix(string(secretOf(t, db).Data["jdbc-mariadb-uri"]), "?useSsl=false") {
			return errors.New("not yet")
		}
		return nil
	})

	// Refused by the API server: what the operator owns, and sizes.
	refusedByAPI := []struct {
		name string
		tpl  dbv1.SecretTemplate
		want string
	}{
		{"a key DB Concierge writes", dbv1.SecretTemplate{Data: []dbv1.SecretTemplateKey{{Key: "password", Template: "x"}}}, "written by DB Concierge"},
		{"an operator's label", dbv1.SecretTemplate{Labels: map[string]string{dbv1.LabelAppDatabaseName: "x"}}, "are the operator's"},
		{"an operator's annotation", dbv1.SecretTemplate{Annotations: map[string]string{dbv1.AnnotationOwnerUID: "x"}}, "are the operator's"},
		{"a huge template", dbv1.SecretTemplate{Data: []dbv1.SecretTemplateKey{{Key: "big", Template: strings.Repeat("{{ .Password }}", 300)}}}, "spec.secretTemplate.data[0].template"},
		{"a key no Secret can hold", dbv1.SecretTemplate{Data: []dbv1.SecretTemplateKey{{Key: "a/b", Template: "x"}}}, "spec.secretTemplate.data[0].key"},
	}
	for _, c := range refusedByAPI {
		err := k8s.Create(ctx, newAppDB("tpl", "refused", dbv1.AppDatabaseSpec{DBName: "tpl_refused", SecretTemplate: &c.tpl}))
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want a refusal naming %q", c.name, err, c.want)
		}
	}

	// Refused by the operator, before anything is written: what only rendering can tell.
	refusedByOperator := []struct {
		name string
		tpl  dbv1.SecretTemplate
		want string
	}{
		{"an unknown field", dbv1.SecretTemplate{Data: []dbv1.SecretTemplateKey{{Key: "k", Template: "{{ .Pasword }}"}}}, "unknown field .Pasword"},
		{"printf", dbv1.SecretTemplate{Data: []dbv1.SecretTemplateKey{{Key: "k", Template: `{{ printf "%099999999d" 1 }}`}}}, "function printf is not allowed"},
		{"a range", dbv1.SecretTemplate{Data: []dbv1.SecretTemplateKey{{Key: "k", Template: "{{ range 1000000000 }}x{{ end }}"}}}, "is not allowed"},
		{"a rendering too long", dbv1.SecretTemplate{Data: []dbv1.SecretTemplateKey{{Key: "k", Template: strings.Repeat("{{ .Password }}", 200)}}}, "renders more than"},
		{"a label value Kubernetes refuses", dbv1.SecretTemplate{Labels: map[string]string{"team": "has spaces"}}, "spec.secretTemplate.labels"},
	}
	for i, c := range refusedByOperator {
		name := "refused-" + string(rune('a'+i))
		refused := newAppDB("tpl", name, dbv1.AppDatabaseSpec{DBName: "tpl_refused_" + string(rune('a'+i)), SecretTemplate: &c.tpl})
		create(t, refused)
		failed := waitFor(t, client.ObjectKeyFromObject(refused), dbv1.PhaseFailed, dbv1.ReasonInvalidSpec)
		if !strings.Contains(failed.Status.Message, c.want) {
			t.Errorf("%s: message %q, want it to name %q", c.name, failed.Status.Message, c.want)
		}
		if databaseExists(t, refused.Spec.DBName) {
			t.Errorf("%s: the database was created", c.name)
		}
		deleteAndWait(t, refused)
	}
}
