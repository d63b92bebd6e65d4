package policies

import (
	"testing"
	"time"

	"github.com/stuurman/stuurman/agents"
)

// BenchmarkDecide measures one decision under the full policy of
// docs/policy.md (freezes, custom rules and all) with a day of history.
//
//	go test ./policies/ -run '^$' -bench Decide -benchmem
func BenchmarkDecide(b *testing.B) {
	e, prop, st := benchCase(b)
	for b.Loop() {
		e.Decide(prop, st, t0)
	}
}

func benchCase(tb testing.TB) (*Engine, agents.Proposal, State) {
	p, err := Load([]byte(fullPolicy), "policy.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	e, err := NewEngine(p)
	if err != nil {
		tb.Fatal(err)
	}
	w := agents.Workload{Kind: "Deployment", Namespace: "shop", Name: "web", Labels: map[string]string{"tier": "critical"}}
	st := State{Workload: w, Replicas: 10, Ready: 10}
	for i := range 96 { // a day of actions every 15 minutes
		at := t0.Add(-time.Duration(i+1) * 15 * time.Minute)
		st.Actions = append(st.Actions, agents.ActionRecord{Time: at, From: 10, Action: agents.Action{Kind: agents.ActionScale, Replicas: 11}})
		st.NamespaceActions = append(st.NamespaceActions, at)
	}
	prop := agents.Proposal{Workload: w, From: 10, Agent: "heuristic", Confidence: 0.9, Action: agents.Action{Kind: agents.ActionScale, Replicas: 12}}
	return e, prop, st
}

// The benchmark measures the whole path, not an early deny.
func TestBenchCaseReachesEveryRule(t *testing.T) {
	e, prop, st := benchCase(t)
	d := e.Decide(prop, st, t0)
	if d.Verdict != Allow || d.Rules[len(d.Rules)-1].Rule != "approval.scaleUpFactor" {
		t.Fatalf("%s %s", d.Verdict, describeRules(d))
	}
}

// BenchmarkDecideCostLimit measures the worst a custom rule may cost: one
// that runs into the cost limit.
func BenchmarkDecideCostLimit(b *testing.B) {
	e, err := NewEngine(celPolicy(deny("quadratic", `state.namespace_actions.all(a, state.namespace_actions.all(b, a <= b || a > b))`)))
	if err != nil {
		b.Fatal(err)
	}
	many := make([]time.Time, 3000) // more than custom rules see
	for i := range many {
		many[i] = t0.Add(-time.Duration(i) * time.Second)
	}
	for b.Loop() {
		d := e.Decide(scale(5, 6), State{Replicas: 5, NamespaceActions: many}, t0)
		if d.Verdict != Deny {
			b.Fatal(d.Verdict)
		}
	}
}
