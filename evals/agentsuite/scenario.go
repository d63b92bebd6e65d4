package agentsuite

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"path"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/stuurman/stuurman/agents"
	"github.com/stuurman/stuurman/agents/llmtest"
	"github.com/stuurman/stuurman/forecast"
	"github.com/stuurman/stuurman/metrics"
	"github.com/stuurman/stuurman/policies"
)

// Scenario is one situation, the policy that gates it, and the outcomes
// that are acceptable after the gate. It is written in YAML; see the files
// under scenarios/ and docs/agents.md.
type Scenario struct {
	// Name identifies the scenario; default: the file name without .yaml.
	Name string `yaml:"name"`
	// Category groups scenarios in the report: forecast, stability,
	// maintenance, safety, injection, …
	Category    string `yaml:"category"`
	Description string `yaml:"description"`
	// Now is the decision time. Default 2026-03-04T10:00:00Z (a Wednesday).
	Now time.Time `yaml:"now"`

	Workload agents.Workload `yaml:"workload"`
	State    State           `yaml:"state"`
	// LeadTime is how far ahead capacity must be provisioned. Default 10m.
	LeadTime policies.Duration `yaml:"lead_time"`
	Demand   Demand            `yaml:"demand"`
	Forecast Forecast          `yaml:"forecast"`
	Findings []Finding         `yaml:"findings"`
	// RecentActions are actions applied before Now; they reach the agent
	// and the engine.
	RecentActions []RecentAction `yaml:"recent_actions"`

	// Policy is the policy, in the policy file's own fields.
	Policy policies.Policy `yaml:"policy"`
	// Gate is what the engine knows beyond the proposal.
	Gate Gate `yaml:"gate"`

	// ModelReply scripts the model for offline LLM runs against the
	// scripted server, one reply per request. Empty: the scripted model
	// looks at the forecast and findings, then proposes what the heuristic
	// agent would. A real model ignores it.
	ModelReply []ScriptedReply `yaml:"model_reply"`

	// Accept lists acceptable outcomes: every decision must match one.
	Accept []Outcome `yaml:"accept"`
	// Require, when not empty, lists outcomes of which at least one
	// decision must match one (e.g. "a restart is allowed").
	Require []Outcome `yaml:"require"`
}

// State is the workload's observed state.
type State struct {
	Replicas       int     `yaml:"replicas"`
	Ready          *int    `yaml:"ready"` // default: replicas
	CapacityPerPod float64 `yaml:"capacity_per_pod"`
	PDB            *PDB    `yaml:"pdb"`
}

// PDB is the workload's PodDisruptionBudget status.
type PDB struct {
	Name               string `yaml:"name"`
	DisruptionsAllowed int    `yaml:"disruptions_allowed"`
}

// Demand describes the observed history compactly: a piecewise-linear
// curve through Knots spread evenly over Samples, times (1 + Noise × a
// standard normal draw from Seed).
type Demand struct {
	Knots   []float64         `yaml:"knots"`
	Samples int               `yaml:"samples"` // default 3000
	Step    policies.Duration `yaml:"step"`    // default 1m
	Noise   float64           `yaml:"noise"`
	Seed    uint64            `yaml:"seed"`
	// Gaps blanks the last Gaps samples (stale data).
	Gaps int `yaml:"gaps"`
}

// Forecast describes the forecast compactly: the point forecast is a
// piecewise-linear curve through Knots over Horizon steps, and the bounds
// are point × (1 ± Band).
type Forecast struct {
	// None: no forecast at all (the forecaster failed).
	None    bool      `yaml:"none"`
	Knots   []float64 `yaml:"knots"`
	Horizon int       `yaml:"horizon"` // default 60
	Band    float64   `yaml:"band"`    // default 0.1
	MASE    *float64  `yaml:"mase"`    // default 0.5
	// MASEUnknown: the backtest error could not be measured (NaN).
	MASEUnknown bool              `yaml:"mase_unknown"`
	History     int               `yaml:"history"` // default 5000
	Model       string            `yaml:"model"`   // default holt_winters_damped
	Step        policies.Duration `yaml:"step"`    // default: the demand's
}

// Finding is a forecast.Finding with durations as strings.
type Finding struct {
	Kind       forecast.FindingKind `yaml:"kind"`
	Subject    string               `yaml:"subject"`
	Severity   string               `yaml:"severity"` // info, warning (default), critical
	Summary    string               `yaml:"summary"`
	Evidence   map[string]float64   `yaml:"evidence"`
	ETA        policies.Duration    `yaml:"eta"`
	ETALow     policies.Duration    `yaml:"eta_low"`
	ETAHigh    policies.Duration    `yaml:"eta_high"`
	Confidence float64              `yaml:"confidence"`
}

