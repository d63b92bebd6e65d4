package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"time"

	"github.com/stuurman/stuurman/agents"
	"github.com/stuurman/stuurman/forecast"
	"github.com/stuurman/stuurman/policies"
)

// Float is a float64 that encodes NaN and ±Inf as JSON null (JSON has no
// such numbers) and decodes null as NaN.
type Float float64

// MarshalJSON encodes f as a number, or null when f is NaN or infinite.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// UnmarshalJSON decodes a number, or null as NaN.
func (f *Float) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = Float(math.NaN())
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("report: decode float %s: %w", b, err)
	}
	*f = Float(v)
	return nil
}

// JSONReport is the shape of report.json. Encode one with JSON (or get it
// with ToJSON); decode one with ReadJSON. Floats that are NaN or infinite
// are null.
type JSONReport struct {
	Title      string      `json:"title"`
	Source     string      `json:"source"`
	Generated  time.Time   `json:"generated"`
	Parameters []Parameter `json:"parameters"`
	// CapacityPerPod is the demand one ready pod serves (null: unknown).
	CapacityPerPod Float      `json:"capacity_per_pod"`
	Demand         JSONDemand `json:"demand"`
	// Scalers holds one flat object per simulated scaler, in order.
	Scalers  []JSONScaler `json:"scalers"`
	Forecast JSONForecast `json:"forecast"`
	// Decisions are Report.Decisions, all of them, encoded as
	// policies.Decision encodes (NaN evidence as null).
	Decisions []JSONDecision `json:"decisions"`
	// DecisionCount is the number of decisions made in all, holds included.
	DecisionCount int           `json:"decision_count"`
	Findings      []JSONFinding `json:"findings"`
	// Comparison is the candidate (stuurman) relative to the baseline
	// (hpa); null when fewer than two scalers ran.
	Comparison *JSONComparison `json:"comparison"`
}

// JSONDemand describes the replayed demand series (not its samples).
type JSONDemand struct {
	Name        string    `json:"name"`
	Start       time.Time `json:"start"`
	StepSeconds float64   `json:"step_seconds"`
	Samples     int       `json:"samples"`
	// Gaps counts the missing (NaN) samples.
	Gaps int `json:"gaps"`
}

// JSONScaler is one scaler's metrics (sim.ScalerResult), flattened.
type JSONScaler struct {
	// Name is the scaler, e.g. "hpa" or "stuurman".
	Name                string `json:"name"`
	ReplicaHours        Float  `json:"replica_hours"`
	SLOViolationMinutes Float  `json:"slo_violation_minutes"`
	ThetaU              Float  `json:"theta_u"`
	ThetaO              Float  `json:"theta_o"`
	TauU                Float  `json:"tau_u"`
	TauO                Float  `json:"tau_o"`
	Actions             int    `json:"actions"`
}

// JSONForecast is Report.Forecast with the band's coverage.
type JSONForecast struct {
	Model    string `json:"model"`
	MASE     Float  `json:"mase"`
	Period   int    `json:"period"`
	MeanMASE Float  `json:"mean_mase"`
	Note     string `json:"note"`
	// Coverage is Report.Band.Coverage, the band's nominal central
	// coverage (null when unset).
	Coverage Float `json:"coverage"`
}

// JSONComparison is one scaler's metrics relative to another's. Ratios are
// candidate/baseline; reductions are 100·(baseline−candidate)/baseline, so
// positive means the candidate did better (less). Each is null when the
// baseline's value is zero.
type JSONComparison struct {
	Baseline                            string `json:"baseline"`
	Candidate                           string `json:"candidate"`
	ReplicaHoursRatio                   Float  `json:"replica_hours_ratio"`
	ReplicaHoursReductionPercent        Float  `json:"replica_hours_reduction_percent"`
	SLOViolationMinutesRatio            Float  `json:"slo_violation_minutes_ratio"`
	SLOViolationMinutesReductionPercent Float  `json:"slo_violation_minutes_reduction_percent"`
	ActionsRatio                        Float  `json:"actions_ratio"`
}

// JSONDecision encodes a policies.Decision exactly as its own JSON tags do,
// except that the proposal's floats may be null.
type JSONDecision struct {
	policies.Decision
	// Proposal shadows Decision.Proposal.
	Proposal JSONProposal `json:"proposal"`
}

// JSONProposal encodes an agents.Proposal with NaN-safe floats.
type JSONProposal struct {
	agents.Proposal
	// Evidence and Confidence shadow the embedded Proposal's.
	Evidence   map[string]Float `json:"evidence,omitempty"`
	Confidence Float            `json:"confidence"`
}

