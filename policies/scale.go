package policies

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/stuurman/stuurman/agents"
)

// scale runs the scale rules, leaving the final action in the decision. It
// reports false when a rule denied.
func (v *evaluation) scale() bool {
	cur, target := v.st.Replicas, v.p.Action.Replicas
	target = v.stabilize(target)
	target = v.tolerance(target)
	target = v.bound(target)
	target = v.step(target)
	if target == cur {
		v.d.Action = hold
		return true
	}
	up := target > cur
	if !v.add(v.cooldown(up)) || !v.add(v.flapBudget(up)) || !v.add(v.rateLimit()) {
		return false
	}
	v.d.Action = agents.Action{Kind: agents.ActionScale, Replicas: target}
	return true
}

// stabilize applies the stabilisation windows, as the HPA does: the
// scale-up candidate is the lowest recommendation in the up window, the
// scale-down candidate the highest in the down window; the current count
// is kept when it lies between them.
func (v *evaluation) stabilize(target int) int {
	pol, st, now := v.e.policy, v.st, v.now
	cur := st.Replicas
	up, down := pol.ScaleUp.StabilizationWindow.D(), pol.ScaleDown.StabilizationWindow.D()
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
		v.add(pass("stabilization", "target %d is stable over the windows (up %v, down %v)", target, up, down))
		return target
	}
	v.add(result("stabilization", Clamp, "target %d stabilised to %d: recommendations within the windows (up %v, down %v) ranged up to %d / down to %d",
		target, out, up, down, downRec, upRec))
	return out
}

// tolerance holds a change of at most Tolerance × the current count.
func (v *evaluation) tolerance(target int) int {
	tol, cur := v.e.policy.Tolerance, v.st.Replicas
	switch {
	case tol == 0:
		v.add(pass("tolerance", "no tolerance"))
		return target
	case target == cur:
		v.add(pass("tolerance", "no change to tolerate"))
		return target
	case cur == 0:
		v.add(pass("tolerance", "any change from 0 replicas is beyond the tolerance"))
		return target
	}
	change := float64(target-cur) / float64(cur)
	// Compared in replicas, with a margin for rounding, so that 10 → 11 at
	// a tolerance of 0.1 is held as the HPA's ratio test would intend.
	if math.Abs(float64(target-cur)) <= tol*float64(cur)+1e-9 {
		v.add(result("tolerance", Clamp, "change of %+.1f%% (%d → %d) is within the tolerance of %.1f%%: hold at %d",
			100*change, cur, target, 100*tol, cur))
		return cur
	}
	v.add(pass("tolerance", "change of %+.1f%% is beyond the tolerance of %.1f%%", 100*change, 100*tol))
	return target
}

func (v *evaluation) bound(target int) int {
	lo, hi := v.e.policy.MinReplicas, v.e.policy.MaxReplicas
	out := max(lo, min(target, hi))
	if out == target {
		v.add(pass("bounds", "%d is within [%d, %d]", target, lo, hi))
	} else {
		v.add(result("bounds", Clamp, "%d clamped to %d by bounds [%d, %d]", target, out, lo, hi))
	}
	return out
}

