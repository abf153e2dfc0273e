package main

import (
	"path/filepath"
)

// binaryPath is where the build step leaves a binary for a platform.
func (r *release) binaryPath(p platform, name string) string {
	return filepath.Join(r.work, "bin", p.String(), name)
}

// buildBinaries cross-compiles the operator for the image's platforms and the CLI for every
// platform it ships on: static (no cgo), without local paths, stamped with version and revision.
func (r *release) buildBinaries() error {
	ldflags := "-s -w" +
		" -X github.com/stillwaters/db-concierge/internal/version.version=" + r.version +
		" -X github.com/stillwaters/db-concierge/internal/version.revision=" + r.revision
	if r.modified {
		// --version then says so: a build with changes never passes for the release.
		ldflags += " -X github.com/stillwaters/db-concierge/internal/version.modified=true"
	}
	build := func(p platform, name, pkg string) error {
		env := []string{"CGO_ENABLED=0", "GOOS=" + p.OS, "GOARCH=" + p.Arch, "GOFLAGS=-buildvcs=false"}
		return run(r.src, env, "go", "build", "-trimpath", "-ldflags", ldflags, "-o", r.binaryPath(p, name), pkg)
	}
	for _, p := range imagePlatforms {
		if err := build(p, operatorBinary, "./cmd/operator"); err != nil {
			return err
		}
	}
	for _, p := range cliPlatforms {
		if err := build(p, cliBinary, "./cmd/bootstrap-mysql-schema"); err != nil {
			return err
		}
	}
	return nil
}
