//go:build integration

package chaos

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/credentials"
	"github.com/stillwaters/db-concierge/test/stack"
)

// observer watches AppDatabases and the operator's Secrets for the whole run, through the API
// server's watch (an informer re-lists after the API server restart): when each AppDatabase first
// turned Ready, and every write to every Secret. Sampling could miss a Secret rewritten twice
// between two samples; a watch sees each resourceVersion unless two writes fall into the restart.
type observer struct {
	// reader reads the watch's copy of AppDatabases and Secrets.
	reader     client.Reader
	mu         sync.Mutex
	firstReady map[string]time.Time
	ready      map[string]bool
	// readyLost lists AppDatabases seen leaving Ready, with the reason they showed.
	readyLost []string
	secrets   map[string]*secretHistory
}

// secretHistory is what the watch saw of one Secret.
type secretHistory struct {
	firstRV   string
	rv        string
	passwords []string // every password it held, in order
	creates   int
	deletes   int
	// rewrites says what each write after the creation changed.
	rewrites []string
}

func (h *secretHistory) password() string {
	if len(h.passwords) == 0 {
		return ""
	}
	return h.passwords[len(h.passwords)-1]
}

// startObserver starts the watches and returns once they have listed what exists.
func startObserver(ctx context.Context, kube *stack.Kube) (*observer, error) {
	o := &observer{firstReady: map[string]time.Time{}, ready: map[string]bool{}, secrets: map[string]*secretHistory{}}
	managed := labels.SelectorFromSet(labels.Set{dbv1.LabelManagedBy: dbv1.ManagedByValue})
	c, err := cache.New(kube.Config, cache.Options{
		Scheme:   kube.Scheme,
		ByObject: map[client.Object]cache.ByObject{&corev1.Secret{}: {Label: managed}},
	})
	if err != nil {
		return nil, err
	}
	go func() { _ = c.Start(ctx) }()
	handlers := map[client.Object]toolscache.ResourceEventHandler{
		&dbv1.AppDatabase{}: toolscache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { o.appDatabase(obj) },
			UpdateFunc: func(_, obj any) { o.appDatabase(obj) },
		},
		&corev1.Secret{}: toolscache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { o.secretAdded(obj) },
			UpdateFunc: func(old, obj any) { o.secretUpdated(old, obj) },
			DeleteFunc: func(obj any) { o.secretDeleted(obj) },
		},
	}
	for obj, h := range handlers {
		inf, err := c.GetInformer(ctx, obj)
		if err != nil {
			return nil, err
		}
		if _, err := inf.AddEventHandler(h); err != nil {
			return nil, err
		}
	}
	if !c.WaitForCacheSync(ctx) {
		return nil, fmt.Errorf("the run's watches did not sync")
	}
	o.reader = c
	return o, nil
}

// isReady is the operator's promise: Ready for the current generation.
func isReady(db *dbv1.AppDatabase) bool {
	cond := meta.FindStatusCondition(db.Status.Conditions, dbv1.ConditionReady)
	return db.Status.Phase == dbv1.PhaseReady && cond != nil && cond.Status == "True" &&
		db.Status.ObservedGeneration == db.Generation
}

func (o *observer) appDatabase(obj any) {
	db, ok := obj.(*dbv1.AppDatabase)
	if !ok {
		return
	}
	key := client.ObjectKeyFromObject(db).String()
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	ready := isReady(db)
	if ready {
		if _, seen := o.firstReady[key]; !seen {
			o.firstReady[key] = now
		}
	} else if o.ready[key] && db.DeletionTimestamp == nil {
		o.readyLost = append(o.readyLost, fmt.Sprintf("%s at %s: %s %s", key, now.Format("15:04:05.000"), db.Status.Phase, db.Status.Message))
	}
	o.ready[key] = ready
}

// readyAt returns when the AppDatabase was first seen Ready.
func (o *observer) readyAt(key client.ObjectKey) (time.Time, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	t, ok := o.firstReady[key.String()]
	return t, ok
}

func secretOf(obj any) (*corev1.Secret, bool) {
	if tomb, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	s, ok := obj.(*corev1.Secret)
	return s, ok
}

func (o *observer) secretAdded(obj any) {
	s, ok := secretOf(obj)
	if !ok {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	h := o.history(s)
	h.creates++
	h.firstRV, h.rv = s.ResourceVersion, s.ResourceVersion
	h.passwords = append(h.passwords, string(s.Data[credentials.KeyPassword]))
}

func (o *observer) secretUpdated(oldObj, obj any) {
	old, ok1 := secretOf(oldObj)
	s, ok2 := secretOf(obj)
	// A re-list delivers unchanged objects as updates with the same resourceVersion.
	if !ok1 || !ok2 || old.ResourceVersion == s.ResourceVersion {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	h := o.history(s)
	h.rv = s.ResourceVersion
	h.rewrites = append(h.rewrites, fmt.Sprintf("%s: %s", time.Now().Format("15:04:05.000"), secretChange(old, s)))
	if pw := string(s.Data[credentials.KeyPassword]); pw != h.password() {
		h.passwords = append(h.passwords, pw)
	}
}

func (o *observer) secretDeleted(obj any) {
	s, ok := secretOf(obj)
	if !ok {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.history(s).deletes++
}

func (o *observer) history(s *corev1.Secret) *secretHistory {
	key := client.ObjectKeyFromObject(s).String()
	h := o.secrets[key]
	if h == nil {
		h = &secretHistory{}
		o.secrets[key] = h
	}
	return h
}

// secretChange names what a write changed, never the values.
func secretChange(old, s *corev1.Secret) string {
	var changed []string
	for _, k := range slices.Sorted(maps.Keys(mergeKeys(old.Data, s.Data))) {
		if !bytes.Equal(old.Data[k], s.Data[k]) {
			changed = append(changed, "data."+k)
		}
	}
	if !equality.Semantic.DeepEqual(old.Labels, s.Labels) {
		changed = append(changed, "labels")
	}
	if !equality.Semantic.DeepEqual(old.Annotations, s.Annotations) {
		changed = append(changed, "annotations")
	}
	if !equality.Semantic.DeepEqual(old.OwnerReferences, s.OwnerReferences) {
		changed = append(changed, "ownerReferences")
	}
	if len(changed) == 0 {
		return "resourceVersion only"
	}
	sort.Strings(changed)
	return fmt.Sprint(changed)
}

func mergeKeys(a, b map[string][]byte) map[string]bool {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
}

// snapshot returns a copy of the Secret histories and the Ready losses.
func (o *observer) snapshot() (map[string]secretHistory, []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string]secretHistory{}
	for k, h := range o.secrets {
		c := *h
		c.passwords = slices.Clone(h.passwords)
		c.rewrites = slices.Clone(h.rewrites)
		out[k] = c
	}
	return out, slices.Clone(o.readyLost)
}
