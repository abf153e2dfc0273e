//go:build integration

// Package release builds a release the way make release does, into a temporary directory, and
// checks what a platform team and a registry would receive: a multi-arch OCI image that holds
// static binaries for each platform and runs as user 65532 (and declares what the Dockerfile
// declares), CLI archives whose checksums the krew manifest and checksums.txt agree on, an SBOM
// per binary, and a chart and manifests pinned to the release.
package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"debug/macho"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"sigs.k8s.io/yaml"

	"github.com/stillwaters/db-concierge/test/manifests"
	"github.com/stillwaters/db-concierge/test/stack"
)

func TestRelease(t *testing.T) {
	root := stack.RepoRoot()
	var chart struct{ Version, AppVersion string }
	readYAML(t, filepath.Join(root, "charts/db-concierge/Chart.yaml"), &chart)
	version := chart.AppVersion
	revision := strings.TrimSpace(run(t, root, "git", "rev-parse", "HEAD"))
	// What --version prints: a build of a checkout with changes says so.
	wantVersion := version + " (revision " + revision[:12] + ")"
	if strings.TrimSpace(run(t, root, "git", "status", "--porcelain")) != "" {
		wantVersion = version + " (revision " + revision[:12] + ", modified)"
	}

	dist := t.TempDir()
	// make release, with -allow-dirty so that the test also runs on a checkout being worked on.
	run(t, filepath.Join(root, "hack/release"), "go", "run", ".", "-version", version, "-src", root, "-out", dist, "-allow-dirty")

	files := checkChecksums(t, dist)
	name := func(format string) string { return fmt.Sprintf(format, version) }
	for _, want := range []string{
		name("db-concierge-operator_%s.oci.tar"), "concierge.yaml", name("db-concierge_%s.yaml"), name("db-concierge-crds_%s.yaml"),
		"db-concierge-" + chart.Version + ".tgz",
		name("db-concierge-operator_%s_linux_amd64.cdx.json"), name("db-concierge-operator_%s_linux_arm64.cdx.json"),
	} {
		if !slices.Contains(files, want) {
			t.Errorf("the release has no %s; it has %v", want, files)
		}
	}

	t.Run("image", func(t *testing.T) {
		checkImage(t, filepath.Join(dist, name("db-concierge-operator_%s.oci.tar")), version, revision, wantVersion)
	})
	t.Run("CLI and krew", func(t *testing.T) { checkCLI(t, dist, version, wantVersion) })
	t.Run("SBOMs", func(t *testing.T) { checkSBOMs(t, dist, files, version) })
	t.Run("manifests and chart", func(t *testing.T) { checkInstall(t, dist, version, chart.Version) })
}

// checkChecksums verifies checksums.txt against every other file of the release and returns
// their names.
func checkChecksums(t *testing.T, dist string) []string {
	t.Helper()
	listed := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(readFile(t, filepath.Join(dist, "checksums.txt"))), "\n") {
		sum, file, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("checksums.txt line %q is not in sha256sum's format", line)
		}
		listed[file] = sum
	}
	entries, err := os.ReadDir(dist)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		if e.Name() == "checksums.txt" {
			continue
		}
		if e.IsDir() {
			t.Errorf("the release holds a directory, %s", e.Name())
			continue
		}
		files = append(files, e.Name())
		if got := sha256File(t, filepath.Join(dist, e.Name())); listed[e.Name()] != got {
			t.Errorf("checksums.txt says %s of %s; it is %s", listed[e.Name()], e.Name(), got)
		}
		delete(listed, e.Name())
	}
	if len(listed) > 0 {
		t.Errorf("checksums.txt lists files the release lacks: %v", listed)
	}
	return files
}

// ociImage is an OCI layout read from a tar: its blobs by digest.
type ociImage map[string][]byte

func (o ociImage) blob(t *testing.T, digest string) []byte {
	t.Helper()
	data, ok := o["blobs/"+strings.Replace(digest, ":", "/", 1)]
	if !ok {
		t.Fatalf("the layout has no blob %s", digest)
	}
	if got := "sha256:" + sha256Hex(data); got != digest {
		t.Fatalf("blob %s holds content of digest %s", digest, got)
	}
	return data
}

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Annotations map[string]string `json:"annotations"`
	Platform    *struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
	} `json:"platform"`
}

type imageConfig struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	RootFS       struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
	Config struct {
		User       string            `json:"User"`
		Entrypoint []string          `json:"Entrypoint"`
		Labels     map[string]string `json:"Labels"`
	} `json:"config"`
}

