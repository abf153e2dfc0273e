// Package controller reconciles AppDatabases: it orchestrates the cluster registry, the MySQL
// layer and the Kubernetes API, and records the result in status, conditions and events. It never
// builds SQL itself.
package controller

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/cluster"
	"github.com/stillwaters/db-concierge/internal/credentials"
	"github.com/stillwaters/db-concierge/internal/failpoint"
	"github.com/stillwaters/db-concierge/internal/metrics"
	"github.com/stillwaters/db-concierge/internal/tenant"
)

// AppDatabaseReconciler provisions the database, user and Secret an AppDatabase asks for.
type AppDatabaseReconciler struct {
	// Client reads through the manager's cache, which holds AppDatabases, namespace metadata and
	// only the Secrets labelled as managed by DB Concierge.
	Client client.Client
	// APIReader reads past the cache: it finds a Secret that is in the way but not ours.
	APIReader client.Reader
	// Informers is the cache behind Client, which loops over every tenant read in place; nil
	// lists through Client.
	Informers cache.Informers
	// PasswordSources reads the Secrets labelled as password sources (passwordFrom) from a cache
	// of those alone; nil reads them through APIReader.
	PasswordSources client.Reader
	// InitScripts reads the ConfigMaps labelled for spec.init from a cache of those alone; nil
	// reads them through APIReader.
	InitScripts client.Reader
	Recorder    recorder.EventRecorder
	Clusters    Clusters
	// PlatformNamespace is the only namespace whose AppDatabases may target other namespaces.
	PlatformNamespace string
	// ResyncPeriod is how often the drift sweep of each cluster checks its Ready AppDatabases
	// (sweep.go).
	ResyncPeriod time.Duration
	// RecreateMissingDatabases lets a dropped database of a deletionPolicy Delete tenant be
	// recreated empty; otherwise the AppDatabase fails with DatabaseMissing.
	RecreateMissingDatabases bool
	// ConflictRecheckPeriod is how often a tenant failed on something in its way that is not
	// watched (see recheckedReasons) is tried again; 0 never.
	ConflictRecheckPeriod time.Duration
	// ProgressDelay is how long a new tenant's pass runs before its status says Creating;
	// DefaultProgressDelay when 0.
	ProgressDelay time.Duration

	// cutShort holds, per cluster, the Ready tenants whose pass an outage of that cluster cut
	// short (their status is left as it was): they are passed again as soon as it answers, since
	// what the pass was to repair — a password recreated in the Secret, say — waits until then.
	cutShortMu sync.Mutex
	cutShort   map[string]map[types.NamespacedName]bool
}

// passCutShort records that a Ready tenant's pass did not get through to its cluster.
func (r *AppDatabaseReconciler) passCutShort(cluster string, key types.NamespacedName) {
	r.cutShortMu.Lock()
	defer r.cutShortMu.Unlock()
	if r.cutShort == nil {
		r.cutShort = map[string]map[types.NamespacedName]bool{}
	}
	if r.cutShort[cluster] == nil {
		r.cutShort[cluster] = map[types.NamespacedName]bool{}
	}
	r.cutShort[cluster][key] = true
}

// takeCutShort returns, and forgets, the tenants of cluster whose passes an outage cut short.
func (r *AppDatabaseReconciler) takeCutShort(cluster string) map[types.NamespacedName]bool {
	r.cutShortMu.Lock()
	defer r.cutShortMu.Unlock()
	keys := r.cutShort[cluster]
	delete(r.cutShort, cluster)
	return keys
}

// recheckedReasons are the terminal failures whose cause lies outside the AppDatabase, in objects
// no watch reports: a Secret DB Concierge did not create (only managed Secrets are watched), a
// database or user recorded for someone else or released by hand in MySQL, a database restored
// from a backup, a password policy changed on the server. Removing what is in the way is all it
// takes: the tenant is tried again every ConflictRecheckPeriod.
var recheckedReasons = map[string]bool{
	dbv1.ReasonSecretConflict:    true,
	dbv1.ReasonOwnershipConflict: true,
	dbv1.ReasonDatabaseMissing:   true,
	dbv1.ReasonPasswordRejected:  true,
	// Watched, but only once labelled as a password source.
	dbv1.ReasonPasswordSourceNotFound: true,
	// Room is made by deleting or releasing a database, in MySQL's records.
	dbv1.ReasonQuotaExceeded: true,
}

