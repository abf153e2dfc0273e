package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
)

// The manager's cache holds what the operator reads, not whatever the objects' writers put in
// them. Anyone who may label a Secret, or create an AppDatabase, could otherwise pad objects up to
// the API server's size limit and grow the operator's memory past its container's limit with a
// few hundred of them, and again on every restart.
const (
	// maxCachedSecretBytes bounds a Secret held whole in the cache (its data, labels, annotations,
	// finalizers and owner references). The Secrets DB Concierge writes are under 2 KiB.
	maxCachedSecretBytes = 64 << 10
	// maxCachedFinalizerBytes bounds the finalizers of an AppDatabase held in the cache.
	maxCachedFinalizerBytes = 4 << 10
	// maxCachedValueBytes bounds the value of an annotation the operator reads; a longer one is
	// cached as its digest, which changes when it changes, and is all the operator needs of it.
	maxCachedValueBytes = 1 << 10
)

// trimmedMark, as an annotation of a cached Secret or a finalizer of a cached AppDatabase, says
// that the cache holds only part of the object and the operator must read it from the API. The
// API server refuses such a key or finalizer (it has a space), so no stored object carries it.
const trimmedMark = "db-concierge trimmed"

// appDatabaseAnnotations are the annotations of an AppDatabase the operator reads; the cache
// keeps no other.
var appDatabaseAnnotations = []string{dbv1.AnnotationReconcile, dbv1.AnnotationAdopt, dbv1.AnnotationAcceptAppNamespaceUID, dbv1.AnnotationRotatePassword}

// secretMetadata are the labels and annotations of a managed Secret, or a password source, that
// the cache keeps even for a Secret too large to hold whole: what maps it back to its AppDatabase,
// or marks it as a source.
var secretMetadata = []string{
	dbv1.LabelManagedBy, dbv1.LabelAppDatabaseName, dbv1.LabelAppDatabaseNamespace, dbv1.LabelPasswordSource,
	dbv1.AnnotationOwner, dbv1.AnnotationOwnerUID,
}

// CachedObjects is the cache setting the manager needs: Secrets are cached only when they carry
// the managed-by label, never every Secret of the cluster, and an oversized one only in part;
// AppDatabases are cached without the metadata the operator does not read.
func CachedObjects() map[client.Object]cache.ByObject {
	return map[client.Object]cache.ByObject{
		&corev1.Secret{}:    {Label: managedSelector(), Transform: transformSecret},
		&dbv1.AppDatabase{}: {Transform: transformAppDatabase},
	}
}

var (
	_ toolscache.TransformFunc = transformSecret
	_ toolscache.TransformFunc = transformAppDatabase
)

// transformSecret keeps a Secret as it is, without managedFields, unless it is larger than any
// Secret DB Concierge writes: then only what maps it to an AppDatabase is kept, and the mark that
// sends readers to the API (see isTrimmed).
func transformSecret(in any) (any, error) {
	s, ok := in.(*corev1.Secret)
	if !ok {
		return in, nil
	}
	s.ManagedFields = nil
	if secretBytes(s) <= maxCachedSecretBytes {
		return s, nil
	}
	stub := &corev1.Secret{
		TypeMeta: s.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Namespace: s.Namespace, Name: s.Name, UID: s.UID, ResourceVersion: s.ResourceVersion,
			Generation: s.Generation, CreationTimestamp: s.CreationTimestamp, DeletionTimestamp: s.DeletionTimestamp,
			Labels:      pick(s.Labels, secretMetadata),
			Annotations: pick(s.Annotations, secretMetadata),
		},
		Type: s.Type,
	}
	if stub.Annotations == nil {
		stub.Annotations = map[string]string{}
	}
	stub.Annotations[trimmedMark] = "true"
	return stub, nil
}

func secretBytes(s *corev1.Secret) int {
	n := 0
	for k, v := range s.Data {
		n += len(k) + len(v)
	}
	for k, v := range s.StringData {
		n += len(k) + len(v)
	}
	for _, m := range []map[string]string{s.Labels, s.Annotations} {
		for k, v := range m {
			n += len(k) + len(v)
		}
	}
	for _, f := range s.Finalizers {
		n += len(f)
	}
	for _, o := range s.OwnerReferences {
		n += len(o.APIVersion) + len(o.Kind) + len(o.Name) + len(o.UID)
	}
	return n
}

