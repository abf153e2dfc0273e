// Package version says which release a binary is. Release builds stamp it with
//
//	-ldflags "-X github.com/stillwaters/db-concierge/internal/version.version=v0.2.0
//	          -X github.com/stillwaters/db-concierge/internal/version.revision=<commit>"
//
// and a plain go build falls back to what the Go toolchain recorded: the module version for
// go install …@v0.2.0, the VCS revision for a build inside a checkout.
package version

import (
	"runtime/debug"
	"strings"
)

// Set by the linker; empty in builds that were not stamped. modified is "true" for a build of a
// checkout with changes.
var (
	version  string
	revision string
	modified string
)

// Info is what a binary knows about its own build.
type Info struct {
	Version  string // vMAJOR.MINOR.PATCH for a release, "dev" otherwise
	Revision string // the git commit, "unknown" when nobody recorded it
	Modified bool   // built from a checkout with uncommitted changes
}

// Get returns the stamped values, completed from the build information Go embeds.
func Get() Info {
	build, _ := debug.ReadBuildInfo()
	return resolve(Info{Version: version, Revision: revision, Modified: modified == "true"}, build)
}

func resolve(info Info, build *debug.BuildInfo) Info {
	if build != nil {
		info = fromBuildInfo(info, build)
	}
	if info.Version == "" {
		info.Version = "dev"
	}
	if info.Revision == "" {
		info.Revision = "unknown"
	}
	return info
}

func fromBuildInfo(info Info, build *debug.BuildInfo) Info {
	if info.Version == "" && build.Main.Version != "" && build.Main.Version != "(devel)" {
		info.Version = build.Main.Version
	}
	for _, s := range build.Settings {
		switch s.Key {
		case "vcs.revision":
			if info.Revision == "" {
				info.Revision = s.Value
			}
		case "vcs.modified":
			info.Modified = info.Modified || s.Value == "true"
		}
	}
	return info
}

// String is the one line both binaries print for --version.
func (i Info) String() string {
	var b strings.Builder
	b.WriteString(i.Version)
	b.WriteString(" (revision ")
	b.WriteString(shortRevision(i.Revision))
	if i.Modified {
		b.WriteString(", modified")
	}
	b.WriteString(")")
	return b.String()
}

func shortRevision(r string) string {
	if len(r) > 12 {
		return r[:12]
	}
	return r
}
