package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/stuurman/stuurman/actuators"
	"github.com/stuurman/stuurman/agents"
	"github.com/stuurman/stuurman/forecast"
	"github.com/stuurman/stuurman/metrics"
	"github.com/stuurman/stuurman/policies"
)

// Forecaster turns a history into a Forecast; *forecast.Forecaster is one.
type Forecaster interface {
	Forecast(hist metrics.Series) (forecast.Forecast, error)
}

// Actuator carries out a decision; *actuators.Recorder is one.
type Actuator interface {
	Apply(ctx context.Context, d policies.Decision) (actuators.Result, error)
}

// Config describes the workload the pipeline steers.
type Config struct {
	Workload agents.Workload
	// CapacityPerPod is the demand one ready pod serves within its SLO.
	// Required, > 0.
	CapacityPerPod float64
	// LeadTime is how far ahead capacity is provisioned: pod start-up plus
	// the decision interval. Required, > 0.
	LeadTime time.Duration
	// MaxRecentActions is how many applied actions the agent is shown.
	// Default 10.
	MaxRecentActions int
	// NamespaceActions, when set, is the log of applied actions shared by
	// the pipelines of every workload in this workload's namespace: the
	// pipeline records its actions there and gives the log to the policy
	// engine for its namespaceRateLimit. Nil: the engine sees only this
	// pipeline's own actions, so the namespace limit acts per workload.
	NamespaceActions *ActionLog
	// Detector, when set, scores every new demand sample for anomalies;
	// a sample scoring at least AnomalyThreshold becomes a Finding of the
	// cycle. Nil: no anomaly detection. The detector is stateful: give
	// each pipeline its own.
	Detector forecast.Detector
	// AnomalyThreshold is the score from which a sample is reported as an
	// anomaly. Default 0.5.
	AnomalyThreshold float64
}

// ActionLog records when actions were applied to the workloads of one
// namespace, so that their pipelines share the policy's namespace rate
// limit. It is safe for concurrent use; the zero value keeps a day.
type ActionLog struct {
	// Keep is how long entries are kept: at least the longest
	// namespaceRateLimit window of the policies that read the log.
	// Default 24h.
	Keep time.Duration

	mu    sync.Mutex
	times []time.Time
}

// Record notes an action applied at t and forgets entries older than Keep
// before t.
func (l *ActionLog) Record(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	keep := l.Keep
	if keep <= 0 {
		keep = 24 * time.Hour
	}
	l.times = slices.DeleteFunc(append(l.times, t), func(x time.Time) bool { return t.Sub(x) > keep })
}

// Times returns a copy of the recorded times.
func (l *ActionLog) Times() []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.times)
}

// Pipeline runs control cycles for one workload. It is not safe for
// concurrent use: one workload's cycles run one at a time.
type Pipeline struct {
	cfg        Config
	forecaster Forecaster
	agent      agents.Agent
	engine     *policies.Engine
	actuator   Actuator

	recs        []policies.Recommendation
	lastUp      time.Time
	lastDown    time.Time
	lastRestart time.Time
	// actions are the applied actions the engine and the agent need: those
	// within the policy's longest window, and the last MaxRecentActions.
	actions []agents.ActionRecord
	// scored is the time of the last demand sample given to the detector.
	scored time.Time
}

// New wires the stages. Every argument is required.
func New(cfg Config, f Forecaster, a agents.Agent, e *policies.Engine, act Actuator) (*Pipeline, error) {
	switch {
	case !(cfg.CapacityPerPod > 0):
		return nil, fmt.Errorf("pipeline: CapacityPerPod: must be > 0, got %v", cfg.CapacityPerPod)
	case cfg.LeadTime <= 0:
		return nil, fmt.Errorf("pipeline: LeadTime: must be > 0, got %v", cfg.LeadTime)
	case f == nil || a == nil || e == nil || act == nil:
		return nil, errors.New("pipeline: forecaster, agent, engine and actuator are all required")
	}
	if cfg.AnomalyThreshold == 0 {
		cfg.AnomalyThreshold = 0.5
	}
	if cfg.MaxRecentActions == 0 {
		cfg.MaxRecentActions = 10
	}
	return &Pipeline{cfg: cfg, forecaster: f, agent: a, engine: e, actuator: act}, nil
}

// Outcome is everything one cycle produced, stage by stage.
type Outcome struct {
	Forecast  forecast.Forecast
	Findings  []forecast.Finding
	Proposals []agents.Proposal
	Decisions []policies.Decision
	Results   []actuators.Result
}

