package controller

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/stuurman/stuurman/actuators"
	"github.com/stuurman/stuurman/agents"
	stuurmanv1 "github.com/stuurman/stuurman/api/v1alpha1"
	"github.com/stuurman/stuurman/pipeline"
	"github.com/stuurman/stuurman/policies"
)

// Labels on ActionProposals.
const (
	// LabelPolicy names the WorkloadPolicy that made the proposal.
	LabelPolicy = "stuurman.io/policy"
	// LabelTarget names the workload the proposal is for.
	LabelTarget = "stuurman.io/target"
)

// ActorAuto is the approver of the actions the policy allowed in mode Auto.
const ActorAuto = "stuurman"

// listProposals returns wp's ActionProposals, oldest first.
func (r *Reconciler) listProposals(ctx context.Context, wp *stuurmanv1.WorkloadPolicy) ([]*stuurmanv1.ActionProposal, error) {
	var list stuurmanv1.ActionProposalList
	if err := r.client.List(ctx, &list, client.InNamespace(wp.Namespace), client.MatchingLabels{LabelPolicy: labelValue(wp.Name)}); err != nil {
		return nil, fmt.Errorf("list ActionProposals of %s/%s: %w", wp.Namespace, wp.Name, err)
	}
	var out []*stuurmanv1.ActionProposal
	for i := range list.Items {
		if metav1.IsControlledBy(&list.Items[i], wp) {
			out = append(out, &list.Items[i])
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Spec.Decision.DecidedAt.Before(&out[j].Spec.Decision.DecidedAt) })
	return out, nil
}

func phaseOf(ap *stuurmanv1.ActionProposal) stuurmanv1.Phase {
	if ap.Status.Phase == "" {
		return stuurmanv1.PhasePending
	}
	return ap.Status.Phase
}

// settleProposals moves wp's proposals along their lifecycle: expires
// those past expiresAt, applies the approved ones when the mode allows,
// deletes finished ones older than the retention. It returns the
// proposals as they now are.
func (r *Reconciler) settleProposals(ctx context.Context, wp *stuurmanv1.WorkloadPolicy, rt *policyRuntime, targets []workload, now time.Time) ([]*stuurmanv1.ActionProposal, error) {
	aps, err := r.listProposals(ctx, wp)
	if err != nil {
		return nil, err
	}
	byName := map[string]workload{}
	for _, w := range targets {
		byName[w.Target.Name] = w
	}
	var keep []*stuurmanv1.ActionProposal
	var errs []error
	for _, ap := range aps {
		phase := phaseOf(ap)
		switch {
		case (phase == stuurmanv1.PhasePending || phase == stuurmanv1.PhaseApproved) && !now.Before(ap.Spec.ExpiresAt.Time):
			what := "approved"
			if phase == stuurmanv1.PhaseApproved {
				what = "applied"
			}
			err = r.setPhase(ctx, ap, stuurmanv1.PhaseExpired, now, fmt.Sprintf("not %s before %s", what, ap.Spec.ExpiresAt.UTC().Format(time.RFC3339)))
		// Only what was proposed to be carried out is carried out: a
		// proposal made in Recommend mode waits and expires, even approved,
		// even after the policy's mode changed.
		case phase == stuurmanv1.PhaseApproved && (rt.cfg.mode == stuurmanv1.ModeApprove || rt.cfg.mode == stuurmanv1.ModeAuto) &&
			ap.Spec.Mode != stuurmanv1.ModeRecommend:
			w, ok := byName[ap.Spec.Target.Name]
			if !ok || w.Target.Kind != ap.Spec.Target.Kind {
				err = r.setPhase(ctx, ap, stuurmanv1.PhaseFailed, now, "the workload is no longer a target of the policy")
				break
			}
			if why := recheck(rt, ap, w, now); why != "" {
				r.event(w, ap, corev1.EventTypeWarning, "ActionRefused", string(ap.Spec.Action.Type), "stuurman %s: %s", ap.Name, why)
				err = r.setPhase(ctx, ap, stuurmanv1.PhaseFailed, now, why)
				break
			}
			err = r.applyProposal(ctx, ap, w, now)
			// Applied now, decided earlier: the target's pipeline counts it
			// from now for cooldowns, flap budgets and rate limits.
			if tr := rt.targets[w.Target]; err == nil && tr != nil && phaseOf(ap) == stuurmanv1.PhaseApplied {
				tr.pipeline.RecordApplied(decisionOf(ap, w), int(ap.Spec.From), now)
			}
		case phase.Terminal() && now.Sub(ap.Spec.ExpiresAt.Time) > r.opts.ProposalRetention:
			if err := r.client.Delete(ctx, ap); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("delete ActionProposal %s: %w", ap.Name, err))
			}
			continue
		}
		if err != nil {
			errs = append(errs, err)
			err = nil
		}
		keep = append(keep, ap)
	}
	return keep, errors.Join(errs...)
}

