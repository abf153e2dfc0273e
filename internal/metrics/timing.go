package metrics

import (
	"context"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientmetrics "k8s.io/client-go/tools/metrics"
)

// Steps of an AppDatabase pass, the step label of StepDuration. With the SQL and API client
// latencies they say where a tenant's time goes, without a profiler.
const (
	// StepStatusWrite: one write of the AppDatabase's status.
	StepStatusWrite = "status_write"
	// StepFinalizerWrite: adding or removing the AppDatabase's finalizer (deletionPolicy Delete).
	StepFinalizerWrite = "finalizer_write"
	// StepSecretWrite: creating or updating one of the tenant's Secrets.
	StepSecretWrite = "secret_write"
	// StepClaim: recording ownership of the tenant's names in the cluster (reads and intent).
	StepClaim = "claim"
	// StepProvision: creating or repairing the database and its accounts, committing the claim,
	// and verifying logins.
	StepProvision = "provision"
)

// latencyBuckets span a loopback round trip (well under a millisecond) to a stalled server.
var latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10}

var (
	// SQLDuration observes each statement, transaction and login the operator sends a cluster,
	// reads included: on a loopback connection it is the server's time plus a round trip.
	SQLDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "sql_duration_seconds",
		Help:    "Duration of SQL statements, ownership transactions and verification logins, by cluster and operation.",
		Buckets: latencyBuckets,
	}, []string{"cluster", "operation"})

	// StepDuration observes the steps of AppDatabase passes.
	StepDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "appdatabase_step_duration_seconds",
		Help:    "Duration of the steps of AppDatabase reconcile passes (status_write, finalizer_write, secret_write, claim, provision).",
		Buckets: latencyBuckets,
	}, []string{"step"})

	// APIRequestDuration is the latency of the operator's API server requests, by verb.
	APIRequestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "rest_client_request_duration_seconds",
		Help: "Latency of the operator's API server requests, by verb.", Buckets: latencyBuckets,
	}, []string{"verb"})
	// APIRateLimiterDuration is the time those requests waited for the client-side rate limiter.
	APIRateLimiterDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "rest_client_rate_limiter_duration_seconds",
		Help: "Time the operator's API server requests waited for the client-side rate limiter, by verb.", Buckets: latencyBuckets,
	}, []string{"verb"})
)

// ObserveStep records how long a step took since start.
func ObserveStep(step string, start time.Time) {
	StepDuration.WithLabelValues(step).Observe(time.Since(start).Seconds())
}

// ObserveSQL records how long an operation on a cluster took since start.
func ObserveSQL(cluster, op string, start time.Time) {
	SQLDuration.WithLabelValues(cluster, op).Observe(time.Since(start).Seconds())
}

type latencyByVerb struct{ *prometheus.HistogramVec }

func (l latencyByVerb) Observe(_ context.Context, verb string, _ url.URL, latency time.Duration) {
	l.WithLabelValues(verb).Observe(latency.Seconds())
}

// observeAPIClient makes client-go report its request and rate-limiter latencies. client-go takes
// its metrics once per process (controller-runtime has registered the request counts), so the
// two latencies are set directly; the URL is left out, a label per object would not be bounded.
func observeAPIClient() {
	clientmetrics.RequestLatency = latencyByVerb{APIRequestDuration}
	clientmetrics.RateLimiterLatency = latencyByVerb{APIRateLimiterDuration}
}
