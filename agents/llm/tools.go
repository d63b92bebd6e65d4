package llm

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/stuurman/stuurman/agents"
	"github.com/stuurman/stuurman/forecast"
)

// The tools the model may call. All but propose_actions only read the
// situation; propose_actions ends the conversation.
const (
	ToolForecast       = "get_forecast_summary"
	ToolFindings       = "get_findings"
	ToolHistory        = "get_history_stats"
	ToolLimits         = "get_policy_limits"
	ToolReplicas       = "calculate_replicas"
	ToolProposeActions = "propose_actions"
)

// noArgs is the argument of the tools that take none.
type noArgs struct{}

// replicaArgs is the argument of calculate_replicas.
type replicaArgs struct {
	Demand      float64 `json:"demand" desc:"Demand to serve, in the same unit as capacity_per_pod." schema:"minimum=0"`
	Utilization float64 `json:"utilization,omitempty" desc:"Target fraction of each pod's capacity, in (0, 1]; default 1." schema:"minimum=0,maximum=1"`
}

// tool is a read-only tool: its spec and what it answers for a situation.
type tool struct {
	spec ToolSpec
	run  func(s agents.Situation, args string) (any, error)
}

func toolSpecs() []ToolSpec {
	var specs []ToolSpec
	for _, t := range readTools() {
		specs = append(specs, t.spec)
	}
	return append(specs, ToolSpec{
		Name: ToolProposeActions,
		Description: "Submit your proposals for the workload and end the conversation. They are validated, then " +
			"a deterministic policy engine decides whether each may happen (it may clamp, deny or ask a human).",
		Parameters: Schema(ProposeArgs{}),
	})
}

func readTools() []tool {
	return []tool{
		{ToolSpec{ToolForecast, "The demand forecast over the lead time and the whole horizon: the model, its backtest error (MASE; above 1 or unknown means untrusted), the largest point and upper-bound values, and the replicas they need.", Schema(noArgs{})}, forecastTool},
		{ToolSpec{ToolFindings, "What the model stage noticed: anomalies, forecast breaches, trends to a threshold (e.g. memory towards OOM, with an ETA), restart storms, stale data.", Schema(noArgs{})}, findingsTool},
		{ToolSpec{ToolHistory, "Statistics of the observed demand over the last hour, 6 hours and 24 hours: latest, mean, min, max, 95th percentile, trend per hour and gaps.", Schema(noArgs{})}, historyTool},
		{ToolSpec{ToolLimits, "The policy's replica bounds and what the engine does with proposals outside them.", Schema(noArgs{})}, limitsTool},
		{ToolSpec{ToolReplicas, "Replicas needed to serve a demand: ceil(demand / (capacity_per_pod × utilization)).", Schema(replicaArgs{})}, replicasTool},
	}
}

func findTool(name string) (tool, bool) {
	for _, t := range readTools() {
		if t.spec.Name == name {
			return t, true
		}
	}
	return tool{}, false
}

// strictArgs decodes a tool's arguments, rejecting unknown fields; empty
// arguments mean {}.
func strictArgs(args string, v any) error {
	if strings.TrimSpace(args) == "" {
		args = "{}"
	}
	dec := json.NewDecoder(strings.NewReader(args))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("malformed arguments: %w", err)
	}
	return nil
}

// forecastSummary is what get_forecast_summary answers.
type forecastSummary struct {
	Available        bool     `json:"available"`
	Model            string   `json:"model,omitempty"`
	MASE             *float64 `json:"mase"`
	Trusted          bool     `json:"trusted"`
	HistorySamples   int      `json:"history_samples"`
	StepSeconds      float64  `json:"step_seconds,omitempty"`
	Coverage         float64  `json:"coverage,omitempty"`
	LeadTimeSeconds  float64  `json:"lead_time_seconds"`
	LeadSteps        int      `json:"lead_steps"`
	MaxPointLead     *float64 `json:"max_point_over_lead_time"`
	MaxUpperLead     *float64 `json:"max_upper_over_lead_time"`
	ReplicasForUpper *int     `json:"replicas_for_upper_over_lead_time"`
	HorizonSteps     int      `json:"horizon_steps"`
	MaxPointHorizon  *float64 `json:"max_point_over_horizon"`
	MaxUpperHorizon  *float64 `json:"max_upper_over_horizon"`
	// Upper is the upper bound resampled to at most 12 points over the
	// horizon.
	Upper []float64 `json:"upper_profile,omitempty"`
	Note  string    `json:"note,omitempty"`
}

