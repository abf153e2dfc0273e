package controller

import (
	"context"
	"errors"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/cluster"
	"github.com/stillwaters/db-concierge/internal/mysql"
)

// classify turns an error from the cluster registry or the MySQL layer into the failure reason
// and message a developer reads, and notes unreachable clusters so their tenants are retried as
// soon as they answer again.
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
	var adoption *mysql.AdoptionError
	var missing *mysql.DatabaseMissingError
	var login *mysql.LoginError
	switch {
	case errors.As(err, &conflict):
		return failed(dbv1.ReasonOwnershipConflict, r.explainConflict(ctx, db, conflict))
	case errors.As(err, &adoption):
		return failed(dbv1.ReasonOwnershipConflict, "cannot adopt: "+err.Error())
	case errors.As(err, &missing):
		return failed(dbv1.ReasonDatabaseMissing, err.Error())
	case errors.As(err, &login):
		if mysql.Classify(err) == mysql.KindUnreachable {
			break
		}
		return failed(dbv1.ReasonProvisioningError, err.Error())
	}
	switch mysql.Classify(err) {
	case mysql.KindUnreachable:
		r.Clusters.MarkUnreachable(db.Spec.ClusterRef)
		return failed(dbv1.ReasonClusterUnreachable, "cannot reach MySQL cluster "+db.Spec.ClusterRef+": "+err.Error())
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
	if dbv1.IsTerminalReason(o.reason) {
		return o, nil
	}
	return o, err
}
