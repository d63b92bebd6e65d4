package policies

import (
	"fmt"
	"math"
	"time"

	"github.com/stuurman/stuurman/agents"
)

// Verdict is the engine's answer to a proposal.
type Verdict string

// The verdicts.
const (
	// Allow: the decision's Action may be carried out.
	Allow Verdict = "allow"
	// Deny: nothing may be done.
	Deny Verdict = "deny"
	// NeedsApproval: a human must approve the Action first.
	NeedsApproval Verdict = "needs_approval"
)

// Outcome is one rule's result.
type Outcome string

// The rule outcomes.
const (
	Pass  Outcome = "pass"
	Clamp Outcome = "clamp"
	Block Outcome = "deny"
)

// RuleResult is one rule's verdict on a proposal, with its reason.
type RuleResult struct {
	Rule    string  `json:"rule"`
	Outcome Outcome `json:"outcome"`
	Reason  string  `json:"reason"`
}

// Decision is the engine's verdict on one proposal: the final Action (after
// clamping) is what an actuator may do when Verdict is Allow.
type Decision struct {
	Time     time.Time       `json:"time"`
	Proposal agents.Proposal `json:"proposal"`
	Verdict  Verdict         `json:"verdict"`
	// Action is the final action; a hold when nothing should change.
	Action     agents.Action `json:"action"`
	Rules      []RuleResult  `json:"rules"`
	PolicyHash string        `json:"policy_hash"`
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

// State is what the engine needs to know beyond the proposal.
type State struct {
	// Replicas is the workload's current desired replica count.
	Replicas int
	// Recommendations are earlier scale targets, any order; the engine
	// reads those within the stabilisation windows.
	Recommendations []Recommendation
	// LastScaleUp and LastScaleDown are when an action in each direction
	// was last applied (zero: never).
	LastScaleUp, LastScaleDown time.Time
}

// Engine evaluates proposals against one policy.
type Engine struct {
	policy Policy
	hash   string
}

// NewEngine returns an engine for p after applying its defaults; it fails
// when the policy is invalid.
func NewEngine(p Policy) (*Engine, error) {
	p = p.Defaults()
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("policies: invalid policy: %w", err)
	}
	return &Engine{policy: p, hash: p.Hash()}, nil
}

// Policy returns the policy the engine enforces, defaults applied.
func (e *Engine) Policy() Policy { return e.policy }

// Limits returns the policy's bounds in the form agents receive them.
func (e *Engine) Limits() agents.Limits {
	return agents.Limits{MinReplicas: e.policy.MinReplicas, MaxReplicas: e.policy.MaxReplicas}
}

// Decide evaluates p in state st at time now. It is a pure function of its
// arguments and the engine's policy.
//
// For a scale proposal the rules run in this order, each seeing the target
// the previous one left: stabilisation, bounds, step limit, cooldown. A
// target that ends equal to the current count becomes a hold.
func (e *Engine) Decide(p agents.Proposal, st State, now time.Time) Decision {
	d := Decision{Time: now, Proposal: p, PolicyHash: e.hash, Action: agents.Action{Kind: agents.ActionHold}}
	deny := func(rule, format string, args ...any) Decision {
		d.Rules = append(d.Rules, RuleResult{Rule: rule, Outcome: Block, Reason: fmt.Sprintf(format, args...)})
		d.Verdict = Deny
		d.Action = agents.Action{Kind: agents.ActionHold}
		return d
	}
	if p.From != st.Replicas {
		return deny("state", "proposal was made at %d replicas but the workload has %d", p.From, st.Replicas)
	}
	switch p.Action.Kind {
	case agents.ActionHold:
		d.Verdict = Allow
		d.Rules = append(d.Rules, RuleResult{Rule: "action", Outcome: Pass, Reason: "hold changes nothing"})
		return d
	case agents.ActionScale:
	default:
		return deny("action", "action %q is not supported by this policy engine", p.Action.Kind)
	}
	if p.Action.Replicas < 0 {
		return deny("action", "target replicas %d is negative", p.Action.Replicas)
	}

	cur, target := st.Replicas, p.Action.Replicas
	d.Rules = append(d.Rules, RuleResult{Rule: "action", Outcome: Pass,
		Reason: fmt.Sprintf("scale from %d to %d proposed by %s", cur, target, p.Agent)})

	target = e.stabilize(&d, st, target, now)
	target = e.bound(&d, target)
	target = e.step(&d, cur, target)
	if target != cur {
		if r := e.cooldown(st, target > cur, now); r.Outcome == Block {
			d.Rules = append(d.Rules, r)
			d.Verdict = Deny
			return d
		} else {
			d.Rules = append(d.Rules, r)
		}
	}
	d.Verdict = Allow
	if target != cur {
		d.Action = agents.Action{Kind: agents.ActionScale, Replicas: target}
	}
	return d
}

