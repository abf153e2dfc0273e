package mysql

import (
	"strings"
	"testing"
)

func TestValidateDatabaseName(t *testing.T) {
	cases := []struct {
		name string
		ok   bool
	}{
		{"myapp", true},
		{"My_App_2", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"", false},
		{"my-app", false},
		{"my app", false},
		{"a`b", false},
		{"a;b", false},
		{"é", false},
		{"mysql", false},
		{"MySQL", false},
		{"information_schema", false},
		{"performance_schema", false},
		{"sys", false},
		{"db_concierge", false},
		{"DB_Concierge_backup", false},
		{"sysadmin", true},
	}
	for _, c := range cases {
		if err := ValidateDatabaseName(c.name); (err == nil) != c.ok {
			t.Errorf("ValidateDatabaseName(%q) = %v, want ok=%v", c.name, err, c.ok)
		}
	}
}

func TestValidateUserName(t *testing.T) {
	cases := []struct {
		name string
		ok   bool
	}{
		{"myapp_app", true},
		{strings.Repeat("u", 32), true},
		{strings.Repeat("u", 33), false},
		{"root", false},
		{"ROOT", false},
		{"mysql", false},
		{"a'b", false},
		{"a@b", false},
	}
	for _, c := range cases {
		if err := ValidateUserName(c.name); (err == nil) != c.ok {
			t.Errorf("ValidateUserName(%q) = %v, want ok=%v", c.name, err, c.ok)
		}
	}
}

func TestGrantPatternEscapesWildcards(t *testing.T) {
	cases := map[string]string{
		"myapp":  "`myapp`",
		"my_app": "`my\\_app`",
		"a%b":    "`a\\%b`",
		`a\b`:    "`a\\\\b`",
		"a`b":    "`a``b`",
	}
	for in, want := range cases {
		if got := grantPattern(in); got != want {
			t.Errorf("grantPattern(%q) = %s, want %s", in, got, want)
		}
	}
}

// unquote reads one backtick-quoted identifier as MySQL does and returns it with what follows.
func unquote(s string) (ident, rest string, ok bool) {
	if !strings.HasPrefix(s, "`") {
		return "", s, false
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] != '`' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '`' {
			b.WriteByte('`')
			i++
			continue
		}
		return b.String(), s[i+1:], true
	}
	return "", "", false
}

// Whatever the input, a quoted identifier reads back as exactly that input and nothing after it:
// no name can close the quote and smuggle SQL in.
func FuzzQuoteIdentifier(f *testing.F) {
	for _, seed := range []string{"myapp", "a`b", "``", "x` ; DROP DATABASE mysql; --", "`", "a\\`"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, name string) {
		ident, rest, ok := unquote(quoteIdentifier(name))
		if !ok || ident != name || rest != "" {
			t.Fatalf("quoteIdentifier(%q) = %s reads back as %q + %q (ok=%v)", name, quoteIdentifier(name), ident, rest, ok)
		}
	})
}
