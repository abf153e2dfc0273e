package credentials

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"text/template"
	"text/template/parse"
)

// TemplateFields are what a template may read of the connection: {{ .Username }} and the like.
var TemplateFields = []string{"Host", "Port", "Username", "Password", "Database"}

// TemplateFunctions are the functions a template may call: escapes for the formats secrets are
// written in, and text/template's comparisons and logic. Nothing else: no printf, whose widths
// can allocate without bound, and no range or template calls, which can loop, so that rendering
// takes time and memory in proportion to the template.
var TemplateFunctions = []string{"urlencode", "urlquery", "shellquote", "json", "eq", "ne", "and", "or", "not"}

// MaxRenderedBytes caps what one template renders.
const MaxRenderedBytes = 16 << 10

// templateFuncs are the functions, each refusing an argument longer than a whole rendering may be:
// a result only grows a few times over its argument, so however they are nested and assigned to
// variables, no value grows past a few times MaxRenderedBytes.
var templateFuncs = template.FuncMap{
	"urlencode":  capped(PercentEncode),
	"urlquery":   capped(url.QueryEscape),
	"shellquote": capped(ShellQuote),
	"json": capped(func(s string) string {
		b, _ := json.Marshal(s) // a string always encodes
		return string(b)
	}),
}

// capped makes f refuse an argument longer than MaxRenderedBytes.
func capped(f func(string) string) func(any) (string, error) {
	return func(v any) (string, error) {
		s := fmt.Sprint(v)
		if len(s) > MaxRenderedBytes {
			return "", errTooLong
		}
		return f(s), nil
	}
}

// templateData is what templates see.
type templateData struct {
	Host     string
	Port     int
	Username string
	Password string
	Database string
}

// Template is one key of a Secret, rendered from the connection.
type Template struct {
	Key string
	t   *template.Template
}

// ParseTemplate parses text and checks that it uses only TemplateFields and TemplateFunctions,
// and no range, template, define or block. Its errors name what to change and never the values.
func ParseTemplate(key, text string) (*Template, error) {
	t, err := template.New(key).Option("missingkey=error").Funcs(templateFuncs).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("template of key %q: %w", key, err)
	}
	if len(t.Templates()) > 1 {
		return nil, fmt.Errorf("template of key %q: define and block are not allowed", key)
	}
	if err := checkNode(t.Root); err != nil {
		return nil, fmt.Errorf("template of key %q: %w", key, err)
	}
	return &Template{Key: key, t: t}, nil
}

// Render renders the template for c.
func (t *Template) Render(c Connection) ([]byte, error) {
	w := &cappedBuffer{limit: MaxRenderedBytes}
	err := t.t.Execute(w, templateData{Host: c.Host, Port: c.Port, Username: c.User, Password: c.Password, Database: c.Database})
	if err != nil {
		if errors.Is(err, errTooLong) {
			return nil, fmt.Errorf("template of key %q renders more than %d bytes", t.Key, MaxRenderedBytes)
		}
		// text/template's errors name the template, the action and the types, not the values.
		return nil, fmt.Errorf("rendering key %q: %w", t.Key, err)
	}
	return w.Bytes(), nil
}

var errTooLong = errors.New("rendered template too long")

type cappedBuffer struct {
	bytes.Buffer
	limit int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.limit {
		return 0, errTooLong
	}
	return b.Buffer.Write(p)
}

// checkNode refuses what could make rendering loop or allocate without bound, and names outside
// the fields and functions a template is given.
func checkNode(n parse.Node) error {
	switch n := n.(type) {
	case nil:
		return nil
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := checkNode(c); err != nil {
				return err
			}
		}
	case *parse.TextNode, *parse.DotNode, *parse.StringNode, *parse.NumberNode, *parse.BoolNode, *parse.NilNode, *parse.VariableNode:
	case *parse.ActionNode:
		return checkNode(n.Pipe)
	case *parse.PipeNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Cmds {
			if err := checkNode(c); err != nil {
				return err
			}
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			if err := checkNode(a); err != nil {
				return err
			}
		}
	case *parse.FieldNode:
		if len(n.Ident) != 1 || !slices.Contains(TemplateFields, n.Ident[0]) {
			return fmt.Errorf("unknown field %s: the fields are .Host, .Port, .Username, .Password and .Database", n)
		}
	case *parse.ChainNode:
		return fmt.Errorf("%s: fields have no fields", n)
	case *parse.IdentifierNode:
		if !slices.Contains(TemplateFunctions, n.Ident) {
			return fmt.Errorf("function %s is not allowed: the functions are %v", n.Ident, TemplateFunctions)
		}
	case *parse.IfNode:
		return checkBranch(&n.BranchNode)
	case *parse.WithNode:
		return checkBranch(&n.BranchNode)
	default:
		return fmt.Errorf("%s is not allowed: a template holds text, fields, functions, if and with", n)
	}
	return nil
}

func checkBranch(b *parse.BranchNode) error {
	for _, n := range []parse.Node{b.Pipe, b.List, b.ElseList} {
		if err := checkNode(n); err != nil {
			return err
		}
	}
	return nil
}
