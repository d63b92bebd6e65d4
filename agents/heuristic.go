package agents

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/stuurman/stuurman/forecast"
)

// HeuristicConfig tunes the Heuristic agent. The zero value of each field
// selects the default documented on it.
type HeuristicConfig struct {
	// ReactiveUtilization is the per-pod utilisation the reactive floor
	// aims for, as the HPA's target: floor = ceil(latest demand /
	// (capacity per pod × ReactiveUtilization)). Default 0.8.
	ReactiveUtilization float64
	// MaxMASE is the backtest MASE above which the forecast is not trusted.
	// Default 1.0 (the model must at least match its naive yardstick on
	// average over the lead time).
	MaxMASE float64
	// ScaleDownTolerance is the surplus below which the agent does not
	// scale down: it proposes a smaller count only when the target is below
	// current × (1 − ScaleDownTolerance), as the HPA's tolerance. Scale-ups
	// are never held back. Default 0.1; negative: none.
	ScaleDownTolerance float64
	// MinHistory is the least history the forecast must rest on to be
	// trusted, in observed samples. Default 2880 (two days of minutes).
	MinHistory int
	// RestartWithin: a trend_to_threshold finding about memory (its
	// subject mentions "memory" or "oom") whose ETA — ETALow when set — is
	// within RestartWithin makes the agent propose a rolling restart
	// besides its scale or hold, so the pods restart before the OOM kill.
	// It does not when the workload's PodDisruptionBudget allows no
	// disruption or a restart was applied within RestartWithin. Default
	// 6h; negative: never propose restarts.
	RestartWithin time.Duration
}

func (c HeuristicConfig) withDefaults() HeuristicConfig {
	if c.ReactiveUtilization == 0 {
		c.ReactiveUtilization = 0.8
	}
	if c.MaxMASE == 0 {
		c.MaxMASE = 1.0
	}
	if c.MinHistory == 0 {
		c.MinHistory = 2880
	}
	if c.ScaleDownTolerance == 0 {
		c.ScaleDownTolerance = 0.1
	}
	if c.RestartWithin == 0 {
		c.RestartWithin = 6 * time.Hour
	}
	return c
}

// Validate reports an invalid field by name.
func (c HeuristicConfig) Validate() error {
	c = c.withDefaults()
	if !(c.ReactiveUtilization > 0 && c.ReactiveUtilization <= 1) {
		return fmt.Errorf("agents: ReactiveUtilization: must be in (0, 1], got %v", c.ReactiveUtilization)
	}
	if !(c.MaxMASE > 0) {
		return fmt.Errorf("agents: MaxMASE: must be > 0, got %v", c.MaxMASE)
	}
	if c.MinHistory < 0 {
		return fmt.Errorf("agents: MinHistory: must be >= 0, got %d", c.MinHistory)
	}
	if !(c.ScaleDownTolerance < 1) {
		return fmt.Errorf("agents: ScaleDownTolerance: must be < 1, got %v", c.ScaleDownTolerance)
	}
	return nil
}

// Heuristic is the default, deterministic agent.
//
// It proposes replicas = max(predictive, reactive) where
//
//	predictive = ceil(max upper forecast bound over the lead time / capacity per pod)
//	reactive   = ceil(latest observed demand / (capacity per pod × ReactiveUtilization))
//
// The reactive floor is the HPA's arithmetic on the latest observation, so
// the agent never asks for less than a reactive scaler would when the
// forecast misses a surge. When the forecast is not trusted (MASE unknown
// or above MaxMASE, or fewer than MinHistory observed samples), it ignores
// the forecast: it proposes the reactive floor if that is above the
// current count and holds otherwise — it never scales down on a forecast
// it does not trust. With no observation at all it holds.
type Heuristic struct {
	cfg HeuristicConfig
}

var _ Agent = (*Heuristic)(nil)

// NewHeuristic returns the heuristic agent, or an error naming an invalid
// field of cfg.
func NewHeuristic(cfg HeuristicConfig) (*Heuristic, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Heuristic{cfg: cfg.withDefaults()}, nil
}

// Name returns "heuristic".
func (h *Heuristic) Name() string { return "heuristic" }

// Propose returns a scale or a hold, followed by a restart when a memory
// trend reaches its threshold within RestartWithin (see HeuristicConfig).
func (h *Heuristic) Propose(ctx context.Context, s Situation) ([]Proposal, error) {
	ps, err := h.size(ctx, s)
	if err != nil {
		return nil, err
	}
	if r, ok := h.restart(s, &ps[0]); ok {
		ps = append(ps, r)
	}
	return ps, nil
}

