package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

const (
	krewVersion = "v0.4.3"
	// The plugin's name: kubectl concierge.
	krewPlugin = "concierge"
)

// krewManifestName is the manifest's file name; krew requires it to be the plugin's name.
const krewManifestName = krewPlugin + ".yaml"

// writeKrewManifest writes the plugin manifest for kubectl concierge, one platform per CLI
// archive with that archive's sha256, then has krew's own validator check it and krew install
// the plugin from each archive, as a user's krew would.
func (r *release) writeKrewManifest() error {
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: %s
spec:
  version: %s
  homepage: %s
  shortDescription: Self-service MySQL databases, users and credential Secrets
  description: |
    Asks DB Concierge for a MySQL database: creates an AppDatabase in your
    namespace, waits until the database, its user and the Secret with the
    credentials exist, and prints how to connect. The platform team runs the
    DB Concierge operator; you never see its admin password.
  platforms:
`, krewPlugin, r.version, sourceURL)
	for _, p := range cliPlatforms {
		sum, err := fileSHA256(filepath.Join(r.out, r.archiveName(p)))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, `  - selector:
      matchLabels:
        os: %s
        arch: %s
    uri: %s/releases/download/%s/%s
    sha256: %s
    bin: %s
    files:
      - from: %s
        to: .
      - from: LICENSE
        to: .
`, p.OS, p.Arch, sourceURL, r.version, r.archiveName(p), sum, cliBinary, cliBinary)
	}
	manifest := filepath.Join(r.out, krewManifestName)
	if err := os.WriteFile(manifest, []byte(b.String()), 0o644); err != nil {
		return err
	}
	return r.validateKrewManifest(manifest)
}

func (r *release) validateKrewManifest(manifest string) error {
	validator, err := tool("sigs.k8s.io/krew/cmd/validate-krew-manifest", krewVersion)
	if err != nil {
		return err
	}
	// The validator would install from the manifest's URIs, which exist only once the release is
	// published; the installs below use the archives instead.
	if err := run(r.work, nil, validator, "-manifest", manifest, "-skip-install"); err != nil {
		return err
	}
	krew, err := tool("sigs.k8s.io/krew/cmd/krew", krewVersion)
	if err != nil {
		return err
	}
	for _, p := range cliPlatforms {
		root := filepath.Join(r.work, "krew", p.String())
		env := []string{"KREW_ROOT=" + root, "KREW_OS=" + p.OS, "KREW_ARCH=" + p.Arch}
		if err := run(r.work, env, krew, "install", "--manifest="+manifest, "--archive="+filepath.Join(r.out, r.archiveName(p))); err != nil {
			return fmt.Errorf("krew install on %s: %w", p, err)
		}
		link := filepath.Join(root, "bin", "kubectl-"+krewPlugin)
		if _, err := os.Stat(link); err != nil {
			return fmt.Errorf("krew install on %s left no kubectl-%s: %w", p, krewPlugin, err)
		}
	}
	return nil
}

func fileSHA256(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}
