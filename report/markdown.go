package report

import (
	"fmt"
	"strings"
)

// Markdown renders r as report.md: title, source, parameters, the headline
// comparison, the metrics side by side, the forecast summary, findings and
// the most relevant decisions (at most Report.DecisionRows).
func Markdown(r Report) []byte {
	var b strings.Builder
	mdReport(&b, newView(r), 1)
	return []byte(b.String())
}

// mdReport writes one report's Markdown with its title a heading of the
// given depth (1 for "#") and its sections one level deeper: depth 1 for
// report.md, 2 for a workload's section of a multi-workload report.md.
func mdReport(b *strings.Builder, v view, depth int) {
	title := strings.Repeat("#", depth)
	section := title + "#"
	fmt.Fprintf(b, "%s %s\n\n", title, mdText(v.Title))
	if v.Source != "" {
		fmt.Fprintf(b, "Source: %s  \n", mdText(v.Source))
	}
	if v.Generated != "" {
		fmt.Fprintf(b, "Generated: %s\n", mdText(v.Generated))
	}
	b.WriteString("\n")
	if v.Headline != "" {
		fmt.Fprintf(b, "**%s**\n\n", mdText(v.Headline))
	}

	mdParameters(b, section, v.Parameters)

	fmt.Fprintf(b, "%s Results\n\n", section)
	if len(v.Scalers) == 0 {
		b.WriteString("No scaler was simulated.\n\n")
	} else {
		head := append([]string{"Metric"}, v.Scalers...)
		if v.RatioHead != "" {
			head = append(head, v.RatioHead)
		}
		mdTable(b, head, true, func(row func(...string)) {
			for _, m := range v.MetricRows {
				cells := append([]string{m.Label}, m.Values...)
				if v.RatioHead != "" {
					cells = append(cells, m.Ratio)
				}
				row(cells...)
			}
		})
		b.WriteString("Replica-hours integrate running pods; SLO-violation minutes count the time demand exceeded ready capacity; θ and τ are SPEC's provisioning accuracy and time-share metrics (lower is better).\n\n")
	}

	fmt.Fprintf(b, "%s Forecast\n\n", section)
	for _, l := range v.Forecast {
		fmt.Fprintf(b, "- %s\n", mdText(l))
	}
	b.WriteString("\n")

	fmt.Fprintf(b, "%s Findings\n\n", section)
	if len(v.Findings) == 0 {
		b.WriteString("None.\n\n")
	} else {
		mdTable(b, []string{"Time", "Severity", "Kind", "Subject", "Summary"}, false, func(row func(...string)) {
			for _, f := range v.Findings {
				row(f.Time, f.Severity, f.Kind, f.Subject, f.Summary)
			}
		})
		if v.FindingsOmitted > 0 {
			fmt.Fprintf(b, "%d less severe findings omitted; see report.json.\n\n", v.FindingsOmitted)
		}
	}

	fmt.Fprintf(b, "%s Decisions\n\n", section)
	fmt.Fprintf(b, "%s\n\n", mdText(v.DecisionNote))
	if len(v.Decisions) > 0 {
		mdTable(b, []string{"Time", "From → to", "Verdict", "Final action", "Agent", "Reason", "Clamped or denied by"}, false, func(row func(...string)) {
			for _, d := range v.Decisions {
				row(d.Time, d.FromTo, d.Verdict, d.Action, d.Agent, d.Reason, d.Clamping)
			}
		})
	}
}

// mdParameters writes a "Parameters" heading (heading is its "#"s) and
// table, or nothing when there are no parameters.
func mdParameters(b *strings.Builder, heading string, ps []Parameter) {
	if len(ps) == 0 {
		return
	}
	fmt.Fprintf(b, "%s Parameters\n\n", heading)
	mdTable(b, []string{"Parameter", "Value"}, false, func(row func(...string)) {
		for _, p := range ps {
			row(p.Name, p.Value)
		}
	})
}

// mdTable writes a GitHub-flavoured Markdown table; rows calls row once per
// table row. Cells are escaped.
// With numeric set, every column but the first is right-aligned.
func mdTable(b *strings.Builder, head []string, numeric bool, rows func(row func(...string))) {
	line := func(cells ...string) {
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" ")
			b.WriteString(mdCell(c))
			b.WriteString(" |")
		}
		b.WriteString("\n")
	}
	line(head...)
	b.WriteString("|")
	for i := range head {
		if i == 0 || !numeric {
			b.WriteString(" --- |")
		} else {
			b.WriteString(" ---: |")
		}
	}
	b.WriteString("\n")
	rows(line)
	b.WriteString("\n")
}

// mdReplacer escapes text so it renders literally in Markdown: no inline
// HTML, links, code or * emphasis. Underscores are left alone, as names
// like nasa_http_1995 are common and GFM ignores intraword underscores.
var mdReplacer = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "[", `\[`, "]", `\]`,
	"<", "&lt;", ">", "&gt;",
)

func mdText(s string) string { return mdReplacer.Replace(s) }

// mdCell escapes s for a table cell: as mdText, and pipes and newlines too.
func mdCell(s string) string {
	s = mdText(s)
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\r\n", " ")
	return strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
}
