package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"os"
	"strings"
	"time"

	"github.com/stuurman/stuurman/evals/sim"
)

// Workloads is a dry-run report for many workloads at once, as
// "stuurman recommend --prometheus" writes it: a summary table, then one
// single-workload Report per workload. Like Report it is a value the
// caller assembles; this package only renders it.
type Workloads struct {
	// Title heads the report. Default "stuurman dry run".
	Title string
	// Source names the input, e.g. the Prometheus server and the query.
	Source string
	// Generated is when the report was made (injected, not read here).
	Generated time.Time
	// Parameters are the settings every workload shares, in order.
	Parameters []Parameter
	// Workloads are the covered workloads, in the order shown.
	Workloads []WorkloadReport
	// Skipped are workloads selected but not replayed, with the reason.
	Skipped []SkippedWorkload
}

// WorkloadReport is one workload's part of a Workloads report.
type WorkloadReport struct {
	Kind      string
	Namespace string
	Name      string
	// Report is the workload's replay, rendered as the single-trace
	// report renders it; its Generated time is not repeated.
	Report Report
}

// SkippedWorkload is a selected workload the report does not cover.
type SkippedWorkload struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Reason says why, e.g. "no samples in the window".
	Reason string `json:"reason"`
}

// id returns "Kind namespace/name".
func (w WorkloadReport) id() string { return w.Kind + " " + w.Namespace + "/" + w.Name }

// JSONWorkloads is the shape of a multi-workload report.json: the
// workloads' single-trace reports, each with its kind, namespace and name,
// and a summary over all of them.
type JSONWorkloads struct {
	Title      string            `json:"title"`
	Source     string            `json:"source"`
	Generated  time.Time         `json:"generated"`
	Parameters []Parameter       `json:"parameters"`
	Summary    JSONSummary       `json:"summary"`
	Workloads  []JSONWorkload    `json:"workloads"`
	Skipped    []SkippedWorkload `json:"skipped"`
}

// JSONWorkload is one workload's report.json (JSONReport, its fields
// inline) with the workload's identity.
type JSONWorkload struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	JSONReport
}

// JSONSummary totals the workloads' results.
type JSONSummary struct {
	// Workloads is the number of workloads covered; Skipped of those not.
	Workloads int `json:"workloads"`
	Skipped   int `json:"skipped"`
	// Scalers totals each scaler's replica-hours, SLO-violation minutes
	// and actions over the workloads, in the first workload's scaler
	// order (null when a workload's value is).
	Scalers []JSONScalerTotal `json:"scalers"`
	// Comparison compares the totals as JSONReport.Comparison compares
	// one workload's metrics (the θ and τ shares are not summed).
	Comparison *JSONComparison `json:"comparison"`
	// Findings, Decisions and DecisionCount add up the workloads'.
	Findings      int `json:"findings"`
	Decisions     int `json:"decisions"`
	DecisionCount int `json:"decision_count"`
}

// JSONScalerTotal is one scaler's totals over the workloads.
type JSONScalerTotal struct {
	Name                string `json:"name"`
	ReplicaHours        Float  `json:"replica_hours"`
	SLOViolationMinutes Float  `json:"slo_violation_minutes"`
	Actions             int    `json:"actions"`
}

// totals sums each scaler's metrics over the workloads, by scaler name, in
// the order the names first appear. The θ and τ shares are NaN.
func totals(ws []WorkloadReport) []sim.ScalerResult {
	var out []sim.ScalerResult
	index := map[string]int{}
	for _, w := range ws {
		for _, s := range w.Report.Sim.Scalers {
			i, ok := index[s.Name]
			if !ok {
				i = len(out)
				index[s.Name] = i
				nan := math.NaN()
				out = append(out, sim.ScalerResult{Name: s.Name, Metrics: sim.Metrics{ThetaU: nan, ThetaO: nan, TauU: nan, TauO: nan}})
			}
			m := &out[i].Metrics
			m.ReplicaHours += s.Metrics.ReplicaHours
			m.SLOViolationMinutes += s.Metrics.SLOViolationMinutes
			m.Actions += s.Metrics.Actions
		}
	}
	return out
}

