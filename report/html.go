package report

import (
	"bytes"
	"fmt"
	"html/template"
)

// HTML renders r as report.html: one self-contained page (inline CSS and
// SVG, no scripts, no external URLs) with the Markdown report's content and
// plots of demand, forecast band, capacity and replicas (and the busiest
// day, for replays of two days or more). Long series are downsampled to one
// min/max bucket per pixel column, so the page stays small (about 240 kB for
// 84,000 samples and two scalers).
func HTML(r Report) ([]byte, error) {
	var buf bytes.Buffer
	if err := page.Execute(&buf, newHTMLReport(r, pageHeadings)); err != nil {
		return nil, fmt.Errorf("report: render HTML: %w", err)
	}
	return buf.Bytes(), nil
}

// htmlReport is what the "report" template renders: one report's content
// and figures, with the headings of the level it stands at.
type htmlReport struct {
	view
	Figures []htmlFigure
	headings
}

// headings says at which level the "report" template renders a report.
type headings struct {
	// TitleTag heads the report, SectionTag each of its sections and
	// FigureTag each figure.
	TitleTag, SectionTag, FigureTag tag
	// OwnPage is set where the report is the whole page: it then shows
	// its generation time and the note under the metrics table.
	OwnPage bool
}

var (
	// pageHeadings are the headings of report.html for one report.
	pageHeadings = headings{TitleTag: "h1", SectionTag: "h2", FigureTag: "h3", OwnPage: true}
	// workloadHeadings are those of a workload's section in a
	// multi-workload report.html: one level down.
	workloadHeadings = headings{TitleTag: "h2", SectionTag: "h3", FigureTag: "h4"}
)

// tag is the name of an HTML element, e.g. "h2".
type tag string

// Open and Close return the element's start and end tags. (A template
// cannot write "<{{.}}>": its escaper takes a "<" not followed by a name
// for text and writes "&lt;".)
func (t tag) Open() template.HTML  { return template.HTML("<" + t + ">") }
func (t tag) Close() template.HTML { return template.HTML("</" + t + ">") }

func newHTMLReport(r Report, h headings) htmlReport {
	data := htmlReport{view: newView(r), headings: h}
	for _, f := range figures(r) {
		// The SVG is built by this package's plotting code, which escapes
		// every text it writes.
		data.Figures = append(data.Figures, htmlFigure{Title: f.Title, Caption: f.Caption, SVG: template.HTML(f.SVG)})
	}
	return data
}

type htmlFigure struct {
	Title, Caption string
	SVG            template.HTML
}

// page is parsed once; templates are safe for concurrent use.
var page = template.Must(template.Must(template.New("page").Parse(pageHTML)).Parse(reportHTML))

// reportHTML defines "report", the body of one report, rendered from an
// htmlReport: as the whole of report.html (HTML) and as each workload's
// section of a multi-workload report.html (WorkloadsHTML).
const reportHTML = `{{define "report"}}{{.TitleTag.Open}}{{.Title}}{{.TitleTag.Close}}
{{with .Source}}<p class="meta">Source: {{.}}</p>{{end}}
{{if .OwnPage}}{{with .Generated}}<p class="meta">Generated: {{.}}</p>{{end}}
{{end}}{{with .Headline}}<p class="headline">{{.}}</p>{{end}}

{{if .Parameters}}{{.SectionTag.Open}}Parameters{{.SectionTag.Close}}
<table class="parameters">
<tr><th>Parameter</th><th>Value</th></tr>
{{range .Parameters}}<tr><td>{{.Name}}</td><td>{{.Value}}</td></tr>
{{end}}</table>{{end}}

{{.SectionTag.Open}}Results{{.SectionTag.Close}}
{{if .Scalers}}<table class="metrics">
<tr><th>Metric</th>{{range .Scalers}}<th>{{.}}</th>{{end}}{{with .RatioHead}}<th>{{.}}</th>{{end}}</tr>
{{range .MetricRows}}<tr><td>{{.Label}}</td>{{range .Values}}<td class="num">{{.}}</td>{{end}}{{if $.RatioHead}}<td class="num">{{.Ratio}}</td>{{end}}</tr>
{{end}}</table>
{{if .OwnPage}}<p class="note">Replica-hours integrate running pods; SLO-violation minutes count the time demand exceeded ready capacity; θ and τ are SPEC's provisioning accuracy and time-share metrics (lower is better).</p>
{{end}}{{else}}<p>No scaler was simulated.</p>{{end}}

{{range .Figures}}<figure>
{{$.FigureTag.Open}}{{.Title}}{{$.FigureTag.Close}}
{{.SVG}}
<figcaption>{{.Caption}}</figcaption>
</figure>
{{end}}

{{.SectionTag.Open}}Forecast{{.SectionTag.Close}}
<ul>{{range .Forecast}}<li>{{.}}</li>{{end}}</ul>

{{.SectionTag.Open}}Findings{{.SectionTag.Close}}
{{if .Findings}}<table class="findings">
<tr><th>Time</th><th>Severity</th><th>Kind</th><th>Subject</th><th>Summary</th></tr>
{{range .Findings}}<tr><td>{{.Time}}</td><td>{{.Severity}}</td><td>{{.Kind}}</td><td>{{.Subject}}</td><td>{{.Summary}}</td></tr>
{{end}}</table>
{{with .FindingsOmitted}}<p class="note">{{.}} less severe findings omitted; see report.json.</p>{{end}}
{{else}}<p>None.</p>{{end}}

{{.SectionTag.Open}}Decisions{{.SectionTag.Close}}
<p>{{.DecisionNote}}</p>
{{if .Decisions}}<table class="decisions">
<tr><th>Time</th><th>From → to</th><th>Verdict</th><th>Final action</th><th>Agent</th><th>Reason</th><th>Clamped or denied by</th></tr>
{{range .Decisions}}<tr><td>{{.Time}}</td><td>{{.FromTo}}</td><td>{{.Verdict}}</td><td>{{.Action}}</td><td>{{.Agent}}</td><td>{{.Reason}}</td><td>{{.Clamping}}</td></tr>
{{end}}</table>{{end}}{{end}}`

const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;max-width:1000px;margin:2em auto;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}
h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}
h3{font-size:1.05em;margin:1.4em 0 .3em}
.meta{color:#555;margin:0}
.headline{font-size:1.15em;font-weight:600;background:#f3f7f4;border-left:4px solid #1b9e77;padding:.6em .9em;margin:1.2em 0}
table{border-collapse:collapse;margin:.6em 0;font-size:13px}
th,td{border:1px solid #ddd;padding:.3em .6em;vertical-align:top;text-align:left}
th{background:#f6f6f6}
td.num{text-align:right;font-variant-numeric:tabular-nums}
table.decisions td{font-size:12px}
figure{margin:1em 0}
figcaption{color:#555;font-size:12px}
svg.plot{max-width:100%;height:auto;font-family:system-ui,sans-serif}
.note{color:#555}
</style>
</head>
<body>
{{template "report" .}}
</body>
</html>
`
