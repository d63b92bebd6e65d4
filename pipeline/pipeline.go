package pipeline

import (
	"context"
	"errors"
	"fmt"
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
}

// Pipeline runs control cycles for one workload. It is not safe for
// concurrent use: one workload's cycles run one at a time.
type Pipeline struct {
	cfg        Config
	forecaster Forecaster
	agent      agents.Agent
	engine     *policies.Engine
	actuator   Actuator

	recs          []policies.Recommendation
	lastUp        time.Time
	lastDown      time.Time
	recentActions []agents.ActionRecord
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

	sit := agents.Situation{
		Now: now, Workload: p.cfg.Workload, State: st, Demand: demand, Forecast: fc,
		Findings: out.Findings, LeadTime: p.cfg.LeadTime, Limits: p.engine.Limits(),
		RecentActions: append([]agents.ActionRecord(nil), p.recentActions...),
	}
	props, err := p.agent.Propose(ctx, sit)
	if err != nil {
		return out, fmt.Errorf("pipeline: agent %s: %w", p.agent.Name(), err)
	}
	out.Proposals = props

	for _, prop := range props {
		d := p.engine.Decide(prop, p.policyState(st.Replicas, now), now)
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
		if d.Changes() {
			p.remember(d, st.Replicas, now)
			st.Replicas = d.Action.Replicas
		}
	}
	return out, nil
}

func (p *Pipeline) remember(d policies.Decision, from int, now time.Time) {
	if d.Action.Kind == agents.ActionScale {
		if d.Action.Replicas > from {
			p.lastUp = now
		} else {
			p.lastDown = now
		}
	}
	p.recentActions = append(p.recentActions, agents.ActionRecord{Time: now, Action: d.Action, From: from})
	if n := len(p.recentActions) - p.cfg.MaxRecentActions; n > 0 {
		p.recentActions = append(p.recentActions[:0], p.recentActions[n:]...)
	}
}

// policyState returns the engine's view, dropping recommendations older
// than both stabilisation windows.
func (p *Pipeline) policyState(replicas int, now time.Time) policies.State {
	pol := p.engine.Policy()
	keep := max(pol.ScaleUp.StabilizationWindow.D(), pol.ScaleDown.StabilizationWindow.D())
	i := 0
	for i < len(p.recs) && now.Sub(p.recs[i].Time) >= keep {
		i++
	}
	if i > 0 {
		p.recs = append(p.recs[:0], p.recs[i:]...)
	}
	return policies.State{Replicas: replicas, Recommendations: p.recs, LastScaleUp: p.lastUp, LastScaleDown: p.lastDown}
}
