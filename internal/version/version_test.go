package version

import (
	"runtime/debug"
	"testing"
)

func TestResolve(t *testing.T) {
	vcs := []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}}
	tests := []struct {
		name    string
		stamped Info
		build   debug.BuildInfo
		want    string
	}{
		{"stamped wins", Info{Version: "v0.2.0", Revision: "abc"}, debug.BuildInfo{Main: debug.Module{Version: "v0.1.0"}, Settings: vcs}, "v0.2.0 (revision abc, modified)"},
		{"go install of a tag", Info{}, debug.BuildInfo{Main: debug.Module{Version: "v0.2.0"}}, "v0.2.0 (revision unknown)"},
		{"nothing recorded", Info{}, debug.BuildInfo{}, "dev (revision unknown)"},
		{"stamped as modified", Info{Version: "v0.2.0", Revision: "abc", Modified: true}, debug.BuildInfo{}, "v0.2.0 (revision abc, modified)"},
		{"checkout build", Info{}, debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs}, "dev (revision 0123456789ab, modified)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := resolve(tt.stamped, &tt.build)
			if got.String() != tt.want {
				t.Errorf("got %q, want %q", got.String(), tt.want)
			}
		})
	}
}
