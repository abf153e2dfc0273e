package main

import (
	"strings"
	"testing"
)

func TestWorkersMarkdown(t *testing.T) {
	w := &WorkersResult{N: 200, ShippedDefault: 4, GaleraNodes: 3, Levels: []WorkerLevel{
		{Workers: 1, MariaDB: WorkerPoint{WallSeconds: 4.5, PerSecond: 44.4, ReadyP99Ms: 4000}, Galera: WorkerPoint{WallSeconds: 6, PerSecond: 33.3, ReadyP99Ms: 5500}},
		{Workers: 4, MariaDB: WorkerPoint{WallSeconds: 2.5, PerSecond: 80, ReadyP99Ms: 2100}, Galera: WorkerPoint{WallSeconds: 3.5, PerSecond: 57.1, ReadyP99Ms: 3100}},
	}}
	md := w.markdown()
	for _, want := range []string{"## Worker curve", "| 1 | 4.5 s | 44.4 | 4000 ms | 6.0 s | 33.3 | 5500 ms |", "| 4 (shipped default) |", "W = 4 is the shipped default"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	w.Levels = w.Levels[:1]
	if md := w.markdown(); !strings.Contains(md, "was not among the levels") {
		t.Errorf("markdown does not say the shipped default was not measured:\n%s", md)
	}
}

func TestPositiveInts(t *testing.T) {
	if got, err := positiveInts("1, 2,16", 64); err != nil || len(got) != 3 || got[2] != 16 {
		t.Errorf("positiveInts: got %v, %v", got, err)
	}
	for _, bad := range []string{"0", "x", "1,,2", "65"} {
		if _, err := positiveInts(bad, 64); err == nil {
			t.Errorf("positiveInts(%q): no error", bad)
		}
	}
	if _, err := positiveInts("100000", 0); err != nil {
		t.Errorf("no limit: %v", err)
	}
}
