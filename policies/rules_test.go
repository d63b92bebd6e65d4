package policies

import (
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stuurman/stuurman/agents"
)

// ruleCase is one proposal decided under one policy: the verdict, the
// final action and one rule's outcome are checked.
type ruleCase struct {
	name    string
	pol     Policy
	prop    agents.Proposal
	st      State
	at      time.Time // zero: t0
	verdict Verdict
	action  agents.Action
	// rule must report outcome, with want in its reason ("" skips).
	rule    string
	outcome Outcome
	want    string
	// maxUnavailable is the decision's MaxUnavailable.
	maxUnavailable int
}

var (
	holdAct    = agents.Action{Kind: agents.ActionHold}
	restartAct = agents.Action{Kind: agents.ActionRestart}
)

func scaleTo(n int) agents.Action { return agents.Action{Kind: agents.ActionScale, Replicas: n} }

func wl(ns, name string) agents.Workload {
	return agents.Workload{Kind: "Deployment", Namespace: ns, Name: name}
}

// on returns p with its workload set.
func on(w agents.Workload, p agents.Proposal) agents.Proposal { p.Workload = w; return p }

func restartOf(from int) agents.Proposal {
	return agents.Proposal{From: from, Agent: "test", Confidence: 1, Action: restartAct}
}

func holdAt(from int) agents.Proposal {
	return agents.Proposal{From: from, Agent: "test", Action: holdAct}
}

func withConfidence(p agents.Proposal, c float64) agents.Proposal { p.Confidence = c; return p }

// deepCopy copies the parts of a State that Decide could modify.
func deepCopy(st State) State {
	out := st
	if st.PDB != nil {
		pdb := *st.PDB
		out.PDB = &pdb
	}
	out.Recommendations = append([]Recommendation(nil), st.Recommendations...)
	out.Actions = append([]agents.ActionRecord(nil), st.Actions...)
	out.NamespaceActions = append([]time.Time(nil), st.NamespaceActions...)
	out.Workload.Labels = nil
	if st.Workload.Labels != nil {
		out.Workload.Labels = map[string]string{}
		for k, v := range st.Workload.Labels {
			out.Workload.Labels[k] = v
		}
	}
	return out
}

func runRuleCases(t *testing.T, tests []ruleCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := NewEngine(tc.pol)
			if err != nil {
				t.Fatal(err)
			}
			at := tc.at
			if at.IsZero() {
				at = t0
			}
			before := deepCopy(tc.st)
			d := e.Decide(tc.prop, tc.st, at)
			if !reflect.DeepEqual(before, tc.st) {
				t.Fatal("Decide modified its input state")
			}
			checkDecision(t, e, d)
			if d.Verdict != tc.verdict || d.Action != tc.action || d.MaxUnavailable != tc.maxUnavailable {
				t.Fatalf("verdict %s action %+v maxUnavailable %d; want %s %+v %d\nrules: %s",
					d.Verdict, d.Action, d.MaxUnavailable, tc.verdict, tc.action, tc.maxUnavailable, describeRules(d))
			}
			if tc.rule == "" {
				return
			}
			for _, r := range d.Rules {
				if r.Rule == tc.rule {
					if r.Outcome != tc.outcome || !strings.Contains(r.Reason, tc.want) {
						t.Fatalf("rule %s: %s (%s); want %s containing %q", r.Rule, r.Outcome, r.Reason, tc.outcome, tc.want)
					}
					return
				}
			}
			t.Fatalf("rule %s did not run: %s", tc.rule, describeRules(d))
		})
	}
}

