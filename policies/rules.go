package policies

import (
	"fmt"
	"math"
	"path"

	"github.com/stuurman/stuurman/agents"
)

// protection denies any action on a protected workload or namespace.
func (v *evaluation) protection() RuleResult {
	pr := v.e.policy.Protected
	w := v.workload
	id := w.Namespace + "/" + w.Name
	if len(pr.Workloads) == 0 && len(pr.Namespaces) == 0 {
		return pass("protected", "no protected workloads or namespaces")
	}
	for _, l := range []struct {
		what, subject string
		patterns      []string
	}{{"workload", id, pr.Workloads}, {"namespace", w.Namespace, pr.Namespaces}} {
		for _, pat := range l.patterns {
			ok, err := path.Match(pat, l.subject)
			if err != nil {
				return result("protected", Block, "pattern %q cannot be matched (%v), so %s is treated as protected", pat, err, id)
			}
			if ok {
				return result("protected", Block, "%s %q is protected (matches %q): stuurman never acts on it", l.what, l.subject, pat)
			}
		}
	}
	return pass("protected", "%s matches no protected pattern", id)
}

// freeze denies any action while a freeze window is in force.
func (v *evaluation) freeze() RuleResult {
	if len(v.e.freezes) == 0 {
		return pass("freeze", "no freezes configured")
	}
	const layout = "Mon 2006-01-02 15:04 MST"
	for _, w := range v.e.freezes {
		start, end, ok, err := w.active(v.now)
		if err != nil {
			return result("freeze", Block, "cannot tell whether freeze %q is in force, so it is: %v", w.name, err)
		}
		if ok {
			return result("freeze", Block, "freeze %q is in force: window started %s, lasts %v, ends %s (%s)",
				w.name, start.In(w.loc).Format(layout), w.dur, end.In(w.loc).Format(layout), w.loc)
		}
	}
	return pass("freeze", "no freeze in force")
}

// confidence denies a proposal less confident than the policy's minimum.
func (v *evaluation) confidence() RuleResult {
	min, c := v.e.policy.MinConfidence, v.p.Confidence
	switch {
	case min == 0:
		return pass("confidence", "no minimum confidence")
	case math.IsNaN(c) || c < 0 || c > 1:
		return result("confidence", Block, "confidence %v is not a number in [0, 1]", c)
	case c < min:
		return result("confidence", Block, "confidence %.3g is below the minimum %.3g", c, min)
	}
	return pass("confidence", "confidence %.3g is at least the minimum %.3g", c, min)
}

// custom evaluates one custom rule; an evaluation error denies.
func (v *evaluation) custom(r celRule, vars map[string]any) RuleResult {
	rule := r.label()
	fired, err := r.eval(vars)
	if err != nil {
		return result(rule, Block, "rules[%d] %q could not be evaluated, so the proposal is denied: %v", r.index, r.rule.Name, err)
	}
	if !fired {
		return pass(rule, "rule %q does not apply", r.rule.Name)
	}
	msg := r.rule.Message
	if msg == "" {
		msg = fmt.Sprintf("rule %q fired: %s", r.rule.Name, r.rule.Expression)
	}
	if r.rule.Effect == EffectRequireApproval {
		return result(rule, Escalate, "%s", msg)
	}
	return result(rule, Block, "%s", msg)
}