// setPhase writes a proposal's phase and message (with the proposal's
// resourceVersion: a concurrent change, e.g. a human's approval, makes it
// fail and the next reconcile see the change).
func (r *Reconciler) setPhase(ctx context.Context, ap *stuurmanv1.ActionProposal, phase stuurmanv1.Phase, now time.Time, msg string) error {
	ap.Status.Phase = phase
	ap.Status.Message = msg
	ap.Status.ObservedGeneration = ap.Generation
	if phase == stuurmanv1.PhaseApplied || phase == stuurmanv1.PhaseFailed {
		ap.Status.AppliedAt = &metav1.Time{Time: now}
	}
	if err := r.client.Status().Update(ctx, ap, client.FieldOwner(r.opts.FieldOwner)); err != nil {
		return fmt.Errorf("ActionProposal %s → %s: %w", ap.Name, phase, err)
	}
	return nil
}

// applyProposal carries out an approved proposal and records the outcome:
// the transition to Applied is the commit point. The actuator is keyed by
// the proposal's name, so applying again after a crash before the status
// write does not act twice.
func (r *Reconciler) applyProposal(ctx context.Context, ap *stuurmanv1.ActionProposal, w workload, now time.Time) error {
	log := log.FromContext(ctx).WithValues("proposal", ap.Name, "target", w.Target.String())
	res, err := r.act.Execute(ctx, actuators.Request{
		Target: w.actuatorTarget(), Decision: decisionOf(ap, w), Key: ap.Name, Actor: ap.Status.ApprovedBy, Related: ap,
	})
	switch {
	case errors.Is(err, actuators.ErrRefused):
		log.Info("action refused", "error", err.Error())
		r.event(w, ap, corev1.EventTypeWarning, "ActionRefused", string(ap.Spec.Action.Type), "stuurman %s: %v", ap.Name, err)
		return r.setPhase(ctx, ap, stuurmanv1.PhaseFailed, now, err.Error())
	case err != nil:
		return fmt.Errorf("apply ActionProposal %s: %w", ap.Name, err)
	}
	log.Info("action applied", "message", res.Message)
	if res.Applied {
		r.metrics.ActionsApplied.WithLabelValues(strings.ToLower(string(ap.Spec.Action.Type))).Inc()
	}
	n := int32(res.Replicas)
	ap.Status.Replicas = &n
	return r.setPhase(ctx, ap, stuurmanv1.PhaseApplied, now, res.Message)
}

// recheck puts a proposal decided earlier before the policy engine again,
// at the moment it is to be carried out, and returns why it may not be, or
// "" when it may. The proposal must have been decided under the policy in
// force now (same hash), and the engine, given the workload as it was when
// the proposal was made (From) and as it is now (ready pods, PDB), must
// still allow (or ask approval for) exactly the recorded action: bounds,
// step limits, protection, freeze windows, confidence, disruption budget
// and CEL rules are checked again. Whether the workload has moved on since
// (From against the current count) is the actuator's check, which also
// knows when the action was already carried out.
func recheck(rt *policyRuntime, ap *stuurmanv1.ActionProposal, w workload, now time.Time) string {
	if h := rt.engine.Policy().Hash(); ap.Spec.Decision.PolicyHash != h {
		return fmt.Sprintf("decided under policy %q, and the policy in force is %q: not applied; the next cycle proposes afresh", ap.Spec.Decision.PolicyHash, h)
	}
	d := decisionOf(ap, w)
	prop := d.Proposal
	prop.Action = d.Action
	st := policies.State{Workload: w.Workload, Replicas: int(ap.Spec.From), Ready: w.State.Ready, PDB: w.State.PDB}
	again := rt.engine.Decide(prop, st, now)
	if again.Verdict != policies.Deny && again.Action == d.Action {
		return ""
	}
	var why []string
	for _, rr := range again.Rules {
		if rr.Outcome != policies.Pass {
			why = append(why, rr.Rule+": "+rr.Reason)
		}
	}
	return fmt.Sprintf("the policy no longer allows %s as approved (now %s %s): %s",
		describeAction(d.Action), again.Verdict, describeAction(again.Action), strings.Join(why, "; "))
}

