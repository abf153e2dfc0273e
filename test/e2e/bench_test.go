//go:build integration

package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkCLIProvision times bootstrap-mysql-schema from start to exit for one new database on
// the local stack (API server, operator, MariaDB), as a developer runs it. Run with
// -benchtime=10x for the median of 10.
func BenchmarkCLIProvision(b *testing.B) {
	installBase(b)
	ensureOperator(b)
	dev := developer(b, "bench-cli")
	var took []time.Duration
	run := time.Now().UnixNano() % 100000
	for i := 0; b.Loop(); i++ {
		r := cli(b, dev.Kubeconfig, "--name", fmt.Sprintf("bench-%d-%d", run, i), "--namespace", "bench-cli")
		if r.code != 0 {
			b.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		took = append(took, r.took)
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Milliseconds()), "median-ms")
	b.ReportMetric(float64(took[len(took)-1].Milliseconds()), "max-ms")
}