// checkDecision asserts what holds for every decision.
func checkDecision(t *testing.T, e *Engine, d Decision) {
	t.Helper()
	if d.PolicyHash == "" || d.PolicyHash != e.Policy().Hash() {
		t.Errorf("decision carries policy hash %q, want %q", d.PolicyHash, e.Policy().Hash())
	}
	outcomes := map[Outcome]int{}
	for _, r := range d.Rules {
		outcomes[r.Outcome]++
		if r.Reason == "" || r.Rule == "" {
			t.Errorf("rule result %+v lacks a name or a reason", r)
		}
		if r.Rule == "engine" {
			t.Errorf("evaluation panicked: %s", r.Reason)
		}
	}
	switch d.Verdict {
	case Deny:
		if d.Action != holdAct || d.MaxUnavailable != 0 || outcomes[Block] != 1 || d.Rules[len(d.Rules)-1].Outcome != Block {
			t.Errorf("deny with action %+v, maxUnavailable %d, rules %s", d.Action, d.MaxUnavailable, describeRules(d))
		}
	case NeedsApproval:
		if outcomes[Escalate] == 0 || outcomes[Block] != 0 || d.Action.Kind == agents.ActionHold {
			t.Errorf("needs approval of %+v with rules %s", d.Action, describeRules(d))
		}
	case Allow:
		if outcomes[Escalate] != 0 || outcomes[Block] != 0 {
			t.Errorf("allow with rules %s", describeRules(d))
		}
	default:
		t.Errorf("verdict %q", d.Verdict)
	}
	if d.Action.Kind == agents.ActionRestart && d.MaxUnavailable < 1 {
		t.Errorf("restart with maxUnavailable %d", d.MaxUnavailable)
	}
}

func describeRules(d Decision) string {
	var b strings.Builder
	for _, r := range d.Rules {
		b.WriteString("\n  " + r.Rule + ": " + string(r.Outcome) + ": " + r.Reason)
	}
	return b.String()
}

func TestDecideValidity(t *testing.T) {
	pol := Policy{MaxReplicas: 20}
	db := wl("prod", "db")
	runRuleCases(t, []ruleCase{
		{name: "negative replicas in state", pol: pol, prop: scale(-1, 3), st: State{Replicas: -1},
			verdict: Deny, action: holdAct, rule: "state", outcome: Block, want: "invalid state"},
		{name: "negative ready in state", pol: pol, prop: scale(3, 4), st: State{Replicas: 3, Ready: -1},
			verdict: Deny, action: holdAct, rule: "state", outcome: Block, want: "invalid state"},
		{name: "stale hold denied too", pol: pol, prop: holdAt(4), st: State{Replicas: 5},
			verdict: Deny, action: holdAct, rule: "state", outcome: Block, want: "made at 4"},
		{name: "proposal for another workload", pol: pol, prop: on(wl("prod", "web"), scale(3, 4)), st: State{Workload: db, Replicas: 3},
			verdict: Deny, action: holdAct, rule: "workload", outcome: Block, want: "targets Deployment/prod/web but the decision is for Deployment/prod/db"},
		{name: "proposal for another kind", pol: pol, prop: on(agents.Workload{Kind: "StatefulSet", Namespace: "prod", Name: "db"}, scale(3, 4)), st: State{Workload: db, Replicas: 3},
			verdict: Deny, action: holdAct, rule: "workload", outcome: Block},
		{name: "proposal without kind matches", pol: pol, prop: on(agents.Workload{Namespace: "prod", Name: "db"}, scale(3, 4)), st: State{Workload: db, Replicas: 3},
			verdict: Allow, action: scaleTo(4), rule: "workload", outcome: Pass},
		{name: "proposal naming no workload is for the state's", pol: pol, prop: scale(3, 4), st: State{Workload: db, Replicas: 3},
			verdict: Allow, action: scaleTo(4), rule: "workload", outcome: Pass, want: "taken to be for Deployment/prod/db"},
		{name: "restart is supported", pol: pol, prop: restartOf(3), st: State{Replicas: 3, Ready: 3},
			verdict: Allow, action: restartAct, rule: "action", outcome: Pass, want: "restart of 3 replicas", maxUnavailable: 1},
		{name: "unknown action", pol: pol, prop: agents.Proposal{From: 3, Action: agents.Action{Kind: "delete"}}, st: State{Replicas: 3},
			verdict: Deny, action: holdAct, rule: "action", outcome: Block, want: `"delete"`},
	})
}

