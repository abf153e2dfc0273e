package controller

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
)

var appDatabasesDesc = prometheus.NewDesc("db_concierge_appdatabases",
	"AppDatabases by phase and cluster.", []string{"phase", "cluster"}, nil)

// appDatabasesCollector counts AppDatabases by phase and cluster when /metrics is scraped, from
// the informer cache: always true, and nothing to keep in step as objects come and go.
type appDatabasesCollector struct {
	reader client.Reader
}

func (c *appDatabasesCollector) Describe(ch chan<- *prometheus.Desc) { ch <- appDatabasesDesc }

func (c *appDatabasesCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var list dbv1.AppDatabaseList
	if err := c.reader.List(ctx, &list); err != nil {
		return
	}
	type key struct{ phase, cluster string }
	counts := map[key]int{}
	for _, db := range list.Items {
		phase := string(db.Status.Phase)
		if phase == "" {
			phase = string(dbv1.PhasePending)
		}
		counts[key{phase, db.Spec.ClusterRef}]++
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(appDatabasesDesc, prometheus.GaugeValue, float64(n), k.phase, k.cluster)
	}
}
