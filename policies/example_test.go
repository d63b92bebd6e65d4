package policies_test

import (
	"fmt"
	"time"

	"github.com/stuurman/stuurman/agents"
	"github.com/stuurman/stuurman/policies"
)

// A policy file with a weekend freeze, a restart budget, an approval rule
// and a custom rule in CEL, and what it decides. Only the rules that did
// not simply pass are printed.
func ExampleLoad() {
	pol, err := policies.Load([]byte(`
maxReplicas: 30
scaleUp: {maxStep: 8}
freezes:
  - name: weekend
    schedule: "0 18 * * 5"     # Fridays 18:00 ...
    duration: 64h              # ... to Mondays 10:00
    timeZone: Europe/Amsterdam
restarts:
  maxUnavailable: 25%
approval:
  scaleUpFactor: 2
rules:
  - name: critical-floor
    expression: workload.labels["tier"] == "critical" && decision.replicas < 3
    effect: deny
    message: critical workloads keep at least 3 replicas
`), "policy.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	e, err := policies.NewEngine(pol)
	if err != nil {
		fmt.Println(err)
		return
	}
	web := agents.Workload{Kind: "Deployment", Namespace: "shop", Name: "web", Labels: map[string]string{"tier": "critical"}}
	st := policies.State{Workload: web, Replicas: 4, Ready: 4,
		PDB: &agents.PDBStatus{Name: "web", DisruptionsAllowed: 1}}
	wednesday := time.Date(2026, 1, 7, 12, 0, 0, 0, time.UTC)
	friday := time.Date(2026, 1, 9, 20, 0, 0, 0, time.UTC)

	show := func(what string, p agents.Proposal, now time.Time) {
		d := e.Decide(p, st, now)
		fmt.Printf("%s: %s %s", what, d.Verdict, d.Action.Kind)
		if d.Action.Kind == agents.ActionScale {
			fmt.Printf(" to %d", d.Action.Replicas)
		}
		if d.MaxUnavailable > 0 {
			fmt.Printf(", %d pod(s) at a time", d.MaxUnavailable)
		}
		fmt.Println()
		for _, r := range d.Rules {
			if r.Outcome != policies.Pass {
				fmt.Printf("  %s: %s: %s\n", r.Rule, r.Outcome, r.Reason)
			}
		}
	}
	scale := func(n int) agents.Proposal {
		return agents.Proposal{Workload: web, From: 4, Agent: "llm", Confidence: 0.9, Action: agents.Action{Kind: agents.ActionScale, Replicas: n}}
	}
	show("scale to 20", scale(20), wednesday)
	show("scale to 2", scale(2), wednesday)
	show("scale to 6 on Friday night", scale(6), friday)
	show("restart", agents.Proposal{Workload: web, From: 4, Agent: "llm", Confidence: 0.9, Action: agents.Action{Kind: agents.ActionRestart}}, wednesday)
	// Output:
	// scale to 20: needs_approval scale to 12
	//   scaleUp.step: clamp: step of +16 clamped to +8 (at most 8 replicas per decision: maxStep 8, maxStepPercent 0%, select Max)
	//   approval.scaleUpFactor: needs_approval: scale-up from 4 to 12 is more than ×2: needs approval
	// scale to 2: deny hold
	//   rules.critical-floor: deny: critical workloads keep at least 3 replicas
	// scale to 6 on Friday night: deny hold
	//   freeze: deny: freeze "weekend" is in force: window started Fri 2026-01-09 18:00 CET, lasts 64h0m0s, ends Mon 2026-01-12 10:00 CET (Europe/Amsterdam)
	// restart: allow restart, 1 pod(s) at a time
}
