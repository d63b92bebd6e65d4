package policies

import (
	"fmt"
	"time"

	"github.com/stuurman/stuurman/agents"
)

// Verdict is the engine's answer to a proposal.
type Verdict string

// The verdicts. When rules disagree, Deny beats NeedsApproval beats Allow.
const (
	// Allow: the decision's Action may be carried out.
	Allow Verdict = "allow"
	// Deny: nothing may be done; the decision's Action is a hold.
	Deny Verdict = "deny"
	// NeedsApproval: a human must approve the decision's Action (already
	// clamped) before it is carried out; the rules with outcome Escalate
	// say why.
	NeedsApproval Verdict = "needs_approval"
)

// Outcome is one rule's result.
type Outcome string

// The rule outcomes.
const (
	// Pass: the rule has no objection.
	Pass Outcome = "pass"
	// Clamp: the rule changed the action (a smaller step, a bound, a
	// hold) but allows the result.
	Clamp Outcome = "clamp"
	// Block: the rule denies the proposal; evaluation stops.
	Block Outcome = "deny"
	// Escalate: the rule allows the action only with a human's approval.
	Escalate Outcome = "needs_approval"
)

// RuleResult is one rule's verdict on a proposal, with its reason.
type RuleResult struct {
	Rule    string  `json:"rule"`
	Outcome Outcome `json:"outcome"`
	Reason  string  `json:"reason"`
}

// Decision is the engine's verdict on one proposal: the final Action (after
// clamping) is what an actuator may do when Verdict is Allow, or once a
// human approved it when Verdict is NeedsApproval.
type Decision struct {
	Time     time.Time       `json:"time"`
	Proposal agents.Proposal `json:"proposal"`
	Verdict  Verdict         `json:"verdict"`
	// Action is the final action; a hold when nothing should change.
	Action agents.Action `json:"action"`
	// MaxUnavailable is, for a restart, how many pods may be unavailable
	// at once while it rolls: restarts.maxUnavailable less the pods
	// already unready, and never more than the PodDisruptionBudget
	// allows. Actuators must not exceed it. 0 for other actions.
	MaxUnavailable int          `json:"max_unavailable,omitempty"`
	Rules          []RuleResult `json:"rules"`
	PolicyHash     string       `json:"policy_hash"`
}

// Changes reports whether carrying out d changes the workload.
func (d Decision) Changes() bool {
	return d.Verdict == Allow && d.Action.Kind != agents.ActionHold &&
		!(d.Action.Kind == agents.ActionScale && d.Action.Replicas == d.Proposal.From)
}

// Recommendation is a target an agent proposed earlier, kept for the
// stabilisation windows.
type Recommendation struct {
	Time     time.Time
	Replicas int
}

// State is what the engine needs to know beyond the proposal. The caller
// keeps it between decisions (the pipeline does, per workload); the engine
// never modifies it. Times after now are ignored by the windows and count
// as recent for the cooldowns.
type State struct {
	// Workload is the workload the decision is for, as the caller knows
	// it. When set, a proposal naming another workload (namespace and
	// name, and kind when the proposal names one) is denied; a proposal
	// that names no workload is taken to be for it. When empty, the
	// proposal's workload is used. Protection, approval and custom rules
	// see this workload.
	Workload agents.Workload
	// Replicas is the workload's current desired replica count.
	Replicas int
	// Ready is how many of its pods are ready; pods not ready count
	// against restarts.maxUnavailable.
	Ready int
	// PDB is the status of the PodDisruptionBudget that selects the
	// workload's pods; nil when there is none.
	PDB *agents.PDBStatus
	// Recommendations are earlier scale targets, any order; the engine
	// reads those within the stabilisation windows.
	Recommendations []Recommendation
	// LastScaleUp, LastScaleDown and LastRestart are when an action of
	// each kind was last applied (zero: never). The engine uses the later
	// of each and the newest matching record in Actions.
	LastScaleUp, LastScaleDown, LastRestart time.Time
	// Actions are the actions applied to this workload, any order, at
	// least those within the flap budget's window (and the last day, for
	// custom rules). The flap budget reads the scale actions.
	Actions []agents.ActionRecord
	// NamespaceActions are when actions were applied to any workload in
	// this workload's namespace, this one included, at least those within
	// namespaceRateLimit.window. The engine cannot know other workloads'
	// actions: the caller fills this from a log shared by the namespace.
	NamespaceActions []time.Time
}

