package controller

import (
	"context"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/metrics"
)

var appDatabasesDesc = prometheus.NewDesc("db_concierge_appdatabases",
	"AppDatabases by phase and cluster.", []string{"phase", "cluster"}, nil)

// appDatabasesCollector counts AppDatabases by phase and cluster when /metrics is scraped, from
// the informer cache: always true, and nothing to keep in step as objects come and go.
type appDatabasesCollector struct {
	tenants  cachedAppDatabases
	clusters clusterNames
}

// clusterNames is what the collector asks the cluster registry.
type clusterNames interface {
	Names(ctx context.Context) ([]string, error)
	Serves(name string) bool
}

func (c *appDatabasesCollector) Describe(ch chan<- *prometheus.Desc) { ch <- appDatabasesDesc }

func (c *appDatabasesCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	configured, err := c.clusters.Names(ctx)
	if err != nil {
		return
	}
	counts, err := countAppDatabases(ctx, c.tenants, configured, c.clusters.Serves)
	if err != nil {
		return
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(appDatabasesDesc, prometheus.GaugeValue, float64(n), k.phase, k.cluster)
	}
}

type phaseAndCluster struct{ phase, cluster string }

// countAppDatabases counts the AppDatabases this instance serves by phase and cluster. A clusterRef
// that names no configured cluster counts as metrics.UnknownCluster: tenants choose clusterRef, and
// a series per made-up name would let them grow the metrics without bound. AppDatabases of
// clusters another instance serves (--clusters) are that instance's to count.
func countAppDatabases(ctx context.Context, tenants cachedAppDatabases, configured []string, serves func(string) bool) (map[phaseAndCluster]int, error) {
	counts := map[phaseAndCluster]int{}
	served := func(db *dbv1.AppDatabase) bool { return serves(db.Spec.ClusterRef) }
	err := tenants.each(ctx, served, func(db *dbv1.AppDatabase) {
		phase := string(db.Status.Phase)
		if phase == "" {
			phase = string(dbv1.PhasePending)
		}
		cluster := metrics.ClusterLabel(db.Spec.ClusterRef, slices.Contains(configured, db.Spec.ClusterRef))
		counts[phaseAndCluster{phase, cluster}]++
	})
	return counts, err
}
