package docs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stillwaters/db-concierge/test/stack"
)

// Each difference from the seed that the design notes record, keyed by a phrase of its "seed"
// column there, and a phrase that says it on docs/differences.md.
var designDifferences = map[string]string{
	"Operator in Python (Kopf)":                  "operator and CLI in Python (Kopf)",
	"If the database exists":                     "if the database exists",
	"a routine reconcile may reset the password": "the Secret is the source of truth",
	"admin password change needs":                "an admin password change needs",
	"AppDatabase objects live in `db-concierge`": "AppDatabases live in `db-concierge`",
	"configure one operator to handle multiple":  "configure one operator to handle multiple clusters",
	"`clusterRef` is \"a PXC service name\"":     "`clusterRef` is \"a PXC service name\"",
	"`cd operator && docker build .`":            "`cd operator && docker build .`",
	"GCR for GKE":                                "GCR for GKE",
}

// The differences the seed's own users meet first, which the design notes leave to this page.
var otherDifferences = []string{
	"the CLI creates the AppDatabase in `db-concierge`",
	"UID 1000",
	"Kubernetes 1.30 or newer",
	"a `dbName` of at most 28 characters",
	"escaped in the grant",
}

// docs/differences.md states every deliberate difference from the seed: those of the design notes
// (read when the workspace has them beside the checkout) and the others it owes users.
func TestDifferencesAreAllStated(t *testing.T) {
	page, err := os.ReadFile(filepath.Join(stack.RepoRoot(), "docs", "differences.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, phrase := range otherDifferences {
		if !strings.Contains(string(page), phrase) {
			t.Errorf("docs/differences.md does not say %q", phrase)
		}
	}
	for _, phrase := range designDifferences {
		if !strings.Contains(string(page), phrase) {
			t.Errorf("docs/differences.md does not say %q", phrase)
		}
	}
	design, err := os.ReadFile(filepath.Join(stack.RepoRoot(), "..", "shared", "DESIGN.md"))
	if err != nil {
		t.Skipf("the design notes are not beside the checkout (%v): only the known differences were checked", err)
	}
	_, table, found := strings.Cut(string(design), "## Where we deliberately differ from the seed")
	if !found {
		t.Fatal("the design notes have no section of differences")
	}
	for _, line := range strings.Split(table, "\n") {
		if strings.HasPrefix(line, "## ") {
			break
		}
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| seed ") {
			continue
		}
		seed, _, _ := strings.Cut(strings.TrimPrefix(line, "| "), " | ")
		known := false
		for key := range designDifferences {
			if strings.Contains(seed, key) {
				known = true
			}
		}
		if !known {
			t.Errorf("the design notes' difference %q is not on docs/differences.md (add it there, and to designDifferences)", seed)
		}
	}
}
