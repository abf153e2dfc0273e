package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
)

// accountsWarmup is the size of the unmeasured burst the extra-accounts scenario starts with, so
// that neither measured burst pays for a cold operator (its pools, caches and first grants) when
// the scenario runs alone.
const accountsWarmup = 20

// extraAccounts are the accounts, besides the main user, of each tenant of the with-accounts burst.
var extraAccounts = []struct {
	suffix string
	access dbv1.Access
}{{"_ro", dbv1.AccessReadOnly}, {"_dml", dbv1.AccessDataOnly}}

// AccountsResult is the extra-accounts scenario: a burst of tenants with the main user only, then
// a burst of the same size whose tenants each have two extra accounts, one ReadOnly and one
// DataOnly.
type AccountsResult struct {
	N             int `json:"n"`
	ExtraAccounts int `json:"extraAccountsPerTenant"`
	WarmupTenants int `json:"warmupTenants"`
	// Single and With are measured as the operator's bursts are.
	Single                   *BurstResult `json:"singleAccount"`
	With                     *BurstResult `json:"withExtraAccounts"`
	SingleSQLStatementsPerTn float64      `json:"singleAccountSQLStatementsPerTenant"`
	WithSQLStatementsPerTn   float64      `json:"withExtraAccountsSQLStatementsPerTenant"`
	// PerExtraAccount is (with − without) ÷ the extra accounts per tenant.
	PerExtraAccount PerExtraAccount `json:"perExtraAccount"`
	// Committed holds the single-account writes per tenant of the committed report's bursts.
	Committed *CommittedWrites `json:"committedSingleAccountWrites,omitempty"`
	// RunPeakRSSExcludesIt says the report's operatorPeakRSSBytes was taken before this scenario,
	// which ran after the others, so that it does not change their budget.
	RunPeakRSSExcludesIt bool `json:"runPeakRSSExcludesThisScenario,omitempty"`
}

// PerExtraAccount is what one more account per tenant costs.
type PerExtraAccount struct {
	APIWrites     float64 `json:"apiWritesPerTenant"`
	SQLWrites     float64 `json:"sqlWritesPerTenant"`
	SQLStatements float64 `json:"sqlStatementsPerTenant"`
	// CPUSecondsPerBurst is the operator CPU of one more account for each of the N tenants;
	// CPUMsPerAccount is the same divided by N.
	CPUSecondsPerBurst float64 `json:"operatorCPUSecondsPerBurst"`
	CPUMsPerAccount    float64 `json:"operatorCPUMillisecondsPerAccount"`
	ReadyP50Ms         float64 `json:"timeToReadyP50Ms"`
}

// CommittedWrites are the writes per tenant of the bursts of a report from an earlier run.
type CommittedWrites struct {
	Source    string           `json:"source"`
	Started   time.Time        `json:"started"`
	Bursts    []CommittedBurst `json:"bursts"`
	Unchanged bool             `json:"unchanged"`
}

// CommittedBurst is one burst of the committed report.
type CommittedBurst struct {
	N                  int     `json:"n"`
	APIWritesPerTenant float64 `json:"apiWritesPerTenant"`
	SQLWritesPerTenant float64 `json:"sqlWritesPerTenant"`
}

// readCommitted reads the operator bursts' writes per tenant from a report.json; a missing file
// is no error (nil), so a checkout without a report still runs.
func readCommitted(path string) (*CommittedWrites, error) {
	if path == "" {
		return nil, nil
	}
	r, err := loadReport(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c := &CommittedWrites{Source: path, Started: r.Started}
	for _, x := range r.Bursts {
		c.Bursts = append(c.Bursts, CommittedBurst{N: x.N, APIWritesPerTenant: x.APIWritesPerTenant, SQLWritesPerTenant: x.SQLWritesPerTenant})
	}
	sort.Slice(c.Bursts, func(i, j int) bool { return c.Bursts[i].N < c.Bursts[j].N })
	return c, nil
}

// appDatabaseWithUsers is appDatabase with the extra accounts.
func appDatabaseWithUsers(namespace, name string) *dbv1.AppDatabase {
	db := appDatabase(namespace, name)
	for _, a := range extraAccounts {
		db.Spec.Users = append(db.Spec.Users, dbv1.AppDatabaseUser{Name: db.Spec.DBName + a.suffix, Access: a.access})
	}
	return db
}

// accounts measures the cost of extra accounts: after an unmeasured warm-up, a burst of n
// single-account tenants, then a burst of n tenants with two extra accounts each.
func (b *bench) accounts(ctx context.Context, n int, committed *CommittedWrites) (*AccountsResult, error) {
	warm := make([]*dbv1.AppDatabase, accountsWarmup)
	for i := range warm {
		if i%2 == 0 {
			warm[i] = appDatabase("accounts-warmup", fmt.Sprintf("w%d-%05d", n, i))
		} else {
			warm[i] = appDatabaseWithUsers("accounts-warmup", fmt.Sprintf("w%d-%05d", n, i))
		}
	}
	if _, _, err := b.measureBurst(ctx, "accounts-warmup", warm); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}

	res := &AccountsResult{N: n, ExtraAccounts: len(extraAccounts), WarmupTenants: accountsWarmup}
	single := make([]*dbv1.AppDatabase, n)
	with := make([]*dbv1.AppDatabase, n)
	nsSingle, nsWith := fmt.Sprintf("accounts-1-%d", n), fmt.Sprintf("accounts-3-%d", n)
	for i := range n {
		// Names of the same length in both bursts: s for single, x for extra accounts.
		single[i] = appDatabase(nsSingle, fmt.Sprintf("s%d-%05d", n, i))
		with[i] = appDatabaseWithUsers(nsWith, fmt.Sprintf("x%d-%05d", n, i))
	}
	var err error
	logf("extra accounts: burst of %d single-account tenants", n)
	if res.Single, res.SingleSQLStatementsPerTn, err = b.measureBurst(ctx, nsSingle, single); err != nil {
		return nil, err
	}
	logf("extra accounts: burst of %d tenants with %d extra accounts each", n, len(extraAccounts))
	if res.With, res.WithSQLStatementsPerTn, err = b.measureBurst(ctx, nsWith, with); err != nil {
		return nil, err
	}
	res.derive()
	if committed != nil {
		c := *committed
		c.Unchanged = len(c.Bursts) > 0
		for _, x := range c.Bursts {
			c.Unchanged = c.Unchanged && x.APIWritesPerTenant == res.Single.APIWritesPerTenant && x.SQLWritesPerTenant == res.Single.SQLWritesPerTenant
		}
		res.Committed = &c
	}
	return res, nil
}

