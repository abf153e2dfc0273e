package controller

import (
	"context"
	"errors"
	"fmt"

	logf "sigs.k8s.io/controller-runtime/pkg/log"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/cluster"
	"github.com/stillwaters/db-concierge/internal/mysql"
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
	var conflict *mysql.ConflictError
	var foreignGrant *mysql.ForeignGrantError
	var adoption *mysql.AdoptionError
	var missing *mysql.DatabaseMissingError
	var login *mysql.LoginError
	var badPassword *mysql.PasswordError
	var policy *mysql.PasswordPolicyError
	var revoke *mysql.RevokeError
	var statement *mysql.StatementError
	secret := db.EffectiveAppNamespace() + "/" + db.Spec.EffectiveSecretName()
	switch {
	case errors.As(err, &conflict):
		return failed(dbv1.ReasonOwnershipConflict, r.explainConflict(ctx, db, conflict))
	case errors.As(err, &foreignGrant):
		return failed(dbv1.ReasonOwnershipConflict, foreignGrant.Error())
	case errors.As(err, &adoption):
		return failed(dbv1.ReasonOwnershipConflict, "cannot adopt: "+err.Error())
	case errors.As(err, &missing):
		return failed(dbv1.ReasonDatabaseMissing, err.Error())
	case errors.As(err, &badPassword):
		return failed(dbv1.ReasonPasswordRejected, fmt.Sprintf("%s in Secret %s; MySQL is left as it was: set a valid password in the Secret, "+
			"or remove its password key to have a new one generated", badPassword.Error(), secret))
	case errors.As(err, &policy):
		return failed(dbv1.ReasonPasswordRejected, fmt.Sprintf("the server's password policy refused the password in Secret %s (%s); "+
			"what this pass created in MySQL was taken back; the platform team relaxes the policy for DB Concierge's passwords, "+
			"and the operator tries again by itself", secret, policy.Reason()))
	case errors.As(err, &revoke):
		// The tenant holds more than its database: never reported as Ready, and not a problem of
		// the cluster's credentials even when the server says "access denied".
		return failed(dbv1.ReasonProvisioningError, revoke.Error())
	case errors.As(err, &statement):
		return failed(dbv1.ReasonProvisioningError, statement.Error())
	case errors.As(err, &login):
		if mysql.Classify(err) == mysql.KindUnreachable {
			break
		}
		return failed(dbv1.ReasonProvisioningError, err.Error())
	}
	switch mysql.Classify(err) {
	case mysql.KindUnreachable:
		return failed(dbv1.ReasonClusterUnreachable, "cannot reach MySQL cluster "+db.Spec.ClusterRef+": "+mysql.UnreachableCause(err)+
			"; the operator retries by itself, and the platform team finds the details in the operator's log and the MySQLCluster's status")
	case mysql.KindAccessDenied:
		return failed(dbv1.ReasonAdminCredentialsInvalid, "MySQL cluster "+db.Spec.ClusterRef+
			" refused the operator's admin account: "+err.Error()+"; the platform team checks the admin credentials and privileges")
	case mysql.KindInvalidInput:
		return failed(dbv1.ReasonInvalidSpec, "MySQL refused the spec: "+err.Error())
	}
	return failed(dbv1.ReasonProvisioningError, err.Error())
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
	r.Clusters.MarkUnreachable(db.Spec.ClusterRef)
	logf.FromContext(ctx).Info("Cluster unreachable", "cluster", db.Spec.ClusterRef, "error", err.Error())
}
