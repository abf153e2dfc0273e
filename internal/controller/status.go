package controller

import (
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/tenant"
)

// outcome is what one reconcile pass found: ready, or a failure reason with a message; plus what
// it changed in MySQL or in the Secret, and the target namespace's UID to record.
type outcome struct {
	ready   bool
	reason  string
	message string
	changes []tenant.Change
	// accounts, for a ready outcome, are the accounts provisioned, for status.accounts.
	accounts []dbv1.AccountStatus
	// appNamespaceUID, when set, is recorded as status.appNamespaceUID: the namespace this pass
	// found, first seen or confirmed by the platform team.
	appNamespaceUID string
	// planned are the changes made on schedule (a rotation, a grace period's end), not repairs.
	planned []tenant.Change
	// rotation, for a ready outcome, is status.passwordRotation.
	rotation *dbv1.PasswordRotationStatus
	// init, when set, is a run of spec.init to record in status.init, whether or not it succeeded.
	init *dbv1.InitStatus
}

func failed(reason, message string) outcome { return outcome{reason: reason, message: message} }

// desiredStatus computes the status an AppDatabase should have after a pass with outcome o. It is
// a pure function of its inputs, so "did anything change?" is a comparison, and a pass that found
// nothing to do produces the status the object already has.
func desiredStatus(db *dbv1.AppDatabase, o outcome, connectionString string, now metav1.Time) dbv1.AppDatabaseStatus {
	s := *db.Status.DeepCopy()
	s.ObservedGeneration = db.Generation
	s.UserName = db.Spec.EffectiveUserName()
	s.SecretName = db.Spec.EffectiveSecretName()
	s.AppNamespace = db.EffectiveAppNamespace()
	if o.appNamespaceUID != "" {
		s.AppNamespaceUID = o.appNamespaceUID
	}
	if o.init != nil {
		s.Init = o.init
	}

	cond := metav1.Condition{Type: dbv1.ConditionReady, ObservedGeneration: db.Generation}
	switch {
	case o.ready:
		s.Phase = dbv1.PhaseReady
		s.ConnectionString = connectionString
		s.Accounts = o.accounts
		s.PasswordRotation = o.rotation
		cond.Status, cond.Reason = metav1.ConditionTrue, dbv1.ReasonProvisioned
		cond.Message = "Database " + db.Spec.DBName + " is ready; credentials are in Secret " +
			s.AppNamespace + "/" + s.SecretName
	case o.reason == dbv1.ReasonProvisioning:
		s.Phase = dbv1.PhaseCreating
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, o.reason, o.message
	default:
		s.Phase = dbv1.PhaseFailed
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, o.reason, o.message
	}
	s.Message = cond.Message
	meta.SetStatusCondition(&s.Conditions, cond)

	requested := db.Annotations[dbv1.AnnotationReconcile]
	forced := requested != s.LastHandledReconcileAt
	s.LastHandledReconcileAt = requested
	unchanged := equality.Semantic.DeepEqual(withoutTime(s), withoutTime(db.Status))
	if forced || len(o.changes) > 0 || len(o.planned) > 0 || !unchanged || s.LastReconcileTime == nil {
		s.LastReconcileTime = &now
	}
	return s
}

// withoutTime blanks the fields that only record when something happened.
func withoutTime(s dbv1.AppDatabaseStatus) dbv1.AppDatabaseStatus {
	s = *s.DeepCopy()
	s.LastReconcileTime = nil
	return s
}

// isReady reports whether the status says Ready for the object's current generation.
func isReady(db *dbv1.AppDatabase) bool {
	c := meta.FindStatusCondition(db.Status.Conditions, dbv1.ConditionReady)
	return db.Status.Phase == dbv1.PhaseReady && c != nil && c.Status == metav1.ConditionTrue &&
		c.ObservedGeneration == db.Generation && db.Status.ObservedGeneration == db.Generation
}
