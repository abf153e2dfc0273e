// Command bench measures DB Concierge on the local stack (API server, MariaDB, the operator as a
// separate process) side by side with a raw-limit baseline doing only the unavoidable writes, and
// writes a report: bench/report.md, bench/report.json and bench/time-to-ready.png. The worker
// curve, last, also runs on a 3-node Galera cluster that it starts and stops itself. With -readme,
// it also renders the report's headline figures into README.md, between its bench markers.
//
//	go run ./test/bench -out bench -readme README.md   # what make bench runs
//	go run ./test/bench -out bench -readme README.md -readme-only   # README from bench/report.json, running nothing
//	go run ./test/bench -n 10000 -quiet 1m     # the large run
//	go run ./test/bench -scenarios accounts -out /tmp/bench-accounts   # extra accounts alone
//	go run ./test/bench -scenarios workers -out /tmp/bench-workers     # the worker curve alone
//
// Budgets are printed as PASS or FAIL; they are goals, not tests.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/stillwaters/db-concierge/internal/controller"
)

type options struct {
	sizes       []int
	runs        int
	concurrency int
	single      int
	cliRuns     int
	quiet       time.Duration
	resync      time.Duration
	qps         float64
	burst       int
	// tunedAPI: qps or burst was set, so the operator runs with them instead of its defaults.
	tunedAPI  bool
	out       string
	scenarios map[string]bool
	accountsN int
	rotationN int
	committed string
	// readme is the README whose figures are rewritten from the report; readmeOnly rewrites them
	// from the report already in out, running nothing.
	readme     string
	readmeOnly bool
	// workerLevels are the operator's reconcile workers, and admin connections, the worker
	// curve is measured at; workersN is the size of its burst at each.
	workerLevels []int
	workersN     int
}

// allScenarios are the scenarios a run can choose from, in the order they run.
var allScenarios = []string{"single", "burst", "baseline", "steady", "restart", "accounts", "rotation", "workers"}

