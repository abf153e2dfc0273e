package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// README.md's figures are generated: a hand edit, or a report committed without them, fails here.
func TestReadmeMatchesReport(t *testing.T) {
	r, err := loadReport(filepath.Join("..", "..", "bench", "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, got, _, err := splitReadme(string(readme))
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	if want := r.readmeBlock(); got != want {
		t.Errorf("README.md's benchmark figures differ from bench/report.json; they are generated, not edited: run `make bench-readme` "+
			"(or `make bench` for a new report).\nREADME.md has:\n%s\nthe report renders:\n%s", got, want)
	}
}

func TestReadmeBlockWithEveryPart(t *testing.T) {
	burst := func(n int, wall float64) *BurstResult {
		return &BurstResult{N: n, WallSeconds: wall, PerSecond: float64(n) / wall, APIWritesPerTenant: 2, SQLWritesPerTenant: 5,
			TimeToReady: Latency{P50: 900, P99: 1500}}
	}
	r := &Report{Started: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), Machine: "2 × CPU", Options: map[string]string{"runs": "3"},
		Bursts: []*BurstResult{burst(1000, 10)}, Baselines: []*BurstResult{burst(1000, 8)}, RawLimits: []*BurstResult{burst(1000, 4)},
		Workers: &WorkersResult{N: 200, ShippedDefault: 4, GaleraNodes: 3, Levels: []WorkerLevel{
			{Workers: 4, MariaDB: WorkerPoint{PerSecond: 80}, Galera: WorkerPoint{PerSecond: 60}},
			{Workers: 8, MariaDB: WorkerPoint{PerSecond: 120}, Galera: WorkerPoint{PerSecond: 50}},
		}}}
	block := r.readmeBlock()
	for _, want := range []string{
		"Run of 2026-12-01 on 2 × CPU, each burst the median of 3 runs:",
		"| 1,000 AppDatabases created at once: all Ready | 10.0 s (100 per second) | 8.0 s | 4.0 s | 2.50 × |",
		"| time to Ready p50 / p99, burst of 1,000 | 900 ms / 1.5 s | 900 ms / 1.5 s |  |  |",
		"MariaDB at W = 8 (120 per second) and on a 3-node Galera cluster at W = 4 (60 per second); the shipped default, W = 4, made 80 and 60 per second.",
	} {
		if !strings.Contains(block, want) {
			t.Errorf("block lacks %q:\n%s", want, block)
		}
	}
	if strings.Contains(block, "At rest") || strings.Contains(block, "peak memory") {
		t.Errorf("block shows parts the report lacks:\n%s", block)
	}
}

func TestSplitReadme(t *testing.T) {
	head, block, tail, err := splitReadme("a\n" + readmeBegin + "\nold\n" + readmeEnd + "\nb\n")
	if err != nil || head != "a\n"+readmeBegin+"\n" || block != "old\n" || tail != readmeEnd+"\nb\n" {
		t.Errorf("got %q, %q, %q, %v", head, block, tail, err)
	}
	for _, bad := range []string{"no markers\n", "a\n" + readmeEnd + "\n" + readmeBegin + "\n", "a\n" + readmeBegin + "\n" + readmeBegin + "\n" + readmeEnd + "\n"} {
		if _, _, _, err := splitReadme(bad); err == nil {
			t.Errorf("splitReadme(%q): no error", bad)
		}
	}
}