func describeAction(a agents.Action) string {
	if a.Kind == agents.ActionScale {
		return fmt.Sprintf("scale to %d", a.Replicas)
	}
	return string(a.Kind)
}

// decisionOf rebuilds the decision a proposal records.
func decisionOf(ap *stuurmanv1.ActionProposal, w workload) policies.Decision {
	s := ap.Spec
	return policies.Decision{
		Time: s.Decision.DecidedAt.Time,
		Proposal: agents.Proposal{
			Workload: w.Workload, Action: agentAction(s.Proposal.Action), From: int(s.From),
			Reason: s.Proposal.Reason, Confidence: s.Proposal.Confidence, Agent: s.Proposal.Agent, Fallback: s.Proposal.Fallback,
		},
		Verdict: policies.Verdict(s.Decision.Verdict), Action: agentAction(s.Action),
		MaxUnavailable: int(s.Decision.MaxUnavailable), PolicyHash: s.Decision.PolicyHash,
	}
}

func agentAction(a stuurmanv1.Action) agents.Action {
	switch a.Type {
	case stuurmanv1.ActionScale:
		n := 0
		if a.Replicas != nil {
			n = int(*a.Replicas)
		}
		return agents.Action{Kind: agents.ActionScale, Replicas: n}
	case stuurmanv1.ActionRestart:
		return agents.Action{Kind: agents.ActionRestart}
	}
	return agents.Action{Kind: agents.ActionHold}
}

func apiAction(a agents.Action) stuurmanv1.Action {
	switch a.Kind {
	case agents.ActionScale:
		n := int32(a.Replicas)
		return stuurmanv1.Action{Type: stuurmanv1.ActionScale, Replicas: &n}
	case agents.ActionRestart:
		return stuurmanv1.Action{Type: stuurmanv1.ActionRestart}
	}
	return stuurmanv1.Action{Type: stuurmanv1.ActionHold}
}

// event records an Event on the workload, related to the proposal.
func (r *Reconciler) event(w workload, ap *stuurmanv1.ActionProposal, typ, reason, action, note string, args ...any) {
	if r.opts.Events == nil {
		return
	}
	var related runtime.Object
	if ap != nil {
		related = ap
	}
	r.opts.Events.Eventf(w.Object, related, typ, reason, action, note, args...)
}

// proposalWriter is the controller's actuator in a target's pipeline: it
// records each actionable decision as an ActionProposal and, in mode Auto,
// applies the allowed ones through the Kubernetes actuator. begin sets the
// cycle it works for, end forgets it (the policy, the workload and the
// proposals of the cycle are not kept until the next).
type proposalWriter struct {
	r *Reconciler

	ctxWP     *stuurmanv1.WorkloadPolicy
	rt        *policyRuntime
	w         workload
	now       time.Time
	proposals []*stuurmanv1.ActionProposal
	last      string
}

var _ pipeline.Actuator = (*proposalWriter)(nil)

func (pw *proposalWriter) begin(wp *stuurmanv1.WorkloadPolicy, rt *policyRuntime, w workload, now time.Time, proposals []*stuurmanv1.ActionProposal) {
	pw.ctxWP, pw.rt, pw.w, pw.now, pw.proposals, pw.last = wp, rt, w, now, proposals, ""
}

func (pw *proposalWriter) end() {
	pw.ctxWP, pw.rt, pw.w, pw.now, pw.proposals, pw.last = nil, nil, workload{}, time.Time{}, nil, ""
}

// changes reports whether a decision's final action would change the
// workload (for any verdict but deny).
func changes(d policies.Decision) bool {
	a := d.Action
	return a.Kind != agents.ActionHold && !(a.Kind == agents.ActionScale && a.Replicas == d.Proposal.From)
}

