package controller

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/cluster"
	"github.com/stillwaters/db-concierge/internal/metrics"
)

// Options configure the AppDatabase controller.
type Options struct {
	// PlatformNamespace holds the clusters' admin Secrets and may target other namespaces.
	PlatformNamespace string
	// AdminSecretName is the name of the admin Secret in PlatformNamespace.
	AdminSecretName string
	// MaxConcurrentReconciles bounds how many AppDatabases are worked on at once.
	MaxConcurrentReconciles int
	// MaxBackoff caps the per-object retry delay after failures.
	MaxBackoff time.Duration
	// ResyncPeriod is how often each cluster's Ready AppDatabases are swept for drift (sweep.go).
	ResyncPeriod time.Duration
	// ClusterCheckInterval is how often each MySQLCluster's status is refreshed.
	ClusterCheckInterval time.Duration
	// Clusters, when not empty, limits this operator instance to the named clusters.
	Clusters []string
	// RecreateMissingDatabases lets a dropped database of a deletionPolicy Delete tenant be
	// recreated empty.
	RecreateMissingDatabases bool
	// MaxConnsPerCluster caps each cluster's admin connection pool.
	MaxConnsPerCluster int
	// ConflictRecheckPeriod is how often an AppDatabase failed on something in its way that no
	// watch reports (a Secret DB Concierge did not create, a database or user that is not its
	// own) is tried again.
	ConflictRecheckPeriod time.Duration
}

// The operator's default limits on its requests to the Kubernetes API server. Since Kubernetes
// 1.29, API Priority and Fairness protects the server: it queues or refuses (429, which the
// client retries) what exceeds a flow's share. The client's own limit then only guards against a
// runaway loop, and must not be what paces a burst: at client-go's habitual 50 per second, a
// tenant's three writes and one Event cap a burst at about 15 tenants per second. These let 1,000
// tenants through in a few seconds and still stop a loop far below what an API server serves.
const (
	DefaultAPIQPS   = 500
	DefaultAPIBurst = 1000
)

const (
	indexClusterRef    = "spec.clusterRef"
	indexAppNamespace  = "appNamespace"
	baseRetryDelay     = time.Second
	controllerName     = "appdatabase"
	eventRecorderName  = "db-concierge-operator"
	overallRetryRate   = 10
	overallRetryBurst  = 100
	reachableEventsCap = 64
)

