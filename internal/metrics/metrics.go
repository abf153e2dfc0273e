// Package metrics defines DB Concierge's Prometheus metrics. Every label takes values from a
// bounded set (configured clusters, phases, reasons, operation kinds), never per-object values.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/stillwaters/db-concierge/internal/version"
)

const namespace = "db_concierge"

// UnknownCluster is the cluster label of AppDatabases whose clusterRef names no configured
// cluster. clusterRef is written by tenants: were each name its own series, anyone allowed to
// create an AppDatabase could grow the operator's memory and the monitoring system's storage.
const UnknownCluster = "unknown"

// ClusterLabel is the cluster label for clusterRef name: the name itself when it is configured,
// UnknownCluster otherwise.
func ClusterLabel(name string, configured bool) string {
	if !configured {
		return UnknownCluster
	}
	return name
}

var (
	// SQLOperations counts statements that change a cluster, and application logins the operator
	// makes to verify a tenant.
	SQLOperations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "sql_operations_total",
		Help: "SQL statements that change a cluster, and verification logins, by cluster and operation.",
	}, []string{"cluster", "operation"})

	// SQLErrors counts failed statements and logins by cluster, operation and error kind.
	SQLErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "sql_errors_total",
		Help: "Failed SQL statements and logins, by cluster, operation and kind (unreachable, access_denied, invalid_input, other).",
	}, []string{"cluster", "operation", "kind"})

	// DriftRepairs counts what the operator put back after someone changed it by hand.
	DriftRepairs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "drift_repairs_total",
		Help: "Repairs of Ready AppDatabases whose database, user, grants or Secret were changed outside DB Concierge, by kind.",
	}, []string{"kind"})

	// Reconciles counts reconcile passes of AppDatabases by outcome (the Ready condition's reason).
	Reconciles = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "appdatabase_reconciles_total",
		Help: "Reconcile passes of AppDatabases, by outcome (the Ready condition's reason).",
	}, []string{"outcome"})

	// ReconcileDuration observes how long reconcile passes take, by outcome.
	ReconcileDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "appdatabase_reconcile_duration_seconds",
		Help:    "Duration of AppDatabase reconcile passes, by outcome (the Ready condition's reason).",
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
	}, []string{"outcome"})

	// TimeToReady observes the time from an AppDatabase's creation to its first Ready.
	TimeToReady = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: namespace, Name: "appdatabase_time_to_ready_seconds",
		Help:    "Time from an AppDatabase's creation to its first Ready.",
		Buckets: []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600},
	})

	// ClusterReachable is 1 when the operator's last attempt to log in to a cluster succeeded.
	ClusterReachable = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "cluster_reachable",
		Help: "1 when the operator's last login to the cluster's admin account succeeded, else 0.",
	}, []string{"cluster"})

	// BuildInfo is always 1; its labels say which release is running, so a dashboard can show a
	// rollout's progress and an alert can find replicas left on the old version.
	BuildInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info",
		Help: "Always 1, labelled with the operator's version and git revision.",
	}, []string{"version", "revision"})
)

// Register adds the metrics to reg (controller-runtime's registry, served on /metrics).
func Register(reg prometheus.Registerer) {
	reg.MustRegister(SQLOperations, SQLErrors, DriftRepairs, Reconciles, ReconcileDuration, TimeToReady, ClusterReachable,
		DriftSweeps, DriftSweepDuration, DriftSweepChecked, DriftSweepEnqueued,
		SQLDuration, StepDuration, APIRequestDuration, APIRateLimiterDuration, BuildInfo)
	build := version.Get()
	BuildInfo.WithLabelValues(build.Version, build.Revision).Set(1)
	observeAPIClient()
}