// Apply records d: see proposalWriter.
func (pw *proposalWriter) Apply(ctx context.Context, d policies.Decision) (actuators.Result, error) {
	r, w, now := pw.r, pw.w, pw.now
	res := actuators.Result{Decision: d, Time: now, Actor: ActorAuto, Replicas: d.Proposal.From}
	denied := d.Verdict == policies.Deny
	switch {
	case d.Proposal.Action.Kind == agents.ActionHold:
		res.Message = "hold: nothing to do"
		return res, nil
	case !denied && !changes(d):
		res.Message = "hold: the policy leaves the workload as it is"
		return res, nil
	}

	// The same action from the same count as an open proposal, or as a
	// recent denial, adds nothing.
	var open []*stuurmanv1.ActionProposal
	for _, ap := range pw.proposals {
		if ap.Spec.Target.Name != w.Target.Name {
			continue
		}
		phase := phaseOf(ap)
		isOpen := phase == stuurmanv1.PhasePending || phase == stuurmanv1.PhaseApproved
		sameProposal := int(ap.Spec.From) == d.Proposal.From && agentAction(ap.Spec.Proposal.Action) == d.Proposal.Action
		sameFinal := int(ap.Spec.From) == d.Proposal.From && agentAction(ap.Spec.Action) == d.Action
		switch {
		case isOpen && (sameFinal || denied && sameProposal):
			res.Message = "already proposed as " + ap.Name
			pw.last = ap.Name
			return res, nil
		case denied && phase == stuurmanv1.PhaseDenied && sameProposal && now.Before(ap.Spec.ExpiresAt.Time):
			res.Message = "denied as before, in " + ap.Name
			return res, nil
		case isOpen && !denied && ap.Spec.Action.Type == apiAction(d.Action).Type:
			open = append(open, ap)
		}
	}

	ap, err := pw.build(d)
	if err != nil {
		return res, err
	}
	if err := r.client.Create(ctx, ap, client.FieldOwner(r.opts.FieldOwner)); err != nil {
		return res, fmt.Errorf("create ActionProposal %s: %w", ap.Name, err)
	}
	pw.proposals = append(pw.proposals, ap)
	pw.last = ap.Name
	for _, old := range open {
		if err := r.setPhase(ctx, old, stuurmanv1.PhaseExpired, now, "superseded by "+ap.Name); err != nil {
			return res, err
		}
	}

	mode := pw.rt.cfg.mode
	phase := stuurmanv1.PhasePending
	switch {
	case denied:
		phase = stuurmanv1.PhaseDenied
	case mode == stuurmanv1.ModeAuto && d.Verdict == policies.Allow:
		phase = stuurmanv1.PhaseApproved
		ap.Status.ApprovedBy = ActorAuto
		ap.Status.ApprovedAt = &metav1.Time{Time: now}
	}
	r.metrics.Proposals.WithLabelValues(string(phase)).Inc()
	msg := fmt.Sprintf("%s (%s)", describeDecision(d), reasonOf(d))
	switch {
	case denied:
		res.Message = "denied: " + msg
	case mode == stuurmanv1.ModeRecommend:
		dry, err := r.act.Execute(ctx, actuators.Request{Target: w.actuatorTarget(), Decision: d, Key: ap.Name, Related: ap, DryRun: true})
		cond := metav1.Condition{Type: stuurmanv1.ConditionDryRun, Status: metav1.ConditionTrue, Reason: "Accepted",
			Message: dry.Message, ObservedGeneration: ap.Generation, LastTransitionTime: metav1.NewTime(now)}
		if err != nil {
			cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, "Rejected", truncate(err.Error(), 1024)
		}
		meta.SetStatusCondition(&ap.Status.Conditions, cond)
		msg = "mode Recommend: " + msg
		res.Message = "recommended in " + ap.Name
		r.event(w, ap, corev1.EventTypeNormal, "ActionRecommended", string(ap.Spec.Action.Type), "stuurman %s: would %s; dry run: %s", ap.Name, msg, cond.Message)
	case phase == stuurmanv1.PhasePending:
		res.Message = "awaiting approval in " + ap.Name
		r.event(w, ap, corev1.EventTypeNormal, "ApprovalRequested", string(ap.Spec.Action.Type), "stuurman %s: %s awaits approval", ap.Name, msg)
	}
	if err := r.setPhase(ctx, ap, phase, now, msg); err != nil {
		return res, err
	}
	if phase != stuurmanv1.PhaseApproved {
		return res, nil
	}
	if err := r.applyProposal(ctx, ap, w, now); err != nil {
		return res, err
	}
	res.Applied = phaseOf(ap) == stuurmanv1.PhaseApplied
	res.Message = ap.Status.Message
	if ap.Status.Replicas != nil {
		res.Replicas = int(*ap.Status.Replicas)
	}
	return res, nil
}