// SetupWithManager builds the cluster registry and the AppDatabase and MySQLCluster controllers,
// and registers them with mgr. The manager's cache must hold only managed Secrets, and those and
// the AppDatabases trimmed (see CachedObjects).
func SetupWithManager(ctx context.Context, mgr manager.Manager, opts Options) error {
	// The admin Secrets carry no label of ours, so they are read through a second cache limited to
	// the platform namespace instead of widening the main one.
	platform, err := cache.New(mgr.GetConfig(), cache.Options{
		Scheme:            mgr.GetScheme(),
		Mapper:            mgr.GetRESTMapper(),
		DefaultNamespaces: map[string]cache.Config{opts.PlatformNamespace: {}},
		DefaultTransform:  cache.TransformStripManagedFields(),
	})
	if err != nil {
		return fmt.Errorf("creating the platform namespace cache: %w", err)
	}
	if err := mgr.Add(platform); err != nil {
		return err
	}

	// Password sources (passwordFrom) carry a label of their own, not ours: a third cache holds
	// them alone, trimmed as managed Secrets are.
	sources, err := cache.New(mgr.GetConfig(), cache.Options{
		Scheme: mgr.GetScheme(),
		Mapper: mgr.GetRESTMapper(),
		ByObject: map[client.Object]cache.ByObject{&corev1.Secret{}: {
			Label:     labels.SelectorFromSet(labels.Set{dbv1.LabelPasswordSource: "true"}),
			Transform: transformSecret,
		}},
	})
	if err != nil {
		return fmt.Errorf("creating the password source cache: %w", err)
	}
	if err := mgr.Add(sources); err != nil {
		return err
	}
	// So do the ConfigMaps of spec.init.
	initScripts, err := cache.New(mgr.GetConfig(), cache.Options{
		Scheme: mgr.GetScheme(),
		Mapper: mgr.GetRESTMapper(),
		ByObject: map[client.Object]cache.ByObject{&corev1.ConfigMap{}: {
			Label:     labels.SelectorFromSet(labels.Set{dbv1.LabelInitSQL: "true"}),
			Transform: cache.TransformStripManagedFields(),
		}},
	})
	if err != nil {
		return fmt.Errorf("creating the init SQL cache: %w", err)
	}
	if err := mgr.Add(initScripts); err != nil {
		return err
	}

	// When an unreachable cluster answers again, its waiting tenants and its status are redone.
	tenantsWaiting := make(chan event.GenericEvent, reachableEventsCap)
	clusterBack := make(chan event.GenericEvent, reachableEventsCap)
	registry := cluster.NewRegistry(mgr.GetClient(), platform, cluster.Options{
		Namespace:     opts.PlatformNamespace,
		SecretName:    opts.AdminSecretName,
		Only:          opts.Clusters,
		MaxOpenConns:  opts.MaxConnsPerCluster,
		ProbeInterval: min(opts.MaxBackoff, 10*time.Second),
		Notified:      true,
		OnReachable:   announceReachable(tenantsWaiting, clusterBack),
	})
	if err := mgr.Add(registry); err != nil {
		return err
	}
	// Any change of a MySQLCluster or a platform Secret makes the registry check its pools again.
	invalidate := toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { registry.Invalidate() },
		UpdateFunc: func(any, any) { registry.Invalidate() },
		DeleteFunc: func(any) { registry.Invalidate() },
	}
	for _, source := range []struct {
		cache  cache.Cache
		object client.Object
	}{{platform, &corev1.Secret{}}, {mgr.GetCache(), &dbv1.MySQLCluster{}}} {
		informer, err := source.cache.GetInformer(ctx, source.object)
		if err != nil {
			return fmt.Errorf("watching cluster configuration: %w", err)
		}
		if _, err := informer.AddEventHandler(invalidate); err != nil {
			return fmt.Errorf("watching cluster configuration: %w", err)
		}
	}

	indexer := mgr.GetFieldIndexer()
	if err := indexer.IndexField(ctx, &dbv1.AppDatabase{}, indexClusterRef, func(o client.Object) []string {
		return []string{o.(*dbv1.AppDatabase).Spec.ClusterRef}
	}); err != nil {
		return err
	}
	if err := indexer.IndexField(ctx, &dbv1.AppDatabase{}, indexAppNamespace, func(o client.Object) []string {
		return []string{o.(*dbv1.AppDatabase).EffectiveAppNamespace()}
	}); err != nil {
		return err
	}

	r := &AppDatabaseReconciler{
		Client:                   mgr.GetClient(),
		APIReader:                mgr.GetAPIReader(),
		Informers:                mgr.GetCache(),
		PasswordSources:          sources,
		InitScripts:              initScripts,
		Clusters:                 registry,
		PlatformNamespace:        opts.PlatformNamespace,
		ResyncPeriod:             opts.ResyncPeriod,
		RecreateMissingDatabases: opts.RecreateMissingDatabases,
		ConflictRecheckPeriod:    opts.ConflictRecheckPeriod,
	}
	r.Recorder = redactingRecorder{EventRecorder: mgr.GetEventRecorder(eventRecorderName), redact: r.tenantMessage}
	metrics.Register(ctrlmetrics.Registry)
	ctrlmetrics.Registry.MustRegister(&appDatabasesCollector{tenants: r.cachedAppDatabases(), clusters: registry})
	served := predicate.NewPredicateFuncs(func(o client.Object) bool {
		return registry.Serves(o.(*dbv1.AppDatabase).Spec.ClusterRef)
	})
	err = builder.ControllerManagedBy(mgr).
		Named(controllerName).
		For(&dbv1.AppDatabase{}, builder.WithPredicates(served, specOrMetadataChanged())).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(secretOwner),
			builder.WithPredicates(predicate.Funcs{CreateFunc: func(event.CreateEvent) bool { return false }})).
		WatchesMetadata(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.waitingForNamespace),
			builder.WithPredicates(predicate.Funcs{
				// New labels may bring a namespace into a cluster's allowedNamespaces.
				UpdateFunc: func(e event.UpdateEvent) bool {
					return !maps.Equal(e.ObjectOld.GetLabels(), e.ObjectNew.GetLabels())
				},
				DeleteFunc: func(event.DeleteEvent) bool { return false },
			})).
		Watches(&dbv1.MySQLCluster{}, handler.EnqueueRequestsFromMapFunc(r.ofCluster),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&dbv1.MySQLCluster{}, handler.EnqueueRequestsFromMapFunc(r.waitingForCluster),
			builder.WithPredicates(serverAccepted)).
		WatchesRawSource(source.Kind(platform, &corev1.Secret{}, handler.TypedEnqueueRequestsFromMapFunc(r.usingAdminSecret))).
		WatchesRawSource(source.Kind(sources, &corev1.Secret{}, handler.TypedEnqueueRequestsFromMapFunc(r.usingPasswordSource))).
		WatchesRawSource(source.Kind(initScripts, &corev1.ConfigMap{}, handler.TypedEnqueueRequestsFromMapFunc(r.usingInitSQL))).
		WatchesRawSource(source.Channel(tenantsWaiting, handler.EnqueueRequestsFromMapFunc(r.waitingForCluster))).
		WatchesRawSource(&driftSweep{r: r, elected: mgr.Elected()}).
		WithOptions(controller.Options{
			MaxConcurrentReconciles: opts.MaxConcurrentReconciles,
			RateLimiter:             rateLimiter(opts.MaxBackoff),
		}).
		Complete(r)
	if err != nil {
		return err
	}

	cr := &MySQLClusterReconciler{Client: mgr.GetClient(), Clusters: registry, CheckInterval: opts.ClusterCheckInterval}
	return builder.ControllerManagedBy(mgr).
		Named("mysqlcluster").
		For(&dbv1.MySQLCluster{}, builder.WithPredicates(
			predicate.NewPredicateFuncs(func(o client.Object) bool { return registry.Serves(o.GetName()) }),
			// The annotation accepting another server is checked at once.
			predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		WatchesRawSource(source.Kind(platform, &corev1.Secret{}, handler.TypedEnqueueRequestsFromMapFunc(
			func(ctx context.Context, s *corev1.Secret) []reconcile.Request {
				return namedRequests(registry.ClustersUsingSecret(ctx, s.Name))
			}))).
		WatchesRawSource(source.Channel(clusterBack, &handler.EnqueueRequestForObject{})).
		WithOptions(controller.Options{RateLimiter: rateLimiter(opts.MaxBackoff)}).
		Complete(cr)
}

// announceReachable returns the registry's OnReachable: it hands the cluster's name to each
// channel without waiting for the channel to be read, so that the probe loop, which calls it, is
// never held up by a controller that is busy or not started.
func announceReachable(channels ...chan<- event.GenericEvent) func(name string) {
	return func(name string) {
		e := event.GenericEvent{Object: &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: name}}}
		for _, ch := range channels {
			select {
			case ch <- e:
			default:
				go func() { ch <- e }()
			}
		}
	}
}