// RecentAction is an action applied Ago before Now.
type RecentAction struct {
	Ago      policies.Duration `yaml:"ago"`
	Kind     agents.ActionKind `yaml:"kind"`
	Replicas int               `yaml:"replicas"`
	From     int               `yaml:"from"`
}

// Gate is the engine's memory beyond the recent actions.
type Gate struct {
	Recommendations []struct {
		Ago      policies.Duration `yaml:"ago"`
		Replicas int               `yaml:"replicas"`
	} `yaml:"recommendations"`
	// NamespaceActionsAgo are when actions were applied in the namespace.
	NamespaceActionsAgo []policies.Duration `yaml:"namespace_actions_ago"`
}

// ScriptedReply is one scripted model reply (see llmtest.Reply).
type ScriptedReply struct {
	Status    int                `yaml:"status"`
	Delay     policies.Duration  `yaml:"delay"`
	Raw       string             `yaml:"raw"`
	Content   string             `yaml:"content"`
	ToolCalls []ScriptedToolCall `yaml:"tool_calls"`
	// Propose is shorthand for a propose_actions call with these
	// proposals.
	Propose []map[string]any `yaml:"propose"`
}

// ScriptedToolCall is a tool call; Arguments is written as YAML and sent
// as JSON, ArgumentsRaw is sent verbatim (for malformed JSON).
type ScriptedToolCall struct {
	Name         string         `yaml:"name"`
	Arguments    map[string]any `yaml:"arguments"`
	ArgumentsRaw string         `yaml:"arguments_raw"`
}

// Outcome is an acceptable result of one decision. Empty fields match
// anything.
type Outcome struct {
	// Verdict: allow, deny or needs_approval.
	Verdict policies.Verdict `yaml:"verdict"`
	// Action is the decision's final action kind: hold, scale or restart
	// (a denied proposal's action is a hold).
	Action agents.ActionKind `yaml:"action"`
	// Replicas bounds the replica count the decision leads to: the final
	// action's target for a scale, the current count otherwise.
	Replicas *Range `yaml:"replicas"`
}

// Range is an inclusive range of counts; in YAML either a number (exact)
// or {min: a, max: b} with either bound optional.
type Range struct {
	Min, Max *int
}

// UnmarshalYAML reads a number or {min, max}.
func (r *Range) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		var v int
		if err := n.Decode(&v); err != nil {
			return err
		}
		r.Min, r.Max = &v, &v
		return nil
	}
	var v struct {
		Min *int `yaml:"min"`
		Max *int `yaml:"max"`
	}
	if err := n.Decode(&v); err != nil {
		return err
	}
	r.Min, r.Max = v.Min, v.Max
	return nil
}

func (r *Range) contains(x int) bool {
	return r == nil || ((r.Min == nil || x >= *r.Min) && (r.Max == nil || x <= *r.Max))
}

func (r *Range) String() string {
	if r == nil {
		return "any"
	}
	lo, hi := "-∞", "∞"
	if r.Min != nil {
		lo = fmt.Sprint(*r.Min)
	}
	if r.Max != nil {
		hi = fmt.Sprint(*r.Max)
	}
	return "[" + lo + ", " + hi + "]"
}

func (o Outcome) String() string {
	var parts []string
	if o.Verdict != "" {
		parts = append(parts, "verdict "+string(o.Verdict))
	}
	if o.Action != "" {
		parts = append(parts, "action "+string(o.Action))
	}
	if o.Replicas != nil {
		parts = append(parts, "replicas "+o.Replicas.String())
	}
	if len(parts) == 0 {
		return "anything"
	}
	return strings.Join(parts, ", ")
}

// defaultNow is the decision time of scenarios that set none.
var defaultNow = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

// Load reads every *.yaml file in dir of fsys, sorted by name. Unknown
// fields are errors naming the file.
func Load(fsys fs.FS, dir string) ([]Scenario, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	var out []Scenario
	var errs []error
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		sc, err := Parse(b, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, sc)
	}
	if len(out) == 0 && len(errs) == 0 {
		return nil, fmt.Errorf("agentsuite: no scenarios in %s", dir)
	}
	return out, errors.Join(errs...)
}

