package policies

import (
	"strings"
	"testing"
	"time"

	"github.com/stuurman/stuurman/agents"
)

func celPolicy(rules ...CELRule) Policy {
	return Policy{MaxReplicas: 50, Rules: rules}
}

func deny(name, expr string) CELRule {
	return CELRule{Name: name, Expression: expr, Effect: EffectDeny, Message: name + " fired"}
}

func TestDecideCELRules(t *testing.T) {
	critical := agents.Workload{Kind: "Deployment", Namespace: "shop", Name: "checkout", Labels: map[string]string{"tier": "critical"}}
	many := make([]time.Time, 3000) // more than custom rules see
	for i := range many {
		many[i] = t0.Add(-time.Duration(i) * time.Second)
	}
	runRuleCases(t, []ruleCase{
		{name: "fires on the final target and labels",
			pol:  celPolicy(deny("critical-floor", `workload.labels["tier"] == "critical" && decision.action == "scale" && decision.replicas < 3`)),
			prop: scale(5, 2), st: State{Workload: critical, Replicas: 5},
			verdict: Deny, action: holdAct, rule: "rules.critical-floor", outcome: Block, want: "critical-floor fired"},
		{name: "does not fire",
			pol:  celPolicy(deny("critical-floor", `workload.labels["tier"] == "critical" && decision.replicas < 3`)),
			prop: scale(5, 3), st: State{Workload: critical, Replicas: 5},
			verdict: Allow, action: scaleTo(3), rule: "rules.critical-floor", outcome: Pass, want: `rule "critical-floor" does not apply`},
		{name: "a missing label is an error, so it denies",
			pol:  celPolicy(deny("team", `workload.labels["team"] == "payments"`)),
			prop: scale(5, 6), st: State{Workload: critical, Replicas: 5},
			verdict: Deny, action: holdAct, rule: "rules.team", outcome: Block, want: `rules[0] "team" could not be evaluated, so the proposal is denied: no such key: team`},
		{name: "guarded with has() it does not",
			pol:  celPolicy(deny("team", `has(workload.labels.team) && workload.labels["team"] == "payments"`)),
			prop: scale(5, 6), st: State{Workload: critical, Replicas: 5},
			verdict: Allow, action: scaleTo(6), rule: "rules.team", outcome: Pass},
		{name: "division by zero denies",
			pol:  celPolicy(deny("ratio", `proposal.replicas / state.ready > 2`)),
			prop: scale(5, 6), st: State{Replicas: 5},
			verdict: Deny, action: holdAct, rule: "rules.ratio", outcome: Block, want: "division by zero"},
		{name: "the cost limit denies",
			pol:  celPolicy(deny("quadratic", `state.namespace_actions.all(a, state.namespace_actions.all(b, a <= b || a > b)) && false`)),
			prop: scale(5, 6), st: State{Replicas: 5, NamespaceActions: many},
			verdict: Deny, action: holdAct, rule: "rules.quadratic", outcome: Block, want: "cost limit"},
		{name: "require approval",
			pol:  celPolicy(CELRule{Name: "unsure", Expression: `proposal.confidence < 0.8 && proposal.agent.startsWith("llm")`, Effect: EffectRequireApproval}),
			prop: agents.Proposal{From: 5, Agent: "llm-gpt", Confidence: 0.6, Action: scaleTo(6)}, st: State{Replicas: 5},
			verdict: NeedsApproval, action: scaleTo(6), rule: "rules.unsure", outcome: Escalate,
			want: `rule "unsure" fired: proposal.confidence < 0.8 && proposal.agent.startsWith("llm")`},
		{name: "deny beats an earlier approval",
			pol: celPolicy(CELRule{Name: "ask", Expression: "true", Effect: EffectRequireApproval},
				deny("no", `proposal.action == "scale"`)),
			prop: scale(5, 6), st: State{Replicas: 5},
			verdict: Deny, action: holdAct, rule: "rules.no", outcome: Block},
		{name: "restart rules see max_unavailable and the PDB",
			pol: Policy{MaxReplicas: 50, Restarts: RestartRules{MaxUnavailable: "50%"},
				Rules: []CELRule{deny("wide-restart", `decision.action == "restart" && decision.max_unavailable > 2 && !state.has_pdb`)}},
			prop: restartOf(8), st: State{Replicas: 8, Ready: 8},
			verdict: Deny, action: holdAct, rule: "rules.wide-restart", outcome: Block},
		{name: "pdb fields",
			pol:  celPolicy(deny("pdb", `state.has_pdb && state.pdb_disruptions_allowed < 2`)),
			prop: restartOf(8), st: State{Replicas: 8, Ready: 8, PDB: &agents.PDBStatus{Name: "p", DisruptionsAllowed: 1}},
			verdict: Deny, action: holdAct, rule: "rules.pdb", outcome: Block},
		{name: "time since a restart that never happened",
			pol:  celPolicy(deny("recent-restart", `now - state.last_restart < duration("6h")`)),
			prop: restartOf(4), st: State{Replicas: 4, Ready: 4},
			verdict: Allow, action: restartAct, maxUnavailable: 1, rule: "rules.recent-restart", outcome: Pass},
		{name: "time since a recent restart",
			pol:  celPolicy(deny("recent-restart", `now - state.last_restart < duration("6h")`)),
			prop: restartOf(4), st: State{Replicas: 4, Ready: 4, LastRestart: t0.Add(-2 * time.Hour)},
			verdict: Deny, action: holdAct, rule: "rules.recent-restart", outcome: Block},
		{name: "the action history",
			pol:  celPolicy(deny("busy", `state.actions.filter(a, a.direction == "down" && now - a.time < duration("1h")).size() >= 2 || state.actions_last_hour > 5`)),
			prop: scale(6, 4), st: State{Replicas: 6, Actions: []agents.ActionRecord{
				{Time: t0.Add(-50 * time.Minute), From: 9, Action: scaleTo(8)},
				{Time: t0.Add(-10 * time.Minute), From: 8, Action: scaleTo(6)},
				{Time: t0.Add(-5 * time.Minute), From: 6, Action: restartAct}}},
			verdict: Deny, action: holdAct, rule: "rules.busy", outcome: Block},
		{name: "counts",
			pol:  celPolicy(deny("counts", `state.actions_last_hour == 2 && state.restarts_last_day == 1 && state.namespace_actions_last_hour == 1 && size(state.namespace_actions) == 2`)),
			prop: scale(6, 7), st: State{Replicas: 6, Actions: []agents.ActionRecord{
				{Time: t0.Add(-20 * time.Hour), From: 6, Action: restartAct},
				{Time: t0.Add(-50 * time.Minute), From: 9, Action: scaleTo(8)},
				{Time: t0.Add(-10 * time.Minute), From: 8, Action: scaleTo(6)}},
				NamespaceActions: []time.Time{t0.Add(-10 * time.Minute), t0.Add(-2 * time.Hour)}},
			verdict: Deny, action: holdAct, rule: "rules.counts", outcome: Block},
		{name: "time zones",
			pol:  celPolicy(deny("after-hours", `now.getHours("Europe/Amsterdam") >= 18`)),
			prop: scale(5, 6), st: State{Replicas: 5}, at: utc(2026, 1, 9, 17, 0),
			verdict: Deny, action: holdAct, rule: "rules.after-hours", outcome: Block},
		{name: "evidence",
			pol:  celPolicy(deny("evidence", `"forecast_mase" in proposal.evidence && proposal.evidence["forecast_mase"] > 1.0`)),
			prop: agents.Proposal{From: 5, Action: scaleTo(9), Evidence: map[string]float64{"forecast_mase": 1.4}}, st: State{Replicas: 5},
			verdict: Deny, action: holdAct, rule: "rules.evidence", outcome: Block},
		{name: "a hold never reaches custom rules",
			pol:  celPolicy(deny("all", "true")),
			prop: holdAt(5), st: State{Replicas: 5},
			verdict: Allow, action: holdAct},
		{name: "a scale clamped to a hold never reaches them either",
			pol:  Policy{MaxReplicas: 5, Rules: []CELRule{deny("all", "true")}},
			prop: scale(5, 9), st: State{Replicas: 5},
			verdict: Allow, action: holdAct, rule: "bounds", outcome: Clamp},
	})
}

func TestCELCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		rule CELRule
		want string
	}{
		{"unknown field", deny("typo", "proposal.replica > 3"), `rules[0].expression: rule "typo" does not compile: 1:9: undefined field 'replica'`},
		{"unknown variable", deny("var", "replicas > 3"), "undeclared reference to 'replicas'"},
		{"syntax", deny("syntax", "proposal.replicas >"), `rule "syntax" does not compile: 1:`},
		{"not a bool", deny("int", "proposal.replicas + 1"), `rules[0].expression: rule "int" must evaluate to bool, not int`},
		{"dyn is not a bool either", deny("dyn", `{"a": proposal.replicas, "b": "x"}["a"]`), "must evaluate to bool"},
		{"type mismatch", deny("mismatch", `proposal.replicas == "3"`), "no matching overload"},
		{"no expression", CELRule{Name: "empty", Effect: EffectDeny}, "rules[0].expression: required"},
		{"no name", CELRule{Expression: "true", Effect: EffectDeny}, "rules[0].name: required"},
		{"bad effect", CELRule{Name: "x", Expression: "true", Effect: "block"}, `rules[0].effect: must be "deny" or "require_approval", got "block"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewEngine(celPolicy(tc.rule))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	_, err := NewEngine(celPolicy(deny("a", "true"), deny("a", "false")))
	if err == nil || !strings.Contains(err.Error(), `rules[1].name: "a" is already the name of rules[0]`) {
		t.Fatalf("duplicate names: err = %v", err)
	}
}