// ToWorkloadsJSON returns m in the shape of report.json. Slices are never
// nil.
func ToWorkloadsJSON(m Workloads) JSONWorkloads {
	out := JSONWorkloads{
		Title:      m.Title,
		Source:     m.Source,
		Generated:  m.Generated,
		Parameters: append([]Parameter{}, m.Parameters...),
		Workloads:  make([]JSONWorkload, 0, len(m.Workloads)),
		Skipped:    append([]SkippedWorkload{}, m.Skipped...),
	}
	sum := &out.Summary
	sum.Workloads, sum.Skipped = len(m.Workloads), len(m.Skipped)
	for _, w := range m.Workloads {
		out.Workloads = append(out.Workloads, JSONWorkload{Kind: w.Kind, Namespace: w.Namespace, Name: w.Name, JSONReport: ToJSON(w.Report)})
		sum.Findings += len(w.Report.Findings)
		sum.Decisions += len(w.Report.Decisions)
		sum.DecisionCount += w.Report.DecisionCount
	}
	tot := totals(m.Workloads)
	sum.Scalers = make([]JSONScalerTotal, 0, len(tot))
	for _, s := range tot {
		sum.Scalers = append(sum.Scalers, JSONScalerTotal{Name: s.Name, ReplicaHours: Float(s.Metrics.ReplicaHours),
			SLOViolationMinutes: Float(s.Metrics.SLOViolationMinutes), Actions: s.Metrics.Actions})
	}
	sum.Comparison = comparison(tot)
	return out
}

// WorkloadsJSON renders m as report.json: ToWorkloadsJSON(m), indented,
// with a final newline.
func WorkloadsJSON(m Workloads) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(ToWorkloadsJSON(m)); err != nil {
		return nil, fmt.Errorf("report: encode JSON: %w", err)
	}
	return buf.Bytes(), nil
}

// ReadWorkloadsJSON decodes a report.json written by WriteWorkloads.
func ReadWorkloadsJSON(path string) (JSONWorkloads, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return JSONWorkloads{}, fmt.Errorf("report: %w", err)
	}
	var out JSONWorkloads
	if err := json.Unmarshal(b, &out); err != nil {
		return JSONWorkloads{}, fmt.Errorf("report: decode %s: %w", path, err)
	}
	return out, nil
}

// summaryRow is one row of the summary table, as text.
type summaryRow struct {
	ID, Anchor, Workload, Samples string
	// Per scaler in summaryHead's order: replica-hours, SLO-violation
	// minutes, actions; then the candidate/baseline replica-hours ratio.
	Cells               []string
	Findings, Decisions string
}

// summaryTable returns the summary table's head and rows, the last row
// being the totals.
func summaryTable(m Workloads) (head []string, rows []summaryRow) {
	tot := totals(m.Workloads)
	names := make([]string, len(tot))
	for i, s := range tot {
		names[i] = s.Name
	}
	head = []string{"Workload", "Samples (gaps)"}
	for _, metric := range []string{"replica-hours", "SLO-violation minutes", "actions"} {
		for _, n := range names {
			head = append(head, n+" "+metric)
		}
	}
	bi, ci, pairOK := pair(tot)
	if pairOK {
		head = append(head, tot[ci].Name+" / "+tot[bi].Name+" replica-hours")
	}
	head = append(head, "Findings", "Decisions")

	cells := func(scalers []sim.ScalerResult) []string {
		byName := map[string]sim.Metrics{}
		for _, s := range scalers {
			byName[s.Name] = s.Metrics
		}
		var out []string
		for _, get := range []func(sim.Metrics) string{
			func(m sim.Metrics) string { return num(m.ReplicaHours) },
			func(m sim.Metrics) string { return num(m.SLOViolationMinutes) },
			func(m sim.Metrics) string { return fmt.Sprintf("%d", m.Actions) },
		} {
			for _, n := range names {
				if mm, ok := byName[n]; ok {
					out = append(out, get(mm))
				} else {
					out = append(out, "n/a")
				}
			}
		}
		if pairOK {
			r := ratio(byName[tot[ci].Name].ReplicaHours, byName[tot[bi].Name].ReplicaHours)
			s := "n/a"
			if finite(r) {
				s = fmt.Sprintf("%.2f×", r)
			}
			out = append(out, s)
		}
		return out
	}
	var samples, gaps, findings, decisions int
	for i, w := range m.Workloads {
		d := demand(w.Report)
		samples += d.Len()
		gaps += d.Gaps()
		findings += len(w.Report.Findings)
		decisions += len(w.Report.Decisions)
		rows = append(rows, summaryRow{
			ID: w.id(), Anchor: fmt.Sprintf("w%d", i+1), Workload: w.Namespace + "/" + w.Name,
			Samples:   fmt.Sprintf("%d (%d)", d.Len(), d.Gaps()),
			Cells:     cells(w.Report.Sim.Scalers),
			Findings:  fmt.Sprintf("%d", len(w.Report.Findings)),
			Decisions: fmt.Sprintf("%d", len(w.Report.Decisions)),
		})
	}
	rows = append(rows, summaryRow{
		ID: fmt.Sprintf("Total (%d workloads)", len(m.Workloads)), Samples: fmt.Sprintf("%d (%d)", samples, gaps),
		Cells: cells(tot), Findings: fmt.Sprintf("%d", findings), Decisions: fmt.Sprintf("%d", decisions),
	})
	return head, rows
}

