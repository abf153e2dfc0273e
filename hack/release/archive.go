package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// entry is one file or directory of a tar archive.
type entry struct {
	name     string // relative, with a trailing slash for a directory
	mode     int64
	uid, gid int
	data     []byte
}

// tarBytes writes entries, in the given order, owned by uid/gid as given and dated mtime: the
// same entries always give the same bytes, whoever builds them and when.
func tarBytes(entries []entry, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.gid, ModTime: mtime, Format: tar.FormatPAX}
		if e.name[len(e.name)-1] == '/' {
			hdr.Typeflag = tar.TypeDir
		} else {
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(e.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// gzipped compresses without a file name or time in the header, so it is reproducible too.
func gzipped(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// archiveName is the CLI archive of a platform, as the krew manifest and the checksums name it.
func (r *release) archiveName(p platform) string {
	return fmt.Sprintf("%s_%s_%s.tar.gz", cliBinary, r.version, p)
}

// writeArchives packs the CLI of each platform with the licence, which krew requires and the
// licence asks for.
func (r *release) writeArchives() error {
	license, err := os.ReadFile(filepath.Join(r.src, "LICENSE"))
	if err != nil {
		return err
	}
	readme, err := os.ReadFile(filepath.Join(r.src, "README.md"))
	if err != nil {
		return err
	}
	for _, p := range cliPlatforms {
		bin, err := os.ReadFile(r.binaryPath(p, cliBinary))
		if err != nil {
			return err
		}
		data, err := tarBytes([]entry{
			{name: cliBinary, mode: 0o755, data: bin},
			{name: "LICENSE", mode: 0o644, data: license},
			{name: "README.md", mode: 0o644, data: readme},
		}, r.created)
		if err != nil {
			return err
		}
		if data, err = gzipped(data); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(r.out, r.archiveName(p)), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
