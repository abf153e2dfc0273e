package controller

import (
	"fmt"
	"maps"
	"strings"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/credentials"
)

// secretContent is what an account's Secret holds for conn: the connection's keys and the
// AppDatabase's own labels and annotations, with what its secretTemplate adds. The operator's
// labels and annotations win over the template's (the CRD refuses those keys anyway).
func secretContent(db *dbv1.AppDatabase, conn credentials.Connection) (data map[string][]byte, labels, annotations map[string]string, err error) {
	data = conn.SecretData()
	labels, annotations = secretMeta(db)
	t := db.Spec.SecretTemplate
	if t == nil {
		return data, labels, annotations, nil
	}
	templates, err := parseTemplates(t)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, tpl := range templates {
		if data[tpl.Key] != nil {
			return nil, nil, nil, fmt.Errorf("secretTemplate: key %q is written by DB Concierge", tpl.Key)
		}
		if data[tpl.Key], err = tpl.Render(conn); err != nil {
			return nil, nil, nil, fmt.Errorf("secretTemplate: %w", err)
		}
	}
	labels = merged(t.Labels, labels)
	annotations = merged(t.Annotations, annotations)
	return data, labels, annotations, nil
}

// merged is extra with own over it.
func merged(extra, own map[string]string) map[string]string {
	if len(extra) == 0 {
		return own
	}
	m := maps.Clone(extra)
	maps.Copy(m, own)
	return m
}

func parseTemplates(t *dbv1.SecretTemplate) ([]*credentials.Template, error) {
	templates := make([]*credentials.Template, 0, len(t.Data))
	for _, k := range t.Data {
		tpl, err := credentials.ParseTemplate(k.Key, k.Template)
		if err != nil {
			return nil, fmt.Errorf("secretTemplate: %w", err)
		}
		templates = append(templates, tpl)
	}
	return templates, nil
}

// checkSecretTemplate refuses a secretTemplate the operator cannot write, before anything is
// written: labels and annotations Kubernetes would refuse, templates that do not parse, and
// templates that fail for the longest values a connection can have.
func checkSecretTemplate(db *dbv1.AppDatabase) error {
	t := db.Spec.SecretTemplate
	if t == nil {
		return nil
	}
	path := field.NewPath("spec", "secretTemplate")
	errs := metav1validation.ValidateLabels(t.Labels, path.Child("labels"))
	errs = append(errs, apivalidation.ValidateAnnotations(t.Annotations, path.Child("annotations"))...)
	if len(errs) > 0 {
		return fmt.Errorf("%s", errs.ToAggregate().Error())
	}
	longest := credentials.Connection{Host: strings.Repeat("h", 253), Port: 65535, User: strings.Repeat("u", 32),
		Password: strings.Repeat("~", 128), Database: strings.Repeat("d", 64)}
	_, _, _, err := secretContent(db, longest)
	return err
}