func checkImage(t *testing.T, archive, version, revision, wantVersion string) {
	layout := ociImage{}
	forEachTarEntry(t, readFile(t, archive), func(h *tar.Header, data []byte) { layout[h.Name] = data })
	if !strings.Contains(string(layout["oci-layout"]), `"imageLayoutVersion"`) {
		t.Fatalf("no oci-layout file: %q", layout["oci-layout"])
	}
	var top struct{ Manifests []descriptor }
	unmarshal(t, layout["index.json"], &top)
	if len(top.Manifests) != 1 || top.Manifests[0].MediaType != "application/vnd.oci.image.index.v1+json" ||
		top.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != version {
		t.Fatalf("index.json should name one image index, tagged %s: %+v", version, top.Manifests)
	}
	var index struct{ Manifests []descriptor }
	unmarshal(t, layout.blob(t, top.Manifests[0].Digest), &index)

	dockerfile := declaredByDockerfile(t)
	machines := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
	var platforms []string
	for _, m := range index.Manifests {
		if m.Platform == nil {
			t.Fatalf("index entry %s has no platform", m.Digest)
		}
		platform := m.Platform.OS + "/" + m.Platform.Architecture
		platforms = append(platforms, platform)
		var manifest struct {
			Config descriptor
			Layers []descriptor
		}
		unmarshal(t, layout.blob(t, m.Digest), &manifest)
		var config imageConfig
		unmarshal(t, layout.blob(t, manifest.Config.Digest), &config)
		if config.OS+"/"+config.Architecture != platform {
			t.Errorf("%s: the config says %s/%s", platform, config.OS, config.Architecture)
		}
		if config.RootFS.Type != "layers" || len(config.RootFS.DiffIDs) != len(manifest.Layers) {
			t.Errorf("%s: rootfs %+v for %d layers; the image spec requires type layers and a diff ID per layer", platform, config.RootFS, len(manifest.Layers))
		}
		if config.Config.User != dockerfile.user || config.Config.User != "65532:65532" {
			t.Errorf("%s: user %q; the Dockerfile declares %q, want 65532:65532", platform, config.Config.User, dockerfile.user)
		}
		if !slices.Equal(config.Config.Entrypoint, dockerfile.entrypoint) {
			t.Errorf("%s: entrypoint %q; the Dockerfile declares %q", platform, config.Config.Entrypoint, dockerfile.entrypoint)
		}
		wantLabels := map[string]string{
			"org.opencontainers.image.version":  version,
			"org.opencontainers.image.revision": revision,
			"org.opencontainers.image.licenses": "Apache-2.0",
		}
		for key, value := range dockerfile.labels {
			if _, stamped := wantLabels[key]; !stamped {
				wantLabels[key] = value
			}
		}
		for key, value := range wantLabels {
			if config.Config.Labels[key] != value {
				t.Errorf("%s: label %s is %q, want %q", platform, key, config.Config.Labels[key], value)
			}
		}
		if len(config.Config.Labels) != len(wantLabels) {
			t.Errorf("%s: labels %v; the Dockerfile declares %v", platform, config.Config.Labels, dockerfile.labels)
		}

		fs := map[string]*tar.Header{}
		contents := map[string][]byte{}
		for _, l := range manifest.Layers {
			if l.MediaType != "application/vnd.oci.image.layer.v1.tar+gzip" {
				t.Errorf("%s: layer %s is %s", platform, l.Digest, l.MediaType)
			}
			forEachTarEntry(t, gunzip(t, layout.blob(t, l.Digest)), func(h *tar.Header, data []byte) {
				fs[h.Name], contents[h.Name] = h, data
			})
		}
		for _, path := range dockerfile.copied {
			h := fs[strings.TrimPrefix(path, "/")]
			if h == nil {
				t.Errorf("%s: the Dockerfile copies to %s; the image has no such file", platform, path)
				continue
			}
			if h.Mode&0o111 == 0 || h.Uid != 0 {
				t.Errorf("%s: %s has mode %o and owner %d; want executable, owned by root", platform, path, h.Mode, h.Uid)
			}
			checkStaticELF(t, platform+" "+path, contents[h.Name], machines[m.Platform.Architecture])
		}
		// distroless's nonroot user, its home and a writable /tmp, as the Dockerfile's base has.
		if !strings.Contains(string(contents["etc/passwd"]), "nonroot:x:65532:65532:") {
			t.Errorf("%s: /etc/passwd has no nonroot user 65532: %q", platform, contents["etc/passwd"])
		}
		if h := fs["tmp/"]; h == nil || h.Mode&0o1777 != 0o1777 {
			t.Errorf("%s: no world-writable, sticky /tmp", platform)
		}
		if h := fs["home/nonroot/"]; h == nil || h.Uid != 65532 {
			t.Errorf("%s: no /home/nonroot owned by 65532", platform)
		}
		if !strings.Contains(string(contents["etc/ssl/certs/ca-certificates.crt"]), "BEGIN CERTIFICATE") {
			t.Errorf("%s: no CA bundle", platform)
		}
		// The amd64 operator runs here: it says which release it is.
		if m.Platform.Architecture == "amd64" {
			bin := filepath.Join(t.TempDir(), "db-concierge-operator")
			if err := os.WriteFile(bin, contents["usr/local/bin/db-concierge-operator"], 0o755); err != nil {
				t.Fatal(err)
			}
			if out := run(t, "", bin, "--version"); !strings.Contains(out, wantVersion) {
				t.Errorf("the image's operator --version says %q, want %q", out, wantVersion)
			}
		}
	}
	slices.Sort(platforms)
	if !slices.Equal(platforms, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("the index holds %v, want linux/amd64 and linux/arm64", platforms)
	}
}