func rateLimiter(maxBackoff time.Duration) workqueue.TypedRateLimiter[reconcile.Request] {
	return workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](min(baseRetryDelay, maxBackoff), maxBackoff),
		&workqueue.TypedBucketRateLimiter[reconcile.Request]{Limiter: rate.NewLimiter(overallRetryRate, overallRetryBurst)},
	)
}

func namedRequests(names []string) []reconcile.Request {
	reqs := make([]reconcile.Request, 0, len(names))
	for _, n := range names {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Name: n}})
	}
	return reqs
}

// specOrMetadataChanged lets through what can change the work to do — a new generation (spec or
// deletion), or changed annotations (the force-reconcile annotation) — and drops the events of the
// operator's own status writes.
func specOrMetadataChanged() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectOld.GetGeneration() != e.ObjectNew.GetGeneration() ||
			!maps.Equal(e.ObjectOld.GetAnnotations(), e.ObjectNew.GetAnnotations()) ||
			!e.ObjectOld.GetDeletionTimestamp().Equal(e.ObjectNew.GetDeletionTimestamp())
	}}
}

// secretOwner maps a managed Secret back to its AppDatabase, so a Secret edited or deleted by hand
// is repaired.
func secretOwner(_ context.Context, o client.Object) []reconcile.Request {
	ns, name, ok := splitOwner(o.GetAnnotations()[dbv1.AnnotationOwner])
	if !ok {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}}
}

// waitingForNamespace requeues, when a namespace is created or relabelled, the AppDatabases waiting
// for it (or for a label that lets them use their cluster), and
// those that recorded another namespace of that name: it was replaced, even if they did not see it
// go.
func (r *AppDatabaseReconciler) waitingForNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	return r.requests(ctx, client.MatchingFields{indexAppNamespace: o.GetName()}, func(db *dbv1.AppDatabase) bool {
		replaced := db.Status.AppNamespaceUID != "" && db.Status.AppNamespaceUID != string(o.GetUID())
		return r.Clusters.Serves(db.Spec.ClusterRef) && (!isReady(db) || replaced)
	})
}

