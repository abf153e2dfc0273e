package controller

import (
	"context"
	"errors"
	"fmt"

	logf "sigs.k8s.io/controller-runtime/pkg/log"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/cluster"
	"github.com/stillwaters/db-concierge/internal/tenant"
)

// classify turns an error from the cluster registry or the MySQL layer into the failure reason
// and message a developer reads. It changes nothing: what a reason calls for is failure's to do.
func (r *AppDatabaseReconciler) classify(ctx context.Context, db *dbv1.AppDatabase, err error) outcome {
	var unknown *cluster.UnknownClusterError
	var config *cluster.ConfigError
	var secretConflict *secretConflictError
	switch {
	case errors.As(err, &secretConflict):
		return failed(dbv1.ReasonSecretConflict, err.Error())
	case errors.As(err, &unknown):
		return failed(dbv1.ReasonUnknownCluster, err.Error())
	case errors.As(err, &config):
		return failed(dbv1.ReasonAdminCredentialsInvalid, err.Error()+"; the platform team fixes the cluster's admin Secret")
	}
	return r.classifyMySQL(ctx, db, err)
}

func (r *AppDatabaseReconciler) classifyMySQL(ctx context.Context, db *dbv1.AppDatabase, err error) outcome {
	switch tenant.KindOf(err) {
	case tenant.KindConflict:
		var conflict *tenant.ConflictError
		var adoption *tenant.AdoptionError
		var quota *tenant.QuotaError
		var heldOnly *tenant.HeldOnlyError
		switch {
		case errors.As(err, &heldOnly):
			return failed(dbv1.ReasonClusterNotAllowed, fmt.Sprintf("namespace %q may no longer have new databases or accounts on cluster %q: %v",
				db.EffectiveAppNamespace(), db.Spec.ClusterRef, err))
		case errors.As(err, &quota):
			return failed(dbv1.ReasonQuotaExceeded, quotaMessage(db, quota))
		case errors.As(err, &conflict):
			return failed(dbv1.ReasonOwnershipConflict, r.explainConflict(ctx, db, conflict))
		case errors.As(err, &adoption):
			return failed(dbv1.ReasonOwnershipConflict, "cannot adopt: "+err.Error())
		}
		return failed(dbv1.ReasonOwnershipConflict, err.Error())
	case tenant.KindMissing:
		return failed(dbv1.ReasonDatabaseMissing, err.Error())
	case tenant.KindInvalidInput:
		return invalidInput(db, err)
	case tenant.KindUnreachable:
		return failed(dbv1.ReasonClusterUnreachable, "cannot reach MySQL cluster "+db.Spec.ClusterRef+": "+tenant.UnreachableCause(err)+
			"; the operator retries by itself, and the platform team finds the details in the operator's log and the MySQLCluster's status")
	case tenant.KindAccessDenied:
		return failed(dbv1.ReasonAdminCredentialsInvalid, "MySQL cluster "+db.Spec.ClusterRef+
			" refused the operator's admin account: "+err.Error()+"; the platform team checks the admin credentials and privileges")
	}
	// Anything else — a privilege beyond the database the admin account may not revoke, a
	// statement the server refused, a login that failed after provisioning — is reported as it is.
	return failed(dbv1.ReasonProvisioningError, err.Error())
}

// quotaMessage says which quota is full and how room is made; nothing was created.
func quotaMessage(db *dbv1.AppDatabase, e *tenant.QuotaError) string {
	which := "maxDatabases"
	if e.Namespace != "" {
		which = "maxDatabasesPerNamespace"
	}
	return fmt.Sprintf("%s (%s of cluster %q); nothing was created. Make room by deleting an AppDatabase with deletionPolicy Delete, "+
		"or by releasing a retained database (docs/ownership.md), or ask the platform team for a larger quota; the operator tries again by itself",
		e.Error(), which, db.Spec.ClusterRef)
}

// invalidInput words a refusal of what the tenant gave: a password in one of its Secrets, or a
// value of its spec the server does not take.
func invalidInput(db *dbv1.AppDatabase, err error) outcome {
	var badPassword *tenant.PasswordError
	var policy *tenant.PasswordPolicyError
	switch {
	case errors.As(err, &badPassword):
		return failed(dbv1.ReasonPasswordRejected, fmt.Sprintf("%s in Secret %s; MySQL is left as it was: set a valid password in the Secret, "+
			"or remove its password key to have a new one generated", badPassword.Error(), secretOfAccount(db, badPassword.Account)))
	case errors.As(err, &policy):
		return failed(dbv1.ReasonPasswordRejected, fmt.Sprintf("the server's password policy refused the password in Secret %s (%s); "+
			"what this pass created in MySQL was taken back. The platform team compares the server's policy (MySQL: the validate_password "+
			"variables; MariaDB: simple_password_check_* and cracklib_password_check) with the MySQLCluster's spec.passwordPolicy, "+
			"which generated passwords follow; the operator tries again by itself", secretOfAccount(db, policy.Account), policy.Reason))
	}
	return failed(dbv1.ReasonInvalidSpec, "MySQL refused the spec: "+err.Error())
}

// secretOfAccount names ("namespace/name") the Secret holding an account's credentials; the main
// Secret when the account is not known.
func secretOfAccount(db *dbv1.AppDatabase, name string) string {
	for _, a := range accountsOf(db, 0) {
		if a.Name == name {
			return db.EffectiveAppNamespace() + "/" + a.secretName
		}
	}
	return db.EffectiveAppNamespace() + "/" + db.Spec.EffectiveSecretName()
}

// failure classifies err and returns it for retrying, or nil when its reason is terminal and
// retrying the same spec cannot help.
func (r *AppDatabaseReconciler) failure(ctx context.Context, db *dbv1.AppDatabase, err error) (outcome, error) {
	o := r.classify(ctx, db, err)
	r.noteUnreachable(ctx, db, o, err)
	if dbv1.IsTerminalReason(o.reason) {
		return o, nil
	}
	return o, err
}

// noteUnreachable has a cluster that did not answer probed, so that its tenants are retried as
// soon as it answers again; the whole error is the platform team's, in the log.
func (r *AppDatabaseReconciler) noteUnreachable(ctx context.Context, db *dbv1.AppDatabase, o outcome, err error) {
	if o.reason != dbv1.ReasonClusterUnreachable {
		return
	}
	// Another server behind the endpoints answers the probe: its tenants wait for the platform
	// team's acceptance instead (serverAccepted), not for a probe that would wake them at once.
	var changed *tenant.ServerChangedError
	if !errors.As(err, &changed) {
		r.Clusters.MarkUnreachable(db.Spec.ClusterRef)
	}
	logf.FromContext(ctx).Info("Cluster unreachable", "cluster", db.Spec.ClusterRef, "error", err.Error())
}
