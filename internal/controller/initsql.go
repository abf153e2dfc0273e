package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/metrics"
	"github.com/stillwaters/db-concierge/internal/tenant"
)

// spec.init runs SQL from a ConfigMap in a new database, as the main user: it can do in the
// database what the application can, and nothing outside it. It runs when the pass that creates
// the database has provisioned it, and again, with rerunOnChange, whenever the SQL differs from
// the last run's. status.init records each run by the SQL's checksum, so a failed SQL is not run
// again until it changes. The operator reads only ConfigMaps labelled for it (LabelInitSQL), for
// the reason it reads only labelled password sources.

// maxInitSQLBytes caps the SQL spec.init may run: enough for a schema and seed rows, not for a
// data load.
const maxInitSQLBytes = 512 << 10

// initScripts is where init ConfigMaps are read: the cache of labelled ones, or the API.
func (r *AppDatabaseReconciler) initScripts() client.Reader {
	if r.InitScripts != nil {
		return r.InitScripts
	}
	return r.APIReader
}

// initSQL reads spec.init's SQL. A ConfigMap that is missing, unlabelled or too large is an
// outcome the tenant can act on; err is a failure to read, retried.
func (r *AppDatabaseReconciler) initSQL(ctx context.Context, db *dbv1.AppDatabase) (string, *outcome, error) {
	ref := db.Spec.Init.ConfigMapRef
	key := client.ObjectKey{Namespace: db.EffectiveAppNamespace(), Name: ref.Name}
	where := fmt.Sprintf("spec.init names key %q of ConfigMap %s", ref.Key, key)
	var cm corev1.ConfigMap
	err := r.initScripts().Get(ctx, key, &cm)
	switch {
	case apierrors.IsNotFound(err) || err == nil && cm.Labels[dbv1.LabelInitSQL] != "true":
		o := failed(dbv1.ReasonInitSQLNotFound, where+", which does not exist or does not carry the label "+
			dbv1.LabelInitSQL+"=true that lets AppDatabases run it; the operator goes on once it does")
		return "", &o, nil
	case err != nil:
		return "", nil, fmt.Errorf("reading the init SQL, ConfigMap %s: %w", key, err)
	}
	sql, ok := cm.Data[ref.Key]
	switch {
	case !ok:
		o := failed(dbv1.ReasonInitSQLNotFound, where+", which has no such key (binaryData is not read)")
		return "", &o, nil
	case len(sql) > maxInitSQLBytes:
		o := failed(dbv1.ReasonInvalidSpec, fmt.Sprintf("%s, which holds %d bytes of SQL; at most %d are run: load data with the application instead",
			where, len(sql), maxInitSQLBytes))
		return "", &o, nil
	}
	return sql, nil, nil
}

// initDue reports whether a pass may have to run spec.init: the database is new (created by this
// pass, or by one that ended before the tenant was first Ready), or the SQL is to run again when
// it changes.
func initDue(db *dbv1.AppDatabase, databaseNew bool) bool {
	return db.Spec.Init != nil && (databaseNew || db.Spec.Init.RerunOnChange)
}

// runInit runs sql, spec.init's, as the main user when it has not run in this form before, or
// always (force) in a database this pass created. Just before it is sent, status.init records the
// run as Running (creating's pending write is finished first): a pass that stops while it runs
// leaves that, and the next pass reports it rather than run it twice. It returns the run to record
// (nil when none ran) and, for SQL that failed, the failure to report; err is a failure to be
// retried, before anything was sent.
func (r *AppDatabaseReconciler) runInit(ctx context.Context, db *dbv1.AppDatabase, engine tenant.Engine, conn credentialsOf, sql string, force bool, creating *progress) (*dbv1.InitStatus, *outcome, error) {
	sum := sha256.Sum256([]byte(sql))
	checksum := hex.EncodeToString(sum[:])
	ref := db.Spec.Init.ConfigMapRef
	where := fmt.Sprintf("the SQL in key %q of ConfigMap %s/%s", ref.Key, db.EffectiveAppNamespace(), ref.Name)
	if last := db.Status.Init; last != nil && last.Checksum == checksum && !force {
		switch last.Result {
		case dbv1.InitSucceeded:
			return nil, nil, nil
		case dbv1.InitRunning:
			o := initFailed(where, "the operator stopped while it ran, so it may be done in part")
			return nil, &o, nil
		}
		o := initFailed(where, last.Message)
		return nil, &o, nil
	}
	run := &dbv1.InitStatus{Checksum: checksum, LastRunTime: metav1.NewTime(time.Now().Truncate(time.Second)), Result: dbv1.InitRunning}
	err := engine.RunScript(ctx, conn.user, conn.password, conn.database, sql, func() error {
		creating.finish(db)
		return r.recordInitRun(ctx, db, run)
	})
	var refused *tenant.ScriptError
	switch {
	case errors.As(err, &refused):
		run.Result, run.Message = dbv1.InitFailed, refused.Message
		o := initFailed(where, refused.Message)
		return run, &o, nil
	case err != nil:
		return nil, nil, fmt.Errorf("running %s: %w", where, err)
	}
	r.Recorder.Eventf(db, nil, corev1.EventTypeNormal, "InitSQLRan", "Init", "Ran %s in database %s", where, db.Spec.DBName)
	run.Result = dbv1.InitSucceeded
	return run, nil, nil
}

// recordInitRun writes run into status.init, and nothing else of the status.
func (r *AppDatabaseReconciler) recordInitRun(ctx context.Context, db *dbv1.AppDatabase, run *dbv1.InitStatus) error {
	previous := db.Status.Init
	db.Status.Init = run.DeepCopy()
	start := time.Now()
	err := r.Client.Status().Update(ctx, db)
	metrics.ObserveStep(metrics.StepStatusWrite, start)
	if err != nil {
		db.Status.Init = previous
		return fmt.Errorf("%w: %w", errStatusWrite, err)
	}
	return nil
}

func initFailed(where, message string) outcome {
	return failed(dbv1.ReasonInitFailed, fmt.Sprintf("%s failed: %s; the statements before the failure stay done. "+
		"It runs again once the SQL changes", where, message))
}

// credentialsOf are the main account's credentials a script logs in with.
type credentialsOf struct{ user, password, database string }
