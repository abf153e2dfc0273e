package metrics

import "github.com/prometheus/client_golang/prometheus"

// Outcomes of a drift sweep, the result label of DriftSweeps.
const (
	// SweepCompleted: the cluster was read and every Ready tenant judged.
	SweepCompleted = "completed"
	// SweepSkipped: the cluster did not answer, or its configuration cannot be used; nothing was
	// judged, and the next period tries again.
	SweepSkipped = "skipped"
	// SweepFailed: a read failed; every Ready tenant of the cluster was sent to a full pass.
	SweepFailed = "failed"
)

var (
	// DriftSweeps counts the periodic sweeps of a cluster that check its Ready tenants for drift.
	DriftSweeps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "drift_sweeps_total",
		Help: "Drift sweeps of a cluster's Ready AppDatabases, by cluster and result (completed, skipped, failed).",
	}, []string{"cluster", "result"})

	// DriftSweepDuration observes how long a sweep takes, reads and comparisons together.
	DriftSweepDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "drift_sweep_duration_seconds",
		Help:    "Duration of drift sweeps, by cluster.",
		Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"cluster"})

	// DriftSweepChecked counts the Ready tenants sweeps compared with their cluster; with
	// DriftSweepEnqueued, it says how many the sweeps vouched for.
	DriftSweepChecked = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "drift_sweep_checked_total",
		Help: "Ready AppDatabases compared with their cluster by drift sweeps, by cluster.",
	}, []string{"cluster"})

	// DriftSweepEnqueued counts the tenants a sweep sent to a full pass, by what it found.
	DriftSweepEnqueued = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "drift_sweep_enqueued_total",
		Help: "Ready AppDatabases a drift sweep sent to a full reconcile pass, by cluster and reason (what differed, or why the sweep could not vouch for it).",
	}, []string{"cluster", "reason"})
)