// Parse reads one scenario and checks it; name is the file's name.
func Parse(b []byte, name string) (Scenario, error) {
	var sc Scenario
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&sc); err != nil {
		return Scenario{}, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if sc.Name == "" {
		sc.Name = strings.TrimSuffix(path.Base(name), ".yaml")
	}
	switch {
	case sc.Category == "":
		return Scenario{}, fmt.Errorf("%s: category: required", name)
	case len(sc.Accept) == 0:
		return Scenario{}, fmt.Errorf("%s: accept: at least one outcome is required", name)
	case !(sc.State.CapacityPerPod > 0):
		return Scenario{}, fmt.Errorf("%s: state.capacity_per_pod: must be > 0", name)
	case sc.Workload.Name == "":
		return Scenario{}, fmt.Errorf("%s: workload.name: required", name)
	case len(sc.Demand.Knots) == 0:
		return Scenario{}, fmt.Errorf("%s: demand.knots: required", name)
	case !sc.Forecast.None && len(sc.Forecast.Knots) == 0:
		return Scenario{}, fmt.Errorf("%s: forecast.knots: required unless forecast.none", name)
	}
	if _, err := policies.NewEngine(sc.Policy); err != nil {
		return Scenario{}, fmt.Errorf("%s: policy: %w", name, err)
	}
	if _, err := sc.Script(nil); err != nil {
		return Scenario{}, fmt.Errorf("%s: model_reply: %w", name, err)
	}
	return sc, nil
}

func (sc Scenario) now() time.Time {
	if sc.Now.IsZero() {
		return defaultNow
	}
	return sc.Now
}

// Situation builds the agent's view of the scenario, with the policy's
// limits.
func (sc Scenario) Situation(limits agents.Limits) agents.Situation {
	now := sc.now()
	d := sc.Demand
	n := d.Samples
	if n == 0 {
		n = 3000
	}
	step := d.Step.D()
	if step == 0 {
		step = time.Minute
	}
	rng := rand.New(rand.NewPCG(d.Seed, 0x5eed))
	vals := curve(d.Knots, n)
	for i := range vals {
		if d.Noise > 0 {
			vals[i] *= 1 + d.Noise*rng.NormFloat64()
		}
		vals[i] = math.Max(0, vals[i])
		if i >= n-d.Gaps {
			vals[i] = math.NaN()
		}
	}
	demand := metrics.Series{Name: "demand", Start: now.Add(-time.Duration(n) * step), Step: step, Values: vals}

	var fc forecast.Forecast
	if f := sc.Forecast; !f.None {
		h := f.Horizon
		if h == 0 {
			h = 60
		}
		band := f.Band
		if band == 0 {
			band = 0.1
		}
		mase := 0.5
		if f.MASE != nil {
			mase = *f.MASE
		}
		if f.History == 0 {
			f.History = 5000
		}
		if f.Model == "" {
			f.Model = "holt_winters_damped"
		}
		fstep := f.Step.D()
		if fstep == 0 {
			fstep = step
		}
		point := curve(f.Knots, h)
		lower, upper := make([]float64, h), make([]float64, h)
		for i, p := range point {
			lower[i], upper[i] = p*(1-band), p*(1+band)
		}
		fc = forecast.Forecast{Start: now, Step: fstep, Point: point, Lower: lower, Upper: upper, Coverage: 0.9,
			Model: f.Model, MASE: mase, History: f.History}
	}
	if sc.Forecast.MASEUnknown && !sc.Forecast.None {
		fc.MASE = math.NaN()
	}

	var findings []forecast.Finding
	for _, f := range sc.Findings {
		sev := forecast.SeverityWarning
		switch f.Severity {
		case "info":
			sev = forecast.SeverityInfo
		case "critical":
			sev = forecast.SeverityCritical
		}
		findings = append(findings, forecast.Finding{Kind: f.Kind, Subject: f.Subject, Severity: sev, Time: now,
			Evidence: f.Evidence, Summary: f.Summary, ETA: f.ETA.D(), ETALow: f.ETALow.D(), ETAHigh: f.ETAHigh.D(), Confidence: f.Confidence})
	}
	lead := sc.LeadTime.D()
	if lead == 0 {
		lead = 10 * time.Minute
	}
	return agents.Situation{
		Now: now, Workload: sc.Workload, State: sc.workloadState(), Demand: demand, Forecast: fc, Findings: findings,
		LeadTime: lead, Limits: limits, RecentActions: sc.actions(),
	}
}

func (sc Scenario) workloadState() agents.WorkloadState {
	ready := sc.State.Replicas
	if sc.State.Ready != nil {
		ready = *sc.State.Ready
	}
	ws := agents.WorkloadState{Replicas: sc.State.Replicas, Ready: ready, CapacityPerPod: sc.State.CapacityPerPod}
	if p := sc.State.PDB; p != nil {
		ws.PDB = &agents.PDBStatus{Name: p.Name, DisruptionsAllowed: p.DisruptionsAllowed}
	}
	return ws
}

func (sc Scenario) actions() []agents.ActionRecord {
	var out []agents.ActionRecord
	for _, a := range sc.RecentActions {
		out = append(out, agents.ActionRecord{Time: sc.now().Add(-a.Ago.D()), Action: agents.Action{Kind: a.Kind, Replicas: a.Replicas}, From: a.From})
	}
	return out
}