// terminal ends a pass that failed for a reason a person has to fix: nothing changes until the
// spec or a watched object does. It is a terminal error to controller-runtime (logged, counted in
// controller_runtime_terminal_reconcile_errors_total, not retried), except when the cause is out
// of the watches' sight (recheckedReasons): that tenant is tried again every
// ConflictRecheckPeriod.
func (r *AppDatabaseReconciler) terminal(o outcome) (reconcile.Result, error) {
	if recheckedReasons[o.reason] && r.ConflictRecheckPeriod > 0 {
		return reconcile.Result{RequeueAfter: r.ConflictRecheckPeriod}, nil
	}
	return reconcile.Result{}, reconcile.TerminalError(errors.New(o.reason + ": " + o.message))
}

// ReasonDriftRepaired is the Event reason of a repair: something was changed by hand.
const ReasonDriftRepaired = "DriftRepaired"

// Reconcile brings MySQL, the Secret and the status in line with one AppDatabase.
func (r *AppDatabaseReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	var db dbv1.AppDatabase
	if err := r.Client.Get(ctx, req.NamespacedName, &db); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if isTrimmed(&db) {
		// The cache holds this one in part (see transformAppDatabase): a finalizer patch needs
		// the whole list of finalizers.
		db = dbv1.AppDatabase{}
		if err := r.APIReader.Get(ctx, req.NamespacedName, &db); err != nil {
			return reconcile.Result{}, client.IgnoreNotFound(err)
		}
		trimAppDatabaseMetadata(&db)
	}
	if !r.Clusters.Serves(db.Spec.ClusterRef) {
		// Another operator instance serves that cluster (--clusters); whatever the event that
		// queued this object, it is not ours to touch.
		return reconcile.Result{}, nil
	}
	if !db.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, &db)
	}

	start := time.Now()
	wasReady := isReady(&db)
	everReady := db.Status.ConnectionString != ""
	var creating progress
	o, conn, err := r.provision(ctx, &db, &creating)
	creating.finish(&db)
	r.observe(&db, o, start, wasReady, everReady)
	if err != nil && wasReady && (o.reason == dbv1.ReasonClusterUnreachable || o.reason == dbv1.ReasonAdminCredentialsInvalid) {
		// A drift check during an outage: the tenant was Ready and nothing it asked for has
		// changed, so its status is not rewritten; the cluster's trouble is retried quietly.
		logf.FromContext(ctx).Info("Cluster unavailable during a drift check; status left as Ready", "reason", o.reason, "error", err.Error())
		r.passCutShort(db.Spec.ClusterRef, req.NamespacedName)
		return reconcile.Result{RequeueAfter: r.jitteredResync()}, nil
	}
	if errors.Is(err, errStatusWrite) {
		// The API server refused the status (most often a conflict): writing that refusal as the
		// status would fail the same way, or record a transient error as the tenant's state.
		return reconcile.Result{}, err
	}
	if statusErr := r.writeStatus(ctx, &db, o, conn); statusErr != nil {
		return reconcile.Result{}, errors.Join(err, statusErr)
	}
	switch {
	case err != nil:
		// Retrying: controller-runtime requeues with per-object exponential backoff (capped by
		// --max-backoff) and logs the error, which never carries a password.
		return reconcile.Result{}, err
	case !o.ready:
		return r.terminal(o)
	}
	// Ready: no timer of its own but its rotation's. Its cluster's drift sweep queues it again
	// if it drifts.
	return reconcile.Result{RequeueAfter: rotationWake(&db, time.Now())}, nil
}

