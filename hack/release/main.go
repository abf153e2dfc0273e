// Command release builds one release of DB Concierge into a directory (make release VERSION=v0.2.0
// writes dist/): the operator's multi-arch OCI image, the CLI's archives, the krew manifest, the
// install manifests and the chart pinned to that version, an SBOM per binary, and checksums.
//
// It needs no Docker engine and no network beyond the Go module proxy: the binaries are
// cross-compiled by the Go toolchain, the image is assembled from them with go-containerregistry,
// and the tools it runs (helm, cyclonedx-gomod, krew) are built from the module proxy once per
// version into a cache outside the checkout.
//
// go-containerregistry rather than ko: ko builds on a base image it pulls from a registry, which
// a release must then trust and reach; go-containerregistry's mutate package composes an image
// from layers written here, so the base files are as pinned and reviewable as the code, and the
// result is written as an OCI layout that crane or skopeo publish.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Names every artifact is derived from.
const (
	imageRepository = "ghcr.io/stillwaters/db-concierge-operator"
	sourceURL       = "https://github.com/stillwaters/db-concierge"
	operatorBinary  = "db-concierge-operator"
	cliBinary       = "bootstrap-mysql-schema"
	licence         = "Apache-2.0"
)

// platform is one GOOS/GOARCH pair.
type platform struct{ OS, Arch string }

func (p platform) String() string { return p.OS + "_" + p.Arch }

var (
	imagePlatforms = []platform{{"linux", "amd64"}, {"linux", "arm64"}}
	cliPlatforms   = []platform{{"linux", "amd64"}, {"linux", "arm64"}, {"darwin", "amd64"}, {"darwin", "arm64"}}
)

var semver = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$`)

// release is what every step needs to know.
type release struct {
	version  string // v0.2.0
	revision string // the commit built
	modified bool   // built from a checkout with changes (-allow-dirty)
	created  time.Time
	src      string // the checkout
	out      string // dist/
	work     string // intermediate files, under out
}

func main() {
	var r release
	var allowDirty bool
	flag.StringVar(&r.version, "version", "", "The release's version, vMAJOR.MINOR.PATCH.")
	flag.StringVar(&r.src, "src", "../..", "The checkout to build.")
	flag.StringVar(&r.out, "out", "../../dist", "Where the release is written; emptied first.")
	flag.BoolVar(&allowDirty, "allow-dirty", false, "Build from a checkout with uncommitted changes (for trying the release out, never for publishing).")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("release: ")
	if err := r.prepare(allowDirty); err != nil {
		log.Fatal(err)
	}
	start := time.Now()
	if err := r.build(); err != nil {
		log.Fatal(err)
	}
	log.Printf("%s written to %s in %s", r.version, r.out, time.Since(start).Round(time.Second))
}

func (r *release) prepare(allowDirty bool) error {
	if !semver.MatchString(r.version) {
		return fmt.Errorf("VERSION=%q is not vMAJOR.MINOR.PATCH", r.version)
	}
	var err error
	if r.src, err = filepath.Abs(r.src); err != nil {
		return err
	}
	if r.out, err = filepath.Abs(r.out); err != nil {
		return err
	}
	if r.revision, err = git(r.src, "rev-parse", "HEAD"); err != nil {
		return err
	}
	// Untracked files count: a new .go file under cmd/ or internal/ would be built in.
	status, err := git(r.src, "status", "--porcelain")
	if err != nil {
		return err
	}
	if status != "" && !allowDirty {
		return fmt.Errorf("the checkout has uncommitted changes; a release is built from a commit:\n%s", status)
	}
	r.modified = status != ""
	// Every timestamp in the release is the commit's, so building the same commit twice gives
	// the same image digests and archives (SOURCE_DATE_EPOCH overrides, as elsewhere).
	epoch := os.Getenv("SOURCE_DATE_EPOCH")
	if epoch == "" {
		if epoch, err = git(r.src, "log", "-1", "--format=%ct"); err != nil {
			return err
		}
	}
	seconds, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil {
		return fmt.Errorf("SOURCE_DATE_EPOCH %q: %w", epoch, err)
	}
	r.created = time.Unix(seconds, 0).UTC()
	if err := r.checkOut(); err != nil {
		return err
	}
	if err := os.RemoveAll(r.out); err != nil {
		return err
	}
	r.work = filepath.Join(r.out, ".work")
	return os.MkdirAll(r.work, 0o755)
}

// checkOut refuses an output directory whose removal would lose anything but an earlier release:
// the checkout itself or a folder holding it, or a folder with files and no checksums.txt.
func (r *release) checkOut() error {
	if r.out == r.src || strings.HasPrefix(r.src, r.out+string(filepath.Separator)) {
		return fmt.Errorf("-out %s holds the checkout; it is emptied first", r.out)
	}
	entries, err := os.ReadDir(r.out)
	if errors.Is(err, fs.ErrNotExist) || len(entries) == 0 {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(r.out, "checksums.txt")); err != nil {
		return fmt.Errorf("-out %s is not empty and holds no earlier release (no checksums.txt); it would be emptied first", r.out)
	}
	return nil
}

// build runs the steps in order; each writes its artifacts into r.out.
func (r *release) build() error {
	steps := []struct {
		name string
		run  func() error
	}{
		{"binaries", r.buildBinaries},
		{"CLI archives", r.writeArchives},
		{"krew manifest", r.writeKrewManifest},
		{"operator image", r.writeImage},
		{"install manifests", r.writeManifests},
		{"chart", r.packageChart},
		{"SBOMs", r.writeSBOMs},
		{"checksums", r.writeChecksums},
	}
	for _, s := range steps {
		start := time.Now()
		if err := s.run(); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		log.Printf("%-17s %s", s.name, time.Since(start).Round(100*time.Millisecond))
	}
	return os.RemoveAll(r.work)
}

// chartVersion is the chart's SemVer: the release version without its "v".
func (r *release) chartVersion() string { return strings.TrimPrefix(r.version, "v") }

func (r *release) image() string { return imageRepository + ":" + r.version }

func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}

// run runs a command with its output on ours, in dir, with extra environment.
func run(dir string, env []string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}
