package policies

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stuurman/stuurman/agents"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func scale(from, to int) agents.Proposal {
	return agents.Proposal{From: from, Agent: "test", Action: agents.Action{Kind: agents.ActionScale, Replicas: to}}
}

func TestDecide(t *testing.T) {
	pol := Policy{
		MinReplicas: 2, MaxReplicas: 20,
		ScaleUp:   Rules{MaxStep: 4, MaxStepPercent: 50, StabilizationWindow: Duration(time.Minute)},
		ScaleDown: Rules{MaxStepPercent: 50, SelectPolicy: SelectMin, MaxStep: 3, StabilizationWindow: Duration(5 * time.Minute), Cooldown: Duration(2 * time.Minute)},
	}
	recs := func(rs ...int) []Recommendation { // one per minute, newest last
		out := make([]Recommendation, len(rs))
		for i, r := range rs {
			out[i] = Recommendation{Time: t0.Add(time.Duration(i-len(rs)) * time.Minute), Replicas: r}
		}
		return out
	}
	tests := []struct {
		name        string
		prop        agents.Proposal
		st          State
		verdict     Verdict
		final       agents.Action
		clampedRule string // a rule that must report Clamp or Block ("" none)
	}{
		{"hold", agents.Proposal{From: 5, Action: agents.Action{Kind: agents.ActionHold}}, State{Replicas: 5},
			Allow, agents.Action{Kind: agents.ActionHold}, ""},
		{"within limits", scale(5, 8), State{Replicas: 5}, Allow, agents.Action{Kind: agents.ActionScale, Replicas: 8}, ""},
		{"above max", scale(18, 30), State{Replicas: 18}, Allow, agents.Action{Kind: agents.ActionScale, Replicas: 20}, "bounds"},
		{"below min", scale(3, 0), State{Replicas: 3}, Allow, agents.Action{Kind: agents.ActionScale, Replicas: 2}, "bounds"},
		// up: max(4 pods, 50% of 10 = 5) = 5 (select Max)
		{"step up clamped", scale(10, 19), State{Replicas: 10}, Allow, agents.Action{Kind: agents.ActionScale, Replicas: 15}, "scaleUp.step"},
		// down: min(3 pods, 50% of 12 = 6) = 3 (select Min)
		{"step down clamped", scale(12, 4), State{Replicas: 12}, Allow, agents.Action{Kind: agents.ActionScale, Replicas: 9}, "scaleDown.step"},
		// percent never freezes a small workload: 50% of 1 rounds to 1
		{"small workload can step", scale(1, 5), State{Replicas: 1}, Allow, agents.Action{Kind: agents.ActionScale, Replicas: 5}, ""},
		// down window holds the highest recent recommendation (9)
		{"down stabilised", scale(10, 6), State{Replicas: 10, Recommendations: recs(7, 9, 8)}, Allow, agents.Action{Kind: agents.ActionScale, Replicas: 9}, "stabilization"},
		{"down stabilised to hold", scale(10, 6), State{Replicas: 10, Recommendations: recs(12, 8)}, Allow, agents.Action{Kind: agents.ActionHold}, "stabilization"},
		// up window (1 min) holds the lowest recommendation inside it: only the newest (age 1m) is outside
		{"up window excludes old", scale(5, 8), State{Replicas: 5, Recommendations: recs(6)}, Allow, agents.Action{Kind: agents.ActionScale, Replicas: 8}, ""},
		{"cooldown denies", scale(10, 8), State{Replicas: 10, LastScaleDown: t0.Add(-time.Minute)}, Deny, agents.Action{Kind: agents.ActionHold}, "scaleDown.cooldown"},
		{"cooldown over", scale(10, 8), State{Replicas: 10, LastScaleDown: t0.Add(-3 * time.Minute)}, Allow, agents.Action{Kind: agents.ActionScale, Replicas: 8}, ""},
		{"cooldown is per direction", scale(10, 12), State{Replicas: 10, LastScaleDown: t0.Add(-time.Minute)}, Allow, agents.Action{Kind: agents.ActionScale, Replicas: 12}, ""},
		{"stale proposal denied", scale(4, 8), State{Replicas: 5}, Deny, agents.Action{Kind: agents.ActionHold}, "state"},
		{"unknown action denied", agents.Proposal{From: 5, Action: agents.Action{Kind: "delete"}}, State{Replicas: 5}, Deny, agents.Action{Kind: agents.ActionHold}, "action"},
		{"negative target denied", scale(5, -1), State{Replicas: 5}, Deny, agents.Action{Kind: agents.ActionHold}, "action"},
	}
	e, err := NewEngine(pol)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := fmt.Sprint(tc.st)
			d := e.Decide(tc.prop, tc.st, t0)
			if fmt.Sprint(tc.st) != before {
				t.Fatal("Decide modified its input state")
			}
			if d.Verdict != tc.verdict || d.Action != tc.final {
				t.Fatalf("verdict %s action %+v; want %s %+v\nrules: %+v", d.Verdict, d.Action, tc.verdict, tc.final, d.Rules)
			}
			if d.PolicyHash != e.Policy().Hash() || d.PolicyHash == "" {
				t.Errorf("decision carries policy hash %q", d.PolicyHash)
			}
			for _, r := range d.Rules {
				if r.Reason == "" {
					t.Errorf("rule %s has no reason", r.Rule)
				}
				if tc.clampedRule == "" && r.Outcome != Pass {
					t.Errorf("rule %s = %s (%s), want pass", r.Rule, r.Outcome, r.Reason)
				}
			}
			if tc.clampedRule != "" {
				found := false
				for _, r := range d.Rules {
					found = found || (r.Rule == tc.clampedRule && r.Outcome != Pass)
				}
				if !found {
					t.Errorf("rule %s did not clamp or deny: %+v", tc.clampedRule, d.Rules)
				}
			}
		})
	}
}

func TestNewEngineRejectsInvalidPolicy(t *testing.T) {
	_, err := NewEngine(Policy{MaxReplicas: 0})
	if err == nil || !strings.Contains(err.Error(), "maxReplicas") {
		t.Fatalf("err = %v, want one naming maxReplicas", err)
	}
}

func ExampleEngine_Decide() {
	e, _ := NewEngine(Policy{MaxReplicas: 10, ScaleUp: Rules{MaxStep: 2}})
	p := agents.Proposal{From: 3, Agent: "heuristic", Action: agents.Action{Kind: agents.ActionScale, Replicas: 12}}
	d := e.Decide(p, State{Replicas: 3}, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	fmt.Println(d.Verdict, d.Action.Kind, d.Action.Replicas)
	for _, r := range d.Rules {
		fmt.Printf("%s: %s: %s\n", r.Rule, r.Outcome, r.Reason)
	}
	// Output:
	// allow scale 5
	// state: pass: proposal was made at the current 3 replicas
	// workload: pass: proposal for an unnamed workload
	// action: pass: scale from 3 to 12 proposed by heuristic
	// protected: pass: no protected workloads or namespaces
	// freeze: pass: no freezes configured
	// confidence: pass: no minimum confidence
	// stabilization: pass: target 12 is stable over the windows (up 0s, down 0s)
	// tolerance: pass: no tolerance
	// bounds: clamp: 12 clamped to 10 by bounds [1, 10]
	// scaleUp.step: clamp: step of +7 clamped to +2 (at most 2 replicas per decision: maxStep 2, maxStepPercent 0%, select Max)
	// scaleUp.cooldown: pass: no cooldown in force
	// flapBudget: pass: no flap budget
	// namespaceRateLimit: pass: no namespace rate limit
	// approval.scaleUpFactor: pass: scale-ups need no approval
}