// Engine evaluates proposals against one policy. It is safe for
// concurrent use.
type Engine struct {
	policy     Policy
	hash       string
	freezes    []freezeWindow
	maxUnavail maxUnavailable
	rules      []celRule
}

// NewEngine returns an engine for p after applying its defaults; it fails
// when the policy is invalid. Custom rules are compiled here, once.
func NewEngine(p Policy) (*Engine, error) {
	p = p.Defaults()
	rules, err := p.validate()
	if err != nil {
		return nil, fmt.Errorf("policies: invalid policy: %w", err)
	}
	e := &Engine{policy: p, hash: p.Hash(), rules: rules}
	for i, f := range p.Freezes {
		w, err := newFreezeWindow(i, f)
		if err != nil { // Validate checked every freeze
			return nil, fmt.Errorf("policies: invalid policy: freezes[%d]: %w", i, err)
		}
		e.freezes = append(e.freezes, w)
	}
	if e.maxUnavail, err = parseMaxUnavailable(p.Restarts.MaxUnavailable); err != nil {
		return nil, fmt.Errorf("policies: invalid policy: restarts.maxUnavailable: %w", err)
	}
	return e, nil
}

// Policy returns (a copy of) the policy the engine enforces, defaults
// applied.
func (e *Engine) Policy() Policy { return e.policy.clone() }

// Limits returns the policy's bounds in the form agents receive them.
func (e *Engine) Limits() agents.Limits {
	return agents.Limits{MinReplicas: e.policy.MinReplicas, MaxReplicas: e.policy.MaxReplicas}
}

var hold = agents.Action{Kind: agents.ActionHold}

// Decide evaluates p in state st at time now. It is a pure function of its
// arguments and the engine's policy, and it never panics: a failure inside
// evaluation denies.
//
// The rules run in this order, and evaluation stops at the first that
// denies:
//
//  1. state, workload, action: the proposal was made for the current
//     count, targets this workload, and is a supported action. A hold is
//     allowed here.
//  2. protected, freeze, confidence.
//  3. For a scale, each rule seeing the target the previous one left:
//     stabilization, tolerance, bounds, step, then — unless the target
//     became the current count, which is a hold and allowed — cooldown,
//     flapBudget, namespaceRateLimit.
//     For a restart: restarts.cooldown, restarts.disruptionBudget (which
//     sets MaxUnavailable), namespaceRateLimit.
//  4. Custom rules (rules.<name>), in the policy's order.
//  5. Approval: approval.scaleUpFactor or approval.scaleDownFactor for
//     the final target, approval.restartNamespaces for a restart.
//
// A rule with outcome Escalate (from steps 4 and 5) makes the verdict
// NeedsApproval unless a later rule denies.
func (e *Engine) Decide(p agents.Proposal, st State, now time.Time) (d Decision) {
	d = Decision{Time: now, Proposal: p, PolicyHash: e.hash, Action: hold}
	defer func() {
		if r := recover(); r != nil {
			d.Rules = append(d.Rules, RuleResult{Rule: "engine", Outcome: Block,
				Reason: fmt.Sprintf("evaluation failed, so the proposal is denied: %v", r)})
			d.Verdict, d.Action, d.MaxUnavailable = Deny, hold, 0
		}
	}()
	v := &evaluation{e: e, p: p, st: st, now: now, d: &d}
	v.run()
	return d
}

// evaluation is one Decide call in progress.
type evaluation struct {
	e         *Engine
	p         agents.Proposal
	st        State
	now       time.Time
	d         *Decision
	workload  agents.Workload
	escalated bool
}