// GateState builds what the policy engine knows beyond the proposal.
func (sc Scenario) GateState() policies.State {
	now := sc.now()
	ws := sc.workloadState()
	st := policies.State{Workload: sc.Workload, Replicas: ws.Replicas, Ready: ws.Ready, PDB: ws.PDB, Actions: sc.actions()}
	for _, r := range sc.Gate.Recommendations {
		st.Recommendations = append(st.Recommendations, policies.Recommendation{Time: now.Add(-r.Ago.D()), Replicas: r.Replicas})
	}
	for _, a := range st.Actions {
		switch {
		case a.Action.Kind == agents.ActionRestart:
			st.LastRestart = later(st.LastRestart, a.Time)
		case a.Action.Kind == agents.ActionScale && a.Action.Replicas > a.From:
			st.LastScaleUp = later(st.LastScaleUp, a.Time)
		case a.Action.Kind == agents.ActionScale && a.Action.Replicas < a.From:
			st.LastScaleDown = later(st.LastScaleDown, a.Time)
		}
		st.NamespaceActions = append(st.NamespaceActions, a.Time)
	}
	for _, ago := range sc.Gate.NamespaceActionsAgo {
		st.NamespaceActions = append(st.NamespaceActions, now.Add(-ago.D()))
	}
	return st
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Script returns the scripted model replies for the scenario: ModelReply
// when set, else a model that asks for the forecast and findings and then
// proposes baseline (the heuristic agent's proposals).
func (sc Scenario) Script(baseline []agents.Proposal) ([]llmtest.Reply, error) {
	if len(sc.ModelReply) == 0 {
		args, err := proposeArgs(sc.Workload, baseline)
		if err != nil {
			return nil, err
		}
		return []llmtest.Reply{
			{ToolCalls: []llmtest.ToolCall{{Name: "get_forecast_summary", Arguments: "{}"}, {Name: "get_findings", Arguments: "{}"}}},
			{ToolCalls: []llmtest.ToolCall{{Name: "propose_actions", Arguments: args}}},
		}, nil
	}
	var out []llmtest.Reply
	for i, r := range sc.ModelReply {
		rep := llmtest.Reply{Status: r.Status, Delay: r.Delay.D(), Raw: r.Raw, Content: r.Content}
		for _, tc := range r.ToolCalls {
			args := tc.ArgumentsRaw
			if args == "" {
				b, err := json.Marshal(orEmpty(tc.Arguments))
				if err != nil {
					return nil, fmt.Errorf("[%d]: arguments: %w", i, err)
				}
				args = string(b)
			}
			rep.ToolCalls = append(rep.ToolCalls, llmtest.ToolCall{Name: tc.Name, Arguments: args})
		}
		if len(r.Propose) > 0 {
			b, err := json.Marshal(map[string]any{"proposals": r.Propose})
			if err != nil {
				return nil, fmt.Errorf("[%d]: propose: %w", i, err)
			}
			rep.ToolCalls = append(rep.ToolCalls, llmtest.ToolCall{Name: "propose_actions", Arguments: string(b)})
		}
		out = append(out, rep)
	}
	return out, nil
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// proposeArgs writes proposals as propose_actions arguments.
func proposeArgs(w agents.Workload, ps []agents.Proposal) (string, error) {
	type item struct {
		Workload   string             `json:"workload"`
		Action     agents.ActionKind  `json:"action"`
		Replicas   int                `json:"replicas,omitempty"`
		Reason     string             `json:"reason"`
		Confidence float64            `json:"confidence"`
		Evidence   map[string]float64 `json:"evidence,omitempty"`
	}
	items := []item{}
	for _, p := range ps {
		ev := map[string]float64{}
		for k, v := range p.Evidence {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				ev[k] = v
			}
		}
		reason := p.Reason
		if len(reason) > 500 {
			reason = reason[:500]
		}
		items = append(items, item{w.String(), p.Action.Kind, p.Action.Replicas, reason, p.Confidence, ev})
	}
	if len(items) == 0 {
		items = append(items, item{Workload: w.String(), Action: agents.ActionHold, Reason: "nothing to do", Confidence: 0.5})
	}
	b, err := json.Marshal(map[string]any{"proposals": items})
	return string(b), err
}

// curve returns n values on the piecewise-linear curve through knots
// spread evenly from the first value to the last.
func curve(knots []float64, n int) []float64 {
	out := make([]float64, n)
	if len(knots) == 1 || n == 1 {
		for i := range out {
			out[i] = knots[0]
		}
		return out
	}
	segs := float64(len(knots) - 1)
	for i := range out {
		x := float64(i) / float64(n-1) * segs
		k := min(int(x), len(knots)-2)
		frac := x - float64(k)
		out[i] = knots[k] + frac*(knots[k+1]-knots[k])
	}
	return out
}