// reasonOf is the decision's most telling reason: the rule that denied,
// clamped or escalated, or the agent's reason.
func reasonOf(d policies.Decision) string {
	for i := len(d.Rules) - 1; i >= 0; i-- {
		if d.Rules[i].Outcome != policies.Pass {
			return d.Rules[i].Rule + ": " + d.Rules[i].Reason
		}
	}
	return d.Proposal.Reason
}

// build returns the ActionProposal recording d.
func (pw *proposalWriter) build(d policies.Decision) (*stuurmanv1.ActionProposal, error) {
	wp, w, now := pw.ctxWP, pw.w, pw.now
	ev := map[string]string{}
	for k, v := range d.Proposal.Evidence {
		ev[k] = strconv.FormatFloat(v, 'g', 6, 64)
	}
	if len(ev) == 0 {
		ev = nil
	}
	conf := d.Proposal.Confidence
	if math.IsNaN(conf) {
		conf = 0
	}
	rules := make([]stuurmanv1.RuleResult, len(d.Rules))
	for i, rr := range d.Rules {
		rules[i] = stuurmanv1.RuleResult{Rule: rr.Rule, Outcome: string(rr.Outcome), Reason: rr.Reason}
	}
	ap := &stuurmanv1.ActionProposal{
		ObjectMeta: metav1.ObjectMeta{
			Name: proposalName(wp, w.Target, d, now), Namespace: wp.Namespace,
			Labels: map[string]string{LabelPolicy: labelValue(wp.Name), LabelTarget: labelValue(w.Target.Name)},
		},
		Spec: stuurmanv1.ActionProposalSpec{
			PolicyName: wp.Name,
			Target:     stuurmanv1.TargetRef{APIVersion: w.Target.APIVersion, Kind: w.Target.Kind, Name: w.Target.Name},
			Action:     apiAction(d.Action),
			From:       int32(d.Proposal.From),
			Mode:       pw.rt.cfg.mode,
			Proposal: stuurmanv1.AgentProposal{
				Action: apiAction(d.Proposal.Action), Reason: d.Proposal.Reason, Evidence: ev,
				Confidence: min(max(conf, 0), 1), Agent: d.Proposal.Agent, Fallback: d.Proposal.Fallback,
			},
			Decision: stuurmanv1.PolicyDecision{
				Verdict: stuurmanv1.Verdict(d.Verdict), Rules: rules, PolicyHash: d.PolicyHash,
				MaxUnavailable: int32(d.MaxUnavailable), DecidedAt: metav1.Time{Time: now},
			},
			ExpiresAt: metav1.Time{Time: now.Add(pw.rt.cfg.ttl)},
		},
	}
	if err := controllerutil.SetControllerReference(wp, ap, pw.r.client.Scheme()); err != nil {
		return nil, err
	}
	return ap, nil
}

// proposalName is "<policy>-<target>-<hash>": the hash of the policy's
// UID, the target, the action and the cycle's time.
func proposalName(wp *stuurmanv1.WorkloadPolicy, t Target, d policies.Decision, now time.Time) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s|%s|%s|%d|%d|%d", wp.UID, t, d.Proposal.Action.Kind, d.Proposal.Action.Replicas, d.Proposal.From, now.UnixNano())
	base := wp.Name + "-" + t.Name
	if len(base) > 200 {
		base = strings.TrimRight(base[:200], "-.")
	}
	return fmt.Sprintf("%s-%08x", base, h.Sum32())
}

// labelValue returns s when it is a valid label value, else a digest of it.
func labelValue(s string) string {
	if len(validation.IsValidLabelValue(s)) == 0 {
		return s
	}
	h := fnv.New64a()
	h.Write([]byte(s))
	return fmt.Sprintf("h-%016x", h.Sum64())
}