// provision runs the steps of one pass. It returns the outcome for status; err is non-nil for a
// failure that is retried. A new tenant's pass arms creating to say so if it takes long; the
// caller finishes it.
func (r *AppDatabaseReconciler) provision(ctx context.Context, db *dbv1.AppDatabase, creating *progress) (o outcome, conn credentials.Connection, err error) {
	if o, refused := refuseSpec(db, r.PlatformNamespace); refused {
		return o, conn, nil
	}
	appNamespace := db.EffectiveAppNamespace()
	adopting := db.Annotations[dbv1.AnnotationAdopt] == "true"

	c, err := r.Clusters.Get(ctx, db.Spec.ClusterRef)
	if err != nil {
		var unknown *cluster.UnknownClusterError
		if errors.As(err, &unknown) {
			// The tenant is not told which clusters exist; the platform team is.
			logf.FromContext(ctx).Info("AppDatabase names a cluster that is not configured", "clusterRef", unknown.Name, "knownClusters", unknown.Known)
		}
		o, err := r.failure(ctx, db, err)
		return o, conn, err
	}
	defer c.Release()
	accounts := accountsOf(db, c.Config.DefaultMaxUserConnections)
	if err := checkConnectionLimits(accounts, c.Config); err != nil {
		if !isReady(db) {
			return failed(dbv1.ReasonInvalidSpec, err.Error()), conn, nil
		}
		// A cap lowered under a Ready tenant: it keeps what it has until its spec changes.
		r.Recorder.Eventf(db, nil, corev1.EventTypeWarning, dbv1.ReasonInvalidSpec, "Reconcile",
			"%v; the accounts keep their connection limits until this AppDatabase is changed", err)
	}
	policy := c.Config.PasswordPolicy
	rotating, dual := rotates(db), false
	if rotating {
		serverKeeps, err := c.Engine.SecondPasswords(ctx)
		if err != nil {
			o, err := r.failure(ctx, db, err)
			return o, conn, err
		}
		dual = secondPasswordsFor(db, serverKeeps, time.Now())
	}
	spec, o, refused := r.namedSpec(db, accounts, rotating && !dual, c)
	if refused {
		return o, conn, nil
	}
	conn = credentials.Connection{Host: c.Config.App.Host, Port: c.Config.App.Port, User: spec.Main().Name, Database: spec.Database}

	var ns metav1.PartialObjectMetadata
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	if err := r.Client.Get(ctx, client.ObjectKey{Name: appNamespace}, &ns); err != nil {
		if apierrors.IsNotFound(err) {
			o := failed(dbv1.ReasonNamespaceNotFound, fmt.Sprintf("namespace %q does not exist; the database is provisioned once it is created", appNamespace))
			return o, conn, errors.New(o.message)
		}
		return failed(dbv1.ReasonProvisioningError, "reading namespace: "+err.Error()), conn, err
	}
	nsUID, refusal := checkAppNamespace(db, ns.UID, r.PlatformNamespace)
	if refusal != nil {
		return *refusal, conn, nil
	}
	allowed, o, refused := r.checkClusterAllowed(db, c.Config, appNamespace, ns.Labels)
	if refused {
		return o, conn, nil
	}
	if recorded := db.Status.AppNamespaceUID; recorded != "" && recorded != nsUID && nsUID != "" {
		logf.FromContext(ctx).Info("Target namespace replaced; the platform team confirmed it", "namespace", appNamespace, "recordedUID", recorded, "uid", nsUID)
	}
	// Every outcome from here on records the namespace's UID, so that a namespace replaced before
	// the tenant was first Ready is noticed too.
	defer func() { o.appNamespaceUID = nsUID }()

	if err := r.syncFinalizer(ctx, db); err != nil {
		return failed(dbv1.ReasonProvisioningError, err.Error()), conn, err
	}
	provisioning := outcome{reason: dbv1.ReasonProvisioning, message: "Provisioning database " + spec.Database, appNamespaceUID: nsUID}
	if db.Status.Phase == "" || db.Status.Phase == dbv1.PhasePending {
		r.armProgress(ctx, creating, db, provisioning, conn)
	}

	// A Secret in the way is refused before anything is recorded. Looking past the cache costs an
	// API read, so a new or Ready tenant asks the cache of managed Secrets, and a Secret that is not
	// DB Concierge's shows when creating ours fails (the claim is then taken back). An adoption
	// needs the Secrets' passwords, and a failed tenant is likely to meet that Secret again, so
	// both read them from the API first.
	secrets, err := r.accountSecrets(ctx, db, accounts, adopting)
	if err != nil {
		o, err := r.failure(ctx, db, err)
		return o, conn, err
	}
	if (!rotating || dual) && secretsNamePartners(accounts, secrets) {
		// Rotated with partners once, but the configuration went away before the rotation was
		// recorded: the partners stay, or the Secret's account would be dropped.
		rotating, dual = true, false
		if spec, o, refused = r.namedSpec(db, accounts, rotating, c); refused {
			return o, conn, nil
		}
	}
	if dual {
		useSecondPasswords(accounts, secrets)
	}
	given, sourceRefused, err := r.sourcePasswords(ctx, db, accounts, policy)
	if sourceRefused != nil || err != nil {
		if sourceRefused == nil {
			o := failed(dbv1.ReasonProvisioningError, err.Error())
			sourceRefused = &o
		}
		return *sourceRefused, conn, err
	}
	// A new tenant's init SQL must be there before anything is created for it.
	firstPass := db.Status.ConnectionString == "" && !adopting
	var initSQL *string
	if initDue(db, firstPass) {
		sql, refusal, err := r.initSQL(ctx, db)
		if refusal != nil || err != nil {
			return outcomeOr(refusal, err), conn, err
		}
		initSQL = &sql
	}
	for i := range accounts {
		accounts[i].user = activeUser(accounts[i], secretUser(secrets[i]))
	}
	conn.User = accounts[0].user
	var adoption *tenant.Adoption
	if adopting {
		adoption = adoptionOf(accounts, secrets)
	}
	spec.RecreateMissingDatabase = r.RecreateMissingDatabases && db.Spec.EffectiveDeletionPolicy() == dbv1.DeletionPolicyDelete
	spec.Quota = r.quotaOf(db, c.Config)
	if !allowed {
		// Kept as it is: nothing new is recorded or created for a namespace taken out.
		spec.HeldOnly, spec.RecreateMissingDatabase = true, false
	}
	claimStart := time.Now()
	claim, err := c.Engine.Claim(ctx, spec, adoption, func(o tenant.Owner) bool { return r.ownerGone(ctx, o) })
	metrics.ObserveStep(metrics.StepClaim, claimStart)
	if err != nil {
		o, err := r.failure(ctx, db, err)
		return o, conn, err
	}
	if slices.Contains(secrets, nil) && appNamespace != db.Namespace {
		// A Secret is about to be created in another namespace. The cache may not have seen that
		// namespace deleted and created again by someone else yet: its UID is checked live.
		if o, refused := r.checkAppNamespaceLive(ctx, db); refused {
			return o, conn, errors.Join(c.Engine.Unclaim(ctx, spec.Owner.UID), r.retryError(o))
		}
		if db.Status.AppNamespaceUID == "" && !isReady(db) {
			// The namespace's UID is recorded before the first credentials go into it: should
			// the pass end here and the namespace be replaced before the next one, that pass
			// must see the difference (checkAppNamespace).
			creating.finish(db)
			if err := r.writeStatus(ctx, db, provisioning, conn); err != nil {
				return failed(dbv1.ReasonProvisioningError, err.Error()), conn, errors.Join(err, c.Engine.Unclaim(ctx, spec.Owner.UID))
			}
		}
	}
	var changes []tenant.Change
	for i, a := range accounts {
		accountConn := conn
		accountConn.User = a.user
		password, secretChanges, err := r.ensureSecret(ctx, db, accountConn, a, secrets[i], adopting, policy, given[i])
		if err != nil {
			// Nothing was created in MySQL: take back what is recorded for names nothing exists
			// under, so that a refused or failed request does not hold them.
			err = errors.Join(err, c.Engine.Unclaim(ctx, spec.Owner.UID))
			o, err := r.failure(ctx, db, err)
			return o, conn, err
		}
		accounts[i].Password = password
		changes = append(changes, secretChanges...)
	}
	failpoint.Hit("after-secret")
	conn.Password = accounts[0].Password

	now := time.Now()
	due := rotating && rotationDue(db, now)
	switching, err := newPasswords(db, accounts, given, due, inGrace(db, now), policy)
	if err != nil {
		return failed(dbv1.ReasonProvisioningError, err.Error()), conn, err
	}
	// A rotation is under way when one is due, when a source's password is being applied, or when
	// a Secret already names another account than recorded (a pass that switched it ended before
	// recording the rotation).
	rotated := due || len(switching) > 0
	for i := range accounts {
		if accounts[i].rotates() && switchedSince(db, accounts[i]) {
			rotated = true
			accounts[i].previousValidUntil = graceEnd(db, now)
		}
	}
	if err := r.setPasswordsAside(ctx, db, accounts, switching); err != nil {
		return failed(dbv1.ReasonProvisioningError, err.Error()), conn, err
	}
	if spec, err = engineSpec(db, accounts, switching, now, policy.Generate); err != nil {
		return failed(dbv1.ReasonProvisioningError, err.Error()), conn, err
	}
	spec.RecreateMissingDatabase = r.RecreateMissingDatabases && db.Spec.EffectiveDeletionPolicy() == dbv1.DeletionPolicyDelete
	provisionStart := time.Now()
	engineChanges, err := c.Engine.Provision(ctx, spec, claim)
	metrics.ObserveStep(metrics.StepProvision, provisionStart)
	for _, change := range engineChanges {
		logf.FromContext(ctx).Info("Changed MySQL", "cluster", c.Config.Name, "database", spec.Database, "user", spec.Main().Name, "change", change.Detail)
	}
	if err != nil {
		var refused *tenant.PasswordPolicyError
		if errors.As(err, &refused) {
			err = errors.Join(err, r.dropPasswordAside(ctx, db, accounts, switching, refused.Account))
		}
		o, err := r.failure(ctx, db, err)
		return o, conn, err
	}
	// The init SQL runs before a rotation switches any Secret, with the credentials in use: should
	// it fail, no switch waits to be recorded while the tenant is Failed.
	var initRun *dbv1.InitStatus
	if created := createdDatabase(engineChanges); initDue(db, firstPass || created) {
		if initSQL == nil {
			sql, refusal, err := r.initSQL(ctx, db)
			if refusal != nil || err != nil {
				return outcomeOr(refusal, err), conn, err
			}
			initSQL = &sql
		}
		var refusal *outcome
		initRun, refusal, err = r.runInit(ctx, db, c.Engine, credentialsOf{accounts[0].user, accounts[0].Password, spec.Database}, *initSQL, created, creating)
		switch {
		case err != nil:
			return failed(dbv1.ReasonProvisioningError, err.Error()), conn, err
		case refusal != nil:
			refusal.init = initRun
			return *refusal, conn, nil
		}
	}
	if len(switching) > 0 {
		failpoint.Hit("after-rotation-provision")
	}
	if err := r.switchSecrets(ctx, db, accounts, switching, conn, now); err != nil {
		return failed(dbv1.ReasonProvisioningError, err.Error()), conn, err
	}
	conn.User, conn.Password = accounts[0].user, accounts[0].Password
	drift, planned := splitPlanned(engineChanges, rotated)
	return outcome{ready: true, changes: append(changes, drift...), planned: planned, accounts: accountStatus(accounts),
		rotation: rotationStatus(db, now, strategyOf(rotating, dual), rotated), init: initRun}, conn, nil
}

