package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/stillwaters/db-concierge/test/bench/chart"
)

// Report is everything one run measured.
type Report struct {
	Started   time.Time         `json:"started"`
	Machine   string            `json:"machine"`
	Options   map[string]string `json:"options"`
	Single    *SingleResult     `json:"single,omitempty"`
	Bursts    []*BurstResult    `json:"bursts,omitempty"`
	Baselines []*BurstResult    `json:"baselines,omitempty"`
	// RawLimits do only CREATE DATABASE, CREATE USER, GRANT and a Secret per tenant.
	RawLimits []*BurstResult  `json:"rawLimits,omitempty"`
	Steady    *SteadyResult   `json:"steady,omitempty"`
	Restart   *RestartResult  `json:"restart,omitempty"`
	Accounts  *AccountsResult `json:"accounts,omitempty"`
	Rotation  *RotationResult `json:"rotation,omitempty"`
	Workers   *WorkersResult  `json:"workers,omitempty"`
	PeakRSS   int64           `json:"operatorPeakRSSBytes"`
	Budgets   []Budget        `json:"budgets"`
}

// Latency is a distribution's summary, in milliseconds.
type Latency struct {
	P50 float64 `json:"p50Ms"`
	P90 float64 `json:"p90Ms"`
	P99 float64 `json:"p99Ms"`
	Max float64 `json:"maxMs"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func summarize(samples []time.Duration) Latency {
	s := sortedDurations(samples)
	if len(s) == 0 {
		return Latency{}
	}
	return Latency{P50: ms(percentile(s, 50)), P90: ms(percentile(s, 90)), P99: ms(percentile(s, 99)), Max: ms(s[len(s)-1])}
}

// SingleResult is the single-request latency.
type SingleResult struct {
	N           int     `json:"n"`
	TimeToReady Latency `json:"timeToReady"`
	CLIP50      float64 `json:"cliWallP50Ms"`
	CLIMax      float64 `json:"cliWallMaxMs"`
	samples     []time.Duration
	cli         []time.Duration
}

func (s *SingleResult) summarize() { s.TimeToReady = summarize(s.samples) }

// BurstResult is one burst, by the operator or by the baseline.
type BurstResult struct {
	N                  int                `json:"n"`
	WallSeconds        float64            `json:"wallSeconds"`
	PerSecond          float64            `json:"perSecond"`
	TimeToReady        Latency            `json:"timeToReady"`
	OperatorCPUSeconds float64            `json:"operatorCPUSeconds,omitempty"`
	PeakRSSMiB         float64            `json:"operatorPeakRSSMiB,omitempty"`
	APIPerTenant       map[string]float64 `json:"apiRequestsPerTenant"`
	APIWritesPerTenant float64            `json:"apiWritesPerTenant"`
	EventsPerTenant    float64            `json:"eventWritesPerTenant"`
	SQLPerTenant       map[string]float64 `json:"sqlStatementsPerTenant"`
	SQLWritesPerTenant float64            `json:"sqlWritesPerTenant"`
	NewConnections     float64            `json:"newSQLConnectionsPerTenant"`
	Breakdown          []BreakdownRow     `json:"breakdown,omitempty"`
	// RunWalls are the wall times of every run of this burst, in the order they ran; the other
	// figures are the median run's.
	RunWalls []float64 `json:"runWallSeconds,omitempty"`
	samples  []time.Duration
}

func (r *BurstResult) summarize() { r.TimeToReady = summarize(r.samples) }

// appendMedian appends to rows the median of runs by wall time, which records the walls of all.
func appendMedian(rows, runs []*BurstResult) []*BurstResult {
	if len(runs) == 0 {
		return rows
	}
	walls := make([]float64, len(runs))
	for i, x := range runs {
		walls[i] = x.WallSeconds
	}
	byWall := slices.Clone(runs)
	slices.SortFunc(byWall, func(a, b *BurstResult) int { return cmp.Compare(a.WallSeconds, b.WallSeconds) })
	median := byWall[(len(byWall)-1)/2]
	median.RunWalls = walls
	return append(rows, median)
}

// perTenant divides the API and SQL deltas by the tenants, leaving out the harness's own creates.
func (r *BurstResult) perTenant(api, sqld map[string]float64, tenants, harnessCreates int) {
	api["POST appdatabases"] -= float64(harnessCreates)
	r.APIPerTenant, r.SQLPerTenant = map[string]float64{}, map[string]float64{}
	for k, v := range api {
		if v > 0 {
			r.APIPerTenant[k] = round(v / float64(tenants))
		}
	}
	for k, v := range sqld {
		if strings.HasPrefix(k, "com_") && v > 0 {
			r.SQLPerTenant[strings.TrimPrefix(k, "com_")] = round(v / float64(tenants))
		}
	}
	notLeaseOrEvent := func(res string) bool { return res != "leases" && res != "events" }
	r.APIWritesPerTenant = round(apiWrites(api, notLeaseOrEvent) / float64(tenants))
	r.EventsPerTenant = round(apiWrites(api, func(res string) bool { return res == "events" }) / float64(tenants))
	r.SQLWritesPerTenant = round(sumKeys(sqld, sqlWriteKinds) / float64(tenants))
	r.NewConnections = round(sqld["connections"] / float64(tenants))
}

func round(v float64) float64 { return float64(int(v*100+0.5)) / 100 }

// thousands writes n with commas between groups of three digits: 10,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for j := len(s) - 3; j > 0; j -= 3 {
		s = s[:j] + "," + s[j:]
	}
	return s
}

// SteadyResult is a quiet period with every tenant Ready.
type SteadyResult struct {
	Tenants          int     `json:"tenants"`
	QuietSeconds     float64 `json:"quietSeconds"`
	APIWrites        float64 `json:"apiWrites"`
	LeaseWrites      float64 `json:"leaseWrites"`
	SQLWrites        float64 `json:"sqlWrites"`
	OperatorCPUPct   float64 `json:"operatorCPUPercentOfOneCore"`
	DriftReadsPerMin float64 `json:"driftReadsPerMinute"`
	LoginsPerMin     float64 `json:"loginsPerMinute"`
	// DriftChecksPerMin counts drift checks (one SHOW GRANTS each) in the window; right after a
	// burst it is above the long-run rate, tenants ÷ resync period, because the burst's tenants
	// come due together.
	DriftChecksPerMin   float64 `json:"driftChecksPerMinute"`
	LongRunChecksPerMin float64 `json:"longRunChecksPerMinute"`
	CPUMsPerCheck       float64 `json:"operatorCPUMillisecondsPerCheck,omitempty"`
	// CPUPer1000PerPeriod is all of the window's operator CPU, in seconds, per 1,000 tenants
	// and per resync period: comparable however drift is checked.
	CPUPer1000PerPeriod float64 `json:"operatorCPUSecondsPer1000TenantsPerResyncPeriod"`
}

// RestartResult is the operator re-verifying every tenant after a kill.
type RestartResult struct {
	Tenants              int     `json:"tenants"`
	Seconds              float64 `json:"seconds"`
	PeakAdminConnections int     `json:"peakAdminConnections"`
	ConnectionCap        int     `json:"connectionCap"`
}

// Budget is one goal and whether this run met it.
type Budget struct {
	Goal     string `json:"goal"`
	Measured string `json:"measured"`
	Pass     bool   `json:"pass"`
}

// burstWallTargets are the wall times, in seconds, bursts of these sizes must be all Ready in.
var burstWallTargets = map[int]float64{100: 1, 1000: 10}

func (r *Report) evaluate() {
	add := func(goal, measured string, pass bool) {
		r.Budgets = append(r.Budgets, Budget{Goal: goal, Measured: measured, Pass: pass})
	}
	for _, burst := range r.Bursts {
		if limit, ok := burstWallTargets[burst.N]; ok {
			add(fmt.Sprintf("burst of %d: all Ready in ≤ %.0f s", burst.N, limit), fmt.Sprintf("%.1f s", burst.WallSeconds), burst.WallSeconds <= limit)
		}
		for _, base := range r.Baselines {
			if base.N == burst.N && burst.N >= 1000 {
				ratio := burst.WallSeconds / base.WallSeconds
				add(fmt.Sprintf("burst of %d: operator time ≤ 1.3 × baseline", burst.N), fmt.Sprintf("%.2f × (%.1f s vs %.1f s)", ratio, burst.WallSeconds, base.WallSeconds), ratio <= 1.3)
			}
		}
		for _, raw := range r.RawLimits {
			if raw.N == burst.N {
				ratio := burst.WallSeconds / raw.WallSeconds
				add(fmt.Sprintf("burst of %d: operator time ≤ 5 × raw limit", burst.N), fmt.Sprintf("%.2f × (%.1f s vs %.1f s)", ratio, burst.WallSeconds, raw.WallSeconds), ratio <= 5)
			}
		}
		add(fmt.Sprintf("burst of %d: API writes per tenant ≤ 2", burst.N), fmt.Sprintf("%.2f (Events %.2f, reported apart)", burst.APIWritesPerTenant, burst.EventsPerTenant), burst.APIWritesPerTenant <= 2)
		add(fmt.Sprintf("burst of %d: SQL writes per tenant ≤ 5", burst.N), fmt.Sprintf("%.2f", burst.SQLWritesPerTenant), burst.SQLWritesPerTenant <= 5)
	}
	if s := r.Steady; s != nil {
		add("steady state: 0 API writes (Leases aside)", fmt.Sprintf("%.0f (Lease writes %.0f)", s.APIWrites, s.LeaseWrites), s.APIWrites == 0)
		add("steady state: 0 SQL writes", fmt.Sprintf("%.0f", s.SQLWrites), s.SQLWrites == 0)
		add("steady state: operator CPU < 1% of a core", fmt.Sprintf("%.2f%%", s.OperatorCPUPct), s.OperatorCPUPct < 1)
	}
	if r.Restart != nil {
		add("restart: admin connections never above the cap", fmt.Sprintf("%d (cap %d)", r.Restart.PeakAdminConnections, r.Restart.ConnectionCap), r.Restart.PeakAdminConnections <= r.Restart.ConnectionCap)
	}
	largest := 0
	for _, b := range r.Bursts {
		largest = max(largest, b.N)
	}
	if largest >= 10000 {
		add("10,000 tenants: operator peak RSS ≤ 150 MiB", fmt.Sprintf("%.0f MiB", float64(r.PeakRSS)/(1<<20)), r.PeakRSS <= 150<<20)
	}
	if s := r.Single; s != nil {
		add("single request: p99 create-to-Ready ≤ 100 ms", fmt.Sprintf("%.0f ms", s.TimeToReady.P99), s.TimeToReady.P99 <= 100)
	}
}

func (r *Report) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.md"), []byte(r.markdown()), 0o644); err != nil {
		return err
	}
	// One at a time gets a panel of its own rather than joining the burst of
	// 100: it has no baseline to compare with (its yardstick is the 250 ms
	// budget), and at tens of milliseconds it would stretch that panel's axis
	// by more than a decade, squeezing the operator-vs-baseline gap the panel
	// is there to show.
	var panels []chart.Panel
	if r.Single != nil {
		panels = append(panels, chart.Panel{Title: "one at a time, idle", Series: []chart.Series{{Name: "operator", Samples: r.Single.samples}}})
	}
	panelOf := map[int]int{}
	add := func(name string, x *BurstResult) {
		i, ok := panelOf[x.N]
		if !ok {
			i = len(panels)
			panelOf[x.N] = i
			panels = append(panels, chart.Panel{Title: "burst of " + thousands(x.N)})
		}
		panels[i].Series = append(panels[i].Series, chart.Series{Name: name, Samples: x.samples})
	}
	for _, x := range r.Bursts {
		add("operator", x)
	}
	for _, x := range r.Baselines {
		add("baseline", x)
	}
	for _, x := range r.RawLimits {
		add("raw limit", x)
	}
	if a := r.Accounts; a != nil {
		panels = append(panels, chart.Panel{Title: fmt.Sprintf("extra accounts, bursts of %d", a.N), Series: []chart.Series{
			{Name: "1 account", Samples: a.Single.samples},
			{Name: fmt.Sprintf("%d accounts", 1+a.ExtraAccounts), Samples: a.With.samples},
		}})
	}
	f, err := os.Create(filepath.Join(dir, "time-to-ready.png"))
	if err != nil {
		return err
	}
	if err := chart.CDFs(f, panels, 1200, 800); err != nil {
		_ = f.Close() // the drawing error is the one worth reporting
		return err
	}
	return f.Close()
}

func (r *Report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# DB Concierge benchmark\n\n%s, on %s. Options: %s.\n", r.Started.Format(time.RFC3339), r.Machine, formatOptions(r.Options))
	if len(r.Budgets) > 0 {
		fmt.Fprintln(&b, "\n## Budgets\n\n| goal | measured | |\n|---|---|---|")
	}
	for _, g := range r.Budgets {
		verdict := "PASS"
		if !g.Pass {
			verdict = "FAIL"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", g.Goal, g.Measured, verdict)
	}
	if s := r.Single; s != nil {
		fmt.Fprintf(&b, "\n## Single request (%d, one at a time, idle system)\n\ncreate → Ready: p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, max %.0f ms. "+
			"CLI wall time, start to exit: p50 %.0f ms, max %.0f ms.\n", s.N, s.TimeToReady.P50, s.TimeToReady.P90, s.TimeToReady.P99, s.TimeToReady.Max, s.CLIP50, s.CLIMax)
	}
	if len(r.Bursts)+len(r.Baselines)+len(r.RawLimits) > 0 {
		fmt.Fprintln(&b, "\n## Bursts: all created at once\n\n| run | N | wall | per s | Ready p50 | p90 | p99 | operator CPU | API writes/tenant | Events/tenant | SQL writes/tenant | new SQL conns/tenant |\n|---|---|---|---|---|---|---|---|---|---|---|---|")
		row := func(kind string, x *BurstResult) {
			cpu := "—"
			if x.OperatorCPUSeconds > 0 {
				cpu = fmt.Sprintf("%.1f s", x.OperatorCPUSeconds)
			}
			fmt.Fprintf(&b, "| %s | %d | %.1f s | %.1f | %.0f ms | %.0f ms | %.0f ms | %s | %.2f | %.2f | %.2f | %.2f |\n", kind, x.N, x.WallSeconds, x.PerSecond,
				x.TimeToReady.P50, x.TimeToReady.P90, x.TimeToReady.P99, cpu, x.APIWritesPerTenant, x.EventsPerTenant, x.SQLWritesPerTenant, x.NewConnections)
		}
		for _, x := range r.Bursts {
			row("operator", x)
		}
		for _, x := range r.Baselines {
			row("baseline", x)
		}
		for _, x := range r.RawLimits {
			row("raw limit", x)
		}
		if walls := runWalls(r); walls != "" {
			fmt.Fprintf(&b, "\nEach row is the median of its runs by wall time; every run's wall, in order: %s.\n", walls)
		}
		for _, x := range r.Bursts {
			fmt.Fprintf(&b, "\nOperator, burst of %d — API requests per tenant: %s. SQL statements per tenant: %s.\n", x.N, formatCounts(x.APIPerTenant), formatCounts(x.SQLPerTenant))
			if len(x.Breakdown) > 0 {
				b.WriteString(breakdownMarkdown(x.N, x.Breakdown))
			}
		}
	}
	if s := r.Steady; s != nil {
		fmt.Fprintf(&b, "\n## Steady state (%d tenants, %.0f s quiet)\n\nAPI writes %.0f (Lease renewals %.0f), SQL writes %.0f, operator CPU %.2f%% of one core; "+
			"drift checks: %.0f reads and %.0f logins per minute.\n", s.Tenants, s.QuietSeconds, s.APIWrites, s.LeaseWrites, s.SQLWrites, s.OperatorCPUPct, s.DriftReadsPerMin, s.LoginsPerMin)
		if s.CPUPer1000PerPeriod > 0 {
			fmt.Fprintf(&b, "\nOperator CPU per 1,000 tenants per resync period: %.3f s (scaled linearly: %.2f%% of one core for 10,000 tenants at the default 10-minute period).\n",
				s.CPUPer1000PerPeriod, 100*s.CPUPer1000PerPeriod*10/600)
		}
		if s.CPUMsPerCheck > 0 {
			fmt.Fprintf(&b, "\nDrift checks in the window: %.0f per minute (long-run rate at this resync period: %.0f per minute); "+
				"operator CPU per check (all of the window's CPU divided by its checks): %.2f ms, so %.2f%% of one core at the long-run rate.\n",
				s.DriftChecksPerMin, s.LongRunChecksPerMin, s.CPUMsPerCheck, s.CPUMsPerCheck*s.LongRunChecksPerMin/600)
		}
	}
	if s := r.Restart; s != nil {
		fmt.Fprintf(&b, "\n## Restart\n\nAfter SIGKILL, a new operator re-verified %d tenants in %.1f s, with at most %d admin connections (cap %d).\n",
			s.Tenants, s.Seconds, s.PeakAdminConnections, s.ConnectionCap)
	}
	if r.Accounts != nil {
		b.WriteString(r.Accounts.markdown())
	}
	if r.Rotation != nil {
		b.WriteString(r.Rotation.markdown())
	}
	if r.Workers != nil {
		b.WriteString(r.Workers.markdown())
	}
	fmt.Fprintf(&b, "\nOperator peak RSS over the run: %.0f MiB.\n\n![time to Ready](time-to-ready.png)\n", float64(r.PeakRSS)/(1<<20))
	return b.String()
}

// runWalls lists the wall times of every run of the bursts that ran more than once.
func runWalls(r *Report) string {
	var parts []string
	add := func(kind string, rows []*BurstResult) {
		for _, x := range rows {
			if len(x.RunWalls) < 2 {
				continue
			}
			walls := make([]string, len(x.RunWalls))
			for i, w := range x.RunWalls {
				walls[i] = fmt.Sprintf("%.1f", w)
			}
			parts = append(parts, fmt.Sprintf("%s %d: %s s", kind, x.N, strings.Join(walls, ", ")))
		}
	}
	add("operator", r.Bursts)
	add("baseline", r.Baselines)
	add("raw limit", r.RawLimits)
	return strings.Join(parts, "; ")
}

func formatCounts(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.2f", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func formatOptions(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, " ")
}