func (e *Engine) stabilize(d *Decision, st State, target int, now time.Time) int {
	cur := st.Replicas
	up, down := e.policy.ScaleUp.StabilizationWindow.D(), e.policy.ScaleDown.StabilizationWindow.D()
	// As the HPA: the scale-up candidate is the lowest recommendation in
	// the up window, the scale-down candidate the highest in the down
	// window; the current count is kept when it lies between them.
	upRec, downRec := target, target
	for _, r := range st.Recommendations {
		age := now.Sub(r.Time)
		if age < 0 {
			continue
		}
		if age < up && r.Replicas < upRec {
			upRec = r.Replicas
		}
		if age < down && r.Replicas > downRec {
			downRec = r.Replicas
		}
	}
	out := cur
	switch {
	case upRec > cur:
		out = upRec
	case downRec < cur:
		out = downRec
	}
	if out == target {
		d.Rules = append(d.Rules, RuleResult{Rule: "stabilization", Outcome: Pass,
			Reason: fmt.Sprintf("target %d is stable over the windows (up %v, down %v)", target, up, down)})
		return target
	}
	d.Rules = append(d.Rules, RuleResult{Rule: "stabilization", Outcome: Clamp,
		Reason: fmt.Sprintf("target %d stabilised to %d: recommendations within the windows (up %v, down %v) ranged up to %d / down to %d",
			target, out, up, down, downRec, upRec)})
	return out
}

func (e *Engine) bound(d *Decision, target int) int {
	lo, hi := e.policy.MinReplicas, e.policy.MaxReplicas
	out := max(lo, min(target, hi))
	if out == target {
		d.Rules = append(d.Rules, RuleResult{Rule: "bounds", Outcome: Pass,
			Reason: fmt.Sprintf("%d is within [%d, %d]", target, lo, hi)})
	} else {
		d.Rules = append(d.Rules, RuleResult{Rule: "bounds", Outcome: Clamp,
			Reason: fmt.Sprintf("%d clamped to %d by bounds [%d, %d]", target, out, lo, hi)})
	}
	return out
}

func (e *Engine) step(d *Decision, cur, target int) int {
	if target == cur {
		return target
	}
	r, dir := e.policy.ScaleUp, "scaleUp"
	if target < cur {
		r, dir = e.policy.ScaleDown, "scaleDown"
	}
	limit := maxStep(r, cur)
	delta := target - cur
	if limit < 0 || abs(delta) <= limit {
		d.Rules = append(d.Rules, RuleResult{Rule: dir + ".step", Outcome: Pass,
			Reason: fmt.Sprintf("step of %+d is within the limit (%s)", delta, describeLimit(limit))})
		return target
	}
	out := cur + limit
	if delta < 0 {
		out = cur - limit
	}
	d.Rules = append(d.Rules, RuleResult{Rule: dir + ".step", Outcome: Clamp,
		Reason: fmt.Sprintf("step of %+d clamped to %+d (%s: maxStep %d, maxStepPercent %v%%, select %s)",
			delta, out-cur, describeLimit(limit), r.MaxStep, r.MaxStepPercent, r.SelectPolicy)})
	return out
}

// maxStep returns how many replicas one decision may change from cur, or
// -1 for no limit.
func maxStep(r Rules, cur int) int {
	var limits []int
	if r.MaxStep > 0 {
		limits = append(limits, r.MaxStep)
	}
	if r.MaxStepPercent > 0 {
		// At least one replica, so a percentage never freezes a small
		// workload.
		limits = append(limits, max(1, int(math.Floor(float64(cur)*r.MaxStepPercent/100))))
	}
	if len(limits) == 0 {
		return -1
	}
	out := limits[0]
	for _, l := range limits[1:] {
		if r.SelectPolicy == SelectMin {
			out = min(out, l)
		} else {
			out = max(out, l)
		}
	}
	return out
}

func describeLimit(l int) string {
	if l < 0 {
		return "no step limit"
	}
	return fmt.Sprintf("at most %d replicas per decision", l)
}

func (e *Engine) cooldown(st State, up bool, now time.Time) RuleResult {
	r, last, dir := e.policy.ScaleDown, st.LastScaleDown, "scaleDown"
	if up {
		r, last, dir = e.policy.ScaleUp, st.LastScaleUp, "scaleUp"
	}
	cd := r.Cooldown.D()
	rule := dir + ".cooldown"
	if cd == 0 || last.IsZero() {
		return RuleResult{Rule: rule, Outcome: Pass, Reason: "no cooldown in force"}
	}
	if since := now.Sub(last); since < cd {
		return RuleResult{Rule: rule, Outcome: Block,
			Reason: fmt.Sprintf("last %s was %v ago, cooldown is %v", dir, since, cd)}
	}
	return RuleResult{Rule: rule, Outcome: Pass, Reason: fmt.Sprintf("cooldown of %v has passed", cd)}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
