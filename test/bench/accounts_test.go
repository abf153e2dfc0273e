package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestAccountsDerive(t *testing.T) {
	a := &AccountsResult{N: 200, ExtraAccounts: 2,
		Single:                   &BurstResult{N: 200, OperatorCPUSeconds: 0.6, APIWritesPerTenant: 3, SQLWritesPerTenant: 5, TimeToReady: Latency{P50: 900}},
		With:                     &BurstResult{N: 200, OperatorCPUSeconds: 1.0, APIWritesPerTenant: 5, SQLWritesPerTenant: 11, TimeToReady: Latency{P50: 1500}},
		SingleSQLStatementsPerTn: 12, WithSQLStatementsPerTn: 20,
	}
	a.derive()
	want := PerExtraAccount{APIWrites: 1, SQLWrites: 3, SQLStatements: 4, CPUSecondsPerBurst: 0.2, CPUMsPerAccount: 1, ReadyP50Ms: 300}
	if a.PerExtraAccount != want {
		t.Errorf("derive: got %+v, want %+v", a.PerExtraAccount, want)
	}
	if md := a.markdown(); !strings.Contains(md, "## Extra accounts") || !strings.Contains(md, "API writes +1.00") {
		t.Errorf("markdown lacks the section or the per-account line:\n%s", md)
	}
}

func TestReadCommitted(t *testing.T) {
	c, err := readCommitted(filepath.Join("..", "..", "bench", "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if c == nil {
		t.Skip("no committed report")
	}
	if len(c.Bursts) == 0 || c.Bursts[0].APIWritesPerTenant == 0 {
		t.Errorf("no burst's writes read: %+v", c)
	}
	if c, err := readCommitted(filepath.Join(t.TempDir(), "missing.json")); c != nil || err != nil {
		t.Errorf("missing report: got %v, %v; want nil, nil", c, err)
	}
}
