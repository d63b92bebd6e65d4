package report

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/stuurman/stuurman/agents"
	"github.com/stuurman/stuurman/evals/sim"
	"github.com/stuurman/stuurman/metrics"
	"github.com/stuurman/stuurman/policies"
)

// The scaler names the comparison looks for.
const (
	// BaselineScaler is the name of the scaler others are compared to.
	BaselineScaler = "hpa"
	// CandidateScaler is the name of the scaler being evaluated.
	CandidateScaler = "stuurman"
)

// defaultDecisionRows is the decisions table's cap when Report.DecisionRows
// is zero.
const defaultDecisionRows = 50

// pair returns the indices in scalers of the baseline and the candidate:
// the scalers named BaselineScaler and CandidateScaler, else the first and
// the first other one. ok is false when there are fewer than two scalers.
func pair(scalers []sim.ScalerResult) (base, cand int, ok bool) {
	base, cand = -1, -1
	for i, s := range scalers {
		switch {
		case s.Name == BaselineScaler && base < 0:
			base = i
		case s.Name == CandidateScaler && cand < 0:
			cand = i
		}
	}
	if len(scalers) < 2 {
		return -1, -1, false
	}
	if base < 0 {
		base = 0
		if cand == 0 {
			base = 1
		}
	}
	if cand < 0 {
		for i := range scalers {
			if i != base {
				cand = i
				break
			}
		}
	}
	return base, cand, true
}

// comparison computes the candidate's metrics relative to the baseline's;
// nil when there are fewer than two scalers.
func comparison(scalers []sim.ScalerResult) *JSONComparison {
	bi, ci, ok := pair(scalers)
	if !ok {
		return nil
	}
	b, c := scalers[bi].Metrics, scalers[ci].Metrics
	return &JSONComparison{
		Baseline:                            scalers[bi].Name,
		Candidate:                           scalers[ci].Name,
		ReplicaHoursRatio:                   Float(ratio(c.ReplicaHours, b.ReplicaHours)),
		ReplicaHoursReductionPercent:        Float(reduction(c.ReplicaHours, b.ReplicaHours)),
		SLOViolationMinutesRatio:            Float(ratio(c.SLOViolationMinutes, b.SLOViolationMinutes)),
		SLOViolationMinutesReductionPercent: Float(reduction(c.SLOViolationMinutes, b.SLOViolationMinutes)),
		ActionsRatio:                        Float(ratio(float64(c.Actions), float64(b.Actions))),
	}
}

// ratio returns c/b, NaN when b is zero or either is not finite.
func ratio(c, b float64) float64 {
	if b == 0 || !finite(b) || !finite(c) {
		return math.NaN()
	}
	return c / b
}