// MaxMASE above which the summary says the forecast is not trusted, as the
// heuristic's default.
const trustedMASE = 1.0

func summarizeForecast(s agents.Situation) forecastSummary {
	f := s.Forecast
	out := forecastSummary{LeadTimeSeconds: s.LeadTime.Seconds()}
	if f.Len() == 0 {
		out.Note = "no forecast available: treat as untrusted"
		return out
	}
	lead := 1
	if f.Step > 0 {
		lead = max(1, int(math.Ceil(float64(s.LeadTime)/float64(f.Step))))
	}
	out.Available = true
	out.Model = f.Model
	out.MASE = num(f.MASE)
	out.Trusted = !math.IsNaN(f.MASE) && f.MASE <= trustedMASE
	out.HistorySamples = f.History
	out.StepSeconds = f.Step.Seconds()
	out.Coverage = f.Coverage
	out.LeadSteps = min(lead, f.Len())
	out.MaxPointLead = num(f.MaxPoint(lead))
	out.MaxUpperLead = num(f.MaxUpper(lead))
	if u := f.MaxUpper(lead); s.State.CapacityPerPod > 0 && !math.IsNaN(u) {
		n := podsFor(u, s.State.CapacityPerPod)
		out.ReplicasForUpper = &n
	}
	out.HorizonSteps = f.Len()
	out.MaxPointHorizon = num(f.MaxPoint(f.Len()))
	out.MaxUpperHorizon = num(f.MaxUpper(f.Len()))
	out.Upper = resample(f.Upper, 12)
	out.Note = f.Note
	return out
}

func forecastTool(s agents.Situation, args string) (any, error) {
	if err := strictArgs(args, &noArgs{}); err != nil {
		return nil, err
	}
	return summarizeForecast(s), nil
}

// findingView is a finding as the model sees it.
type findingView struct {
	Kind          forecast.FindingKind `json:"kind"`
	Subject       string               `json:"subject"`
	Severity      string               `json:"severity"`
	AgeSeconds    float64              `json:"age_seconds"`
	Summary       string               `json:"summary,omitempty"`
	Evidence      map[string]float64   `json:"evidence,omitempty"`
	ETASeconds    float64              `json:"eta_seconds,omitempty"`
	ETALowSeconds float64              `json:"eta_low_seconds,omitempty"`
	ETAHighSecs   float64              `json:"eta_high_seconds,omitempty"`
	Confidence    float64              `json:"confidence,omitempty"`
}

func findingsTool(s agents.Situation, args string) (any, error) {
	if err := strictArgs(args, &noArgs{}); err != nil {
		return nil, err
	}
	out := []findingView{}
	for _, f := range s.Findings {
		ev := map[string]float64{}
		for k, v := range f.Evidence {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				ev[k] = v
			}
		}
		out = append(out, findingView{
			Kind: f.Kind, Subject: f.Subject, Severity: f.Severity.String(), AgeSeconds: s.Now.Sub(f.Time).Seconds(),
			Summary: f.Summary, Evidence: ev, ETASeconds: f.ETA.Seconds(), ETALowSeconds: f.ETALow.Seconds(),
			ETAHighSecs: f.ETAHigh.Seconds(), Confidence: f.Confidence,
		})
	}
	return map[string]any{"findings": out}, nil
}

// windowStats describes the demand over one window.
type windowStats struct {
	Window       string   `json:"window"`
	Samples      int      `json:"samples"`
	Gaps         int      `json:"gaps"`
	Mean         *float64 `json:"mean"`
	Min          *float64 `json:"min"`
	Max          *float64 `json:"max"`
	P95          *float64 `json:"p95"`
	TrendPerHour *float64 `json:"trend_per_hour"`
}

func historyStats(s agents.Situation) map[string]any {
	d := s.Demand
	latest, at := d.Last()
	out := map[string]any{"step_seconds": d.Step.Seconds(), "samples": d.Len()}
	if at >= 0 {
		out["latest"] = latest
		out["latest_age_seconds"] = s.Now.Sub(d.Time(at)).Seconds()
	} else {
		out["latest"] = nil
	}
	var windows []windowStats
	for _, w := range []time.Duration{time.Hour, 6 * time.Hour, 24 * time.Hour} {
		if d.Step <= 0 {
			break
		}
		n := min(d.Len(), int(w/d.Step))
		if n == 0 {
			break
		}
		windows = append(windows, window(d.Values[d.Len()-n:], d.Step, w))
		if n == d.Len() {
			break
		}
	}
	out["windows"] = windows
	return out
}

