package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// README.md's performance figures are rendered from a Report and stand between these two lines,
// so that they cannot say anything a report did not measure. The docs test reads only
// "<!-- test: ... -->" comments, so these are invisible to it.
const (
	readmeBegin = "<!-- bench:begin -->"
	readmeEnd   = "<!-- bench:end -->"
)

// readmeBlock renders what stands between README.md's markers. What r lacks (a report from
// before a scenario existed, or a run of some scenarios only) is left out rather than shown as
// zero, so any report renders.
func (r *Report) readmeBlock() string {
	var runs string
	switch n := r.Options["runs"]; n {
	case "":
	case "1":
		runs = ", one run of each burst"
	default:
		runs = fmt.Sprintf(", each burst the median of %s runs", n)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nRun of %s on %s%s:\n\n%s", r.Started.Format(time.DateOnly), r.Machine, runs, r.readmeTable())
	if s := r.readmeSummary(); s != "" {
		fmt.Fprintf(&b, "\n%s\n", s)
	}
	return b.String() + "\n"
}

// readmeTable compares the operator with the baselines, leaving out a baseline the report has no
// runs of.
func (r *Report) readmeTable() string {
	raw := len(r.RawLimits) > 0
	keep := []bool{true, true, len(r.Baselines) > 0, raw, raw}
	rows := [][]string{{"", "operator", "essential work", "raw limit", "operator ÷ raw limit"}}
	for _, op := range r.Bursts {
		limit := burstOf(r.RawLimits, op.N)
		ratio := "—"
		if limit != nil {
			ratio = fmt.Sprintf("%.2f ×", op.WallSeconds/limit.WallSeconds)
		}
		rows = append(rows, []string{fmt.Sprintf("%s AppDatabases created at once: all Ready", thousands(op.N)),
			fmt.Sprintf("%.1f s (%.0f per second)", op.WallSeconds, op.PerSecond), wall(burstOf(r.Baselines, op.N)), wall(limit), ratio})
	}
	if op := largestBurst(r.Bursts); op != nil {
		base, limit := burstOf(r.Baselines, op.N), burstOf(r.RawLimits, op.N)
		// The raw limit sets no status, so it has no time to Ready.
		rows = append(rows,
			[]string{"time to Ready p50 / p99, burst of " + thousands(op.N), p50p99(&op.TimeToReady), readyOf(base), "", ""},
			[]string{"writes per tenant, burst of " + thousands(op.N), writes(op), writes(base), writes(limit), ""})
	}
	if s := r.Single; s != nil {
		rows = append(rows, []string{"one AppDatabase at a time: create → Ready p50 / p99", p50p99(&s.TimeToReady), "", "", ""})
		if s.CLIP50 > 0 {
			rows = append(rows, []string{"`bootstrap-mysql-schema` from start to exit, p50", duration(s.CLIP50), "", "", ""})
		}
	}
	if len(rows) == 1 {
		return ""
	}
	var b strings.Builder
	for i, row := range rows {
		var cells, rule []string
		for j, cell := range row {
			if keep[j] {
				cells, rule = append(cells, cell), append(rule, "---")
			}
		}
		fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | "))
		if i == 0 {
			fmt.Fprintf(&b, "|%s|\n", strings.Join(rule, "|"))
		}
	}
	return b.String()
}

// readmeSummary is the sentence or so on what follows the bursts.
func (r *Report) readmeSummary() string {
	var parts []string
	if s := r.Steady; s != nil {
		parts = append(parts, fmt.Sprintf("At rest with %s tenants for %.0f s, the operator made %.0f API writes (Lease renewals aside) and %.0f SQL writes, using %.2f %% of one core.",
			thousands(s.Tenants), s.QuietSeconds, s.APIWrites, s.SQLWrites, s.OperatorCPUPct))
	}
	if s := r.Restart; s != nil {
		parts = append(parts, fmt.Sprintf("Killed and restarted, the operator re-verified all %s tenants in %.1f s with at most %d admin connections (the cap is %d).",
			thousands(s.Tenants), s.Seconds, s.PeakAdminConnections, s.ConnectionCap))
	}
	if r.PeakRSS > 0 {
		parts = append(parts, fmt.Sprintf("The operator's peak memory (RSS) over the run was %.0f MiB.", float64(r.PeakRSS)/(1<<20)))
	}
	if w := r.Workers; w != nil && len(w.Levels) > 0 {
		parts = append(parts, w.readmeSummary())
	}
	return strings.Join(parts, " ")
}

// readmeSummary names the fastest level on each engine and what the shipped default achieved.
func (w *WorkersResult) readmeSummary() string {
	fastest := func(e workersEngine) (int, float64) {
		best := w.Levels[0]
		for _, l := range w.Levels[1:] {
			if e.point(&l).PerSecond > e.point(&best).PerSecond {
				best = l
			}
		}
		return best.Workers, e.point(&best).PerSecond
	}
	mw, mps := fastest(mariadbEngine)
	gw, gps := fastest(galeraEngine)
	s := fmt.Sprintf("With W reconcile workers and W admin connections, a burst of %d went fastest on MariaDB at W = %d (%.0f per second) and on a %d-node Galera cluster at W = %d (%.0f per second)",
		w.N, mw, mps, w.GaleraNodes, gw, gps)
	for _, l := range w.Levels {
		if l.Workers == w.ShippedDefault {
			s += fmt.Sprintf("; the shipped default, W = %d, made %.0f and %.0f per second", l.Workers, l.MariaDB.PerSecond, l.Galera.PerSecond)
		}
	}
	return s + "."
}

func burstOf(rows []*BurstResult, n int) *BurstResult {
	for _, x := range rows {
		if x.N == n {
			return x
		}
	}
	return nil
}

func largestBurst(rows []*BurstResult) *BurstResult {
	var largest *BurstResult
	for _, x := range rows {
		if largest == nil || x.N > largest.N {
			largest = x
		}
	}
	return largest
}

func wall(x *BurstResult) string {
	if x == nil {
		return "—"
	}
	return fmt.Sprintf("%.1f s", x.WallSeconds)
}

func readyOf(x *BurstResult) string {
	if x == nil {
		return "—"
	}
	return p50p99(&x.TimeToReady)
}

func p50p99(l *Latency) string { return duration(l.P50) + " / " + duration(l.P99) }

// duration shows milliseconds as the old hand-written table did: whole ms below a second, else
// seconds to a tenth.
func duration(ms float64) string {
	if ms < 1000 {
		return fmt.Sprintf("%.0f ms", ms)
	}
	return fmt.Sprintf("%.1f s", ms/1000)
}

func writes(x *BurstResult) string {
	if x == nil {
		return "—"
	}
	events := ""
	if x.EventsPerTenant > 0 {
		noun := "Events"
		if x.EventsPerTenant == 1 {
			noun = "Event"
		}
		events = fmt.Sprintf(" (+%s %s)", number(x.EventsPerTenant), noun)
	}
	return fmt.Sprintf("%s API%s, %s SQL", number(x.APIWritesPerTenant), events, number(x.SQLWritesPerTenant))
}

// number drops the zeros the per-tenant figures' two decimals would show: 3, not 3.00.
func number(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}

// loadReport reads a report.json.
func loadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// splitReadme cuts a README's text around its block: head ends with the begin marker's line,
// tail starts with the end marker's.
func splitReadme(text string) (head, block, tail string, err error) {
	begin, end := strings.Index(text, "\n"+readmeBegin+"\n"), strings.Index(text, "\n"+readmeEnd+"\n")
	if begin < 0 || end < begin || strings.Count(text, readmeBegin) != 1 || strings.Count(text, readmeEnd) != 1 {
		return "", "", "", fmt.Errorf("want one line %s, then one line %s, around the benchmark figures", readmeBegin, readmeEnd)
	}
	head = text[:begin+len(readmeBegin)+2]
	return head, text[len(head) : end+1], text[end+1:], nil
}

// writeReadme replaces the block of the README at path with r's.
func writeReadme(path string, r *Report) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading the README: %w", err)
	}
	head, _, tail, err := splitReadme(string(b))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.WriteFile(path, []byte(head+r.readmeBlock()+tail), 0o644); err != nil {
		return fmt.Errorf("writing the README: %w", err)
	}
	return nil
}