func TestDecideProtection(t *testing.T) {
	pol := Policy{MaxReplicas: 20, Protected: Protected{Workloads: []string{"prod/db", "*/vault-*"}, Namespaces: []string{"kube-*"}}}
	runRuleCases(t, []ruleCase{
		{name: "exact workload", pol: pol, prop: on(wl("prod", "db"), scale(3, 4)), st: State{Replicas: 3},
			verdict: Deny, action: holdAct, rule: "protected", outcome: Block, want: `workload "prod/db" is protected (matches "prod/db")`},
		{name: "workload pattern in any namespace", pol: pol, prop: on(wl("staging", "vault-0"), restartOf(3)), st: State{Replicas: 3, Ready: 3},
			verdict: Deny, action: holdAct, rule: "protected", outcome: Block, want: `matches "*/vault-*"`},
		{name: "namespace pattern", pol: pol, prop: on(wl("kube-system", "coredns"), scale(2, 3)), st: State{Replicas: 2},
			verdict: Deny, action: holdAct, rule: "protected", outcome: Block, want: `namespace "kube-system" is protected`},
		{name: "pattern does not cross slashes", pol: pol, prop: on(wl("prod", "db-replica"), scale(3, 4)), st: State{Replicas: 3},
			verdict: Allow, action: scaleTo(4), rule: "protected", outcome: Pass, want: "matches no protected pattern"},
		{name: "hold on a protected workload is allowed", pol: pol, prop: on(wl("prod", "db"), holdAt(3)), st: State{Replicas: 3},
			verdict: Allow, action: holdAct},
		{name: "the state's workload is the one protected", pol: pol, prop: scale(3, 4), st: State{Workload: wl("prod", "db"), Replicas: 3},
			verdict: Deny, action: holdAct, rule: "protected", outcome: Block},
		{name: "nothing protected", pol: Policy{MaxReplicas: 20}, prop: on(wl("prod", "db"), scale(3, 4)), st: State{Replicas: 3},
			verdict: Allow, action: scaleTo(4), rule: "protected", outcome: Pass, want: "no protected"},
	})
}

func TestDecideFreezeRule(t *testing.T) {
	// Fridays 18:00 Amsterdam time for the weekend (until Monday 10:00).
	pol := Policy{MaxReplicas: 20, Freezes: []Freeze{{Name: "weekend", Schedule: "0 18 * * 5", Duration: Duration(64 * time.Hour), TimeZone: "Europe/Amsterdam"}}}
	fri := time.Date(2026, 1, 9, 17, 30, 0, 0, time.UTC) // 18:30 CET
	runRuleCases(t, []ruleCase{
		{name: "scale in a freeze", pol: pol, prop: scale(3, 4), st: State{Replicas: 3}, at: fri,
			verdict: Deny, action: holdAct, rule: "freeze", outcome: Block,
			want: `freeze "weekend" is in force: window started Fri 2026-01-09 18:00 CET, lasts 64h0m0s, ends Mon 2026-01-12 10:00 CET (Europe/Amsterdam)`},
		{name: "restart in a freeze", pol: pol, prop: restartOf(3), st: State{Replicas: 3, Ready: 3}, at: fri,
			verdict: Deny, action: holdAct, rule: "freeze", outcome: Block},
		{name: "hold in a freeze", pol: pol, prop: holdAt(3), st: State{Replicas: 3}, at: fri,
			verdict: Allow, action: holdAct},
		{name: "before the freeze", pol: pol, prop: scale(3, 4), st: State{Replicas: 3}, at: fri.Add(-31 * time.Minute),
			verdict: Allow, action: scaleTo(4), rule: "freeze", outcome: Pass, want: "no freeze in force"},
		{name: "no freezes", pol: Policy{MaxReplicas: 20}, prop: scale(3, 4), st: State{Replicas: 3}, at: fri,
			verdict: Allow, action: scaleTo(4), rule: "freeze", outcome: Pass, want: "no freezes configured"},
	})
}

