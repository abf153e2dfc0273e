package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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
	check := judgeServer(&mc, r.check(ctx, mc.Name))
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
		body, err := statusPatch(next)
		if err != nil {
			return reconcile.Result{}, err
		}
		if err := r.Client.Status().Patch(ctx, &mc, client.RawPatch(types.MergePatchType, body)); err != nil {
			return reconcile.Result{}, fmt.Errorf("writing status: %w", err)
		}
	}
	return reconcile.Result{RequeueAfter: r.CheckInterval}, nil
}

// statusPatch is the merge patch that writes status whole: a field emptied (a server identity
// accepted as none) is removed, where leaving it out of the patch would keep the old value.
func statusPatch(status dbv1.MySQLClusterStatus) ([]byte, error) {
	b, err := json.Marshal(status)
	if err != nil {
		return nil, err
	}
	fields := map[string]any{}
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, err
	}
	if status.ServerIdentity == "" {
		fields["serverIdentity"] = nil
	}
	return json.Marshal(map[string]any{"status": fields})
}

// judgeServer compares the identity of the server a reachable check found with the one recorded:
// the first one found is recorded; another is ServerChanged, unless the platform team accepted it
// with the annotation.
func judgeServer(mc *dbv1.MySQLCluster, c clusterCheck) clusterCheck {
	c.identity = mc.Status.ServerIdentity
	if c.reason != dbv1.ReasonReachable {
		return c
	}
	found, recorded := c.info.Identity, mc.Status.ServerIdentity
	acceptance := cluster.AcceptanceOf(found, recorded)
	switch {
	case found == recorded || recorded == "",
		strings.TrimSpace(mc.Annotations[dbv1.AnnotationAcceptServerIdentity]) == acceptance:
		c.identity = found
	default:
		c.reason = dbv1.ReasonServerChanged
		c.message = fmt.Sprintf("%v; if it is this cluster's server now, annotate the MySQLCluster with %s=%s",
			&tenant.ServerChangedError{Expected: recorded, Found: found}, dbv1.AnnotationAcceptServerIdentity, acceptance)
	}
	return c
}

// clusterCheck is what one check found.
type clusterCheck struct {
	// identity is status.serverIdentity after the check.
	identity string
	info     tenant.ServerInfo
	reason   string
	message  string
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
	// The privileges first: an account short of one is told which, not what failed for it.
	err = c.Engine.CheckPrivileges(checkCtx)
	var info tenant.ServerInfo
	if err == nil {
		info, err = c.Engine.Inspect(checkCtx)
	}
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
	s.ServerIdentity = c.identity
	status := metav1.ConditionFalse
	if s.Reachable {
		status = metav1.ConditionTrue
	}
	meta.SetStatusCondition(&s.Conditions, metav1.Condition{
		Type: dbv1.ConditionReady, Status: status, Reason: c.reason, Message: c.message, ObservedGeneration: generation,
	})
	return s
}