// createdDatabase reports whether a pass created the database, or created it again after it was
// dropped by hand.
func createdDatabase(changes []tenant.Change) bool {
	return slices.ContainsFunc(changes, func(c tenant.Change) bool {
		return c.Kind == tenant.CreatedDatabase || c.Kind == tenant.RecreatedDatabase
	})
}

// outcomeOr is refusal, or for a failure to read (err) a retried ProvisioningError.
func outcomeOr(refusal *outcome, err error) outcome {
	if refusal != nil {
		return *refusal
	}
	return failed(dbv1.ReasonProvisioningError, err.Error())
}

// namedSpec is the spec naming every account the tenant holds, partners included (rotating),
// whichever of a pair is in use: what is validated and claimed. refused is an outcome for a spec
// that cannot be served.
func (r *AppDatabaseReconciler) namedSpec(db *dbv1.AppDatabase, accounts []account, rotating bool, c *cluster.Cluster) (tenant.Spec, outcome, bool) {
	if rotating {
		withPartners(accounts)
		if err := checkPartners(accounts); err != nil {
			return tenant.Spec{}, failed(dbv1.ReasonInvalidSpec, err.Error()), true
		}
	}
	spec, err := engineSpec(db, accounts, nil, time.Time{}, noPassword)
	if err == nil {
		err = c.Engine.Validate(spec)
	}
	if err != nil {
		return tenant.Spec{}, failed(dbv1.ReasonInvalidSpec, err.Error()), true
	}
	return spec, outcome{}, false
}

