package pipeline

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stuurman/stuurman/actuators"
	"github.com/stuurman/stuurman/agents"
	"github.com/stuurman/stuurman/forecast"
	"github.com/stuurman/stuurman/metrics"
	"github.com/stuurman/stuurman/policies"
)

type fixedForecaster struct{ err error }

func (f fixedForecaster) Forecast(h metrics.Series) (forecast.Forecast, error) {
	if f.err != nil {
		return forecast.Forecast{}, f.err
	}
	return forecast.Forecast{Start: h.End(), Step: h.Step, Point: []float64{1}, Lower: []float64{1}, Upper: []float64{1}, MASE: 0.5}, nil
}

// scripted proposes the next target of its script at each cycle and keeps
// what it was shown.
type scripted struct {
	targets []int
	seen    []agents.Situation
}

func (s *scripted) Name() string { return "scripted" }

func (s *scripted) Propose(_ context.Context, sit agents.Situation) ([]agents.Proposal, error) {
	s.seen = append(s.seen, sit)
	t := s.targets[0]
	s.targets = s.targets[1:]
	return []agents.Proposal{{From: sit.State.Replicas, Agent: "scripted", Action: agents.Action{Kind: agents.ActionScale, Replicas: t}}}, nil
}

// applying reports every decision that changes the workload as carried
// out, as an actuator with side effects would.
type applying struct{}

func (applying) Apply(_ context.Context, d policies.Decision) (actuators.Result, error) {
	return actuators.Result{Decision: d, Applied: d.Changes(), Replicas: d.Action.Replicas}, nil
}

type failing struct{}

func (failing) Apply(context.Context, policies.Decision) (actuators.Result, error) {
	return actuators.Result{}, errors.New("boom")
}

func TestCycleRemembersForStabilisationAndCooldown(t *testing.T) {
	pol := policies.Policy{MaxReplicas: 50,
		ScaleDown: policies.Rules{StabilizationWindow: policies.Duration(3 * time.Minute)},
		ScaleUp:   policies.Rules{Cooldown: policies.Duration(2 * time.Minute)}}
	e, err := policies.NewEngine(pol)
	if err != nil {
		t.Fatal(err)
	}
	ag := &scripted{targets: []int{10, 4, 4, 4, 4, 12, 20}}
	p, err := New(Config{Workload: agents.Workload{Kind: "Deployment", Name: "web"}, CapacityPerPod: 10, LeadTime: 3 * time.Minute},
		fixedForecaster{}, ag, e, applying{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	demand := metrics.Series{Start: t0.Add(-time.Hour), Step: time.Minute, Values: make([]float64, 60)}
	replicas := 2
	var got []int
	for i := range 7 {
		now := t0.Add(time.Duration(i) * time.Minute)
		out, err := p.Cycle(context.Background(), now, demand, agents.WorkloadState{Replicas: replicas})
		if err != nil {
			t.Fatal(err)
		}
		if d := out.Decisions[0]; d.Changes() {
			replicas = d.Action.Replicas
		}
		got = append(got, replicas)
	}
	// 2→10 at 0m; the scale-down to 4 is held while 10 is in the 3-minute
	// window (1m, 2m, 3m: 10 proposed at 0m is 3m old at 3m, so it falls
	// out); 4→12 at 5m is a scale-up and no earlier one is within the 2m
	// cooldown (0m is 5m ago); 12→20 at 6m is denied by the cooldown.
	want := []int{10, 10, 10, 4, 4, 12, 12}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("replicas %v, want %v", got, want)
		}
	}
	last := ag.seen[len(ag.seen)-1]
	if len(last.RecentActions) != 3 || last.RecentActions[2].Action.Replicas != 12 || last.Limits.MaxReplicas != 50 || last.State.CapacityPerPod != 10 {
		t.Errorf("agent saw %+v", last)
	}
}

