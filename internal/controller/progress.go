package controller

import (
	"context"
	"time"

	logf "sigs.k8s.io/controller-runtime/pkg/log"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/credentials"
)

// DefaultProgressDelay is how long a pass of a new tenant runs before its status says Creating.
// Most passes finish well within it and write their status once, with the outcome: on a busy API
// server a status write costs as much as a Secret, and the Creating write was a quarter of a new
// tenant's API writes.
const DefaultProgressDelay = time.Second

// progress is the Creating status of a pass, written only if the pass is still running after a
// delay. The write runs beside the pass on a copy of the object; finish hands what it wrote back,
// so that the outcome's write carries the resourceVersion the API server gave it. The zero value
// is not armed.
type progress struct {
	timer   *time.Timer
	done    chan struct{}
	written *dbv1.AppDatabase
}

// armProgress arms p to write o (reason Provisioning) as db's status after the reconciler's delay.
func (r *AppDatabaseReconciler) armProgress(ctx context.Context, p *progress, db *dbv1.AppDatabase, o outcome, conn credentials.Connection) {
	delay := r.ProgressDelay
	if delay <= 0 {
		delay = DefaultProgressDelay
	}
	creating := db.DeepCopy()
	done := make(chan struct{})
	p.done = done
	p.timer = time.AfterFunc(delay, func() {
		defer close(done)
		if err := r.writeStatus(ctx, creating, o, conn); err != nil {
			// The outcome's write follows; it meets the same refusal and reports it.
			logf.FromContext(ctx).V(1).Info("Writing the Creating status failed", "error", err.Error())
			return
		}
		p.written = creating
	})
}

// finish disarms p, or waits for the write it started and carries that write's status and
// resourceVersion into db. Calling it again, or on a p never armed, does nothing.
func (p *progress) finish(db *dbv1.AppDatabase) {
	if p.timer == nil {
		return
	}
	fired := !p.timer.Stop()
	p.timer = nil
	if !fired {
		return
	}
	<-p.done
	if p.written != nil {
		db.ResourceVersion = p.written.ResourceVersion
		db.Status = p.written.Status
		p.written = nil
	}
}