// accountSecrets returns each account's Secret, nil where there is none yet, or the error of a
// Secret in the way (see provision). When a pass is to create more than one Secret, those missing
// from the cache are looked up in the API too: a Secret in the way of the second must be found
// before the first is created, which would otherwise be left behind by a refused request.
func (r *AppDatabaseReconciler) accountSecrets(ctx context.Context, db *dbv1.AppDatabase, accounts []account, adopting bool) ([]*corev1.Secret, error) {
	secrets := make([]*corev1.Secret, len(accounts))
	pastCache := adopting || db.Status.Phase == dbv1.PhaseFailed
	missing := 0
	for i, a := range accounts {
		var err error
		if pastCache {
			secrets[i], err = r.existingSecret(ctx, db, a.secretName, adopting)
		} else {
			secrets[i], err = r.managedSecret(ctx, db, a.secretName)
		}
		if err != nil {
			return nil, err
		}
		if secrets[i] == nil {
			missing++
		}
	}
	if pastCache || missing < 2 {
		return secrets, nil
	}
	for i, a := range accounts {
		if secrets[i] != nil {
			continue
		}
		var err error
		if secrets[i], err = r.existingSecret(ctx, db, a.secretName, false); err != nil {
			return nil, err
		}
	}
	return secrets, nil
}