func TestDecideConfidence(t *testing.T) {
	pol := Policy{MaxReplicas: 20, MinConfidence: 0.7}
	runRuleCases(t, []ruleCase{
		{name: "confident enough", pol: pol, prop: withConfidence(scale(3, 4), 0.9), st: State{Replicas: 3},
			verdict: Allow, action: scaleTo(4), rule: "confidence", outcome: Pass},
		{name: "exactly the minimum", pol: pol, prop: withConfidence(scale(3, 4), 0.7), st: State{Replicas: 3},
			verdict: Allow, action: scaleTo(4), rule: "confidence", outcome: Pass},
		{name: "below the minimum", pol: pol, prop: withConfidence(scale(3, 4), 0.5), st: State{Replicas: 3},
			verdict: Deny, action: holdAct, rule: "confidence", outcome: Block, want: "0.5 is below the minimum 0.7"},
		{name: "NaN", pol: pol, prop: withConfidence(scale(3, 4), math.NaN()), st: State{Replicas: 3},
			verdict: Deny, action: holdAct, rule: "confidence", outcome: Block, want: "not a number in [0, 1]"},
		{name: "above one", pol: pol, prop: withConfidence(restartOf(3), 1.5), st: State{Replicas: 3, Ready: 3},
			verdict: Deny, action: holdAct, rule: "confidence", outcome: Block},
		{name: "a hold needs no confidence", pol: pol, prop: holdAt(3), st: State{Replicas: 3},
			verdict: Allow, action: holdAct},
		{name: "no minimum", pol: Policy{MaxReplicas: 20}, prop: withConfidence(scale(3, 4), math.NaN()), st: State{Replicas: 3},
			verdict: Allow, action: scaleTo(4), rule: "confidence", outcome: Pass, want: "no minimum"},
	})
}

func TestDecideTolerance(t *testing.T) {
	pol := Policy{MinReplicas: 2, MaxReplicas: 20, Tolerance: 0.1}
	runRuleCases(t, []ruleCase{
		{name: "within tolerance up", pol: pol, prop: scale(10, 11), st: State{Replicas: 10},
			verdict: Allow, action: holdAct, rule: "tolerance", outcome: Clamp, want: "within the tolerance of 10.0%: hold at 10"},
		{name: "within tolerance down", pol: pol, prop: scale(10, 9), st: State{Replicas: 10},
			verdict: Allow, action: holdAct, rule: "tolerance", outcome: Clamp},
		{name: "beyond tolerance", pol: pol, prop: scale(10, 12), st: State{Replicas: 10},
			verdict: Allow, action: scaleTo(12), rule: "tolerance", outcome: Pass, want: "beyond"},
		{name: "small workload always beyond", pol: pol, prop: scale(3, 4), st: State{Replicas: 3},
			verdict: Allow, action: scaleTo(4), rule: "tolerance", outcome: Pass},
		{name: "bounds still apply after a hold", pol: pol, prop: scale(1, 1), st: State{Replicas: 1},
			verdict: Allow, action: scaleTo(2), rule: "bounds", outcome: Clamp},
		{name: "no tolerance", pol: Policy{MaxReplicas: 20}, prop: scale(10, 11), st: State{Replicas: 10},
			verdict: Allow, action: scaleTo(11), rule: "tolerance", outcome: Pass, want: "no tolerance"},
	})
}

