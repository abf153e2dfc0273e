package main

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// The image runs as distroless's "nonroot" user: numeric, so the kubelet can check runAsNonRoot.
const (
	nonroot  = 65532
	userSpec = "65532:65532"
	binDir   = "usr/local/bin/"
	caBundle = "etc/ssl/certs/ca-certificates.crt"
)

// The files of distroless's static image that a static Go binary can use: the users, the name
// service order, the CA bundle (for MySQL servers whose certificates chain to a public CA), a
// home for nonroot and a writable /tmp. The binaries read no time zone data and no C library.
// The CA bundle is added by caBundleEntry.
var baseFiles = []entry{
	{name: "etc/", mode: 0o755},
	{name: "etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/sbin/nologin\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
	{name: "etc/group", mode: 0o644, data: []byte("root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n")},
	{name: "etc/nsswitch.conf", mode: 0o644, data: []byte("hosts: files dns\n")},
	{name: "etc/ssl/", mode: 0o755},
	{name: "etc/ssl/certs/", mode: 0o755},
	{name: "home/", mode: 0o755},
	{name: "home/nonroot/", mode: 0o700, uid: nonroot, gid: nonroot},
	{name: "tmp/", mode: 0o1777},
	{name: "usr/", mode: 0o755},
	{name: "usr/local/", mode: 0o755},
	{name: binDir, mode: 0o755},
}

// imageArchiveName is the OCI layout of the image index, as a tar (skopeo's oci-archive:).
func (r *release) imageArchiveName() string {
	return fmt.Sprintf("%s_%s.oci.tar", operatorBinary, r.version)
}

// imageLabels are the labels of each image, the Dockerfile's too; the index carries them as
// annotations, with the time of the commit.
func (r *release) imageLabels() map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       operatorBinary,
		"org.opencontainers.image.description": "DB Concierge: self-service MySQL databases, users and credential Secrets for application teams",
		"org.opencontainers.image.source":      sourceURL,
		"org.opencontainers.image.url":         sourceURL,
		"org.opencontainers.image.licenses":    licence,
		"org.opencontainers.image.version":     r.version,
		"org.opencontainers.image.revision":    r.revision,
	}
}

// writeImage assembles, for each platform, the base files and the two binaries into an OCI
// image, puts both in one index, and writes it as an OCI layout tarred into the release.
func (r *release) writeImage() error {
	files := append(append([]entry(nil), baseFiles...), caBundleEntry())
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	base, err := r.layer(files)
	if err != nil {
		return err
	}
	index := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range imagePlatforms {
		img, err := r.platformImage(p, base)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		index = mutate.AppendManifests(index, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: p.OS, Architecture: p.Arch}},
		})
	}
	annotations := r.imageLabels()
	annotations["org.opencontainers.image.created"] = r.created.Format(time.RFC3339)
	annotated, ok := mutate.Annotations(index, annotations).(v1.ImageIndex)
	if !ok {
		return fmt.Errorf("annotating the index lost its type")
	}
	dir := filepath.Join(r.work, "oci")
	path, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	if err := path.AppendIndex(annotated, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": r.version,
	})); err != nil {
		return err
	}
	return r.tarDirectory(dir, filepath.Join(r.out, r.imageArchiveName()))
}

func (r *release) platformImage(p platform, base v1.Layer) (v1.Image, error) {
	var bins []entry
	for _, name := range []string{cliBinary, operatorBinary} {
		data, err := os.ReadFile(r.binaryPath(p, name))
		if err != nil {
			return nil, err
		}
		bins = append(bins, entry{name: binDir + name, mode: 0o755, data: data})
	}
	app, err := r.layer(bins)
	if err != nil {
		return nil, err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, &v1.ConfigFile{
		Architecture: p.Arch,
		OS:           p.OS,
		Created:      v1.Time{Time: r.created},
		// Filled in with the layers' diff IDs as they are appended.
		RootFS: v1.RootFS{Type: "layers"},
		Config: v1.Config{
			User:       userSpec,
			Entrypoint: []string{"/" + binDir + operatorBinary},
			Env:        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "SSL_CERT_FILE=/" + caBundle},
			WorkingDir: "/",
			Labels:     r.imageLabels(),
		},
	})
	if err != nil {
		return nil, err
	}
	return mutate.Append(img,
		mutate.Addendum{Layer: base, History: v1.History{Created: v1.Time{Time: r.created}, CreatedBy: "users, CA bundle, /tmp (distroless static's files)"}},
		mutate.Addendum{Layer: app, History: v1.History{Created: v1.Time{Time: r.created}, CreatedBy: "the operator and the CLI, static Go binaries"}},
	)
}

// caBundleEntry is the image's CA bundle: Mozilla's roots as golang.org/x/crypto/x509roots
// pins them, so that every build of a commit has the same roots, whatever the build machine
// trusts. Roots that NSS distrusts after a date are left out: a PEM bundle cannot say so.
func caBundleEntry() entry {
	var pems bytes.Buffer
	for root := range bundle.Roots() {
		if root.Constraint == nil {
			_ = pem.Encode(&pems, &pem.Block{Type: "CERTIFICATE", Bytes: root.Certificate}) // a bytes.Buffer does not fail
		}
	}
	return entry{name: caBundle, mode: 0o644, data: pems.Bytes()}
}

// layer is a gzipped OCI layer of entries.
func (r *release) layer(entries []entry) (v1.Layer, error) {
	data, err := tarBytes(entries, r.created)
	if err != nil {
		return nil, err
	}
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

// tarDirectory writes the files under dir into a tar at dest, in name order.
func (r *release) tarDirectory(dir, dest string) error {
	var entries []entry
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			entries = append(entries, entry{name: filepath.ToSlash(rel) + "/", mode: 0o755})
			return nil
		}
		data, err := os.ReadFile(path) //nolint:gosec // G122: the layout this tool just wrote in its own work directory
		entries = append(entries, entry{name: filepath.ToSlash(rel), mode: 0o644, data: data})
		return err
	})
	if err != nil {
		return err
	}
	data, err := tarBytes(entries, r.created)
	if err != nil {
		return err
	}
	return os.WriteFile(dest, data, 0o644)
}