// refuseSpec returns the terminal failure for a spec the operator will not serve, whatever the
// admission policy let through: another namespace targeted from outside the platform namespace,
// names MySQL must not be given, adoption asked for outside the platform namespace.
func refuseSpec(db *dbv1.AppDatabase, platformNamespace string) (outcome, bool) {
	if db.EffectiveAppNamespace() != db.Namespace && db.Namespace != platformNamespace {
		return failed(dbv1.ReasonNamespaceNotAllowed, fmt.Sprintf(
			"an AppDatabase in namespace %q can only provision into %q; only AppDatabases in the platform namespace %q may set appNamespace to another namespace",
			db.Namespace, db.Namespace, platformNamespace)), true
	}
	accounts := accountsOf(db, 0)
	if err := tenantOf(db, accounts).Validate(); err != nil {
		return failed(dbv1.ReasonInvalidSpec, err.Error()), true
	}
	if err := checkSecretNames(accounts); err != nil {
		return failed(dbv1.ReasonInvalidSpec, err.Error()), true
	}
	if err := checkSecretTemplate(db); err != nil {
		return failed(dbv1.ReasonInvalidSpec, err.Error()), true
	}
	if _, set := db.Annotations[dbv1.AnnotationAdopt]; set && db.Namespace != platformNamespace {
		return failed(dbv1.ReasonInvalidSpec, fmt.Sprintf("annotation %s is honoured only on AppDatabases in the platform namespace %q: adoption is the platform team's step",
			dbv1.AnnotationAdopt, platformNamespace)), true
	}
	return outcome{}, false
}

// quotaOf is the cluster's database quota for db: the platform namespace's AppDatabases count
// toward the cluster's total only.
func (r *AppDatabaseReconciler) quotaOf(db *dbv1.AppDatabase, cfg cluster.Config) tenant.Quota {
	q := tenant.Quota{PerNamespace: cfg.MaxDatabasesPerNamespace, Total: cfg.MaxDatabases}
	if db.Namespace != r.PlatformNamespace {
		q.Namespace = db.Namespace
	}
	return q
}

// checkClusterAllowed refuses a namespace the cluster's allowedNamespaces leaves out, before
// anything is written. A namespace taken out keeps what it has: a tenant that was Ready and whose
// spec has not changed since goes on being repaired as it is, with a Warning Event.
func (r *AppDatabaseReconciler) checkClusterAllowed(db *dbv1.AppDatabase, cfg cluster.Config, namespace string, nsLabels map[string]string) (allowed bool, o outcome, refused bool) {
	if cfg.Allows(namespace, nsLabels) {
		return true, outcome{}, false
	}
	message := fmt.Sprintf("namespace %q may not have databases on cluster %q (%s): ask the platform team to allow it, or use another cluster",
		namespace, cfg.Name, cfg.Allowed.Field)
	if isReady(db) {
		r.Recorder.Eventf(db, nil, corev1.EventTypeWarning, dbv1.ReasonClusterNotAllowed, "Reconcile",
			"%s; the database keeps working as it is, and changes to this AppDatabase are refused", message)
		return false, outcome{}, false
	}
	return false, failed(dbv1.ReasonClusterNotAllowed, message), true
}

// checkAppNamespaceLive reads the target namespace from the API server, not the cache, and refuses
// it when it is gone, being deleted, or not the one recorded (checkAppNamespace).
func (r *AppDatabaseReconciler) checkAppNamespaceLive(ctx context.Context, db *dbv1.AppDatabase) (outcome, bool) {
	var ns metav1.PartialObjectMetadata
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	err := r.APIReader.Get(ctx, client.ObjectKey{Name: db.EffectiveAppNamespace()}, &ns)
	switch {
	case apierrors.IsNotFound(err) || err == nil && ns.DeletionTimestamp != nil:
		return failed(dbv1.ReasonNamespaceNotFound, fmt.Sprintf("namespace %q does not exist or is being deleted; the database is provisioned once it is created",
			db.EffectiveAppNamespace())), true
	case err != nil:
		return failed(dbv1.ReasonProvisioningError, "reading namespace: "+err.Error()), true
	}
	if _, refusal := checkAppNamespace(db, ns.UID, r.PlatformNamespace); refusal != nil {
		return *refusal, true
	}
	return outcome{}, false
}

// retryError is the error that makes a failure with a retrying reason be retried; nil for a
// terminal one.
func (r *AppDatabaseReconciler) retryError(o outcome) error {
	if dbv1.IsTerminalReason(o.reason) {
		return nil
	}
	return errors.New(o.message)
}

