// Command gen-api-docs writes docs/api.md, the reference of every field of the project's custom
// resources, from the generated CRDs in charts/db-concierge/crds/ (one file per kind) — so the
// reference cannot drift from the API.
// make generate runs it; make verify fails when its output is stale.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gen-api-docs CRD_DIR OUTPUT")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "gen-api-docs:", err)
		os.Exit(1)
	}
}

func run(dir, output string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*-crd.yaml"))
	if err != nil {
		return err
	}
	sort.Strings(files)
	var b strings.Builder
	b.WriteString("# API reference\n\n")
	b.WriteString("<!-- Generated from the CRDs by hack/gen-api-docs (make generate). Do not edit. -->\n\n")
	b.WriteString("Every field of DB Concierge's custom resources, as the API server validates them. `kubectl explain` shows the same descriptions.\n")
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(raw, &crd); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		writeCRD(&b, &crd)
	}
	return os.WriteFile(output, []byte(b.String()), 0o644)
}

func writeCRD(b *strings.Builder, crd *apiextensionsv1.CustomResourceDefinition) {
	for _, v := range crd.Spec.Versions {
		schema := v.Schema.OpenAPIV3Schema
		fmt.Fprintf(b, "\n## %s (`%s/%s`)\n\n", crd.Spec.Names.Kind, crd.Spec.Group, v.Name)
		fmt.Fprintf(b, "%s\n\n", oneLine(schema.Description))
		fmt.Fprintf(b, "Scope: %s. Short name: %s.\n", crd.Spec.Scope, strings.Join(crd.Spec.Names.ShortNames, ", "))
		writeRules(b, "", schema)
		for _, part := range []string{"spec", "status"} {
			prop, ok := schema.Properties[part]
			if !ok {
				continue
			}
			fmt.Fprintf(b, "\n### %s.%s\n", crd.Spec.Names.Kind, part)
			writeRules(b, part, &prop)
			b.WriteString("\n| field | type | required | default | validation | description |\n|---|---|---|---|---|---|\n")
			writeFields(b, part, &prop)
		}
	}
}

// writeRules lists an object's CEL rules, the checks across fields.
func writeRules(b *strings.Builder, path string, s *apiextensionsv1.JSONSchemaProps) {
	if len(s.XValidations) == 0 {
		return
	}
	where := "The object"
	if path != "" {
		where = "`" + path + "`"
	}
	fmt.Fprintf(b, "\n%s is also checked by these rules:\n\n", where)
	for _, r := range s.XValidations {
		fmt.Fprintf(b, "- %s (`%s`)\n", r.Message, r.Rule)
	}
}

func writeFields(b *strings.Builder, path string, s *apiextensionsv1.JSONSchemaProps) {
	names := make([]string, 0, len(s.Properties))
	for n := range s.Properties {
		names = append(names, n)
	}
	sort.Strings(names)
	required := map[string]bool{}
	for _, r := range s.Required {
		required[r] = true
	}
	for _, n := range names {
		p := s.Properties[n]
		full := path + "." + n
		typ := p.Type
		if typ == "array" && p.Items != nil && p.Items.Schema != nil {
			typ = "array of " + p.Items.Schema.Type
		}
		def := ""
		if p.Default != nil {
			def = "`" + string(p.Default.Raw) + "`"
		}
		req := ""
		if required[n] {
			req = "yes"
		}
		fmt.Fprintf(b, "| `%s` | %s | %s | %s | %s | %s |\n", full, typ, req, def, validation(&p), cell(p.Description))
		switch {
		case p.Type == "object" && len(p.Properties) > 0:
			writeFields(b, full, &p)
		case p.Type == "array" && p.Items != nil && p.Items.Schema != nil && len(p.Items.Schema.Properties) > 0 && !strings.HasSuffix(full, "conditions"):
			writeFields(b, full+"[]", p.Items.Schema)
		}
	}
}

func validation(p *apiextensionsv1.JSONSchemaProps) string {
	var parts []string
	if p.Pattern != "" {
		parts = append(parts, "pattern `"+strings.ReplaceAll(p.Pattern, "|", `\|`)+"`")
	}
	if p.MinLength != nil {
		parts = append(parts, fmt.Sprintf("min length %d", *p.MinLength))
	}
	if p.MaxLength != nil {
		parts = append(parts, fmt.Sprintf("max length %d", *p.MaxLength))
	}
	if p.Minimum != nil {
		parts = append(parts, fmt.Sprintf("≥ %v", *p.Minimum))
	}
	if p.Maximum != nil {
		parts = append(parts, fmt.Sprintf("≤ %v", *p.Maximum))
	}
	if p.MinItems != nil {
		parts = append(parts, fmt.Sprintf("at least %d", *p.MinItems))
	}
	if p.MaxItems != nil {
		parts = append(parts, fmt.Sprintf("at most %d", *p.MaxItems))
	}
	if len(p.Enum) > 0 {
		var values []string
		for _, e := range p.Enum {
			values = append(values, "`"+strings.Trim(string(e.Raw), `"`)+"`")
		}
		parts = append(parts, "one of "+strings.Join(values, ", "))
	}
	for _, r := range p.XValidations {
		parts = append(parts, r.Message)
	}
	return strings.Join(parts, "; ")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func cell(s string) string { return strings.ReplaceAll(oneLine(s), "|", `\|`) }