// restart returns a restart proposal for the most urgent memory trend
// finding within RestartWithin, noting on p why it holds one back.
func (h *Heuristic) restart(s Situation, p *Proposal) (Proposal, bool) {
	if h.cfg.RestartWithin < 0 {
		return Proposal{}, false
	}
	var best *forecast.Finding
	var bestETA time.Duration
	for i, f := range s.Findings {
		subj := strings.ToLower(f.Subject)
		if f.Kind != forecast.FindingTrendToThreshold || !(strings.Contains(subj, "memory") || strings.Contains(subj, "oom")) {
			continue
		}
		eta := f.ETA
		if f.ETALow > 0 {
			eta = f.ETALow
		}
		if eta <= 0 || eta > h.cfg.RestartWithin {
			continue
		}
		if best == nil || eta < bestETA {
			best, bestETA = &s.Findings[i], eta
		}
	}
	if best == nil {
		return Proposal{}, false
	}
	if p.Evidence == nil {
		p.Evidence = map[string]float64{}
	}
	p.Evidence["oom_eta_seconds"] = bestETA.Seconds()
	for _, a := range s.RecentActions {
		if a.Action.Kind == ActionRestart && s.Now.Sub(a.Time) < h.cfg.RestartWithin {
			p.Reason += fmt.Sprintf("; no restart for the memory trend (ETA %v): one was applied %v ago", bestETA, s.Now.Sub(a.Time))
			return Proposal{}, false
		}
	}
	if pdb := s.State.PDB; pdb != nil && pdb.DisruptionsAllowed <= 0 {
		p.Reason += fmt.Sprintf("; no restart for the memory trend (ETA %v): PodDisruptionBudget %s allows no disruption", bestETA, pdb.Name)
		return Proposal{}, false
	}
	conf := best.Confidence
	if !(conf > 0 && conf <= 1) {
		conf = 0.7
	}
	return Proposal{
		Workload: s.Workload, Action: Action{Kind: ActionRestart}, From: s.State.Replicas, Agent: h.Name(),
		Reason: fmt.Sprintf("%s reaches its threshold in %v (within %v): rolling restart before the OOM kill",
			best.Subject, bestETA.Round(time.Minute), h.cfg.RestartWithin),
		Evidence:   map[string]float64{"eta_seconds": bestETA.Seconds(), "finding_confidence": best.Confidence},
		Confidence: conf,
	}, true
}

// size returns exactly one proposal: a scale or a hold.
func (h *Heuristic) size(_ context.Context, s Situation) ([]Proposal, error) {
	cur := s.State.Replicas
	p := Proposal{Workload: s.Workload, From: cur, Agent: h.Name(), Action: Action{Kind: ActionHold}, Evidence: map[string]float64{}}
	capacity := s.State.CapacityPerPod
	if !(capacity > 0) {
		return nil, fmt.Errorf("agents: heuristic: capacity per pod must be > 0, got %v", capacity)
	}
	latest, at := s.Demand.Last()
	if at < 0 {
		p.Reason = "no demand observed yet: hold"
		return []Proposal{p}, nil
	}
	p.Evidence["latest_demand"] = latest
	p.Evidence["capacity_per_pod"] = capacity
	p.Evidence["current_replicas"] = float64(cur)
	reactive := ceilPods(latest / (capacity * h.cfg.ReactiveUtilization))
	p.Evidence["reactive_replicas"] = float64(reactive)

	f := s.Forecast
	horizon := 0
	if f.Step > 0 {
		horizon = int(math.Ceil(float64(s.LeadTime) / float64(f.Step)))
	}
	upper := f.MaxUpper(max(horizon, 1))
	p.Evidence["forecast_mase"] = f.MASE
	p.Evidence["history"] = float64(f.History)
	trusted, why := h.trust(f, upper)
	if !trusted {
		// Do not act on the forecast; act as a reactive scaler would.
		p.Confidence = 0.5
		p.Evidence["trusted"] = 0
		src := fmt.Sprintf("forecast not trusted (%s); latest demand %.4g needs %d pods at %.0f%% of %.4g per pod (reactive)",
			why, latest, reactive, 100*h.cfg.ReactiveUtilization, capacity)
		h.decide(&p, src, cur, reactive)
		return []Proposal{p}, nil
	}
	p.Evidence["trusted"] = 1

	predictive := ceilPods(upper / capacity)
	p.Evidence["forecast_upper"] = upper
	p.Evidence["forecast_point"] = f.MaxPoint(max(horizon, 1))
	p.Evidence["predictive_replicas"] = float64(predictive)
	target := max(predictive, reactive)
	p.Confidence = 1 / (1 + f.MASE)
	source := fmt.Sprintf("forecast upper bound %.4g over the next %v (%s, MASE %.2f) needs %d pods at %.4g per pod",
		upper, s.LeadTime, f.Model, f.MASE, predictive, capacity)
	if reactive > predictive {
		source += fmt.Sprintf("; latest demand %.4g needs %d (reactive floor)", latest, reactive)
	}
	h.decide(&p, source, cur, target)
	return []Proposal{p}, nil
}

// decide turns a target into a scale or a hold, holding a scale-down within
// the tolerance and a target of zero (no demand is no reason to remove the
// last pod; the policy's minimum decides how low to go).
func (h *Heuristic) decide(p *Proposal, why string, cur, target int) {
	switch {
	case target == cur || target == 0:
		p.Reason = why + ": hold"
	case target < cur && float64(target) >= float64(cur)*(1-h.cfg.ScaleDownTolerance):
		p.Reason = fmt.Sprintf("%s: hold (%d is within %.0f%% of %d)", why, target, 100*h.cfg.ScaleDownTolerance, cur)
	default:
		p.Action = Action{Kind: ActionScale, Replicas: target}
		p.Reason = fmt.Sprintf("%s: scale %d → %d", why, cur, target)
	}
}

func (h *Heuristic) trust(f forecast.Forecast, upper float64) (bool, string) {
	switch {
	case f.Len() == 0 || math.IsNaN(upper):
		return false, "no forecast"
	case f.History < h.cfg.MinHistory:
		return false, fmt.Sprintf("%d samples of history, fewer than %d", f.History, h.cfg.MinHistory)
	case math.IsNaN(f.MASE):
		return false, "backtest error unknown"
	case f.MASE > h.cfg.MaxMASE:
		return false, fmt.Sprintf("backtest MASE %.2f above %.2f", f.MASE, h.cfg.MaxMASE)
	}
	return true, ""
}

func ceilPods(x float64) int {
	if math.IsNaN(x) || x <= 0 {
		return 0
	}
	// Guard against float noise: 3.0000000001 pods is 3 pods.
	return int(math.Ceil(x - 1e-9))
}
