package docs

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stillwaters/db-concierge/internal/mysql"
	"github.com/stillwaters/db-concierge/test/stack"
)

var grantStatement = regexp.MustCompile(`(?s)GRANT (.+?) ON \*\.\* TO [^;]*?(WITH GRANT OPTION)?;`)

// The admin account's GRANT statements in docs/platform.md are the privileges the operator checks
// for (mysql.AdminPrivileges): MariaDB's in the install example, MySQL 8's in its own block.
func TestAdminGrantsMatchTheOperator(t *testing.T) {
	blocks, err := Blocks(filepath.Join(stack.RepoRoot(), "docs", "platform.md"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		flavor, version, marker string
	}{
		{mysql.FlavorMariaDB, "10.11.19-MariaDB", "run install"},
		{mysql.FlavorMySQL, "8.0.39", "skip no MySQL 8 server"},
	}
	for _, c := range cases {
		wantGrant, wantOther := mysql.AdminPrivileges(c.flavor, c.version)
		var gotGrant, gotOther []string
		for _, b := range blocks {
			if !strings.HasPrefix(b.Marker, c.marker) {
				continue
			}
			for _, m := range grantStatement.FindAllStringSubmatch(b.Body, -1) {
				var privileges []string
				for _, p := range strings.Split(m[1], ",") {
					privileges = append(privileges, strings.Join(strings.Fields(p), " "))
				}
				if m[2] != "" {
					gotGrant = append(gotGrant, privileges...)
				} else {
					gotOther = append(gotOther, privileges...)
				}
			}
		}
		slices.Sort(gotGrant)
		slices.Sort(gotOther)
		slices.Sort(wantGrant)
		slices.Sort(wantOther)
		if !slices.Equal(gotGrant, wantGrant) || !slices.Equal(gotOther, wantOther) {
			t.Errorf("%s: the docs grant %v with GRANT OPTION and %v without; the operator checks for %v and %v",
				c.flavor, gotGrant, gotOther, wantGrant, wantOther)
		}
	}
}
