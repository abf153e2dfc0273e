package main

import (
	"os"
	"path"
	"path/filepath"
)

// tool returns the path of a command built from the Go module proxy, building it first if this
// version has not been built on this machine. Like the test binaries, tools live outside the
// checkout, keyed by version, so a fresh clone reuses them. Each is built with its own go.mod
// (go install pkg@version), so their dependencies never meet ours or each other's.
func tool(pkg, version string) (string, error) {
	cache := os.Getenv("DB_CONCIERGE_CACHE")
	if cache == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return "", err
		}
		cache = filepath.Join(dir, "db-concierge")
	}
	name := path.Base(pkg)
	dir := filepath.Join(cache, name+"-"+version)
	bin := filepath.Join(dir, name)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(dir, ".build")
	if err != nil {
		return "", err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	if err := run(dir, []string{"GOBIN=" + tmp, "CGO_ENABLED=0", "GOFLAGS="}, "go", "install", "-trimpath", pkg+"@"+version); err != nil {
		return "", err
	}
	return bin, os.Rename(filepath.Join(tmp, name), bin)
}