func TestDecideFlapBudget(t *testing.T) {
	pol := Policy{MaxReplicas: 50, FlapBudget: &FlapBudget{MaxChanges: 1, Window: Duration(time.Hour)}}
	act := func(ago time.Duration, from, to int) agents.ActionRecord {
		return agents.ActionRecord{Time: t0.Add(-ago), From: from, Action: scaleTo(to)}
	}
	rst := agents.ActionRecord{Time: t0.Add(-5 * time.Minute), From: 8, Action: restartAct}
	runRuleCases(t, []ruleCase{
		{name: "first reversal within budget", pol: pol, prop: scale(8, 6), st: State{Replicas: 8, Actions: []agents.ActionRecord{act(50*time.Minute, 5, 8)}},
			verdict: Allow, action: scaleTo(6), rule: "flapBudget", outcome: Pass, want: "direction change 1 of 1"},
		{name: "second reversal denied", pol: pol, prop: scale(8, 6), st: State{Replicas: 8, Actions: []agents.ActionRecord{act(20*time.Minute, 6, 8), act(40*time.Minute, 8, 6), rst}},
			verdict: Deny, action: holdAct, rule: "flapBudget", outcome: Block, want: "scaling down now would be direction change 2 within 1h0m0s; the budget is 1"},
		{name: "same direction is no change", pol: pol, prop: scale(8, 10), st: State{Replicas: 8, Actions: []agents.ActionRecord{act(20*time.Minute, 6, 8), act(40*time.Minute, 8, 6)}},
			verdict: Allow, action: scaleTo(10), rule: "flapBudget", outcome: Pass, want: "no direction change (1 of 1"},
		{name: "changes outside the window do not count", pol: pol, prop: scale(8, 6), st: State{Replicas: 8, Actions: []agents.ActionRecord{act(2*time.Hour, 6, 8), act(3*time.Hour, 8, 6)}},
			verdict: Allow, action: scaleTo(6), rule: "flapBudget", outcome: Pass},
		{name: "budget of zero forbids any reversal in the window", pol: Policy{MaxReplicas: 50, FlapBudget: &FlapBudget{Window: Duration(time.Hour)}},
			prop: scale(8, 6), st: State{Replicas: 8, Actions: []agents.ActionRecord{act(10*time.Minute, 5, 8)}},
			verdict: Deny, action: holdAct, rule: "flapBudget", outcome: Block},
		{name: "last-action fields count when there are no records", pol: pol, prop: scale(8, 6),
			st:      State{Replicas: 8, LastScaleDown: t0.Add(-30 * time.Minute), LastScaleUp: t0.Add(-10 * time.Minute)},
			verdict: Deny, action: holdAct, rule: "flapBudget", outcome: Block},
		{name: "no budget", pol: Policy{MaxReplicas: 50}, prop: scale(8, 6), st: State{Replicas: 8, Actions: []agents.ActionRecord{act(20*time.Minute, 6, 8), act(40*time.Minute, 8, 6)}},
			verdict: Allow, action: scaleTo(6), rule: "flapBudget", outcome: Pass, want: "no flap budget"},
	})
}

func TestDecideNamespaceRateLimit(t *testing.T) {
	pol := Policy{MaxReplicas: 50, NamespaceRateLimit: &RateLimit{MaxActions: 3, Window: Duration(10 * time.Minute)}}
	ago := func(ds ...time.Duration) []time.Time {
		var out []time.Time
		for _, d := range ds {
			out = append(out, t0.Add(-d))
		}
		return out
	}
	w := wl("shop", "web")
	runRuleCases(t, []ruleCase{
		{name: "under the limit", pol: pol, prop: on(w, scale(3, 4)), st: State{Replicas: 3, NamespaceActions: ago(time.Minute, 9*time.Minute, time.Hour)},
			verdict: Allow, action: scaleTo(4), rule: "namespaceRateLimit", outcome: Pass, want: `action 3 of 3 allowed in namespace "shop"`},
		{name: "at the limit", pol: pol, prop: on(w, scale(3, 4)), st: State{Replicas: 3, NamespaceActions: ago(time.Minute, 2*time.Minute, 9*time.Minute)},
			verdict: Deny, action: holdAct, rule: "namespaceRateLimit", outcome: Block, want: `namespace "shop" has had 3 actions within 10m0s; the limit is 3`},
		{name: "restarts count too", pol: pol, prop: on(w, restartOf(3)), st: State{Replicas: 3, Ready: 3, NamespaceActions: ago(0, time.Minute, 2*time.Minute)},
			verdict: Deny, action: holdAct, rule: "namespaceRateLimit", outcome: Block},
		{name: "a hold is never limited", pol: pol, prop: on(w, holdAt(3)), st: State{Replicas: 3, NamespaceActions: ago(0, time.Minute, 2*time.Minute)},
			verdict: Allow, action: holdAct},
	})
}