func main() {
	var o options
	var sizes, scenarios, workerLevels string
	flag.StringVar(&sizes, "n", "100,1000", "burst sizes, comma-separated (10000 for the large run)")
	flag.IntVar(&o.runs, "runs", 3, "runs of each burst and baseline below 10,000; the report shows the median by wall time")
	flag.IntVar(&o.concurrency, "concurrency", 4, "reconcile workers of the operator, and workers of the baseline")
	flag.IntVar(&o.single, "single", 50, "AppDatabases created one at a time for the single-request latency")
	flag.IntVar(&o.cliRuns, "cli-runs", 10, "runs of the CLI for its wall time")
	flag.DurationVar(&o.quiet, "quiet", 0, "length of the steady-state quiet period; by default one resync period, so that every cluster's drift sweep falls in it")
	flag.DurationVar(&o.resync, "resync", 10*time.Minute, "the operator's --resync-period (drift checks) during the run; 10m is its default")
	flag.Float64Var(&o.qps, "qps", 0, "API client requests per second, for the operator and the baseline alike; 0 runs the operator with its shipped default")
	flag.IntVar(&o.burst, "burst", 0, "API client burst, for the operator and the baseline alike; 0 runs the operator with its shipped default")
	flag.StringVar(&o.out, "out", "bench", "directory for the report")
	flag.StringVar(&o.readme, "readme", "", "README whose text between "+readmeBegin+" and "+readmeEnd+" is replaced by the report's figures once the report is written; empty: none")
	flag.BoolVar(&o.readmeOnly, "readme-only", false, "run nothing: render -out's report.json into -readme")
	flag.StringVar(&scenarios, "scenarios", strings.Join(allScenarios, ","), "scenarios to run, comma-separated, from "+strings.Join(allScenarios, ","))
	flag.IntVar(&o.rotationN, "rotation-n", 100, "tenants of the rotation scenario, each with the main user and one extra account, rotated at once")
	flag.IntVar(&o.accountsN, "accounts-n", 200, "size of each burst of the accounts scenario (single-account tenants, then tenants with two extra accounts)")
	flag.StringVar(&o.committed, "committed", "bench/report.json", "committed report whose single-account writes per tenant the accounts scenario is compared with (read before the run)")
	flag.StringVar(&workerLevels, "workers", "1,2,4,8,16", fmt.Sprintf("levels of the workers scenario, comma-separated: the operator's reconcile workers and admin connections per cluster, each at most %d", maxWorkerLevel))
	flag.IntVar(&o.workersN, "workers-n", 200, "size of the workers scenario's burst at each level, on each engine")
	flag.Parse()
	if o.quiet <= 0 {
		o.quiet = o.resync
	}
	// The report measures what ships: unless a tuned variant is asked for, the operator runs
	// without these flags, and the baseline's client gets the same limits.
	o.tunedAPI = o.qps != 0 || o.burst != 0
	if o.qps == 0 {
		o.qps = controller.DefaultAPIQPS
	}
	if o.burst == 0 {
		o.burst = controller.DefaultAPIBurst
	}
	var err error
	if o.sizes, err = positiveInts(sizes, 0); err != nil {
		fmt.Fprintln(os.Stderr, "bench: -n:", err)
		os.Exit(2)
	}
	if o.workerLevels, err = positiveInts(workerLevels, maxWorkerLevel); err != nil {
		fmt.Fprintln(os.Stderr, "bench: -workers:", err)
		os.Exit(2)
	}
	// Each level has namespaces of its own.
	if len(slices.Compact(slices.Sorted(slices.Values(o.workerLevels)))) < len(o.workerLevels) {
		fmt.Fprintln(os.Stderr, "bench: -workers: a level is listed twice")
		os.Exit(2)
	}
	o.scenarios = map[string]bool{}
	for _, s := range strings.Split(scenarios, ",") {
		s = strings.TrimSpace(s)
		if !slices.Contains(allScenarios, s) {
			fmt.Fprintf(os.Stderr, "bench: -scenarios: %q is none of %s\n", s, strings.Join(allScenarios, ","))
			os.Exit(2)
		}
		o.scenarios[s] = true
	}
	if o.runs <= 0 {
		fmt.Fprintf(os.Stderr, "bench: -runs: %d is not a positive number\n", o.runs)
		os.Exit(2)
	}
	if o.accountsN <= 0 {
		fmt.Fprintf(os.Stderr, "bench: -accounts-n: %d is not a positive number\n", o.accountsN)
		os.Exit(2)
	}
	if o.workersN <= 0 {
		fmt.Fprintf(os.Stderr, "bench: -workers-n: %d is not a positive number\n", o.workersN)
		os.Exit(2)
	}
	if o.readmeOnly && o.readme == "" {
		fmt.Fprintln(os.Stderr, "bench: -readme-only needs -readme PATH")
		os.Exit(2)
	}
	if o.readmeOnly {
		if err := readmeFromReport(o); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	report, err := run(ctx, o)
	if report != nil {
		werr := report.write(o.out)
		if werr != nil {
			fmt.Fprintln(os.Stderr, "bench: writing the report:", werr)
		}
		fmt.Print(report.markdown())
		// Only a complete report that is on disk goes into the README, so the README never shows
		// figures the committed report.json lacks.
		if err == nil && werr == nil && o.readme != "" {
			err = writeReadme(o.readme, report)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// readmeFromReport renders the report.json in -out into -readme.
func readmeFromReport(o options) error {
	r, err := loadReport(filepath.Join(o.out, "report.json"))
	if err != nil {
		return fmt.Errorf("reading the report: %w", err)
	}
	return writeReadme(o.readme, r)
}

func run(ctx context.Context, o options) (*Report, error) {
	var committed *CommittedWrites
	if o.scenarios["accounts"] {
		// Read before the run, which may write over it.
		var err error
		if committed, err = readCommitted(o.committed); err != nil {
			return nil, fmt.Errorf("reading the committed report: %w", err)
		}
	}
	b, err := startBench(ctx, o)
	if err != nil {
		return nil, err
	}
	defer b.stop()
	r := &Report{Started: time.Now().UTC(), Options: o.describe(), Machine: machine()}

	if o.scenarios["single"] {
		logf("single-request latency: %d AppDatabases one at a time, %d CLI runs", o.single, o.cliRuns)
		s, err := b.single(ctx)
		if err != nil {
			return r, err
		}
		r.Single = s
	}
	for _, n := range o.sizes {
		// The runs of the operator and of both baselines take turns, so that a slow spell of
		// the machine falls on all three alike; each row of the report is the median run.
		var ops, essentials, raws []*BurstResult
		for run := range o.runsFor(n) {
			if o.scenarios["burst"] {
				logf("burst of %d, run %d of %d", n, run+1, o.runsFor(n))
				res, err := b.burstOperator(ctx, n, run)
				if err != nil {
					return r, err
				}
				ops = append(ops, res)
			}
			if o.scenarios["baseline"] {
				logf("essential-work baseline of %d, run %d of %d", n, run+1, o.runsFor(n))
				res, err := b.baseline(ctx, n, essentialWork, run)
				if err != nil {
					return r, err
				}
				essentials = append(essentials, res)
				logf("raw limit of %d, run %d of %d", n, run+1, o.runsFor(n))
				if res, err = b.baseline(ctx, n, rawLimit, run); err != nil {
					return r, err
				}
				raws = append(raws, res)
			}
		}
		r.Bursts = appendMedian(r.Bursts, ops)
		r.Baselines = appendMedian(r.Baselines, essentials)
		r.RawLimits = appendMedian(r.RawLimits, raws)
	}
	if o.scenarios["steady"] {
		logf("steady state: %s quiet with %d tenants", o.quiet, b.tenants)
		s, err := b.steady(ctx)
		if err != nil {
			return r, err
		}
		r.Steady = s
	}
	if o.scenarios["restart"] {
		logf("restart with %d tenants", b.tenants)
		s, err := b.restart(ctx)
		if err != nil {
			return r, err
		}
		r.Restart = s
	}
	r.PeakRSS = b.peakRSS()
	if o.scenarios["accounts"] {
		// Last, so the other scenarios, their tenant counts and the run's peak RSS are what they
		// are without it.
		logf("extra accounts: bursts of %d", o.accountsN)
		a, err := b.accounts(ctx, o.accountsN, committed)
		if err != nil {
			return r, err
		}
		r.Accounts = a
		if r.Single == nil && len(r.Bursts)+len(r.Baselines) == 0 && r.Steady == nil && r.Restart == nil {
			r.PeakRSS = b.peakRSS()
		} else {
			a.RunPeakRSSExcludesIt = true
		}
	}
	if o.scenarios["rotation"] {
		// After the run's peak RSS, like the accounts scenario: it adds tenants of its own.
		logf("rotation: %d tenants", o.rotationN)
		rot, err := b.rotation(ctx, o.rotationN)
		if err != nil {
			return r, err
		}
		r.Rotation = rot
	}
	if o.scenarios["workers"] {
		// Last, after the run's peak RSS too: it restarts the operator at each level with other
		// flags and adds tenants at each, which would change what the other scenarios measure.
		logf("worker curve: bursts of %d at %v workers, on MariaDB and on Galera", o.workersN, o.workerLevels)
		w, err := b.workers(ctx)
		if err != nil {
			return r, err
		}
		r.Workers = w
	}
	r.evaluate()
	return r, nil
}

// largeBurst is the size from which a burst runs once: a run takes minutes, and MariaDB, slower
// with every account it holds, bounds it.
const largeBurst = 10000

// runsFor is how many runs a burst of n gets.
func (o options) runsFor(n int) int {
	if n >= largeBurst {
		return 1
	}
	return o.runs
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func (o options) describe() map[string]string {
	var scenarios []string
	for s := range o.scenarios {
		scenarios = append(scenarios, s)
	}
	slices.Sort(scenarios)
	m := map[string]string{
		"scenarios":   strings.Join(scenarios, ","),
		"sizes":       fmt.Sprint(o.sizes),
		"runs":        strconv.Itoa(o.runs),
		"concurrency": strconv.Itoa(o.concurrency),
		"single":      strconv.Itoa(o.single),
		"quiet":       o.quiet.String(),
		"resync":      o.resync.String(),
		"apiQPS":      fmt.Sprint(o.qps),
		"apiBurst":    strconv.Itoa(o.burst),
	}
	if !o.tunedAPI {
		m["apiQPS"] += " (shipped default)"
		m["apiBurst"] += " (shipped default)"
	}
	if o.scenarios["accounts"] {
		m["accountsN"] = strconv.Itoa(o.accountsN)
	}
	if o.scenarios["rotation"] {
		m["rotationN"] = strconv.Itoa(o.rotationN)
	}
	if o.scenarios["workers"] {
		m["workers"] = fmt.Sprint(o.workerLevels)
		m["workersN"] = strconv.Itoa(o.workersN)
	}
	return m
}

// positiveInts parses comma-separated positive numbers, each at most limit unless limit is 0.
func positiveInts(list string, limit int) ([]int, error) {
	var out []int
	for _, s := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive number", s)
		}
		if limit > 0 && n > limit {
			return nil, fmt.Errorf("%d is more than %d", n, limit)
		}
		out = append(out, n)
	}
	return out, nil
}

func machine() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	cores := strings.Count(string(b), "processor\t:")
	model := "unknown CPU"
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "model name\t: "); ok {
			model = v
			break
		}
	}
	return fmt.Sprintf("%d × %s", cores, model)
}
