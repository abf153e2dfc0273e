//go:build integration

package chaos

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
)

// report holds one backend's figures.
type report struct {
	backend       string
	cfg           config
	began         time.Time
	deleted       map[dbv1.DeletionPolicy]int
	faults        []faultRecord
	settled       bool          // every AppDatabase was seen as the run left it
	lastFaultTo   time.Duration // from the last fault to all Ready
	allCreated    time.Duration // from the start to the last creation
	allReady      time.Duration // from the start to all Ready
	ttr           []time.Duration
	rewrites      int
	pwChanges     int
	reconcileErrs int
	unasked       []string
	unaskedTotal  int
	heldSessions  int
	readyLost     []string
	duration      time.Duration
	found         findings
	logFile       string
}

// figures are the rows of the figures table.
func (rep *report) figures() [][2]string {
	p50, worst := percentile(rep.ttr, 50), percentile(rep.ttr, 100)
	lastFault := "never all Ready"
	switch {
	case rep.settled && rep.lastFaultTo == 0:
		lastFault = "0 s: every AppDatabase stayed Ready through the last fault"
	case rep.settled:
		lastFault = seconds(rep.lastFaultTo)
	}
	return [][2]string{
		{"AppDatabases", fmt.Sprintf("%d, in %d namespaces; deleted during the run: %d Delete-policy, %d Retain-policy",
			rep.cfg.tenants, len(appNamespaces)+1, rep.deleted[dbv1.DeletionPolicyDelete], rep.deleted[dbv1.DeletionPolicyRetain])},
		{"Seed", fmt.Sprint(rep.cfg.seed)},
		{"Faults", fmt.Sprint(len(rep.faults))},
		{"Last fault → all Ready", lastFault},
		{"Batch created / all Ready", fmt.Sprintf("+%s / +%s after the start", seconds(rep.allCreated), seconds(rep.allReady))},
		{"Time to Ready p50 / max", fmt.Sprintf("%s / %s (%d AppDatabases)", seconds(p50), seconds(worst), len(rep.ttr))},
		{"Sessions held across a Delete-policy deletion", fmt.Sprint(rep.heldSessions)},
		{"Secret rewrites", fmt.Sprintf("%d (password changes: %d)", rep.rewrites, rep.pwChanges)},
		{"Orphans", fmt.Sprint(len(rep.found.orphans))},
		{"Reconcile errors (operator logs)", fmt.Sprint(rep.reconcileErrs)},
		{"Operator exits the run did not cause", summarize(rep.unaskedTotal, rep.unasked)},
		{"Ready → not Ready", fmt.Sprint(len(rep.readyLost))},
		{"Failed checks", fmt.Sprint(rep.found.count())},
		{"Duration", seconds(rep.duration)},
	}
}

// category is one check's findings under a heading.
type category struct {
	name string
	list []string
}

func (f findings) categories() []category {
	return []category{
		{"not Ready after the faults", f.notReady}, {"Secrets that do not log in", f.logins},
		{"left of deleted Delete-policy tenants", f.deletedLeft}, {"lost by Retain-policy deletions", f.retainedMissing},
		{"orphans", f.orphans}, {"Secret rewrites", f.rewrites}, {"passwords in operator output", f.leaks},
		{"crashes and failed faults", f.crashes},
	}
}

func (f findings) count() int {
	n := 0
	for _, c := range f.categories() {
		n += len(c.list)
	}
	return n
}

// markdown renders the figures, the faults and what the checks found.
func (rep *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s: %d AppDatabases, seed %d\n\n| Figure | Value |\n|---|---|\n", rep.backend, rep.cfg.tenants, rep.cfg.seed)
	for _, row := range rep.figures() {
		fmt.Fprintf(&b, "| %s | %s |\n", row[0], row[1])
	}
	b.WriteString("\n| # | Time | Fault | Target | AppDatabases created | Back after |\n|---|---|---|---|---|---|\n")
	for i, f := range rep.faults {
		fmt.Fprintf(&b, "| %d | %s (+%s) | %s | %s | %d | %s |\n", i+1, f.injected.Format("15:04:05.000"),
			seconds(f.injected.Sub(rep.began)), f.kind, f.target, f.created, seconds(f.recovered.Sub(f.injected)))
	}
	for _, c := range rep.found.categories() {
		if len(c.list) > 0 {
			fmt.Fprintf(&b, "\n**%s** (%d):\n%s", c.name, len(c.list), bullets(c.list, 20))
		}
	}
	if len(rep.readyLost) > 0 {
		fmt.Fprintf(&b, "\nReady → not Ready (%d):\n%s", len(rep.readyLost), bullets(rep.readyLost, 10))
	}
	if rep.logFile != "" {
		fmt.Fprintf(&b, "\nOperator output: `%s`\n", rep.logFile)
	}
	return b.String()
}

func bullets(list []string, most int) string {
	var b strings.Builder
	for i, s := range list {
		if i == most {
			fmt.Fprintf(&b, "- … and %d more\n", len(list)-most)
			break
		}
		fmt.Fprintf(&b, "- %s\n", s)
	}
	return b.String()
}

func summarize(total int, reasons []string) string {
	if total == 0 {
		return "0"
	}
	return fmt.Sprintf("%d (%s)", total, strings.Join(reasons, "; "))
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// percentile is the nearest-rank percentile p (0-100) of ds.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	i := (len(sorted)*p + 99) / 100
	return sorted[max(i-1, 0)]
}

// writeReport writes every backend's report to path as one markdown document.
func writeReport(path string, cfg config, reps []*report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## Chaos run, %s, mode %s, seed %d\n\nRepeat with `%s`.\n\n",
		time.Now().Format("2006-01-02 15:04"), cfg.mode, cfg.seed, cfg.repeat())
	for _, rep := range reps {
		b.WriteString(rep.markdown())
		b.WriteString("\n")
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
