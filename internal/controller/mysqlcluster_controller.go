package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/cluster"
	"github.com/stillwaters/db-concierge/internal/metrics"
	"github.com/stillwaters/db-concierge/internal/tenant"
)

// MySQLClusterReconciler keeps each MySQLCluster's status true: whether the operator can log in,
// and what the server is.
type MySQLClusterReconciler struct {
	Client   client.Client
	Clusters Clusters
	// CheckInterval is how often a cluster is checked.
	CheckInterval time.Duration
}

// Reconcile checks one cluster and records what it found.
func (r *MySQLClusterReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	var mc dbv1.MySQLCluster
	if err := r.Client.Get(ctx, req.NamespacedName, &mc); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !r.Clusters.Serves(mc.Name) {
		return reconcile.Result{}, nil
	}
	check := r.check(ctx, mc.Name)
	reachable := 0.0
	switch check.reason {
	case dbv1.ReasonReachable:
		reachable = 1
	case dbv1.ReasonClusterUnreachable:
		// Probed until it answers, so that its tenants are retried at once.
		r.Clusters.MarkUnreachable(mc.Name)
	}
	metrics.ClusterReachable.WithLabelValues(mc.Name).Set(reachable)
	next := checkedStatus(mc.Status, check, mc.Generation, metav1.Now())
	if !equality.Semantic.DeepEqual(next, mc.Status) {
		// The whole status, as a merge patch: a patch computed as a difference would leave out
		// reachable=false when the field was never written, and scripts and the printer column
		// would read nothing instead of false.
		body, err := json.Marshal(map[string]any{"status": next})
		if err != nil {
			return reconcile.Result{}, err
		}
		if err := r.Client.Status().Patch(ctx, &mc, client.RawPatch(types.MergePatchType, body)); err != nil {
			return reconcile.Result{}, fmt.Errorf("writing status: %w", err)
		}
	}
	return reconcile.Result{RequeueAfter: r.CheckInterval}, nil
}

// clusterCheck is what one check found.
type clusterCheck struct {
	info    tenant.ServerInfo
	reason  string
	message string
}

// check logs in and asks what the server is. It changes nothing; Reconcile acts on what it found.
func (r *MySQLClusterReconciler) check(ctx context.Context, name string) clusterCheck {
	c, err := r.Clusters.Get(ctx, name)
	if err != nil {
		var ce *cluster.ConfigError
		if errors.As(err, &ce) {
			return clusterCheck{reason: dbv1.ReasonInvalidConfiguration, message: err.Error()}
		}
		return clusterCheck{reason: dbv1.ReasonCheckFailed, message: err.Error()}
	}
	defer c.Release()
	checkCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	info, err := c.Engine.Inspect(checkCtx)
	switch {
	case err == nil:
		return clusterCheck{info: info, reason: dbv1.ReasonReachable,
			message: fmt.Sprintf("%s %s answers at %s", info.Flavor, info.Version, info.Endpoint)}
	case tenant.KindOf(err) == tenant.KindAccessDenied:
		return clusterCheck{reason: dbv1.ReasonAdminCredentialsInvalid,
			message: "the cluster refused the operator's admin account: " + err.Error()}
	case tenant.KindOf(err) == tenant.KindUnreachable:
		return clusterCheck{reason: dbv1.ReasonClusterUnreachable, message: "cannot reach the cluster: " + err.Error()}
	}
	return clusterCheck{reason: dbv1.ReasonCheckFailed, message: err.Error()}
}

// checkedStatus is the status after a check. Flavor and version are kept from earlier checks when
// the cluster does not answer, since they rarely change and help whoever looks at an outage.
func checkedStatus(old dbv1.MySQLClusterStatus, c clusterCheck, generation int64, now metav1.Time) dbv1.MySQLClusterStatus {
	s := *old.DeepCopy()
	s.Reachable = c.reason == dbv1.ReasonReachable
	s.Message = c.message
	s.ObservedGeneration = generation
	s.LastCheckTime = &now
	if s.Reachable {
		s.Flavor, s.Version, s.Endpoint = string(c.info.Flavor), c.info.Version, c.info.Endpoint
	}
	status := metav1.ConditionFalse
	if s.Reachable {
		status = metav1.ConditionTrue
	}
	meta.SetStatusCondition(&s.Conditions, metav1.Condition{
		Type: dbv1.ConditionReady, Status: status, Reason: c.reason, Message: c.message, ObservedGeneration: generation,
	})
	return s
}