// TestOnlyAppliedActionsCount checks that a decision the actuator did not
// carry out (a dry run, a proposal awaiting approval) starts no cooldown,
// and that RecordApplied starts it from when it was carried out.
func TestOnlyAppliedActionsCount(t *testing.T) {
	pol := policies.Policy{MaxReplicas: 50, ScaleUp: policies.Rules{Cooldown: policies.Duration(5 * time.Minute)}}
	e, err := policies.NewEngine(pol)
	if err != nil {
		t.Fatal(err)
	}
	ag := &scripted{targets: []int{4, 4, 6}}
	p, err := New(Config{Workload: agents.Workload{Kind: "Deployment", Name: "web"}, CapacityPerPod: 10, LeadTime: time.Minute},
		fixedForecaster{}, ag, e, actuators.NewRecorder(nil))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	demand := metrics.Series{Start: t0.Add(-time.Hour), Step: time.Minute, Values: make([]float64, 60)}
	out, err := p.Cycle(context.Background(), t0, demand, agents.WorkloadState{Replicas: 2})
	if err != nil || out.Decisions[0].Verdict != policies.Allow || out.Results[0].Applied {
		t.Fatalf("dry run: %+v %v", out.Results, err)
	}
	// Not carried out: a second scale-up a minute later is not in cooldown.
	out, err = p.Cycle(context.Background(), t0.Add(time.Minute), demand, agents.WorkloadState{Replicas: 2})
	if err != nil || out.Decisions[0].Verdict != policies.Allow {
		t.Fatalf("after a dry run the cooldown must not run: %+v %v", out.Decisions[0].Rules, err)
	}
	// Carried out now (say, approved): the cooldown runs from now.
	p.RecordApplied(out.Decisions[0], 2, t0.Add(2*time.Minute))
	out, err = p.Cycle(context.Background(), t0.Add(3*time.Minute), demand, agents.WorkloadState{Replicas: 4})
	if err != nil || out.Decisions[0].Verdict != policies.Deny {
		t.Fatalf("after RecordApplied the cooldown must deny: %+v %v", out.Decisions[0], err)
	}
}

func TestCycleForecastErrorBecomesFinding(t *testing.T) {
	e, _ := policies.NewEngine(policies.Default())
	ag := &scripted{targets: []int{3}}
	p, _ := New(Config{Workload: agents.Workload{Kind: "Deployment", Name: "web"}, CapacityPerPod: 1, LeadTime: time.Minute},
		fixedForecaster{err: errors.New("no samples")}, ag, e, actuators.NewRecorder(nil))
	out, err := p.Cycle(context.Background(), time.Now(), metrics.Series{Step: time.Minute}, agents.WorkloadState{Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Findings) != 1 || out.Findings[0].Kind != forecast.FindingStaleData || !strings.Contains(out.Findings[0].Summary, "no samples") {
		t.Fatalf("findings %+v", out.Findings)
	}
	if ag.seen[0].Forecast.Len() != 0 || len(ag.seen[0].Findings) != 1 {
		t.Errorf("agent saw forecast %+v findings %+v", ag.seen[0].Forecast, ag.seen[0].Findings)
	}
}

func TestCycleReturnsActuatorError(t *testing.T) {
	e, _ := policies.NewEngine(policies.Default())
	p, _ := New(Config{CapacityPerPod: 1, LeadTime: time.Minute}, fixedForecaster{}, &scripted{targets: []int{3}}, e, failing{})
	_, err := p.Cycle(context.Background(), time.Now(), metrics.Series{Step: time.Minute, Values: []float64{1}}, agents.WorkloadState{Replicas: 1})
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	e, _ := policies.NewEngine(policies.Default())
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{LeadTime: time.Minute}, "CapacityPerPod"},
		{Config{CapacityPerPod: 1}, "LeadTime"},
	} {
		if _, err := New(tc.cfg, fixedForecaster{}, &scripted{}, e, actuators.NewRecorder(nil)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error naming %s", tc.cfg, err, tc.want)
		}
	}
	if _, err := New(Config{CapacityPerPod: 1, LeadTime: time.Minute}, nil, &scripted{}, e, actuators.NewRecorder(nil)); err == nil {
		t.Error("nil forecaster accepted")
	}
}