func TestDecideRestarts(t *testing.T) {
	base := Policy{MaxReplicas: 20}
	pct := Policy{MaxReplicas: 20, Restarts: RestartRules{MaxUnavailable: "40%"}}
	cd := Policy{MaxReplicas: 20, Restarts: RestartRules{Cooldown: Duration(time.Hour)}}
	pdb := func(n int) *agents.PDBStatus { return &agents.PDBStatus{Name: "web-pdb", DisruptionsAllowed: n} }
	runRuleCases(t, []ruleCase{
		{name: "default one at a time", pol: base, prop: restartOf(5), st: State{Replicas: 5, Ready: 5},
			verdict: Allow, action: restartAct, maxUnavailable: 1, rule: "restarts.disruptionBudget", outcome: Pass, want: "at most 1 pods"},
		{name: "percentage of replicas", pol: pct, prop: restartOf(10), st: State{Replicas: 10, Ready: 10},
			verdict: Allow, action: restartAct, maxUnavailable: 4, rule: "restarts.disruptionBudget", outcome: Pass, want: "maxUnavailable 40% of 10 replicas allows 4"},
		{name: "percentage rounds down but is at least one", pol: pct, prop: restartOf(2), st: State{Replicas: 2, Ready: 2},
			verdict: Allow, action: restartAct, maxUnavailable: 1},
		{name: "count never exceeds replicas", pol: Policy{MaxReplicas: 20, Restarts: RestartRules{MaxUnavailable: "5"}}, prop: restartOf(3), st: State{Replicas: 3, Ready: 3},
			verdict: Allow, action: restartAct, maxUnavailable: 3, rule: "restarts.disruptionBudget", outcome: Pass},
		{name: "unready pods count against it", pol: pct, prop: restartOf(10), st: State{Replicas: 10, Ready: 8},
			verdict: Allow, action: restartAct, maxUnavailable: 2, rule: "restarts.disruptionBudget", outcome: Clamp, want: "2 already unready leaves 2"},
		{name: "no room left", pol: base, prop: restartOf(5), st: State{Replicas: 5, Ready: 4},
			verdict: Deny, action: holdAct, rule: "restarts.disruptionBudget", outcome: Block, want: "1 of 5 pods are already unready"},
		{name: "PDB allows none", pol: pct, prop: restartOf(10), st: State{Replicas: 10, Ready: 10, PDB: pdb(0)},
			verdict: Deny, action: holdAct, rule: "restarts.disruptionBudget", outcome: Block, want: `PodDisruptionBudget "web-pdb" allows no disruptions`},
		{name: "PDB clamps", pol: pct, prop: restartOf(10), st: State{Replicas: 10, Ready: 10, PDB: pdb(1)},
			verdict: Allow, action: restartAct, maxUnavailable: 1, rule: "restarts.disruptionBudget", outcome: Clamp, want: `PodDisruptionBudget "web-pdb" allows 1`},
		{name: "PDB allowing more does not widen", pol: base, prop: restartOf(10), st: State{Replicas: 10, Ready: 10, PDB: pdb(5)},
			verdict: Allow, action: restartAct, maxUnavailable: 1, rule: "restarts.disruptionBudget", outcome: Pass},
		{name: "nothing to restart", pol: base, prop: restartOf(0), st: State{},
			verdict: Deny, action: holdAct, rule: "restarts.disruptionBudget", outcome: Block, want: "no replicas"},
		{name: "cooldown from the field", pol: cd, prop: restartOf(5), st: State{Replicas: 5, Ready: 5, LastRestart: t0.Add(-30 * time.Minute)},
			verdict: Deny, action: holdAct, rule: "restarts.cooldown", outcome: Block, want: "last restart was 30m0s ago, the restart cooldown is 1h0m0s"},
		{name: "cooldown from the records", pol: cd, prop: restartOf(5), st: State{Replicas: 5, Ready: 5, Actions: []agents.ActionRecord{{Time: t0.Add(-30 * time.Minute), From: 5, Action: restartAct}}},
			verdict: Deny, action: holdAct, rule: "restarts.cooldown", outcome: Block},
		{name: "cooldown over", pol: cd, prop: restartOf(5), st: State{Replicas: 5, Ready: 5, LastRestart: t0.Add(-2 * time.Hour)},
			verdict: Allow, action: restartAct, maxUnavailable: 1, rule: "restarts.cooldown", outcome: Pass, want: "has passed"},
		{name: "scale cooldowns do not apply", pol: Policy{MaxReplicas: 20, ScaleUp: Rules{Cooldown: Duration(time.Hour)}}, prop: restartOf(5),
			st:      State{Replicas: 5, Ready: 5, LastScaleUp: t0.Add(-time.Minute)},
			verdict: Allow, action: restartAct, maxUnavailable: 1},
	})
}

