package report

import (
	"fmt"
	"math"
	"sort"

	"github.com/stuurman/stuurman/forecast"
)

// maxFindingRows caps the findings tables of the Markdown and HTML reports.
const maxFindingRows = 50

// view is the text content shared by the Markdown and the HTML report.
type view struct {
	Title, Source, Generated string
	Parameters               []Parameter
	Headline                 string

	Scalers    []string // column heads of the metrics table
	RatioHead  string   // "" when there is no ratio column
	MetricRows []metricRow

	Forecast []string // summary lines

	Findings        []findingRow
	FindingsOmitted int

	DecisionNote     string
	Decisions        []decisionRow
	DecisionsOmitted int
}

type findingRow struct {
	Time, Severity, Kind, Subject, Summary string
}

func newView(r Report) view {
	v := view{
		Title:      r.Title,
		Source:     r.Source,
		Parameters: r.Parameters,
		Headline:   headline(r.Sim.Scalers),
	}
	if v.Title == "" {
		v.Title = "stuurman dry run"
	}
	if !r.Generated.IsZero() {
		v.Generated = r.Generated.Format("2006-01-02 15:04:05 MST")
	}
	for _, s := range r.Sim.Scalers {
		v.Scalers = append(v.Scalers, s.Name)
	}
	v.RatioHead, v.MetricRows = metricTable(r.Sim.Scalers)
	v.Forecast = forecastLines(r)
	v.Findings, v.FindingsOmitted = findingTable(r.Findings, maxFindingRows)

	limit := decisionLimit(r)
	v.Decisions, v.DecisionsOmitted = decisionTable(r.Decisions, limit)
	v.DecisionNote = fmt.Sprintf("%d decisions were made in all (holds included); %d of them changed the workload or were clamped or denied.",
		r.DecisionCount, len(r.Decisions))
	if v.DecisionsOmitted > 0 && limit > 0 {
		v.DecisionNote += fmt.Sprintf(" The %d most relevant are shown (denied first, then clamped, then the largest changes), in time order; %d are omitted here and listed in report.json.",
			len(v.Decisions), v.DecisionsOmitted)
	}
	return v
}

// forecastLines summarises the forecast model in a few sentences.
func forecastLines(r Report) []string {
	f := r.Forecast
	if f.Model == "" && f.Note == "" {
		return []string{"No forecast model was used."}
	}
	model := f.Model
	if model == "" {
		model = "unnamed"
	}
	var out []string
	s := "Model at the end of the replay: " + model
	if f.Period > 0 {
		s += fmt.Sprintf(", season of %d steps", f.Period)
	}
	out = append(out, s+".")
	out = append(out, fmt.Sprintf("Backtest MASE: %s at the end, %s on average over every refit.", maseText(f.MASE), maseText(f.MeanMASE)))
	switch {
	case math.IsNaN(f.MASE):
		out = append(out, "The final model's error could not be measured (too little history): treat its forecasts as untrusted.")
	case f.MASE >= 1:
		out = append(out, "A MASE of 1 or more means the model did no better in backtest than a naive forecast.")
	}
	if r.Band.Coverage > 0 {
		out = append(out, fmt.Sprintf("The band's nominal central coverage is %.0f %%.", 100*r.Band.Coverage))
	}
	if f.Note != "" {
		out = append(out, "Note: "+f.Note)
	}
	return out
}

func maseText(v float64) string {
	if math.IsNaN(v) {
		return "not measured"
	}
	return fmt.Sprintf("%.3f", v)
}

// findingTable returns at most limit findings, the most severe (then the
// earliest) ones, in time order, and how many were omitted.
func findingTable(fs []forecast.Finding, limit int) (rows []findingRow, omitted int) {
	idx := make([]int, len(fs))
	for i := range idx {
		idx[i] = i
	}
	if len(fs) > limit {
		sort.SliceStable(idx, func(a, b int) bool { return fs[idx[a]].Severity > fs[idx[b]].Severity })
		omitted = len(fs) - limit
		idx = idx[:limit]
		sort.SliceStable(idx, func(a, b int) bool { return fs[idx[a]].Time.Before(fs[idx[b]].Time) })
	}
	for _, i := range idx {
		f := fs[i]
		summary := f.Summary
		if f.ETA > 0 {
			summary += fmt.Sprintf(" (ETA %v", f.ETA)
			if f.ETAHigh > 0 {
				summary += fmt.Sprintf(", %v–%v", f.ETALow, f.ETAHigh)
			}
			if f.Confidence > 0 {
				summary += fmt.Sprintf(" at %.0f %% confidence", 100*f.Confidence)
			}
			summary += ")"
		}
		rows = append(rows, findingRow{
			Time:     f.Time.Format("2006-01-02 15:04"),
			Severity: f.Severity.String(),
			Kind:     string(f.Kind),
			Subject:  f.Subject,
			Summary:  summary,
		})
	}
	return rows, omitted
}