// approval reports which approval rules the final action triggers.
func (v *evaluation) approval() []RuleResult {
	ap, cur, a := v.e.policy.Approval, v.st.Replicas, v.d.Action
	switch {
	case a.Kind == agents.ActionScale && a.Replicas > cur:
		f := ap.ScaleUpFactor
		switch {
		case f == 0:
			return []RuleResult{pass("approval.scaleUpFactor", "scale-ups need no approval")}
		case float64(a.Replicas) > float64(cur)*f:
			return []RuleResult{result("approval.scaleUpFactor", Escalate,
				"scale-up from %d to %d is more than ×%v: needs approval", cur, a.Replicas, f)}
		}
		return []RuleResult{pass("approval.scaleUpFactor", "scale-up from %d to %d is within ×%v", cur, a.Replicas, f)}
	case a.Kind == agents.ActionScale && a.Replicas < cur:
		f := ap.ScaleDownFactor
		switch {
		case f == 0:
			return []RuleResult{pass("approval.scaleDownFactor", "scale-downs need no approval")}
		case float64(a.Replicas) < float64(cur)*f:
			return []RuleResult{result("approval.scaleDownFactor", Escalate,
				"scale-down from %d to %d is below ×%v: needs approval", cur, a.Replicas, f)}
		}
		return []RuleResult{pass("approval.scaleDownFactor", "scale-down from %d to %d is within ×%v", cur, a.Replicas, f)}
	case a.Kind == agents.ActionRestart:
		ns := v.workload.Namespace
		for _, pat := range ap.RestartNamespaces {
			if ok, err := path.Match(pat, ns); ok || err != nil {
				return []RuleResult{result("approval.restartNamespaces", Escalate,
					"restarts in namespace %q need approval (matches %q)", ns, pat)}
			}
		}
		return []RuleResult{pass("approval.restartNamespaces", "restarts in namespace %q need no approval", ns)}
	}
	return nil
}

// restart runs the restart rules, leaving the restart and its
// MaxUnavailable in the decision. It reports false when a rule denied.
func (v *evaluation) restart() bool {
	if !v.add(v.restartCooldown()) || !v.add(v.disruptionBudget()) || !v.add(v.rateLimit()) {
		return false
	}
	v.d.Action = agents.Action{Kind: agents.ActionRestart}
	return true
}

func (v *evaluation) restartCooldown() RuleResult {
	cd := v.e.policy.Restarts.Cooldown.D()
	last := v.st.last(restart)
	switch {
	case cd == 0:
		return pass("restarts.cooldown", "no restart cooldown")
	case last.IsZero():
		return pass("restarts.cooldown", "no earlier restart")
	}
	if since := v.now.Sub(last); since < cd {
		return result("restarts.cooldown", Block, "last restart was %v ago, the restart cooldown is %v", since, cd)
	}
	return pass("restarts.cooldown", "restart cooldown of %v has passed", cd)
}

// disruptionBudget sets how many pods a restart may take down at once:
// restarts.maxUnavailable of the replicas, less the pods already unready,
// and no more than the PodDisruptionBudget allows.
func (v *evaluation) disruptionBudget() RuleResult {
	const rule = "restarts.disruptionBudget"
	st, m := v.st, v.e.maxUnavail
	if st.Replicas == 0 {
		return result(rule, Block, "the workload has no replicas to restart")
	}
	allowed := min(m.of(st.Replicas), st.Replicas)
	unready := max(0, st.Replicas-st.Ready)
	budget := allowed - unready
	if budget <= 0 {
		return result(rule, Block, "%d of %d pods are already unready; maxUnavailable %s allows %d unavailable at once",
			unready, st.Replicas, m, allowed)
	}
	why := fmt.Sprintf("maxUnavailable %s of %d replicas allows %d", m, st.Replicas, allowed)
	if unready > 0 {
		why += fmt.Sprintf(", %d already unready leaves %d", unready, budget)
	}
	if pdb := st.PDB; pdb != nil {
		if pdb.DisruptionsAllowed <= 0 {
			return result(rule, Block, "PodDisruptionBudget %q allows no disruptions now", pdb.Name)
		}
		if pdb.DisruptionsAllowed < budget {
			budget = pdb.DisruptionsAllowed
			why += fmt.Sprintf(", PodDisruptionBudget %q allows %d", pdb.Name, pdb.DisruptionsAllowed)
		}
	}
	v.d.MaxUnavailable = budget
	if budget < allowed {
		return result(rule, Clamp, "at most %d pods unavailable at once: %s", budget, why)
	}
	return pass(rule, "at most %d pods unavailable at once: %s", budget, why)
}
