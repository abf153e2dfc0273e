package main

import (
	"fmt"
	"sort"
	"strings"
)

// timing is a histogram's running sum (seconds) and count.
type timing struct{ sum, count float64 }

// operatorTimings reads the operator's latency histograms, keyed "family{label=value,…}" with
// the labels that tell the parts of a pass apart (see breakdownParts).
func (b *bench) operatorTimings() (map[string]timing, error) {
	families, err := b.operatorFamilies()
	if err != nil {
		return nil, err
	}
	out := map[string]timing{}
	for _, part := range breakdownParts {
		family, ok := families[part.family]
		if !ok {
			continue
		}
		for _, m := range family.Metric {
			h := m.GetHistogram()
			if h == nil {
				continue
			}
			labels := map[string]string{}
			for _, l := range m.Label {
				labels[l.GetName()] = l.GetValue()
			}
			if part.match != nil && !part.match(labels) {
				continue
			}
			key := part.family + "{" + labels[part.by] + "}"
			t := out[key]
			t.sum += h.GetSampleSum()
			t.count += float64(h.GetSampleCount())
			out[key] = t
		}
	}
	return out, nil
}

// breakdownPart is one family of the operator's histograms, split by one of its labels.
type breakdownPart struct {
	family, by, title string
	match             func(labels map[string]string) bool
}

func appdatabaseQueue(l map[string]string) bool { return l["name"] == "appdatabase" }

// breakdownParts are where a tenant's time can go, in the order the report lists them. Times
// nest: the steps run inside the worker's time, SQL inside claim and provision, API requests
// (and their rate-limiter waits) inside the status and Secret writes, plus the Events the
// operator sends in the background.
var breakdownParts = []breakdownPart{
	{family: "workqueue_queue_duration_seconds", match: appdatabaseQueue, title: "queue wait"},
	{family: "workqueue_work_duration_seconds", match: appdatabaseQueue, title: "worker time (reconcile passes)"},
	{family: "db_concierge_appdatabase_step_duration_seconds", by: "step", title: "step"},
	{family: "db_concierge_sql_duration_seconds", by: "operation", title: "SQL"},
	{family: "rest_client_request_duration_seconds", by: "verb", title: "API request"},
	{family: "rest_client_rate_limiter_duration_seconds", by: "verb", title: "API rate-limiter wait"},
}

// BreakdownRow is one part of a tenant's time: how often it happened per tenant and the time it
// took per tenant, summed over its occurrences.
type BreakdownRow struct {
	Part      string  `json:"part"`
	PerTenant float64 `json:"perTenant"`
	Ms        float64 `json:"msPerTenant"`
}

// breakdown divides what the histograms gained between two readings by the tenants.
func breakdown(before, after map[string]timing, tenants int) []BreakdownRow {
	var rows []BreakdownRow
	for _, part := range breakdownParts {
		prefix := part.family + "{"
		var keys []string
		for k := range after {
			if strings.HasPrefix(k, prefix) && after[k].count > before[k].count {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			title := part.title
			if label := strings.TrimSuffix(strings.TrimPrefix(k, prefix), "}"); label != "" {
				title += " " + label
			}
			rows = append(rows, BreakdownRow{Part: title,
				PerTenant: round((after[k].count - before[k].count) / float64(tenants)),
				Ms:        round(1000 * (after[k].sum - before[k].sum) / float64(tenants))})
		}
	}
	return rows
}

func breakdownMarkdown(n int, rows []BreakdownRow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nOperator, burst of %d — where a tenant's time goes (means per tenant, from the operator's metrics; steps run inside worker time, SQL inside claim and provision, API requests inside the writes):\n\n| part | times per tenant | ms per tenant |\n|---|---|---|\n", n)
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %.2f | %.2f |\n", r.Part, r.PerTenant, r.Ms)
	}
	return b.String()
}
