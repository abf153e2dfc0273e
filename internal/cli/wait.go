package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
)

// state is what the command shows while it waits.
type state struct {
	phase, reason, message string
}

func stateOf(db *dbv1.AppDatabase) state {
	s := state{phase: string(db.Status.Phase), message: db.Status.Message}
	if c := meta.FindStatusCondition(db.Status.Conditions, dbv1.ConditionReady); c != nil && c.ObservedGeneration == db.Generation {
		s.reason = c.Reason
	}
	if s.phase == "" {
		s.phase = "Pending"
		s.message = "waiting for the operator to pick it up"
	}
	return s
}

// done reports whether waiting is over: Ready for the current generation, or a failure whose
// reason needs a person. Retrying failures (an unreachable cluster, a namespace not yet created)
// keep the command waiting, as the operator keeps trying.
func done(db *dbv1.AppDatabase) (ready, failed bool) {
	c := meta.FindStatusCondition(db.Status.Conditions, dbv1.ConditionReady)
	if c == nil || c.ObservedGeneration != db.Generation || db.Status.ObservedGeneration != db.Generation {
		return false, false
	}
	if c.Status == metav1.ConditionTrue && db.Status.Phase == dbv1.PhaseReady {
		return true, false
	}
	return false, db.Status.Phase == dbv1.PhaseFailed && dbv1.IsTerminalReason(c.Reason)
}

// waitForOutcome watches one AppDatabase until finished says it is done (done: Ready, or failed
// terminally), or timeout passes. It calls progress on every change of phase, reason or message.
// A watch, not polling: it returns as soon as the API server reports the change.
func waitForOutcome(ctx context.Context, c client.WithWatch, key client.ObjectKey, timeout time.Duration, finished func(*dbv1.AppDatabase) (ready, failed bool), progress func(state)) (*dbv1.AppDatabase, error) {
	interrupted := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	selector := fields.OneTermEqualSelector("metadata.name", key.Name)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			list := &dbv1.AppDatabaseList{}
			opts.FieldSelector = selector.String()
			err := c.List(ctx, list, client.InNamespace(key.Namespace), &client.ListOptions{Raw: &opts})
			return list, err
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.FieldSelector = selector.String()
			return c.Watch(ctx, &dbv1.AppDatabaseList{}, client.InNamespace(key.Namespace), &client.ListOptions{Raw: &opts})
		},
	}
	var last state
	var latest *dbv1.AppDatabase
	_, err := watchtools.UntilWithSync(ctx, lw, &dbv1.AppDatabase{}, nil, func(ev watch.Event) (bool, error) {
		db, ok := ev.Object.(*dbv1.AppDatabase)
		if !ok {
			return false, nil
		}
		if ev.Type == watch.Deleted {
			return false, fmt.Errorf("AppDatabase %s was deleted while waiting", key)
		}
		latest = db
		if s := stateOf(db); s != last {
			last = s
			progress(s)
		}
		ready, failed := finished(db)
		return ready || failed, nil
	})
	switch {
	case err == nil:
		return latest, nil
	case interrupted.Err() != nil:
		// Stopped from outside (Ctrl-C), not by the timeout.
		return latest, interrupted.Err()
	case ctx.Err() != nil:
		return latest, errTimedOut
	case errors.Is(err, watchtools.ErrWatchClosed):
		return latest, errWatchEnded
	}
	return latest, err
}

var (
	errTimedOut = errors.New("timed out")
	// errWatchEnded: the watch stopped before the timeout, and before the AppDatabase was ready
	// or failed; the operator may well still be working on it.
	errWatchEnded = errors.New("the API server ended the watch before the AppDatabase was ready or failed; it may still become ready: " +
		"kubectl get appdatabase -w shows it")
)