func workloadsTitle(m Workloads) string {
	if m.Title == "" {
		return "stuurman dry run"
	}
	return m.Title
}

// section returns w's report as rendered inside a multi-workload report:
// titled by the workload, without the shared generation time.
func section(w WorkloadReport) Report {
	r := w.Report
	r.Title = w.id()
	r.Generated = time.Time{}
	return r
}

const summaryNote = "Totals add up each workload's replay; decisions counts those that changed a workload or were clamped or denied. Each workload's section below has its parameters, plots, forecast, findings and decisions."

// WorkloadsMarkdown renders m as report.md: title, source, the headline
// over all workloads, the summary table, the skipped workloads, the shared
// parameters, then each workload's report as Markdown renders it, one
// heading level down.
func WorkloadsMarkdown(m Workloads) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", mdText(workloadsTitle(m)))
	if m.Source != "" {
		fmt.Fprintf(&b, "Source: %s  \n", mdText(m.Source))
	}
	if !m.Generated.IsZero() {
		fmt.Fprintf(&b, "Generated: %s\n", m.Generated.Format("2006-01-02 15:04:05 MST"))
	}
	b.WriteString("\n")
	if h := headline(totals(m.Workloads)); h != "" {
		fmt.Fprintf(&b, "**Over all %d workloads: %s**\n\n", len(m.Workloads), mdText(h))
	}
	b.WriteString("## Summary\n\n")
	if len(m.Workloads) == 0 {
		b.WriteString("No workload was replayed.\n\n")
	} else {
		head, rows := summaryTable(m)
		mdTable(&b, head, true, func(row func(...string)) {
			for _, r := range rows {
				row(append(append([]string{r.ID, r.Samples}, r.Cells...), r.Findings, r.Decisions)...)
			}
		})
		b.WriteString(summaryNote + "\n\n")
	}
	if len(m.Skipped) > 0 {
		b.WriteString("## Skipped\n\n")
		mdTable(&b, []string{"Workload", "Reason"}, false, func(row func(...string)) {
			for _, s := range m.Skipped {
				row(s.Kind+" "+s.Namespace+"/"+s.Name, s.Reason)
			}
		})
	}
	mdParameters(&b, "##", m.Parameters)
	for _, w := range m.Workloads {
		mdReport(&b, newView(section(w)), 2)
		b.WriteString("\n")
	}
	return []byte(b.String())
}

// WorkloadsHTML renders m as report.html: one self-contained page (no
// scripts, no external URLs) with the summary table at the top, linking to
// one section per workload with its parameters, metrics, plots, forecast,
// findings and decisions.
func WorkloadsHTML(m Workloads) ([]byte, error) {
	type sectionData struct {
		Anchor string
		Report htmlReport
	}
	data := struct {
		Title, Source, Generated, Headline string
		Parameters                         []Parameter
		Head                               []string
		Rows                               []summaryRow
		Note                               string
		Skipped                            []SkippedWorkload
		Sections                           []sectionData
	}{Title: workloadsTitle(m), Source: m.Source, Parameters: m.Parameters, Skipped: m.Skipped, Note: summaryNote}
	if !m.Generated.IsZero() {
		data.Generated = m.Generated.Format("2006-01-02 15:04:05 MST")
	}
	if h := headline(totals(m.Workloads)); h != "" {
		data.Headline = fmt.Sprintf("Over all %d workloads: %s", len(m.Workloads), h)
	}
	if len(m.Workloads) > 0 {
		data.Head, data.Rows = summaryTable(m)
	}
	for i, w := range m.Workloads {
		data.Sections = append(data.Sections, sectionData{Anchor: fmt.Sprintf("w%d", i+1), Report: newHTMLReport(section(w), workloadHeadings)})
	}
	var buf bytes.Buffer
	if err := workloadsPage.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("report: render HTML: %w", err)
	}
	return buf.Bytes(), nil
}