// waitingForCluster requeues, when a cluster answers again or its new server is accepted, its
// tenants that are not Ready and the Ready ones whose pass was cut short meanwhile.
func (r *AppDatabaseReconciler) waitingForCluster(ctx context.Context, o client.Object) []reconcile.Request {
	cutShort := r.takeCutShort(o.GetName())
	return r.requests(ctx, client.MatchingFields{indexClusterRef: o.GetName()}, func(db *dbv1.AppDatabase) bool {
		return r.Clusters.Serves(db.Spec.ClusterRef) && (!isReady(db) || cutShort[client.ObjectKeyFromObject(db)])
	})
}

// usingAdminSecret requeues, when a Secret configuring clusters changes, the tenants of those
// clusters (their Secrets may need a new host or port) and every tenant not Ready (the change may
// be the fix it waits for).
func (r *AppDatabaseReconciler) usingAdminSecret(ctx context.Context, s *corev1.Secret) []reconcile.Request {
	if !r.Clusters.IsAdminSecret(ctx, s.Name) {
		return nil
	}
	names := r.Clusters.ClustersUsingSecret(ctx, s.Name)
	if cfg, err := cluster.ConfigFromLegacySecret(s); err == nil {
		names = append(names, cfg.Name)
	}
	return r.requests(ctx, nil, func(db *dbv1.AppDatabase) bool {
		return r.Clusters.Serves(db.Spec.ClusterRef) && (slices.Contains(names, db.Spec.ClusterRef) || !isReady(db))
	})
}

// usingPasswordSource requeues the tenants of a password source's namespace that take a password
// from it.
func (r *AppDatabaseReconciler) usingPasswordSource(ctx context.Context, s *corev1.Secret) []reconcile.Request {
	names := func(from *dbv1.PasswordSource) bool { return from != nil && from.SecretKeyRef.Name == s.Name }
	return r.requests(ctx, client.MatchingFields{indexAppNamespace: s.Namespace}, func(db *dbv1.AppDatabase) bool {
		if !r.Clusters.Serves(db.Spec.ClusterRef) {
			return false
		}
		return names(db.Spec.PasswordFrom) || slices.ContainsFunc(db.Spec.Users, func(u dbv1.AppDatabaseUser) bool { return names(u.PasswordFrom) })
	})
}

// serverAccepted passes a MySQLCluster whose recorded server identity was replaced: the platform
// team accepted another server, and the tenants waiting for it go on at once. Recording the first
// identity wakes nobody.
var serverAccepted = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		old, okOld := e.ObjectOld.(*dbv1.MySQLCluster)
		cur, okNew := e.ObjectNew.(*dbv1.MySQLCluster)
		return okOld && okNew && old.Status.ServerIdentity != "" && old.Status.ServerIdentity != cur.Status.ServerIdentity
	},
	CreateFunc:  func(event.CreateEvent) bool { return false },
	DeleteFunc:  func(event.DeleteEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
}

// usingInitSQL requeues the tenants of a ConfigMap's namespace whose spec.init names it.
func (r *AppDatabaseReconciler) usingInitSQL(ctx context.Context, cm *corev1.ConfigMap) []reconcile.Request {
	return r.requests(ctx, client.MatchingFields{indexAppNamespace: cm.Namespace}, func(db *dbv1.AppDatabase) bool {
		return r.Clusters.Serves(db.Spec.ClusterRef) && db.Spec.Init != nil && db.Spec.Init.ConfigMapRef.Name == cm.Name
	})
}

// ofCluster requeues the tenants of a cluster whose MySQLCluster changed, and the tenants not
// Ready (a new MySQLCluster may be the one they name).
func (r *AppDatabaseReconciler) ofCluster(ctx context.Context, o client.Object) []reconcile.Request {
	return r.requests(ctx, nil, func(db *dbv1.AppDatabase) bool {
		return db.Spec.ClusterRef == o.GetName() || r.Clusters.Serves(db.Spec.ClusterRef) && !isReady(db)
	})
}

func (r *AppDatabaseReconciler) requests(ctx context.Context, match client.ListOption, keep func(*dbv1.AppDatabase) bool) []reconcile.Request {
	var list dbv1.AppDatabaseList
	// keep only reads: the cache's objects need no copies.
	opts := []client.ListOption{client.UnsafeDisableDeepCopy}
	if match != nil {
		opts = append(opts, match)
	}
	if err := r.Client.List(ctx, &list, opts...); err != nil {
		logf.FromContext(ctx).Error(err, "Listing AppDatabases to requeue")
		return nil
	}
	var reqs []reconcile.Request
	for i := range list.Items {
		if keep(&list.Items[i]) {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	return reqs
}
