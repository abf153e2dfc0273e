package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

const cyclonedxVersion = "v1.10.0"

// pinnedImage is the operator image as deploy/ and the chart's Chart.yaml name it.
var pinnedImage = regexp.MustCompile(`(?m)^(\s*image: )` + regexp.QuoteMeta(imageRepository) + `:\S+$`)

// manifestsName and crdsName are the install manifests: everything kubectl apply -k deploy/
// installs, and the CRDs alone (the first step of an upgrade).
func (r *release) manifestsName() string { return "db-concierge_" + r.version + ".yaml" }
func (r *release) crdsName() string      { return "db-concierge-crds_" + r.version + ".yaml" }

// writeManifests renders deploy/'s kustomization (CRDs, namespace, RBAC, policy, Service,
// Deployment) into one file with the image pinned to this release, and the CRDs into another.
func (r *release) writeManifests() error {
	crds, err := os.ReadFile(filepath.Join(r.src, "crds", "appdatabase-crd.yaml"))
	if err != nil {
		return err
	}
	resources, err := kustomizationResources(filepath.Join(r.src, "deploy", "kustomization.yaml"))
	if err != nil {
		return err
	}
	var all bytes.Buffer
	for _, res := range resources {
		var doc []byte
		if res == "../crds" {
			doc = crds
		} else if doc, err = os.ReadFile(filepath.Join(r.src, "deploy", res)); err != nil {
			return err
		}
		if res == "deployment.yaml" {
			if doc, err = r.pin(doc); err != nil {
				return fmt.Errorf("deploy/%s: %w", res, err)
			}
		}
		if all.Len() > 0 {
			all.WriteString("---\n")
		}
		all.Write(doc)
	}
	if err := os.WriteFile(filepath.Join(r.out, r.crdsName()), crds, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(r.out, r.manifestsName()), all.Bytes(), 0o644)
}

// pin sets the operator image of a manifest to this release's.
func (r *release) pin(doc []byte) ([]byte, error) {
	if n := len(pinnedImage.FindAll(doc, -1)); n != 1 {
		return nil, fmt.Errorf("%d lines name the image %s, want 1", n, imageRepository)
	}
	return pinnedImage.ReplaceAll(doc, []byte("${1}"+r.image())), nil
}

// kustomizationResources lists the resources of a kustomization, in order.
func kustomizationResources(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	var resources []string
	in := false
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		line := scanner.Text()
		switch {
		case line == "resources:":
			in = true
		case in && strings.HasPrefix(line, "  - "):
			resources = append(resources, strings.TrimPrefix(line, "  - "))
		case in && !strings.HasPrefix(line, " "):
			in = false
		}
	}
	if len(resources) == 0 {
		return nil, fmt.Errorf("%s lists no resources", path)
	}
	return resources, scanner.Err()
}

// chartFields are the lines of Chart.yaml that carry the release's version.
var chartFields = regexp.MustCompile(`(?m)^(version|appVersion): .*$`)

// packageChart packages the chart, with its CRDs, at the release's version; its image tag
// defaults to appVersion.
func (r *release) packageChart() error {
	dir := filepath.Join(r.work, "chart")
	if err := run(r.src, nil, "cp", "-R", filepath.Join(r.src, "charts", "db-concierge"), dir); err != nil {
		return err
	}
	chartYAML := filepath.Join(dir, "Chart.yaml")
	data, err := os.ReadFile(chartYAML)
	if err != nil {
		return err
	}
	if n := len(chartFields.FindAll(data, -1)); n != 2 {
		return fmt.Errorf("the chart has %d version and appVersion lines in Chart.yaml, want 2", n)
	}
	data = chartFields.ReplaceAllFunc(data, func(line []byte) []byte {
		if bytes.HasPrefix(line, []byte("version:")) {
			return []byte("version: " + r.chartVersion())
		}
		return []byte(`appVersion: "` + r.version + `"`)
	})
	if err := os.WriteFile(chartYAML, data, 0o644); err != nil {
		return err
	}
	helm := filepath.Join(r.src, "hack", "helm.sh")
	if err := run(r.work, nil, helm, "lint", "--strict", dir); err != nil {
		return err
	}
	return run(r.work, []string{"SOURCE_DATE_EPOCH=" + fmt.Sprint(r.created.Unix())}, helm, "package", dir, "--destination", r.out)
}

// sbomName is the SBOM of a binary, named after the artifact that ships it.
func (r *release) sbomName(p platform, binary string) string {
	return fmt.Sprintf("%s_%s_%s.cdx.json", binary, r.version, p)
}

// writeSBOMs writes a CycloneDX SBOM for every binary shipped: the CLI of each archive, and the
// operator of each image platform (whose CLI is the linux archive's).
func (r *release) writeSBOMs() error {
	cyclonedx, err := tool("github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod", cyclonedxVersion)
	if err != nil {
		return err
	}
	sbom := func(p platform, binary string) error {
		return run(r.work, nil, cyclonedx, "bin", "-json", "-noserial", "-notimestamp", "-version", r.version,
			"-output", filepath.Join(r.out, r.sbomName(p, binary)), r.binaryPath(p, binary))
	}
	for _, p := range cliPlatforms {
		if err := sbom(p, cliBinary); err != nil {
			return err
		}
	}
	for _, p := range imagePlatforms {
		if err := sbom(p, operatorBinary); err != nil {
			return err
		}
	}
	return nil
}

// writeChecksums writes checksums.txt in sha256sum's format, for sha256sum -c.
func (r *release) writeChecksums() error {
	entries, err := os.ReadDir(r.out)
	if err != nil {
		return err
	}
	var lines []string // in name order, as ReadDir returns them
	for _, e := range entries {
		if e.IsDir() || e.Name() == "checksums.txt" {
			continue
		}
		sum, err := fileSHA256(filepath.Join(r.out, e.Name()))
		if err != nil {
			return err
		}
		lines = append(lines, sum+"  "+e.Name())
	}
	return os.WriteFile(filepath.Join(r.out, "checksums.txt"), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}