// add records r and reports whether evaluation may go on: a Block makes
// the decision a deny.
func (v *evaluation) add(r RuleResult) bool {
	v.d.Rules = append(v.d.Rules, r)
	switch r.Outcome {
	case Block:
		v.d.Verdict, v.d.Action, v.d.MaxUnavailable = Deny, hold, 0
		return false
	case Escalate:
		v.escalated = true
	}
	return true
}

func (v *evaluation) run() {
	if !v.add(v.stateCheck()) || !v.add(v.workloadCheck()) || !v.add(v.actionCheck()) {
		return
	}
	if v.p.Action.Kind == agents.ActionHold {
		v.d.Verdict = Allow
		return
	}
	if !v.add(v.protection()) || !v.add(v.freeze()) || !v.add(v.confidence()) {
		return
	}
	var ok bool
	switch v.p.Action.Kind {
	case agents.ActionScale:
		ok = v.scale()
	case agents.ActionRestart:
		ok = v.restart()
	}
	if !ok {
		return
	}
	if v.d.Action.Kind == agents.ActionHold {
		// Clamped to no change: nothing to approve or check further.
		v.d.Verdict = Allow
		return
	}
	var vars map[string]any
	for _, r := range v.e.rules {
		if vars == nil {
			vars = celVars(v.p, v.workload, v.st, v.d.Action, v.d.MaxUnavailable, v.now)
		}
		if !v.add(v.custom(r, vars)) {
			return
		}
	}
	for _, r := range v.approval() {
		v.add(r)
	}
	v.d.Verdict = Allow
	if v.escalated {
		v.d.Verdict = NeedsApproval
	}
}

func pass(rule, format string, args ...any) RuleResult {
	return RuleResult{Rule: rule, Outcome: Pass, Reason: fmt.Sprintf(format, args...)}
}

func result(rule string, o Outcome, format string, args ...any) RuleResult {
	return RuleResult{Rule: rule, Outcome: o, Reason: fmt.Sprintf(format, args...)}
}

func (v *evaluation) stateCheck() RuleResult {
	st, p := v.st, v.p
	switch {
	case st.Replicas < 0 || st.Ready < 0:
		return result("state", Block, "invalid state: %d replicas, %d ready", st.Replicas, st.Ready)
	case p.From != st.Replicas:
		return result("state", Block, "proposal was made at %d replicas but the workload has %d", p.From, st.Replicas)
	}
	return pass("state", "proposal was made at the current %d replicas", st.Replicas)
}

func (v *evaluation) workloadCheck() RuleResult {
	own, p := v.st.Workload, v.p.Workload
	switch {
	case own.Name == "" && own.Namespace == "" && own.Kind == "":
		v.workload = p
		return pass("workload", "proposal for %s", describeWorkload(p))
	case p.Name == "" && p.Namespace == "" && p.Kind == "":
		v.workload = own
		return pass("workload", "proposal names no workload: taken to be for %s", describeWorkload(own))
	case p.Namespace != own.Namespace || p.Name != own.Name || (p.Kind != "" && p.Kind != own.Kind):
		return result("workload", Block, "proposal targets %s but the decision is for %s", describeWorkload(p), describeWorkload(own))
	}
	v.workload = own
	return pass("workload", "proposal for %s", describeWorkload(own))
}

func describeWorkload(w agents.Workload) string {
	if w.Name == "" && w.Namespace == "" && w.Kind == "" {
		return "an unnamed workload"
	}
	return w.String()
}

func (v *evaluation) actionCheck() RuleResult {
	p := v.p
	switch p.Action.Kind {
	case agents.ActionHold:
		return pass("action", "hold changes nothing")
	case agents.ActionScale:
		if p.Action.Replicas < 0 {
			return result("action", Block, "target replicas %d is negative", p.Action.Replicas)
		}
		return pass("action", "scale from %d to %d proposed by %s", p.From, p.Action.Replicas, p.Agent)
	case agents.ActionRestart:
		return pass("action", "restart of %d replicas proposed by %s", p.From, p.Agent)
	}
	return result("action", Block, "action %q is not supported by this policy engine", p.Action.Kind)
}