func window(xs []float64, step, w time.Duration) windowStats {
	ws := windowStats{Window: w.String(), Samples: len(xs)}
	var vals, ts []float64
	for i, v := range xs {
		if math.IsNaN(v) {
			ws.Gaps++
			continue
		}
		vals = append(vals, v)
		ts = append(ts, float64(i)*step.Hours())
	}
	if len(vals) == 0 {
		return ws
	}
	sum := 0.0
	for _, v := range vals {
		sum += v
	}
	sorted := slices.Clone(vals)
	sort.Float64s(sorted)
	ws.Mean = num(sum / float64(len(vals)))
	ws.Min = num(sorted[0])
	ws.Max = num(sorted[len(sorted)-1])
	ws.P95 = num(sorted[min(len(sorted)-1, int(math.Ceil(0.95*float64(len(sorted))))-1)])
	if len(vals) >= 2 {
		// Least-squares slope, per hour.
		var mt, mv float64
		for i := range vals {
			mt += ts[i]
			mv += vals[i]
		}
		mt /= float64(len(vals))
		mv /= float64(len(vals))
		var sxy, sxx float64
		for i := range vals {
			sxy += (ts[i] - mt) * (vals[i] - mv)
			sxx += (ts[i] - mt) * (ts[i] - mt)
		}
		if sxx > 0 {
			ws.TrendPerHour = num(sxy / sxx)
		}
	}
	return ws
}

func historyTool(s agents.Situation, args string) (any, error) {
	if err := strictArgs(args, &noArgs{}); err != nil {
		return nil, err
	}
	return historyStats(s), nil
}

func limitsTool(s agents.Situation, args string) (any, error) {
	if err := strictArgs(args, &noArgs{}); err != nil {
		return nil, err
	}
	return map[string]any{
		"min_replicas": s.Limits.MinReplicas,
		"max_replicas": s.Limits.MaxReplicas,
		"note": "The policy engine clamps targets into [min_replicas, max_replicas], limits each step, applies " +
			"stabilisation windows, cooldowns, freezes, protected workloads and disruption budgets, and may deny " +
			"a proposal or ask a human. Proposals far outside the bounds are rejected before the engine sees them.",
	}, nil
}

func replicasTool(s agents.Situation, args string) (any, error) {
	var a replicaArgs
	if err := strictArgs(args, &a); err != nil {
		return nil, err
	}
	u := a.Utilization
	if u == 0 {
		u = 1
	}
	switch {
	case math.IsNaN(a.Demand) || a.Demand < 0:
		return nil, fmt.Errorf("demand must be >= 0, got %v", a.Demand)
	case !(u > 0 && u <= 1):
		return nil, fmt.Errorf("utilization must be in (0, 1], got %v", a.Utilization)
	case !(s.State.CapacityPerPod > 0):
		return nil, fmt.Errorf("capacity per pod unknown")
	}
	return map[string]any{
		"replicas":         podsFor(a.Demand/u, s.State.CapacityPerPod),
		"capacity_per_pod": s.State.CapacityPerPod,
		"utilization":      u,
	}, nil
}

func podsFor(demand, capacity float64) int {
	if !(demand > 0) || !(capacity > 0) {
		return 0
	}
	return int(math.Ceil(demand/capacity - 1e-9))
}

// num returns a pointer to x, or nil (JSON null) when x is not finite.
func num(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

// resample returns at most n values of xs: the maximum of each of n equal
// chunks, so peaks survive. NaN values are skipped.
func resample(xs []float64, n int) []float64 {
	if len(xs) == 0 {
		return nil
	}
	n = min(n, len(xs))
	out := make([]float64, 0, n)
	for i := range n {
		lo, hi := i*len(xs)/n, (i+1)*len(xs)/n
		m := math.NaN()
		for _, v := range xs[lo:hi] {
			if !math.IsNaN(v) && (math.IsNaN(m) || v > m) {
				m = v
			}
		}
		if !math.IsNaN(m) && !math.IsInf(m, 0) {
			out = append(out, math.Round(m*1000)/1000)
		}
	}
	return out
}