// WriteWorkloads renders m and writes report.md, report.html and
// report.json into dir, as Write does for a single report: all rendered
// first, each written to a temporary file, then renamed into place.
func WriteWorkloads(dir string, m Workloads) (Files, error) {
	md := WorkloadsMarkdown(m)
	doc, err := WorkloadsHTML(m)
	if err != nil {
		return Files{}, err
	}
	js, err := WorkloadsJSON(m)
	if err != nil {
		return Files{}, err
	}
	return writeFiles(dir, md, doc, js)
}

// workloadsPage renders each workload's section with the template that
// renders a single report's page, one heading level down.
var workloadsPage = template.Must(template.Must(template.New("workloads").Parse(workloadsHTML)).Parse(reportHTML))

const workloadsHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;max-width:1100px;margin:2em auto;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}
h2{font-size:1.35em;margin-top:2.2em;border-bottom:2px solid #ccc;padding-bottom:.2em}
h3{font-size:1.1em;margin-top:1.5em;border-bottom:1px solid #eee;padding-bottom:.1em}
h4{font-size:1em;margin:1.2em 0 .3em}
.meta{color:#555;margin:0}
.headline{font-size:1.15em;font-weight:600;background:#f3f7f4;border-left:4px solid #1b9e77;padding:.6em .9em;margin:1.2em 0}
table{border-collapse:collapse;margin:.6em 0;font-size:13px}
th,td{border:1px solid #ddd;padding:.3em .6em;vertical-align:top;text-align:left}
th{background:#f6f6f6}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.total td{font-weight:600;background:#fafafa}
table.decisions td{font-size:12px}
figure{margin:1em 0}
figcaption{color:#555;font-size:12px}
svg.plot{max-width:100%;height:auto;font-family:system-ui,sans-serif}
.note{color:#555}
section.workload{margin-top:2.5em}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{with .Source}}<p class="meta">Source: {{.}}</p>{{end}}
{{with .Generated}}<p class="meta">Generated: {{.}}</p>{{end}}
{{with .Headline}}<p class="headline">{{.}}</p>{{end}}

<h2 id="summary">Summary</h2>
{{if .Rows}}<table class="summary">
<tr>{{range .Head}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr{{if not .Anchor}} class="total"{{end}}><td>{{if .Anchor}}<a href="#{{.Anchor}}">{{.ID}}</a>{{else}}{{.ID}}{{end}}</td><td class="num">{{.Samples}}</td>{{range .Cells}}<td class="num">{{.}}</td>{{end}}<td class="num">{{.Findings}}</td><td class="num">{{.Decisions}}</td></tr>
{{end}}</table>
<p class="note">{{.Note}}</p>
{{else}}<p>No workload was replayed.</p>{{end}}

{{if .Skipped}}<h2>Skipped</h2>
<table class="skipped">
<tr><th>Workload</th><th>Reason</th></tr>
{{range .Skipped}}<tr><td>{{.Kind}} {{.Namespace}}/{{.Name}}</td><td>{{.Reason}}</td></tr>
{{end}}</table>{{end}}

{{if .Parameters}}<h2>Parameters</h2>
<table class="parameters">
<tr><th>Parameter</th><th>Value</th></tr>
{{range .Parameters}}<tr><td>{{.Name}}</td><td>{{.Value}}</td></tr>
{{end}}</table>{{end}}

{{range .Sections}}<section class="workload" id="{{.Anchor}}">
{{template "report" .Report}}
<p class="note"><a href="#summary">↑ Summary</a></p>
</section>
{{end}}
</body>
</html>
`
