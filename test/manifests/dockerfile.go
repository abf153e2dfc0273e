package manifests

import (
	"fmt"
	"os"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// DockerfileStages parses a Dockerfile with BuildKit's own parser, as docker build would.
func DockerfileStages(path string) ([]instructions.Stage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read only: a read error surfaces from the parser
	ast, err := parser.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	stages, _, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		return nil, fmt.Errorf("reading the instructions of %s: %w", path, err)
	}
	return stages, nil
}

// GoBuilds returns the RUN instructions that run go build, as shell command lines.
func GoBuilds(stages []instructions.Stage) []string {
	var builds []string
	for _, s := range stages {
		for _, cmd := range s.Commands {
			if run, ok := cmd.(*instructions.RunCommand); ok {
				line := strings.Join(run.CmdLine, " ")
				if strings.Contains(line, "go build") {
					builds = append(builds, line)
				}
			}
		}
	}
	return builds
}