func TestDecideApproval(t *testing.T) {
	pol := Policy{MaxReplicas: 50, Approval: ApprovalRules{ScaleUpFactor: 2, ScaleDownFactor: 0.5, RestartNamespaces: []string{"prod*"}}}
	runRuleCases(t, []ruleCase{
		{name: "large scale-up", pol: pol, prop: scale(4, 9), st: State{Replicas: 4},
			verdict: NeedsApproval, action: scaleTo(9), rule: "approval.scaleUpFactor", outcome: Escalate, want: "from 4 to 9 is more than ×2"},
		{name: "scale-up of exactly the factor", pol: pol, prop: scale(4, 8), st: State{Replicas: 4},
			verdict: Allow, action: scaleTo(8), rule: "approval.scaleUpFactor", outcome: Pass},
		{name: "scale from zero", pol: pol, prop: scale(0, 1), st: State{Replicas: 0},
			verdict: NeedsApproval, action: scaleTo(1), rule: "approval.scaleUpFactor", outcome: Escalate},
		{name: "approval judges the clamped target", pol: Policy{MaxReplicas: 50, ScaleUp: Rules{MaxStep: 4}, Approval: pol.Approval}, prop: scale(4, 20), st: State{Replicas: 4},
			verdict: Allow, action: scaleTo(8), rule: "scaleUp.step", outcome: Clamp},
		{name: "large scale-down", pol: pol, prop: scale(10, 4), st: State{Replicas: 10},
			verdict: NeedsApproval, action: scaleTo(4), rule: "approval.scaleDownFactor", outcome: Escalate, want: "below ×0.5"},
		{name: "scale-down of exactly the factor", pol: pol, prop: scale(10, 5), st: State{Replicas: 10},
			verdict: Allow, action: scaleTo(5), rule: "approval.scaleDownFactor", outcome: Pass},
		{name: "restart in a matching namespace", pol: pol, prop: on(wl("prod-eu", "web"), restartOf(4)), st: State{Replicas: 4, Ready: 4},
			verdict: NeedsApproval, action: restartAct, maxUnavailable: 1, rule: "approval.restartNamespaces", outcome: Escalate, want: `namespace "prod-eu" need approval`},
		{name: "restart elsewhere", pol: pol, prop: on(wl("dev", "web"), restartOf(4)), st: State{Replicas: 4, Ready: 4},
			verdict: Allow, action: restartAct, maxUnavailable: 1, rule: "approval.restartNamespaces", outcome: Pass},
		{name: "deny beats approval", pol: Policy{MaxReplicas: 50, ScaleUp: Rules{Cooldown: Duration(time.Hour)}, Approval: pol.Approval}, prop: scale(4, 9),
			st:      State{Replicas: 4, LastScaleUp: t0.Add(-time.Minute)},
			verdict: Deny, action: holdAct, rule: "scaleUp.cooldown", outcome: Block},
		{name: "no approval rules", pol: Policy{MaxReplicas: 50}, prop: scale(4, 40), st: State{Replicas: 4},
			verdict: Allow, action: scaleTo(40), rule: "approval.scaleUpFactor", outcome: Pass, want: "need no approval"},
		{name: "a hold after clamping needs no approval", pol: Policy{MaxReplicas: 4, Approval: pol.Approval}, prop: scale(4, 9), st: State{Replicas: 4},
			verdict: Allow, action: holdAct, rule: "bounds", outcome: Clamp},
	})
}

