package docs

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stillwaters/db-concierge/test/stack"
)

func documents(t *testing.T) []string {
	t.Helper()
	root := stack.RepoRoot()
	files, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	return append(files, filepath.Join(root, "README.md"), filepath.Join(root, "CONTRIBUTING.md"), filepath.Join(root, "examples", "README.md"))
}

// Every relative link resolves to a file, and every anchor to a heading.
func TestLinksResolve(t *testing.T) {
	for _, doc := range documents(t) {
		links, err := Links(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, link := range links {
			if strings.HasPrefix(link, "http://") || strings.HasPrefix(link, "https://") || strings.HasPrefix(link, "mailto:") {
				continue
			}
			target, anchor, _ := strings.Cut(link, "#")
			path := doc
			if target != "" {
				path = filepath.Join(filepath.Dir(doc), target)
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("%s: link %q: %v", rel(doc), link, err)
				continue
			}
			if anchor == "" {
				continue
			}
			anchors, err := Anchors(path)
			if err != nil {
				t.Fatal(err)
			}
			if !anchors[anchor] {
				t.Errorf("%s: link %q: no heading makes anchor #%s in %s", rel(doc), link, anchor, rel(path))
			}
		}
	}
}

// Every shell and YAML block of the pages users follow says whether the docs test runs it.
func TestBlocksAreMarked(t *testing.T) {
	for _, page := range []string{"docs/platform.md", "docs/developers.md"} {
		blocks, err := Blocks(filepath.Join(stack.RepoRoot(), page))
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range blocks {
			if (b.Language == "bash" || b.Language == "yaml") && b.Marker == "" {
				t.Errorf("%s:%d: a %s block without <!-- test: run|file|skip ... -->", page, b.Line, b.Language)
			}
			if strings.HasPrefix(b.Marker, "skip") && len(strings.Fields(b.Marker)) < 3 {
				t.Errorf("%s:%d: a skipped block must say why", page, b.Line)
			}
		}
	}
}

// The troubleshooting guide has an entry for every reason the operator gives: a new reason
// without one fails here.
func TestTroubleshootingCoversEveryReason(t *testing.T) {
	root := stack.RepoRoot()
	anchors, err := Anchors(filepath.Join(root, "docs", "troubleshooting.md"))
	if err != nil {
		t.Fatal(err)
	}
	reasons := reasonConstants(t, filepath.Join(root, "api", "v1", "reasons.go"))
	reasons = append(reasons, reasonConstants(t, filepath.Join(root, "internal", "controller", "appdatabase_controller.go"))...)
	reasons = append(reasons, "PasswordRegenerated")
	if len(reasons) < 10 {
		t.Fatalf("found only %d reasons: the parsing is broken", len(reasons))
	}
	for _, r := range reasons {
		switch r {
		case "Provisioned", "Provisioning", "Reachable":
			continue // not problems
		}
		if !anchors[Slug(r)] {
			t.Errorf("docs/troubleshooting.md has no entry (### %s) for reason %s", r, r)
		}
	}
}

// reasonConstants reads the string constants named Reason… from a Go file.
func reasonConstants(t *testing.T, path string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var values []string
	ast.Inspect(f, func(n ast.Node) bool {
		spec, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range spec.Names {
			if !strings.HasPrefix(name.Name, "Reason") || i >= len(spec.Values) {
				continue
			}
			if lit, ok := spec.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				v, _ := strconv.Unquote(lit.Value)
				values = append(values, v)
			}
		}
		return true
	})
	return values
}

func TestSlug(t *testing.T) {
	cases := map[string]string{
		"Upgrading from the seed's operator": "upgrading-from-the-seeds-operator",
		"AppDatabase and MySQLCluster":       "appdatabase-and-mysqlcluster",
		"With install.sh":                    "with-installsh",
		"`kubectl` and friends":              "kubectl-and-friends",
	}
	for in, want := range cases {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}

func rel(path string) string {
	r, err := filepath.Rel(stack.RepoRoot(), path)
	if err != nil {
		return path
	}
	return r
}
