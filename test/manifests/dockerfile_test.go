package manifests

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/stillwaters/db-concierge/test/stack"
)

func dockerfileStages(t *testing.T) []instructions.Stage {
	t.Helper()
	stages, err := DockerfileStages(filepath.Join(stack.RepoRoot(), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	return stages
}

func TestDockerfile(t *testing.T) {
	stages := dockerfileStages(t)
	if len(stages) < 2 {
		t.Fatalf("%d stages; want a build stage and a minimal final stage", len(stages))
	}
	final := stages[len(stages)-1]
	var user string
	var copied []string
	var entrypoint []string
	for _, cmd := range final.Commands {
		switch c := cmd.(type) {
		case *instructions.UserCommand:
			user = c.User
		case *instructions.CopyCommand:
			if c.From == "" {
				t.Errorf("the final stage copies from the build context (%v); it should take only built binaries", c.SourcePaths)
			}
			copied = append(copied, c.SourcePaths...)
		case *instructions.RunCommand:
			t.Errorf("the final stage runs %v; it has no shell to run it", c.CmdLine)
		case *instructions.EntrypointCommand:
			entrypoint = c.CmdLine
		}
	}
	uid, _, _ := strings.Cut(user, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("final USER is %q; want a numeric non-root UID (Kubernetes checks runAsNonRoot by number)", user)
	}
	if !strings.Contains(final.BaseName, "distroless") && final.BaseName != "scratch" {
		t.Errorf("final stage is based on %s; want a minimal image", final.BaseName)
	}
	for _, bin := range []string{"/db-concierge-operator", "/bootstrap-mysql-schema"} {
		if !containsSuffix(copied, bin) {
			t.Errorf("the final stage copies %v; want %s", copied, bin)
		}
	}
	if len(entrypoint) != 1 || !strings.HasSuffix(entrypoint[0], "/db-concierge-operator") {
		t.Errorf("ENTRYPOINT is %v", entrypoint)
	}
	builds := GoBuilds(stages)
	if len(builds) == 0 {
		t.Fatal("no go build in the Dockerfile")
	}
	for _, b := range builds {
		if !strings.Contains(b, "CGO_ENABLED=0") {
			t.Errorf("go build without CGO_ENABLED=0, so the binary may not be static: %s", b)
		}
	}
}

func containsSuffix(list []string, suffix string) bool {
	for _, s := range list {
		if strings.HasSuffix(s, suffix) {
			return true
		}
	}
	return false
}
