package controller

import (
	"context"
	"fmt"
	"maps"
	"time"

	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/cluster"
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
	// ResyncPeriod is the mean time between drift checks of Ready AppDatabases.
	ResyncPeriod time.Duration
	// MaxConnsPerCluster caps each cluster's admin connection pool.
	MaxConnsPerCluster int
}

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

// SetupWithManager builds the cluster registry and the AppDatabase controller and registers both
// with mgr. The manager's cache must hold only managed Secrets (see ManagedSecretsOnly).
func SetupWithManager(ctx context.Context, mgr manager.Manager, opts Options) error {
	// The admin Secrets carry no label of ours, so they are read through a second cache limited to
	// the platform namespace instead of widening the main one.
	platform, err := cache.New(mgr.GetConfig(), cache.Options{
		Scheme:            mgr.GetScheme(),
		Mapper:            mgr.GetRESTMapper(),
		DefaultNamespaces: map[string]cache.Config{opts.PlatformNamespace: {}},
	})
	if err != nil {
		return fmt.Errorf("creating the platform namespace cache: %w", err)
	}
	if err := mgr.Add(platform); err != nil {
		return err
	}

	reachable := make(chan event.GenericEvent, reachableEventsCap)
	registry := cluster.NewRegistry(platform, cluster.Options{
		Namespace:     opts.PlatformNamespace,
		SecretName:    opts.AdminSecretName,
		MaxOpenConns:  opts.MaxConnsPerCluster,
		ProbeInterval: min(opts.MaxBackoff, 10*time.Second),
		OnReachable: func(name string) {
			reachable <- event.GenericEvent{Object: &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: name}}}
		},
	})
	if err := mgr.Add(registry); err != nil {
		return err
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
		Client:            mgr.GetClient(),
		APIReader:         mgr.GetAPIReader(),
		Recorder:          mgr.GetEventRecorder(eventRecorderName),
		Clusters:          registry,
		PlatformNamespace: opts.PlatformNamespace,
		ResyncPeriod:      opts.ResyncPeriod,
	}
	rateLimiter := workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](min(baseRetryDelay, opts.MaxBackoff), opts.MaxBackoff),
		&workqueue.TypedBucketRateLimiter[reconcile.Request]{Limiter: rate.NewLimiter(overallRetryRate, overallRetryBurst)},
	)
	return builder.ControllerManagedBy(mgr).
		Named(controllerName).
		For(&dbv1.AppDatabase{}, builder.WithPredicates(specOrMetadataChanged())).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(secretOwner),
			builder.WithPredicates(predicate.Funcs{CreateFunc: func(event.CreateEvent) bool { return false }})).
		WatchesMetadata(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.waitingForNamespace),
			builder.WithPredicates(predicate.Funcs{
				UpdateFunc: func(event.UpdateEvent) bool { return false },
				DeleteFunc: func(event.DeleteEvent) bool { return false },
			})).
		WatchesRawSource(source.Kind(platform, &corev1.Secret{}, handler.TypedEnqueueRequestsFromMapFunc(r.usingAdminSecret))).
		WatchesRawSource(source.Channel(reachable, handler.EnqueueRequestsFromMapFunc(r.waitingForCluster))).
		WithOptions(controller.Options{
			MaxConcurrentReconciles: opts.MaxConcurrentReconciles,
			RateLimiter:             rateLimiter,
		}).
		Complete(r)
}

// ManagedSecretsOnly is the cache setting the manager needs: Secrets are cached only when they
// carry the managed-by label, never every Secret of the cluster.
func ManagedSecretsOnly() map[client.Object]cache.ByObject {
	return map[client.Object]cache.ByObject{
		&corev1.Secret{}: {Label: managedSelector()},
	}
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

func (r *AppDatabaseReconciler) waitingForNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	return r.requests(ctx, client.MatchingFields{indexAppNamespace: o.GetName()}, func(db *dbv1.AppDatabase) bool { return !isReady(db) })
}

func (r *AppDatabaseReconciler) waitingForCluster(ctx context.Context, o client.Object) []reconcile.Request {
	return r.requests(ctx, client.MatchingFields{indexClusterRef: o.GetName()}, func(db *dbv1.AppDatabase) bool { return !isReady(db) })
}

// usingAdminSecret requeues, when the legacy admin Secret changes, the tenants of the cluster it
// defines (their Secrets may need a new host or port) and every tenant not Ready (the change may
// be the fix it waits for).
func (r *AppDatabaseReconciler) usingAdminSecret(ctx context.Context, s *corev1.Secret) []reconcile.Request {
	if !r.Clusters.IsAdminSecret(s.Name) {
		return nil
	}
	name := dbv1.DefaultClusterName
	if cfg, err := cluster.ConfigFromLegacySecret(s); err == nil {
		name = cfg.Name
	}
	return r.requests(ctx, nil, func(db *dbv1.AppDatabase) bool { return db.Spec.ClusterRef == name || !isReady(db) })
}

func (r *AppDatabaseReconciler) requests(ctx context.Context, match client.ListOption, keep func(*dbv1.AppDatabase) bool) []reconcile.Request {
	var list dbv1.AppDatabaseList
	var opts []client.ListOption
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
