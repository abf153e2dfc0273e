package mysql

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// sqlStatementStart matches a string that begins like an SQL statement.
var sqlStatementStart = regexp.MustCompile(`^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|GRANT|REVOKE|SHOW|SET|KILL|FLUSH)(\s|$)`)

// notSent are the strings that look like SQL but are never sent: what the grants parser looks for
// in the server's SHOW GRANTS output, and the words that describe a revocation to people.
var notSent = map[string]bool{"GRANT ": true, "REVOKE ": true, "SET DEFAULT ROLE ": true, "GRANT OPTION on ": true, " GRANT OPTION": true}

// TestSQLTextLivesInStatements keeps statements.go the one place SQL text is written, so a reader
// checks quoting and parameters in one file.
func TestSQLTextLivesInStatements(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if name == "statements.go" || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err == nil && sqlStatementStart.MatchString(s) && !notSent[s] {
				t.Errorf("%s: SQL text %.60q belongs in statements.go", fset.Position(lit.Pos()), s)
			}
			return true
		})
	}
}
