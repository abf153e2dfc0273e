//go:build integration

package e2e

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stillwaters/db-concierge/test/manifests"
)

// The Dockerfile's go build commands, run here with the same flags, give static binaries: the
// distroless image has no C library for them to load.
func TestImageBinariesAreStatic(t *testing.T) {
	stages, err := manifests.DockerfileStages(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	for _, line := range manifests.GoBuilds(stages) {
		cmd := exec.Command("sh", "-c", strings.ReplaceAll(line, "/out/", out+"/"))
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "TARGETOS=linux", "TARGETARCH=amd64")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", line, err, b)
		}
	}
	binaries, _ := filepath.Glob(filepath.Join(out, "*"))
	if len(binaries) == 0 {
		t.Fatal("the Dockerfile's go build commands produced no binary")
	}
	for _, bin := range binaries {
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s asks for a dynamic loader: it is not static", filepath.Base(bin))
			}
		}
		if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
			t.Errorf("%s links %v dynamically", filepath.Base(bin), libs)
		}
		_ = f.Close() // read only, and everything needed was read
	}
}