// reduction returns how much smaller c is than b, in percent of b:
// 100·(b−c)/b. NaN when b is zero or either is not finite.
func reduction(c, b float64) float64 {
	if b == 0 || !finite(b) || !finite(c) {
		return math.NaN()
	}
	return 100 * (b - c) / b
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// displayName is how prose names a scaler: "the HPA" for the HPA.
func displayName(name string) string {
	if name == BaselineScaler {
		return "the HPA"
	}
	return name
}

// possessive is displayName with "'s".
func possessive(name string) string {
	return displayName(name) + "'s"
}

// headline is one sentence comparing the candidate to the baseline, e.g.
// "stuurman used 0.93× the HPA's replica-hours with 61 % fewer
// SLO-violation minutes (12.0 vs 30.8)."; empty with fewer than two scalers.
func headline(scalers []sim.ScalerResult) string {
	bi, ci, ok := pair(scalers)
	if !ok {
		return ""
	}
	b, c := scalers[bi], scalers[ci]
	var sb strings.Builder
	if r := ratio(c.Metrics.ReplicaHours, b.Metrics.ReplicaHours); finite(r) {
		fmt.Fprintf(&sb, "%s used %.2f× %s replica-hours", c.Name, r, possessive(b.Name))
	} else {
		fmt.Fprintf(&sb, "%s used %s replica-hours (%s: %s)", c.Name,
			num(c.Metrics.ReplicaHours), displayName(b.Name), num(b.Metrics.ReplicaHours))
	}
	bv, cv := b.Metrics.SLOViolationMinutes, c.Metrics.SLOViolationMinutes
	switch red := reduction(cv, bv); {
	case !finite(bv) || !finite(cv):
		sb.WriteString("; SLO-violation minutes could not be compared")
	case bv == 0 && cv == 0:
		sb.WriteString(", and neither violated the SLO")
	case bv == 0:
		fmt.Fprintf(&sb, " with %s SLO-violation minutes where %s had none", num(cv), displayName(b.Name))
	case red >= 0:
		fmt.Fprintf(&sb, " with %s %% fewer SLO-violation minutes (%s vs %s)", pct(red), num(cv), num(bv))
	default:
		fmt.Fprintf(&sb, " with %s %% more SLO-violation minutes (%s vs %s)", pct(-red), num(cv), num(bv))
	}
	sb.WriteString(".")
	return sb.String()
}

// pct formats a percentage without a needless decimal: 61, 4.5, 0.31.
func pct(v float64) string {
	switch a := math.Abs(v); {
	case a >= 10:
		return fmt.Sprintf("%.0f", v)
	case a >= 1:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2g", v)
	}
}

// num formats a metric for a table: "n/a" for NaN, fewer decimals for
// larger magnitudes.
func num(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "n/a"
	case math.IsInf(v, 0):
		if v > 0 {
			return "∞"
		}
		return "−∞"
	case a >= 1000:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// metricRow is one row of the side-by-side metrics table.
type metricRow struct {
	Label  string
	Values []string
	Ratio  string
}

// metricTable returns the metrics table: one row per metric, one value per
// scaler in order, and the candidate/baseline ratio ("" without a pair).
func metricTable(scalers []sim.ScalerResult) (header string, rows []metricRow) {
	bi, ci, ok := pair(scalers)
	if ok {
		header = scalers[ci].Name + " / " + scalers[bi].Name
	}
	defs := []struct {
		label string
		get   func(sim.Metrics) float64
		count bool // an integer count, not a measure
	}{
		{"Replica-hours", func(m sim.Metrics) float64 { return m.ReplicaHours }, false},
		{"SLO-violation minutes", func(m sim.Metrics) float64 { return m.SLOViolationMinutes }, false},
		{"θU under-provisioning accuracy (%)", func(m sim.Metrics) float64 { return m.ThetaU }, false},
		{"θO over-provisioning accuracy (%)", func(m sim.Metrics) float64 { return m.ThetaO }, false},
		{"τU time under-provisioned (%)", func(m sim.Metrics) float64 { return m.TauU }, false},
		{"τO time over-provisioned (%)", func(m sim.Metrics) float64 { return m.TauO }, false},
		{"Scaling actions", func(m sim.Metrics) float64 { return float64(m.Actions) }, true},
	}
	for _, d := range defs {
		row := metricRow{Label: d.label}
		for _, s := range scalers {
			v := num(d.get(s.Metrics))
			if d.count {
				v = fmt.Sprintf("%.0f", d.get(s.Metrics))
			}
			row.Values = append(row.Values, v)
		}
		if ok {
			r := ratio(d.get(scalers[ci].Metrics), d.get(scalers[bi].Metrics))
			row.Ratio = "n/a"
			if finite(r) {
				row.Ratio = fmt.Sprintf("%.2f×", r)
			}
		}
		rows = append(rows, row)
	}
	return header, rows
}

// decisionRow is one row of the decisions table, as text.
type decisionRow struct {
	Time     string
	FromTo   string
	Verdict  string
	Action   string
	Agent    string
	Reason   string
	Clamping string
}

// relevance ranks a decision for the capped table: denials and approvals
// first, then clamped decisions, then the rest, each by the size of the
// proposed change.
func relevance(d policies.Decision) (rank, size int) {
	switch {
	case d.Verdict != policies.Allow:
		rank = 3
	case clamped(d):
		rank = 2
	case d.Changes():
		rank = 1
	}
	size = d.Proposal.Action.Replicas - d.Proposal.From
	if size < 0 {
		size = -size
	}
	return rank, size
}

func clamped(d policies.Decision) bool {
	for _, r := range d.Rules {
		if r.Outcome == policies.Clamp {
			return true
		}
	}
	return false
}

// decisionTable returns at most limit of ds, the most relevant ones, in
// time order, and how many were omitted. limit ≤ 0 returns none.
func decisionTable(ds []policies.Decision, limit int) (rows []decisionRow, omitted int) {
	if limit <= 0 {
		return nil, len(ds)
	}
	idx := make([]int, len(ds))
	for i := range idx {
		idx[i] = i
	}
	if len(ds) > limit {
		sort.SliceStable(idx, func(a, b int) bool {
			ra, sa := relevance(ds[idx[a]])
			rb, sb := relevance(ds[idx[b]])
			if ra != rb {
				return ra > rb
			}
			return sa > sb
		})
		omitted = len(ds) - limit
		idx = idx[:limit]
		sort.Slice(idx, func(a, b int) bool {
			ta, tb := ds[idx[a]].Time, ds[idx[b]].Time
			if !ta.Equal(tb) {
				return ta.Before(tb)
			}
			return idx[a] < idx[b]
		})
	}
	for _, i := range idx {
		rows = append(rows, newDecisionRow(ds[i]))
	}
	return rows, omitted
}

func newDecisionRow(d policies.Decision) decisionRow {
	p := d.Proposal
	row := decisionRow{
		Time:    d.Time.Format("2006-01-02 15:04"),
		Verdict: string(d.Verdict),
		Action:  actionText(d.Action.Kind, d.Action.Replicas),
		Agent:   p.Agent,
		Reason:  p.Reason,
	}
	switch p.Action.Kind {
	case agents.ActionScale:
		row.FromTo = fmt.Sprintf("%d → %d", p.From, p.Action.Replicas)
	default:
		row.FromTo = fmt.Sprintf("%d → %s", p.From, p.Action.Kind)
	}
	if p.Fallback != "" {
		row.Reason += " (fallback: " + p.Fallback + ")"
	}
	var why []string
	for _, r := range d.Rules {
		if r.Outcome != policies.Pass {
			why = append(why, r.Rule+": "+r.Reason)
		}
	}
	row.Clamping = strings.Join(why, "; ")
	return row
}

func actionText(kind agents.ActionKind, replicas int) string {
	if kind == agents.ActionScale {
		return fmt.Sprintf("scale to %d", replicas)
	}
	return string(kind)
}

// demand returns the report's demand series: Report.Demand, or the
// simulator's when that is empty.
func demand(r Report) metrics.Series {
	if len(r.Demand.Values) > 0 || len(r.Sim.Demand.Values) == 0 {
		return r.Demand
	}
	return r.Sim.Demand
}

// capacityPerPod returns Report.CapacityPerPod, else the simulator's.
func capacityPerPod(r Report) float64 {
	if r.CapacityPerPod > 0 {
		return r.CapacityPerPod
	}
	return r.Sim.Config.CapacityPerPod
}

// decisionLimit returns how many decisions the tables show.
func decisionLimit(r Report) int {
	switch {
	case r.DecisionRows == 0:
		return defaultDecisionRows
	case r.DecisionRows < 0:
		return 0
	}
	return r.DecisionRows
}