// pick returns the entries of m under keys whose values are short enough to be what DB Concierge
// wrote.
func pick(m map[string]string, keys []string) map[string]string {
	var kept map[string]string
	for _, k := range keys {
		if v, ok := m[k]; ok && len(v) <= maxCachedValueBytes {
			if kept == nil {
				kept = map[string]string{}
			}
			kept[k] = v
		}
	}
	return kept
}

// transformAppDatabase drops the metadata of an AppDatabase the operator does not read: labels,
// owner references, managedFields, and the annotations not in appDatabaseAnnotations. Nothing
// writes the object back from the cache in a way that could lose them: the status is written
// through the status subresource, which ignores metadata, and the finalizer by a merge patch of
// the finalizers alone. The finalizers are kept whole, as that patch replaces the list; when
// they are too many, the AppDatabase is marked to be read from the API instead.
func transformAppDatabase(in any) (any, error) {
	db, ok := in.(*dbv1.AppDatabase)
	if !ok {
		return in, nil
	}
	trimAppDatabaseMetadata(db)
	n := 0
	for _, f := range db.Finalizers {
		n += len(f)
	}
	if n > maxCachedFinalizerBytes {
		db.Finalizers = []string{trimmedMark}
	}
	return db, nil
}

// trimAppDatabaseMetadata leaves an AppDatabase the metadata the operator reads, with long
// annotation values replaced by their digests; read from the cache or from the API, an object
// then looks the same to the reconciler.
func trimAppDatabaseMetadata(db *dbv1.AppDatabase) {
	db.ManagedFields = nil
	db.Labels = nil
	db.OwnerReferences = nil
	var kept map[string]string
	for _, k := range appDatabaseAnnotations {
		v, ok := db.Annotations[k]
		if !ok {
			continue
		}
		if len(v) > maxCachedValueBytes {
			sum := sha256.Sum256([]byte(v))
			v = "sha256:" + hex.EncodeToString(sum[:])
		}
		if kept == nil {
			kept = map[string]string{}
		}
		kept[k] = v
	}
	db.Annotations = kept
}

// isTrimmed reports whether obj is a partial copy the cache holds in place of an oversized object.
func isTrimmed(obj client.Object) bool {
	_, marked := obj.GetAnnotations()[trimmedMark]
	return marked || slices.Contains(obj.GetFinalizers(), trimmedMark)
}

// cachedAppDatabases visits the AppDatabases the manager's cache holds, in place. The loops over
// every tenant — the drift sweep, the metrics collector, the requeue when a cluster changes — only
// read them, and a List copies every object into a new slice even without deep copies: 17 MB at
// 10,000 tenants, held for the whole loop, which set the operator's peak memory.
type cachedAppDatabases struct {
	// informers is the manager's cache; nil reads through reader instead.
	informers cache.Informers
	reader    client.Reader
}

// each calls visit for every AppDatabase that match accepts. visit must neither change the object
// nor keep it past the call: it is the cache's own.
func (c cachedAppDatabases) each(ctx context.Context, match func(*dbv1.AppDatabase) bool, visit func(*dbv1.AppDatabase)) error {
	if c.informers != nil {
		informer, err := c.informers.GetInformer(ctx, &dbv1.AppDatabase{})
		if err != nil {
			return err
		}
		// controller-runtime hands out client-go's shared informer, whose store holds pointers.
		if s, ok := informer.(interface{ GetStore() toolscache.Store }); ok {
			for _, o := range s.GetStore().List() {
				if db, ok := o.(*dbv1.AppDatabase); ok && match(db) {
					visit(db)
				}
			}
			return nil
		}
	}
	var list dbv1.AppDatabaseList
	if err := c.reader.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		return err
	}
	for i := range list.Items {
		if match(&list.Items[i]) {
			visit(&list.Items[i])
		}
	}
	return nil
}

func (r *AppDatabaseReconciler) cachedAppDatabases() cachedAppDatabases {
	return cachedAppDatabases{informers: r.Informers, reader: r.Client}
}