// JSONFinding encodes a forecast.Finding with NaN-safe floats.
type JSONFinding struct {
	forecast.Finding
	// Severity, Evidence and Confidence shadow the embedded Finding's.
	// Severity is the severity's name: "info", "warning" or "critical".
	Severity   string           `json:"severity"`
	Evidence   map[string]Float `json:"evidence,omitempty"`
	Confidence Float            `json:"confidence,omitempty"`
}

// PolicyDecision returns the decoded decision, with null floats as NaN.
func (d JSONDecision) PolicyDecision() policies.Decision {
	out := d.Decision
	out.Proposal = d.Proposal.Proposal
	out.Proposal.Evidence = floats(d.Proposal.Evidence)
	out.Proposal.Confidence = float64(d.Proposal.Confidence)
	return out
}

// ForecastFinding returns the decoded finding, with null floats as NaN
// and an unknown severity as info.
func (f JSONFinding) ForecastFinding() forecast.Finding {
	out := f.Finding
	out.Severity = forecast.SeverityInfo
	for _, s := range []forecast.Severity{forecast.SeverityWarning, forecast.SeverityCritical} {
		if f.Severity == s.String() {
			out.Severity = s
		}
	}
	out.Evidence = floats(f.Evidence)
	out.Confidence = float64(f.Confidence)
	return out
}

func floats(m map[string]Float) map[string]float64 {
	if m == nil {
		return nil
	}
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k] = float64(v)
	}
	return out
}

func nanSafe(m map[string]float64) map[string]Float {
	if m == nil {
		return nil
	}
	out := make(map[string]Float, len(m))
	for k, v := range m {
		out[k] = Float(v)
	}
	return out
}

// ToJSON returns r in the shape of report.json. Slices are never nil, so
// they encode as [] rather than null.
func ToJSON(r Report) JSONReport {
	d := demand(r)
	out := JSONReport{
		Title:          r.Title,
		Source:         r.Source,
		Generated:      r.Generated,
		Parameters:     append([]Parameter{}, r.Parameters...),
		CapacityPerPod: Float(capacityPerPod(r)),
		Demand: JSONDemand{
			Name:        d.Name,
			Start:       d.Start,
			StepSeconds: d.Step.Seconds(),
			Samples:     d.Len(),
			Gaps:        d.Gaps(),
		},
		Scalers: []JSONScaler{},
		Forecast: JSONForecast{
			Model:    r.Forecast.Model,
			MASE:     Float(r.Forecast.MASE),
			Period:   r.Forecast.Period,
			MeanMASE: Float(r.Forecast.MeanMASE),
			Note:     r.Forecast.Note,
			Coverage: Float(r.Band.Coverage),
		},
		Decisions:     make([]JSONDecision, 0, len(r.Decisions)),
		DecisionCount: r.DecisionCount,
		Findings:      make([]JSONFinding, 0, len(r.Findings)),
		Comparison:    comparison(r.Sim.Scalers),
	}
	if capacityPerPod(r) <= 0 {
		out.CapacityPerPod = Float(math.NaN())
	}
	if r.Band.Coverage == 0 {
		out.Forecast.Coverage = Float(math.NaN())
	}
	for _, s := range r.Sim.Scalers {
		m := s.Metrics
		out.Scalers = append(out.Scalers, JSONScaler{
			Name:                s.Name,
			ReplicaHours:        Float(m.ReplicaHours),
			SLOViolationMinutes: Float(m.SLOViolationMinutes),
			ThetaU:              Float(m.ThetaU),
			ThetaO:              Float(m.ThetaO),
			TauU:                Float(m.TauU),
			TauO:                Float(m.TauO),
			Actions:             m.Actions,
		})
	}
	for _, d := range r.Decisions {
		out.Decisions = append(out.Decisions, JSONDecision{
			Decision: d,
			Proposal: JSONProposal{
				Proposal:   d.Proposal,
				Evidence:   nanSafe(d.Proposal.Evidence),
				Confidence: Float(d.Proposal.Confidence),
			},
		})
	}
	for _, f := range r.Findings {
		out.Findings = append(out.Findings, JSONFinding{
			Finding:    f,
			Severity:   f.Severity.String(),
			Evidence:   nanSafe(f.Evidence),
			Confidence: Float(f.Confidence),
		})
	}
	return out
}

// JSON renders r as report.json: ToJSON(r), indented, with a final newline.
func JSON(r Report) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(ToJSON(r)); err != nil {
		return nil, fmt.Errorf("report: encode JSON: %w", err)
	}
	return buf.Bytes(), nil
}

// ReadJSON decodes a report.json written by Write. Unknown fields are
// ignored, so newer reports still decode.
func ReadJSON(path string) (JSONReport, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return JSONReport{}, fmt.Errorf("report: %w", err)
	}
	var out JSONReport
	if err := json.Unmarshal(b, &out); err != nil {
		return JSONReport{}, fmt.Errorf("report: decode %s: %w", path, err)
	}
	return out, nil
}