// Cycle runs one control cycle at time now on the demand observed so far
// (complete samples only) and the workload's current state.
//
// A forecast error does not stop the cycle: the agent receives an empty
// forecast (which it must treat as untrusted) and the error is recorded as a
// stale-data finding. Agent and actuator errors are returned.
func (p *Pipeline) Cycle(ctx context.Context, now time.Time, demand metrics.Series, st agents.WorkloadState) (Outcome, error) {
	var out Outcome
	st.CapacityPerPod = p.cfg.CapacityPerPod
	fc, err := p.forecaster.Forecast(demand)
	if err != nil {
		out.Findings = append(out.Findings, forecast.Finding{
			Kind: forecast.FindingStaleData, Subject: p.cfg.Workload.String(), Severity: forecast.SeverityWarning,
			Time: now, Summary: "no forecast: " + err.Error(),
		})
		fc = forecast.Forecast{}
	}
	out.Forecast = fc
	out.Findings = append(out.Findings, p.detect(demand)...)

	sit := agents.Situation{
		Now: now, Workload: p.cfg.Workload, State: st, Demand: demand, Forecast: fc,
		Findings: out.Findings, LeadTime: p.cfg.LeadTime, Limits: p.engine.Limits(),
		RecentActions: slices.Clone(p.actions[max(0, len(p.actions)-p.cfg.MaxRecentActions):]),
	}
	props, err := p.agent.Propose(ctx, sit)
	if err != nil {
		return out, fmt.Errorf("pipeline: agent %s: %w", p.agent.Name(), err)
	}
	out.Proposals = props

	for _, prop := range props {
		d := p.engine.Decide(prop, p.policyState(st, now), now)
		out.Decisions = append(out.Decisions, d)
		if prop.Action.Kind == agents.ActionScale || prop.Action.Kind == agents.ActionHold {
			target := st.Replicas
			if prop.Action.Kind == agents.ActionScale {
				target = prop.Action.Replicas
			}
			p.recs = append(p.recs, policies.Recommendation{Time: now, Replicas: target})
		}
		res, err := p.actuator.Apply(ctx, d)
		if err != nil {
			return out, fmt.Errorf("pipeline: apply decision for %s: %w", prop.Workload, err)
		}
		out.Results = append(out.Results, res)
		// Only what was carried out counts for cooldowns, flap budgets and
		// rate limits: a recommendation or a proposal awaiting approval
		// changed nothing yet (see RecordApplied).
		if d.Changes() && res.Applied {
			p.remember(d, st.Replicas, now)
			if d.Action.Kind == agents.ActionScale {
				st.Replicas = d.Action.Replicas
			}
		}
	}
	return out, nil
}

// detect gives the detector the demand samples it has not seen (each once,
// in time order, so a retried cycle scores nothing twice) and returns the
// anomalies among them.
func (p *Pipeline) detect(demand metrics.Series) []forecast.Finding {
	if p.cfg.Detector == nil {
		return nil
	}
	var out []forecast.Finding
	first := 0
	if !p.scored.IsZero() {
		first = max(0, demand.Index(p.scored)+1)
	}
	for i := first; i < demand.Len(); i++ {
		t := demand.Time(i)
		if !t.After(p.scored) && !p.scored.IsZero() {
			continue // a step that does not divide the last one's offset
		}
		p.scored = t
		if s := p.cfg.Detector.Observe(t, demand.Values[i]); s.Value >= p.cfg.AnomalyThreshold {
			out = append(out, s.Finding(p.cfg.Workload.String()))
		}
	}
	return out
}

// RecordApplied tells the pipeline that a decision it made earlier was
// carried out at time at, from the replica count from — e.g. after a human
// approved it — so that cooldowns, flap budgets and rate limits count it
// from when it happened.
func (p *Pipeline) RecordApplied(d policies.Decision, from int, at time.Time) {
	if d.Changes() {
		p.remember(d, from, at)
	}
}

func (p *Pipeline) remember(d policies.Decision, from int, now time.Time) {
	switch {
	case d.Action.Kind == agents.ActionRestart:
		p.lastRestart = now
	case d.Action.Kind == agents.ActionScale && d.Action.Replicas > from:
		p.lastUp = now
	case d.Action.Kind == agents.ActionScale:
		p.lastDown = now
	}
	p.actions = append(p.actions, agents.ActionRecord{Time: now, Action: d.Action, From: from})
	if p.cfg.NamespaceActions != nil {
		p.cfg.NamespaceActions.Record(now)
	}
}

// policyState returns the engine's view of the workload in state st,
// dropping recommendations older than both stabilisation windows and
// applied actions older than every window that reads them (keeping the
// last MaxRecentActions for the agent).
func (p *Pipeline) policyState(st agents.WorkloadState, now time.Time) policies.State {
	pol := p.engine.Policy()
	keep := max(pol.ScaleUp.StabilizationWindow.D(), pol.ScaleDown.StabilizationWindow.D())
	i := 0
	for i < len(p.recs) && now.Sub(p.recs[i].Time) >= keep {
		i++
	}
	if i > 0 {
		p.recs = append(p.recs[:0], p.recs[i:]...)
	}

	// Custom rules see a day of actions; the flap budget and the
	// namespace rate limit (without a shared log) their windows.
	keepActions := 24 * time.Hour
	if pol.FlapBudget != nil {
		keepActions = max(keepActions, pol.FlapBudget.Window.D())
	}
	if pol.NamespaceRateLimit != nil {
		keepActions = max(keepActions, pol.NamespaceRateLimit.Window.D())
	}
	i = 0
	for i < len(p.actions)-p.cfg.MaxRecentActions && now.Sub(p.actions[i].Time) >= keepActions {
		i++
	}
	if i > 0 {
		p.actions = append(p.actions[:0], p.actions[i:]...)
	}

	var ns []time.Time
	if p.cfg.NamespaceActions != nil {
		ns = p.cfg.NamespaceActions.Times()
	} else {
		for _, a := range p.actions {
			ns = append(ns, a.Time)
		}
	}
	return policies.State{
		Workload: p.cfg.Workload,
		Replicas: st.Replicas, Ready: st.Ready, PDB: st.PDB,
		Recommendations: p.recs,
		LastScaleUp:     p.lastUp, LastScaleDown: p.lastDown, LastRestart: p.lastRestart,
		Actions:          slices.Clone(p.actions),
		NamespaceActions: ns,
	}
}
