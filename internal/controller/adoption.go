package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/credentials"
	"github.com/stillwaters/db-concierge/internal/tenant"
)

// adoptionOf prepares the platform team's takeover of an existing database and accounts: each
// existing account must log in with the password in its Secret (created by the seed's operator,
// or by DB Concierge for an earlier owner), if there is one.
func adoptionOf(accounts []account, secrets []*corev1.Secret) *tenant.Adoption {
	a := &tenant.Adoption{Passwords: map[string]string{}}
	for i, acc := range accounts {
		if secrets[i] != nil {
			a.Passwords[acc.Name] = string(secrets[i].Data[credentials.KeyPassword])
		}
	}
	return a
}

// ownerGone reports whether the AppDatabase an ownership record names no longer exists: deleted,
// or replaced by another object of the same name (another UID). When in doubt it says no.
func (r *AppDatabaseReconciler) ownerGone(ctx context.Context, o tenant.Owner) bool {
	var current dbv1.AppDatabase
	err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: o.Namespace, Name: o.Name}, &current)
	if apierrors.IsNotFound(err) {
		return true
	}
	return err == nil && string(current.UID) != o.UID
}

// explainConflict says why a name is refused, and what can be done about it. It names no other
// tenant: a developer learns that the name is taken, not by whom.
func (r *AppDatabaseReconciler) explainConflict(ctx context.Context, db *dbv1.AppDatabase, c *tenant.ConflictError) string {
	if c.Owner == nil || !r.ownerGone(ctx, *c.Owner) {
		return c.Error()
	}
	earlier := "an AppDatabase that no longer exists (deleted with deletionPolicy Retain, or lost with its API server)"
	if c.Owner.Namespace == db.Namespace && c.Owner.Name == db.Name {
		earlier = "an earlier AppDatabase of the same name, since deleted with deletionPolicy Retain"
	}
	return fmt.Sprintf("%s %q was provisioned for %s; it is left untouched. Taking it over is the platform team's deliberate step: "+
		"annotation %s=true on an AppDatabase in the platform namespace %q. If it was dropped on purpose, the platform team releases "+
		"the name (docs/ownership.md).", c.Object, c.Name, earlier, dbv1.AnnotationAdopt, r.PlatformNamespace)
}