func (a *AccountsResult) derive() {
	k := float64(a.ExtraAccounts)
	cpu := (a.With.OperatorCPUSeconds - a.Single.OperatorCPUSeconds) / k
	a.PerExtraAccount = PerExtraAccount{
		APIWrites:          round((a.With.APIWritesPerTenant - a.Single.APIWritesPerTenant) / k),
		SQLWrites:          round((a.With.SQLWritesPerTenant - a.Single.SQLWritesPerTenant) / k),
		SQLStatements:      round((a.WithSQLStatementsPerTn - a.SingleSQLStatementsPerTn) / k),
		CPUSecondsPerBurst: round(cpu),
		CPUMsPerAccount:    round(1000 * cpu / float64(a.N)),
		ReadyP50Ms:         round((a.With.TimeToReady.P50 - a.Single.TimeToReady.P50) / k),
	}
}

func (a *AccountsResult) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n## Extra accounts\n\nTwo bursts of %d, all created at once, measured as the operator's bursts are, after an unmeasured warm-up of %d: "+
		"tenants with the main user only, then tenants each with %d extra accounts (one ReadOnly, one DataOnly).\n\n", a.N, a.WarmupTenants, a.ExtraAccounts)
	fmt.Fprintln(&b, "| accounts per tenant | N | wall | per s | Ready p50 | p90 | p99 | operator CPU | API writes/tenant | Events/tenant | SQL statements/tenant | SQL writes/tenant | new SQL conns/tenant |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	row := func(accounts int, x *BurstResult, statements float64) {
		fmt.Fprintf(&b, "| %d | %d | %.1f s | %.1f | %.0f ms | %.0f ms | %.0f ms | %.2f s | %.2f | %.2f | %.2f | %.2f | %.2f |\n", accounts, x.N, x.WallSeconds, x.PerSecond,
			x.TimeToReady.P50, x.TimeToReady.P90, x.TimeToReady.P99, x.OperatorCPUSeconds, x.APIWritesPerTenant, x.EventsPerTenant, statements, x.SQLWritesPerTenant, x.NewConnections)
	}
	row(1, a.Single, a.SingleSQLStatementsPerTn)
	row(1+a.ExtraAccounts, a.With, a.WithSQLStatementsPerTn)
	p := a.PerExtraAccount
	fmt.Fprintf(&b, "\nPer extra account ((with − without) ÷ %d): API writes %+.2f, SQL writes %+.2f, SQL statements %+.2f per tenant; "+
		"operator CPU %+.2f s per burst of %d (%+.2f ms per account); time to Ready p50 %+.0f ms.\n",
		a.ExtraAccounts, p.APIWrites, p.SQLWrites, p.SQLStatements, p.CPUSecondsPerBurst, a.N, p.CPUMsPerAccount, p.ReadyP50Ms)
	fmt.Fprintf(&b, "\nSingle account — API requests per tenant: %s. SQL statements per tenant: %s.\n", formatCounts(a.Single.APIPerTenant), formatCounts(a.Single.SQLPerTenant))
	fmt.Fprintf(&b, "\nWith %d extra accounts — API requests per tenant: %s. SQL statements per tenant: %s.\n", a.ExtraAccounts, formatCounts(a.With.APIPerTenant), formatCounts(a.With.SQLPerTenant))
	if c := a.Committed; c != nil {
		var parts []string
		for _, x := range c.Bursts {
			parts = append(parts, fmt.Sprintf("burst of %d: API writes %.2f, SQL writes %.2f", x.N, x.APIWritesPerTenant, x.SQLWritesPerTenant))
		}
		verdict := "Unchanged"
		if !c.Unchanged {
			verdict = "CHANGED"
		}
		fmt.Fprintf(&b, "\nSingle-account writes per tenant versus the committed report (%s, run of %s): now API writes %.2f, SQL writes %.2f; committed %s. %s.\n",
			c.Source, c.Started.Format(time.RFC3339), a.Single.APIWritesPerTenant, a.Single.SQLWritesPerTenant, strings.Join(parts, "; "), verdict)
	} else {
		fmt.Fprintf(&b, "\nSingle-account writes per tenant: API writes %.2f, SQL writes %.2f (no committed report to compare with).\n", a.Single.APIWritesPerTenant, a.Single.SQLWritesPerTenant)
	}
	if a.RunPeakRSSExcludesIt {
		fmt.Fprintf(&b, "\nOperator peak RSS at the end of this scenario: %.0f MiB (the run's figure below is from before it).\n", a.With.PeakRSSMiB)
	}
	return b.String()
}