// checkStaticELF checks a binary is an ELF executable for machine that asks for no dynamic
// loader: it runs on an image without a C library.
func checkStaticELF(t *testing.T, what string, data []byte, machine elf.Machine) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Errorf("%s is not an ELF binary: %v", what, err)
		return
	}
	if f.Machine != machine || f.Type != elf.ET_EXEC {
		t.Errorf("%s is %v %v, want an executable for %v", what, f.Type, f.Machine, machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s is dynamically linked (%v)", what, p.Type)
		}
	}
}

// dockerfileDeclares is what the Dockerfile's final stage says the image is.
type dockerfileDeclares struct {
	user       string
	entrypoint []string
	labels     map[string]string // without ${...} values, which come from build arguments
	copied     []string
}

func declaredByDockerfile(t *testing.T) dockerfileDeclares {
	t.Helper()
	stages, err := manifests.DockerfileStages(filepath.Join(stack.RepoRoot(), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	d := dockerfileDeclares{labels: map[string]string{}}
	for _, cmd := range stages[len(stages)-1].Commands {
		switch c := cmd.(type) {
		case *instructions.UserCommand:
			d.user = c.User
		case *instructions.EntrypointCommand:
			d.entrypoint = c.CmdLine
		case *instructions.CopyCommand:
			d.copied = append(d.copied, c.DestPath)
		case *instructions.LabelCommand:
			for _, kv := range c.Labels {
				if value, err := strconv.Unquote(kv.Value); err == nil && !strings.Contains(value, "${") {
					d.labels[kv.Key] = value
				}
			}
		}
	}
	return d
}

type krewManifest struct {
	Metadata struct{ Name string }
	Spec     struct {
		Version   string
		Platforms []struct {
			Selector struct{ MatchLabels map[string]string }
			URI      string
			Sha256   string
			Bin      string
		}
	}
}

func checkCLI(t *testing.T, dist, version, wantVersion string) {
	var krew krewManifest
	readYAML(t, filepath.Join(dist, "concierge.yaml"), &krew)
	if krew.Metadata.Name != "concierge" || krew.Spec.Version != version {
		t.Errorf("the krew manifest is for %s %s", krew.Metadata.Name, krew.Spec.Version)
	}
	var seen []string
	for _, p := range krew.Spec.Platforms {
		goos, arch := p.Selector.MatchLabels["os"], p.Selector.MatchLabels["arch"]
		seen = append(seen, goos+"/"+arch)
		archive := fmt.Sprintf("bootstrap-mysql-schema_%s_%s_%s.tar.gz", version, goos, arch)
		if !strings.HasSuffix(p.URI, "/releases/download/"+version+"/"+archive) {
			t.Errorf("%s/%s: uri %s", goos, arch, p.URI)
		}
		data := readFile(t, filepath.Join(dist, archive))
		if got := sha256Hex([]byte(data)); p.Sha256 != got {
			t.Errorf("%s/%s: the krew manifest says sha256 %s; the archive's is %s", goos, arch, p.Sha256, got)
		}
		files := map[string][]byte{}
		forEachTarEntry(t, gunzip(t, []byte(data)), func(h *tar.Header, data []byte) { files[h.Name] = data })
		if _, ok := files["LICENSE"]; !ok {
			t.Errorf("%s has no LICENSE", archive)
		}
		bin := files[p.Bin]
		switch goos {
		case "linux":
			checkStaticELF(t, archive, bin, map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[arch])
		case "darwin":
			f, err := macho.NewFile(bytes.NewReader(bin))
			want := map[string]macho.Cpu{"amd64": macho.CpuAmd64, "arm64": macho.CpuArm64}[arch]
			if err != nil || f.Cpu != want {
				t.Errorf("%s: not a Mach-O binary for %v: %v", archive, want, err)
			}
		}
		if goos == "linux" && arch == "amd64" {
			path := filepath.Join(t.TempDir(), "kubectl-concierge")
			if err := os.WriteFile(path, bin, 0o755); err != nil {
				t.Fatal(err)
			}
			if out := run(t, "", path, "--version"); !strings.Contains(out, wantVersion) {
				t.Errorf("kubectl-concierge --version says %q, want %q", out, wantVersion)
			}
		}
	}
	slices.Sort(seen)
	if want := []string{"darwin/amd64", "darwin/arm64", "linux/amd64", "linux/arm64"}; !slices.Equal(seen, want) {
		t.Errorf("the krew manifest covers %v, want %v", seen, want)
	}
}

func checkSBOMs(t *testing.T, dist string, files []string, version string) {
	var binaries []string
	for _, f := range files {
		if strings.HasSuffix(f, ".tar.gz") {
			binaries = append(binaries, strings.TrimSuffix(f, ".tar.gz"))
		}
	}
	binaries = append(binaries, "db-concierge-operator_"+version+"_linux_amd64", "db-concierge-operator_"+version+"_linux_arm64")
	for _, b := range binaries {
		var bom struct {
			BOMFormat string `json:"bomFormat"`
			Metadata  struct {
				Component struct{ Name, Version string }
			}
			Components []struct{ Name, Version string }
		}
		unmarshal(t, []byte(readFile(t, filepath.Join(dist, b+".cdx.json"))), &bom)
		if bom.BOMFormat != "CycloneDX" || bom.Metadata.Component.Version != version {
			t.Errorf("%s's SBOM: format %q, component %+v", b, bom.BOMFormat, bom.Metadata.Component)
		}
		if !slices.ContainsFunc(bom.Components, func(c struct{ Name, Version string }) bool {
			return c.Name == "github.com/go-sql-driver/mysql"
		}) {
			t.Errorf("%s's SBOM lists no go-sql-driver/mysql among %d components", b, len(bom.Components))
		}
	}
}

func checkInstall(t *testing.T, dist, version, chartVersion string) {
	image := stack.ReleasedRepository + ":" + version
	all := readFile(t, filepath.Join(dist, "db-concierge_"+version+".yaml"))
	if !strings.Contains(all, "image: "+image+"\n") {
		t.Errorf("db-concierge_%s.yaml does not run %s", version, image)
	}
	// The one-file install is what kubectl apply -k deploy/ applies, object for object.
	kubectl := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
	kustomized := run(t, "", kubectl, "kustomize", filepath.Join(stack.RepoRoot(), "deploy"))
	released, built := objects(t, all), objects(t, kustomized)
	if !slices.Equal(slices.Sorted(maps.Keys(released)), slices.Sorted(maps.Keys(built))) {
		t.Errorf("db-concierge_%s.yaml holds %v; kubectl kustomize deploy/ gives %v", version, slices.Sorted(maps.Keys(released)), slices.Sorted(maps.Keys(built)))
	}
	for key, obj := range built {
		if released[key] != nil && !reflect.DeepEqual(released[key], obj) {
			t.Errorf("%s differs between db-concierge_%s.yaml and kubectl kustomize deploy/", key, version)
		}
	}
	chart := filepath.Join(dist, "db-concierge-"+chartVersion+".tgz")
	files := map[string][]byte{}
	forEachTarEntry(t, gunzip(t, []byte(readFile(t, chart))), func(h *tar.Header, data []byte) { files[h.Name] = data })
	for _, want := range []string{"db-concierge/crds/appdatabase-crd.yaml", "db-concierge/crds/mysqlcluster-crd.yaml"} {
		if _, ok := files[want]; !ok {
			t.Errorf("the packaged chart has no %s", want)
		}
	}
	rendered := run(t, "", filepath.Join(stack.RepoRoot(), "hack/helm.sh"), "template", "db-concierge", chart, "-n", "db-concierge",
		"--set", "adminSecret.existingSecret=admin")
	if !strings.Contains(rendered, `image: "`+image+`"`) {
		t.Errorf("the packaged chart does not run %s by default", image)
	}
}

// objects decodes a stream of YAML documents into objects by kind, namespace and name.
func objects(t *testing.T, stream string) map[string]map[string]any {
	t.Helper()
	objs := map[string]map[string]any{}
	for _, doc := range regexp.MustCompile(`(?m)^---$`).Split(stream, -1) {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatal(err)
		}
		if obj == nil {
			continue
		}
		meta, _ := obj["metadata"].(map[string]any)
		objs[fmt.Sprintf("%v %v/%v", obj["kind"], meta["namespace"], meta["name"])] = obj
	}
	return objs
}

func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

func forEachTarEntry(t *testing.T, data any, f func(*tar.Header, []byte)) {
	t.Helper()
	var r io.Reader
	switch d := data.(type) {
	case string:
		r = strings.NewReader(d)
	case []byte:
		r = bytes.NewReader(d)
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		content, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		f(h, content)
	}
}

func gunzip(t *testing.T, data []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	if err := yaml.Unmarshal([]byte(readFile(t, path)), v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func unmarshal(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}

func sha256File(t *testing.T, path string) string { return sha256Hex([]byte(readFile(t, path))) }

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