// checkAppNamespace decides whether the target namespace, found with UID found, may receive the
// credentials, and returns the UID to record. A namespace can be deleted and created again by
// someone else; an AppDatabase of the platform namespace that targets it would hand that person
// the database. The UID recorded when the namespace was first found tells the two apart, and only
// the platform team's annotation moves it on. A self-service AppDatabase needs none of this: it is
// deleted with its namespace.
func checkAppNamespace(db *dbv1.AppDatabase, found types.UID, platformNamespace string) (string, *outcome) {
	if db.EffectiveAppNamespace() == db.Namespace {
		return "", nil
	}
	recorded := db.Status.AppNamespaceUID
	confirmed := db.Namespace == platformNamespace && db.Annotations[dbv1.AnnotationAcceptAppNamespaceUID] == string(found)
	if recorded == "" || recorded == string(found) || confirmed {
		return string(found), nil
	}
	o := failed(dbv1.ReasonNamespaceReplaced, fmt.Sprintf("namespace %q was deleted and created again (its UID is %s, recorded %s): "+
		"whoever created it may not be the application this database belongs to, so no credentials are written into it. "+
		"The platform team confirms the new namespace with annotation %s=%s on this AppDatabase",
		db.EffectiveAppNamespace(), found, recorded, dbv1.AnnotationAcceptAppNamespaceUID, found))
	return "", &o
}

// syncFinalizer holds the object for cleanup exactly when its policy is Delete. It is added
// before the first MySQL write, so nothing the operator creates can outlive a Delete-policy object.
func (r *AppDatabaseReconciler) syncFinalizer(ctx context.Context, db *dbv1.AppDatabase) error {
	want := db.Spec.EffectiveDeletionPolicy() == dbv1.DeletionPolicyDelete
	if want == controllerutil.ContainsFinalizer(db, dbv1.Finalizer) {
		return nil
	}
	patch := client.MergeFromWithOptions(db.DeepCopy(), client.MergeFromWithOptimisticLock{})
	if want {
		controllerutil.AddFinalizer(db, dbv1.Finalizer)
	} else {
		controllerutil.RemoveFinalizer(db, dbv1.Finalizer)
	}
	defer metrics.ObserveStep(metrics.StepFinalizerWrite, time.Now())
	if err := r.Client.Patch(ctx, db, patch); err != nil {
		return fmt.Errorf("updating finalizer: %w", err)
	}
	return nil
}