func TestDecideOrder(t *testing.T) {
	// Everything configured; the order of the rule names is the documented
	// one.
	pol := Policy{MaxReplicas: 50, Tolerance: 0.05,
		FlapBudget:         &FlapBudget{MaxChanges: 2, Window: Duration(time.Hour)},
		NamespaceRateLimit: &RateLimit{MaxActions: 5, Window: Duration(time.Hour)},
		Freezes:            []Freeze{{Schedule: "0 0 1 1 *", Duration: Duration(time.Hour)}},
		Protected:          Protected{Namespaces: []string{"kube-system"}},
		MinConfidence:      0.5,
		Approval:           ApprovalRules{ScaleUpFactor: 3, RestartNamespaces: []string{"prod"}},
		Rules: []CELRule{{Name: "a", Expression: "false", Effect: EffectDeny},
			{Name: "b", Expression: "false", Effect: EffectRequireApproval}},
	}
	e, err := NewEngine(pol)
	if err != nil {
		t.Fatal(err)
	}
	names := func(d Decision) string {
		var out []string
		for _, r := range d.Rules {
			out = append(out, r.Rule)
		}
		return strings.Join(out, " ")
	}
	d := e.Decide(withConfidence(scale(4, 6), 1), State{Replicas: 4}, t0)
	if got, want := names(d), "state workload action protected freeze confidence stabilization tolerance bounds scaleUp.step scaleUp.cooldown flapBudget namespaceRateLimit rules.a rules.b approval.scaleUpFactor"; got != want {
		t.Errorf("scale rules ran as\n%s\nwant\n%s", got, want)
	}
	d = e.Decide(withConfidence(restartOf(4), 1), State{Replicas: 4, Ready: 4}, t0)
	if got, want := names(d), "state workload action protected freeze confidence restarts.cooldown restarts.disruptionBudget namespaceRateLimit rules.a rules.b approval.restartNamespaces"; got != want {
		t.Errorf("restart rules ran as\n%s\nwant\n%s", got, want)
	}
	d = e.Decide(holdAt(4), State{Replicas: 4}, t0)
	if got, want := names(d), "state workload action"; got != want {
		t.Errorf("hold rules ran as\n%s\nwant\n%s", got, want)
	}
}

func TestDecideRecoversPanics(t *testing.T) {
	// An engine with a broken freeze (which NewEngine never builds) must
	// deny, not crash.
	e, err := NewEngine(Policy{MaxReplicas: 10})
	if err != nil {
		t.Fatal(err)
	}
	e.freezes = []freezeWindow{{name: "broken", loc: time.UTC, dur: time.Hour}}
	d := e.Decide(scale(3, 4), State{Replicas: 3}, t0)
	last := d.Rules[len(d.Rules)-1]
	if d.Verdict != Deny || d.Action != holdAct || last.Rule != "engine" || last.Outcome != Block || !strings.Contains(last.Reason, "denied") {
		t.Fatalf("verdict %s action %+v rules %s", d.Verdict, d.Action, describeRules(d))
	}
}

func TestEngineIsolatedFromCallerPolicy(t *testing.T) {
	pol := Policy{MaxReplicas: 10, Protected: Protected{Namespaces: []string{"prod"}},
		Freezes: []Freeze{{Schedule: "0 0 * * *", Duration: Duration(time.Hour)}}}
	e, err := NewEngine(pol)
	if err != nil {
		t.Fatal(err)
	}
	if pol.Freezes[0].TimeZone != "" {
		t.Error("NewEngine wrote defaults into the caller's policy")
	}
	hash := e.Policy().Hash()
	pol.Protected.Namespaces[0] = "dev"
	e.Policy().Protected.Namespaces[0] = "dev"
	d := e.Decide(on(wl("prod", "web"), scale(3, 4)), State{Replicas: 3}, t0.Add(2*time.Hour))
	if d.Verdict != Deny || e.Policy().Hash() != hash {
		t.Fatalf("changing the caller's policy changed the engine: %s %s", d.Verdict, describeRules(d))
	}
}

func TestDecideConcurrently(t *testing.T) {
	// One engine serves every workload's pipeline; run with -race.
	e, _, st := benchCase(t)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				p := agents.Proposal{Workload: st.Workload, From: 10, Confidence: 0.9, Action: scaleTo(5 + (i+j)%20)}
				if d := e.Decide(p, st, t0); d.Verdict == "" {
					t.Error("no verdict")
				}
			}
		}()
	}
	wg.Wait()
}
