package main

import (
	"errors"
	"io/fs"
	"testing"
)

func TestParseCgroupMemoryLimit(t *testing.T) {
	cases := []struct {
		name    string
		content string
		want    int64
		wantErr bool
	}{
		{"cgroup v2 limit", "268435456\n", 256 << 20, false},
		{"cgroup v2 no limit", "max\n", 0, false},
		{"cgroup v1 no limit", "9223372036854771712\n", 0, false},
		{"cgroup v1 limit", "536870912", 512 << 20, false},
		{"absurdly large", "1125899906842624", 0, false},
		{"zero", "0", 0, false},
		{"garbage", "lots", 0, true},
		{"empty", "", 0, true},
	}
	for _, c := range cases {
		got, err := parseCgroupMemoryLimit(c.content)
		if got != c.want || (err != nil) != c.wantErr {
			t.Errorf("%s: parseCgroupMemoryLimit(%q) = %d, %v; want %d, error %v", c.name, c.content, got, err, c.want, c.wantErr)
		}
	}
}

func TestContainerMemoryLimit(t *testing.T) {
	files := func(m map[string]string) func(string) ([]byte, error) {
		return func(path string) ([]byte, error) {
			if v, ok := m[path]; ok {
				return []byte(v), nil
			}
			return nil, fs.ErrNotExist
		}
	}
	cases := []struct {
		name  string
		files map[string]string
		want  int64
	}{
		{"cgroup v2", map[string]string{"/sys/fs/cgroup/memory.max": "268435456"}, 256 << 20},
		{"cgroup v2 without a limit", map[string]string{"/sys/fs/cgroup/memory.max": "max"}, 0},
		{"cgroup v1", map[string]string{"/sys/fs/cgroup/memory/memory.limit_in_bytes": "134217728"}, 128 << 20},
		{"no cgroup files", nil, 0},
	}
	for _, c := range cases {
		got, err := containerMemoryLimit(files(c.files))
		if err != nil || got != c.want {
			t.Errorf("%s: %d, %v; want %d", c.name, got, err, c.want)
		}
	}
	denied := func(string) ([]byte, error) { return nil, fs.ErrPermission }
	if _, err := containerMemoryLimit(denied); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("an unreadable limit file: %v, want the error", err)
	}
	if got := goMemoryLimit(256 << 20); got < 230<<20 || got > 231<<20 {
		t.Errorf("goMemoryLimit(256 MiB) = %d, want about 90%%", got)
	}
}