// finalize drops what a Delete-policy AppDatabase owns, then lets it go.
func (r *AppDatabaseReconciler) finalize(ctx context.Context, db *dbv1.AppDatabase) (reconcile.Result, error) {
	if !controllerutil.ContainsFinalizer(db, dbv1.Finalizer) {
		return reconcile.Result{}, nil
	}
	if db.Spec.EffectiveDeletionPolicy() == dbv1.DeletionPolicyDelete {
		dropped, err := r.dropOwned(ctx, db)
		if err != nil {
			cause := r.classify(ctx, db, err)
			r.noteUnreachable(ctx, db, cause, err)
			o := failed(dbv1.ReasonDeleting, fmt.Sprintf("cannot drop the database and user yet (%s): %s; the AppDatabase stays until they are dropped, "+
				"and removing finalizer %s gives up and keeps them", cause.reason, cause.message, dbv1.Finalizer))
			return reconcile.Result{}, errors.Join(err, r.writeStatus(ctx, db, o, credentials.Connection{}))
		}
		if len(dropped) > 0 {
			r.Recorder.Eventf(db, nil, corev1.EventTypeNormal, dbv1.ReasonDeleting, "Drop",
				"Dropped %s (deletionPolicy Delete); the credentials Secrets in namespace %s are kept", strings.Join(dropped, " and "),
				db.EffectiveAppNamespace())
			logf.FromContext(ctx).Info("Dropped MySQL objects", "dropped", dropped)
		}
	}
	patch := client.MergeFromWithOptions(db.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(db, dbv1.Finalizer)
	if err := r.Client.Patch(ctx, db, patch); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	return reconcile.Result{}, nil
}

func (r *AppDatabaseReconciler) dropOwned(ctx context.Context, db *dbv1.AppDatabase) ([]string, error) {
	c, err := r.Clusters.Get(ctx, db.Spec.ClusterRef)
	if err != nil {
		return nil, err
	}
	defer c.Release()
	return c.Engine.DropOwned(ctx, string(db.UID))
}

var errStatusWrite = errors.New("writing status")

// writeStatus updates the status when it differs from what the object holds, and records an
// Event when the Ready condition changes.
func (r *AppDatabaseReconciler) writeStatus(ctx context.Context, db *dbv1.AppDatabase, o outcome, conn credentials.Connection) error {
	full := o.message
	o.message = r.tenantMessage(db, full)
	next := desiredStatus(db, o, conn.URL(false), metav1.Now())
	if equality.Semantic.DeepEqual(next, db.Status) {
		return nil
	}
	if o.message != full {
		// The tenant reads the message without the cluster's admin details; the platform team
		// reads it whole here.
		logf.FromContext(ctx).Info("Status message written without the cluster's admin details", "reason", o.reason, "message", full)
	}
	before := readyCondition(db.Status)
	// A whole-status update: it carries the resourceVersion, so a concurrent change makes it fail
	// and retry, and it costs one encoding, not the two and the diff of a merge patch.
	previous := db.Status
	db.Status = next
	start := time.Now()
	err := r.Client.Status().Update(ctx, db)
	metrics.ObserveStep(metrics.StepStatusWrite, start)
	if err != nil {
		db.Status = previous
		return fmt.Errorf("%w: %w", errStatusWrite, err)
	}
	after := readyCondition(db.Status)
	// An Event for every change of the outcome. Starting to provision is not one: it is the
	// outcome's absence, and an Event for it would double the Events of every new tenant.
	if (before.Status != after.Status || before.Reason != after.Reason) && after.Reason != dbv1.ReasonProvisioning {
		eventType := corev1.EventTypeWarning
		if after.Status == metav1.ConditionTrue {
			eventType = corev1.EventTypeNormal
		}
		r.Recorder.Eventf(db, nil, eventType, after.Reason, "Reconcile", "%s", after.Message)
	}
	return nil
}

// observe records a pass in metrics and, when it repaired a Ready tenant (something was changed
// by hand: no spec change asked for it), in an Event.
func (r *AppDatabaseReconciler) observe(db *dbv1.AppDatabase, o outcome, start time.Time, wasReady, everReady bool) {
	outcome := o.reason
	if o.ready {
		outcome = dbv1.ReasonProvisioned
	}
	metrics.Reconciles.WithLabelValues(outcome).Inc()
	metrics.ReconcileDuration.WithLabelValues(outcome).Observe(time.Since(start).Seconds())
	// clusterRef is the tenant's to choose: only a configured cluster (one with a pool) gets a
	// series, so made-up names cannot add any.
	if _, configured := r.Clusters.Current(db.Spec.ClusterRef); configured {
		switch {
		case o.ready:
			metrics.ClusterReachable.WithLabelValues(db.Spec.ClusterRef).Set(1)
		case o.reason == dbv1.ReasonClusterUnreachable:
			metrics.ClusterReachable.WithLabelValues(db.Spec.ClusterRef).Set(0)
		}
	}
	if o.ready && !everReady {
		metrics.TimeToReady.Observe(time.Since(db.CreationTimestamp.Time).Seconds())
	}
	if !wasReady || len(o.changes) == 0 {
		return
	}
	details := make([]string, 0, len(o.changes))
	for _, c := range o.changes {
		metrics.DriftRepairs.WithLabelValues(string(c.Kind)).Inc()
		details = append(details, c.Detail)
	}
	r.Recorder.Eventf(db, nil, corev1.EventTypeWarning, ReasonDriftRepaired, "Repair",
		"Changed outside DB Concierge and repaired: %s", summarize(details, maxEventDetails))
}

// maxEventDetails bounds the list of repairs in an Event: the API server refuses an Event note
// over 1024 characters, and a tenant with many accounts can need more repairs than fit.
const maxEventDetails = 900

// summarize joins details, and when they do not fit in limit characters, says how many more
// there are: the operator's log lists every change.
func summarize(details []string, limit int) string {
	var b strings.Builder
	for i, d := range details {
		sep := ""
		if i > 0 {
			sep = "; "
		}
		if b.Len()+len(sep)+len(d) > limit {
			if i == 0 {
				return "more than fits here (the operator's log lists every change)"
			}
			fmt.Fprintf(&b, "; and %d more (the operator's log lists them)", len(details)-i)
			break
		}
		b.WriteString(sep + d)
	}
	return b.String()
}

func readyCondition(s dbv1.AppDatabaseStatus) metav1.Condition {
	for _, c := range s.Conditions {
		if c.Type == dbv1.ConditionReady {
			return c
		}
	}
	return metav1.Condition{}
}

// jitteredResync is when a Ready tenant whose pass an outage cut short is tried again, if its
// cluster's return has not requeued it first; spread over ±20% of the period, so tenants cut short
// together do not stay in step.
func (r *AppDatabaseReconciler) jitteredResync() time.Duration {
	if r.ResyncPeriod <= 0 {
		return 0
	}
	return time.Duration(float64(r.ResyncPeriod) * (0.8 + 0.4*rand.Float64())) //nolint:gosec // G404: jitter, not a secret
}