func (v *evaluation) step(target int) int {
	cur := v.st.Replicas
	if target == cur {
		return target
	}
	r, dir := v.e.policy.ScaleUp, "scaleUp"
	if target < cur {
		r, dir = v.e.policy.ScaleDown, "scaleDown"
	}
	limit := maxStep(r, cur)
	delta := target - cur
	if limit < 0 || abs(delta) <= limit {
		v.add(pass(dir+".step", "step of %+d is within the limit (%s)", delta, describeLimit(limit)))
		return target
	}
	out := cur + limit
	if delta < 0 {
		out = cur - limit
	}
	// The target is within the bounds here; a current count outside them
	// may be further away than one step. The bounds win: a scale never
	// leaves [minReplicas, maxReplicas].
	lo, hi := v.e.policy.MinReplicas, v.e.policy.MaxReplicas
	if out < lo || out > hi {
		bounded := max(lo, min(out, hi))
		o := Clamp
		if bounded == target {
			o = Pass
		}
		v.add(result(dir+".step", o, "step of %+d exceeds the limit (%s), but %d replicas is outside the bounds [%d, %d], and the bounds win: %+d to %d",
			delta, describeLimit(limit), cur, lo, hi, bounded-cur, bounded))
		return bounded
	}
	v.add(result(dir+".step", Clamp, "step of %+d clamped to %+d (%s: maxStep %d, maxStepPercent %v%%, select %s)",
		delta, out-cur, describeLimit(limit), r.MaxStep, r.MaxStepPercent, r.SelectPolicy))
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

func (v *evaluation) cooldown(up bool) RuleResult {
	r, last, dir := v.e.policy.ScaleDown, v.st.last(down), "scaleDown"
	if up {
		r, last, dir = v.e.policy.ScaleUp, v.st.last(upward), "scaleUp"
	}
	cd := r.Cooldown.D()
	rule := dir + ".cooldown"
	if cd == 0 || last.IsZero() {
		return pass(rule, "no cooldown in force")
	}
	if since := v.now.Sub(last); since < cd {
		return result(rule, Block, "last %s was %v ago, cooldown is %v", dir, since, cd)
	}
	return pass(rule, "cooldown of %v has passed", cd)
}

// flapBudget denies a scale that reverses the direction of the last
// applied scale when the reversals within the window would exceed the
// budget. A reversal is a pair of consecutive applied scale actions in
// opposite directions, both within the window; the proposed action counts
// as the newest.
func (v *evaluation) flapBudget(up bool) RuleResult {
	fb := v.e.policy.FlapBudget
	if fb == nil {
		return pass("flapBudget", "no flap budget")
	}
	w := fb.Window.D()
	in := func(t time.Time) bool { age := v.now.Sub(t); return age >= 0 && age < w }
	type move struct {
		t  time.Time
		up bool
	}
	var moves []move
	newest := map[actionClass]time.Time{}
	for _, a := range v.st.Actions {
		if c := classify(a); (c == upward || c == down) && in(a.Time) {
			moves = append(moves, move{a.Time, c == upward})
			if a.Time.After(newest[c]) {
				newest[c] = a.Time
			}
		}
	}
	// A caller that keeps only the last-action times still gets a budget
	// over them.
	for _, l := range []struct {
		c actionClass
		t time.Time
	}{{upward, v.st.LastScaleUp}, {down, v.st.LastScaleDown}} {
		if in(l.t) && l.t.After(newest[l.c]) {
			moves = append(moves, move{l.t, l.c == upward})
		}
	}
	slices.SortStableFunc(moves, func(a, b move) int { return a.t.Compare(b.t) })
	changes := 0
	for i := 1; i < len(moves); i++ {
		if moves[i].up != moves[i-1].up {
			changes++
		}
	}
	if len(moves) > 0 && moves[len(moves)-1].up != up {
		if changes+1 > fb.MaxChanges {
			return result("flapBudget", Block, "scaling %s now would be direction change %d within %v; the budget is %d",
				direction(up), changes+1, w, fb.MaxChanges)
		}
		return pass("flapBudget", "direction change %d of %d allowed within %v", changes+1, fb.MaxChanges, w)
	}
	return pass("flapBudget", "no direction change (%d of %d used within %v)", changes, fb.MaxChanges, w)
}

func direction(up bool) string {
	if up {
		return "up"
	}
	return "down"
}

// rateLimit denies an action when the namespace's applied actions within
// the window, with this one, would exceed the limit.
func (v *evaluation) rateLimit() RuleResult {
	rl := v.e.policy.NamespaceRateLimit
	if rl == nil {
		return pass("namespaceRateLimit", "no namespace rate limit")
	}
	w, n := rl.Window.D(), 0
	for _, t := range v.st.NamespaceActions {
		if age := v.now.Sub(t); age >= 0 && age < w {
			n++
		}
	}
	if n+1 > rl.MaxActions {
		return result("namespaceRateLimit", Block, "namespace %q has had %d actions within %v; the limit is %d",
			v.workload.Namespace, n, w, rl.MaxActions)
	}
	return pass("namespaceRateLimit", "action %d of %d allowed in namespace %q within %v", n+1, rl.MaxActions, v.workload.Namespace, w)
}

// actionClass sorts applied actions for the cooldowns and the flap budget.
type actionClass int

const (
	other actionClass = iota
	upward
	down
	restart
)

func classify(a agents.ActionRecord) actionClass {
	switch a.Action.Kind {
	case agents.ActionScale:
		switch {
		case a.Action.Replicas > a.From:
			return upward
		case a.Action.Replicas < a.From:
			return down
		}
	case agents.ActionRestart:
		return restart
	}
	return other
}

// last returns when an action of class c was last applied: the later of
// the State's field for it and the newest such record in Actions.
func (st State) last(c actionClass) time.Time {
	var t time.Time
	switch c {
	case upward:
		t = st.LastScaleUp
	case down:
		t = st.LastScaleDown
	case restart:
		t = st.LastRestart
	}
	for _, a := range st.Actions {
		if classify(a) == c && a.Time.After(t) {
			t = a.Time
		}
	}
	return t
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
