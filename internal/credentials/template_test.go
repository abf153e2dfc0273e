package credentials

import (
	"strings"
	"testing"
)

func TestTemplates(t *testing.T) {
	c := Connection{Host: "db.svc", Port: 3306, User: "shop_app", Password: `p@ss/w'rd&"x"`, Database: "shop"} //nolint:gosec // G101: a test value
	good := []struct{ text, want string }{
		{"jdbc:mariadb://{{ .Host }}:{{ .Port }}/{{ .Database }}", "jdbc:mariadb://db.svc:3306/shop"},
		{"mysql+pymysql://{{ .Username | urlencode }}:{{ .Password | urlencode }}@{{ .Host }}/{{ .Database }}",
			"mysql+pymysql://shop_app:p%40ss%2Fw%27rd%26%22x%22@db.svc/shop"},
		{"DB_PASSWORD={{ shellquote .Password }}", `DB_PASSWORD='p@ss/w'\''rd&"x"'`},
		{`{"user": {{ json .Username }}, "password": {{ json .Password }}}`, `{"user": "shop_app", "password": "p@ss/w'rd\u0026\"x\""}`},
		{`{{ if eq .Port 3306 }}default{{ else }}{{ .Port }}{{ end }}`, "default"},
		{`{{ with $p := .Password }}{{ $p | urlquery }}{{ end }}`, "p%40ss%2Fw%27rd%26%22x%22"},
	}
	for _, g := range good {
		tpl, err := ParseTemplate("k", g.text)
		if err != nil {
			t.Errorf("%s: %v", g.text, err)
			continue
		}
		got, err := tpl.Render(c)
		if err != nil || string(got) != g.want {
			t.Errorf("%s: rendered %q, %v; want %q", g.text, got, err, g.want)
		}
	}

	bad := []struct{ text, want string }{
		{"{{ .Pasword }}", "unknown field .Pasword"},
		{"{{ .Host.Name }}", "unknown field .Host.Name"},
		{`{{ printf "%0999999999d" 1 }}`, "function printf is not allowed"},
		{"{{ range 1000000000 }}x{{ end }}", "is not allowed"},
		{`{{ define "x" }}{{ .Password }}{{ end }}{{ template "x" . }}`, "not allowed"},
		{"{{ index .Host 0 }}", "function index is not allowed"},
		{"{{ .Host ", "unclosed action"},
	}
	for _, b := range bad {
		_, err := ParseTemplate("k", b.text)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: %v, want an error containing %q", b.text, err, b.want)
		}
	}

	// Functions nested or assigned over and over cannot grow a value without bound.
	nested := "{{ $x := json .Password }}" + strings.Repeat("{{ $x = json $x }}", 60) + "{{ len $x }}"
	if _, err := ParseTemplate("k", nested); err == nil {
		t.Error("a template calling len was accepted")
	}
	nested = "{{ $x := json .Password }}" + strings.Repeat("{{ $x = json (shellquote $x) }}", 60) + "x"
	tpl, err := ParseTemplate("k", nested)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tpl.Render(c); err == nil || !strings.Contains(err.Error(), "renders more than") {
		t.Errorf("nested escapes: %v", err)
	}

	// Rendering is capped; errors never carry the values.
	long, err := ParseTemplate("k", strings.Repeat("{{ .Password }}", MaxRenderedBytes/len(c.Password)+1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := long.Render(c); err == nil || strings.Contains(err.Error(), c.Password) {
		t.Errorf("over-long rendering: %v", err)
	}
	failing, err := ParseTemplate("k", `{{ eq .Password 1 }}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := failing.Render(c); err == nil || strings.Contains(err.Error(), c.Password) {
		t.Errorf("failed rendering: %v", err)
	}
}
