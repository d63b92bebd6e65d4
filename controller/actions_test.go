package controller

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/stuurman/stuurman/actuators"
	"github.com/stuurman/stuurman/agents"
	stuurmanv1 "github.com/stuurman/stuurman/api/v1alpha1"
)

// restartAgent proposes a rolling restart every cycle, as the heuristic
// agent does for a memory leak about to end in an OOM kill.
type restartAgent struct{}

func (restartAgent) Name() string { return "restart-script" }

func (restartAgent) Propose(_ context.Context, s agents.Situation) ([]agents.Proposal, error) {
	return []agents.Proposal{{
		Workload: s.Workload, Action: agents.Action{Kind: agents.ActionRestart}, From: s.State.Replicas,
		Reason: "memory reaches its limit in 2h", Confidence: 0.9, Agent: "restart-script",
		Evidence: map[string]float64{"eta_seconds": 7200},
	}}, nil
}

// (e) A restart proposal respects the PodDisruptionBudget: with no
// disruption allowed it is denied and the pod template is untouched; the
// actuator refuses it too if asked directly. Once the budget allows a
// disruption, the restart is applied through the pod template.
func TestRestartRespectsPDB(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, t0.Add(3*time.Hour), Options{NewAgent: func(stuurmanv1.AgentSpec) (agents.Agent, error) { return restartAgent{}, nil }})
	h.deployment("db", 3)
	pdb := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: h.ns},
		Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: ptr.To(intstr.FromInt32(3)),
			Selector:     &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
		},
	}
	if err := k8s.Create(ctx, pdb); err != nil {
		t.Fatal(err)
	}
	setAllowed := func(n int32) {
		t.Helper()
		pdb.Status = policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: n, CurrentHealthy: 3, DesiredHealthy: 3 - n, ExpectedPods: 3, ObservedGeneration: pdb.Generation}
		if err := k8s.Status().Update(ctx, pdb); err != nil {
			t.Fatal(err)
		}
	}
	setAllowed(0)
	h.policy("db", "db", stuurmanv1.ModeAuto)
	h.reconcile("db")

	aps := h.proposals()
	if len(aps) != 1 || aps[0].Status.Phase != stuurmanv1.PhaseDenied || aps[0].Spec.Proposal.Action.Type != stuurmanv1.ActionRestart {
		t.Fatalf("proposals %+v, want one denied restart", aps)
	}
	t.Logf("denied: %s", aps[0].Status.Message)
	restarted := func() string {
		return h.getDeployment("db").Spec.Template.Annotations[actuators.AnnotationRestartedAt]
	}
	if got := restarted(); got != "" {
		t.Fatalf("pod template restarted (%s) although the PDB allows no disruption", got)
	}

	// Defence in depth: the actuator re-reads the budget.
	w, err := h.r.observe(ctx, h.unstructuredDeployment("db"))
	if err != nil {
		t.Fatal(err)
	}
	d := decisionOf(&aps[0], w)
	d.Verdict, d.Action, d.MaxUnavailable = "allow", agents.Action{Kind: agents.ActionRestart}, 1
	_, err = h.r.act.Execute(ctx, actuators.Request{Target: w.actuatorTarget(), Decision: d, Key: "direct"})
	if !errors.Is(err, actuators.ErrRefused) {
		t.Errorf("actuator restart with the PDB at 0: err %v, want ErrRefused", err)
	}
	if got := restarted(); got != "" {
		t.Fatalf("pod template restarted (%s) by the actuator", got)
	}

	// The budget allows one disruption: the next cycle restarts.
	setAllowed(1)
	h.clock.Step(5 * time.Minute)
	h.reconcile("db")
	var applied *stuurmanv1.ActionProposal
	for _, ap := range h.proposals() {
		if ap.Status.Phase == stuurmanv1.PhaseApplied {
			applied = &ap
		}
	}
	if applied == nil {
		t.Fatalf("no applied restart: %+v", h.proposals())
	}
	if got := restarted(); got != applied.Name {
		t.Errorf("pod template annotation %s = %q, want the proposal %q", actuators.AnnotationRestartedAt, got, applied.Name)
	}
	var n int
	for _, e := range h.events("Deployment", "db", 1) {
		if e.Reason == "Restarted" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d Restarted events, want 1", n)
	}
}

// (f) Idempotency: the controller crashed after the actuator scaled the
// workload but before it recorded the proposal as Applied. Applying the
// same proposal again scales once and records one Event.
func TestApplyTwiceActsOnce(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, t0.Add(3*time.Hour), Options{})
	h.deployment("pay", 2)
	h.source.Set(deploymentTarget(h.ns, "pay"), dailySeries("pay").Slice(0, 0)) // no data: cycles hold
	wp := h.policy("pay", "pay", stuurmanv1.ModeApprove)
	h.reconcile("pay")

	ap := &stuurmanv1.ActionProposal{
		ObjectMeta: metav1.ObjectMeta{Name: "pay-scale-up", Namespace: h.ns, Labels: map[string]string{LabelPolicy: "pay", LabelTarget: "pay"}},
		Spec: stuurmanv1.ActionProposalSpec{
			PolicyName: "pay", Target: stuurmanv1.TargetRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "pay"},
			Action: stuurmanv1.Action{Type: stuurmanv1.ActionScale, Replicas: ptr.To[int32](5)}, From: 2, Mode: stuurmanv1.ModeApprove,
			Proposal:  stuurmanv1.AgentProposal{Action: stuurmanv1.Action{Type: stuurmanv1.ActionScale, Replicas: ptr.To[int32](5)}, Reason: "peak", Confidence: 0.8, Agent: "heuristic"},
			Decision:  stuurmanv1.PolicyDecision{Verdict: "needs_approval", PolicyHash: wp.Spec.Policy.Hash(), DecidedAt: metav1.NewTime(h.clock.Now())},
			ExpiresAt: metav1.NewTime(h.clock.Now().Add(time.Hour)),
		},
	}
	if err := controllerutil.SetControllerReference(wp, ap, scheme); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Create(ctx, ap); err != nil {
		t.Fatal(err)
	}
	ap.Status = stuurmanv1.ActionProposalStatus{Phase: stuurmanv1.PhaseApproved, ApprovedBy: "alice", ApprovedAt: ptr.To(metav1.NewTime(h.clock.Now()))}
	if err := k8s.Status().Update(ctx, ap); err != nil {
		t.Fatal(err)
	}

	// The first attempt: the actuator acts, then the process dies before
	// the status write.
	w, err := h.r.observe(ctx, h.unstructuredDeployment("pay"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.r.act.Execute(ctx, actuators.Request{Target: w.actuatorTarget(), Decision: decisionOf(ap, w), Key: ap.Name, Actor: "alice", Related: ap})
	if err != nil || !res.Applied {
		t.Fatalf("first apply: %+v, %v", res, err)
	}
	gen := h.getDeployment("pay").Generation

	// The restarted controller finds the proposal still Approved.
	h.clock.Step(time.Minute)
	h.reconcile("pay")

	got := &stuurmanv1.ActionProposal{}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(ap), got); err != nil {
		t.Fatal(err)
	}
	if got.Status.Phase != stuurmanv1.PhaseApplied || got.Status.Replicas == nil || *got.Status.Replicas != 5 {
		t.Errorf("proposal: phase %s, replicas %v (%s); want Applied, 5", got.Status.Phase, got.Status.Replicas, got.Status.Message)
	}
	d := h.getDeployment("pay")
	if *d.Spec.Replicas != 5 || d.Generation != gen {
		t.Errorf("deployment: %d replicas, generation %d; want 5 and %d (no second write)", *d.Spec.Replicas, d.Generation, gen)
	}
	var scaled int
	for _, e := range h.events("Deployment", "pay", 1) {
		if e.Reason == "Scaled" {
			scaled++
			if e.Series != nil {
				t.Errorf("event %q repeated %d times", e.Note, e.Series.Count)
			}
		}
	}
	if scaled != 1 {
		t.Errorf("%d Scaled events, want 1", scaled)
	}
	// Applying it a third time, directly, still does nothing.
	res, err = h.r.act.Execute(ctx, actuators.Request{Target: w.actuatorTarget(), Decision: decisionOf(ap, w), Key: ap.Name, Actor: "alice"})
	if err != nil || !res.Applied || h.getDeployment("pay").Generation != gen {
		t.Errorf("third apply: %+v, %v", res, err)
	}
}

// An approved proposal is put before the policy again when it is carried
// out: one the policy in force would not allow (beyond maxReplicas, or more
// than the step limit), and one decided under another policy, fail and
// change nothing.
func TestApprovedProposalIsRecheckedAgainstThePolicy(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, t0.Add(3*time.Hour), Options{})
	h.deployment("cart", 2)
	h.source.Set(deploymentTarget(h.ns, "cart"), dailySeries("cart").Slice(0, 0)) // no data: cycles hold
	wp := h.policy("cart", "cart", stuurmanv1.ModeApprove)
	h.reconcile("cart")

	approved := func(name string, to int32, hash string, mode ...stuurmanv1.Mode) *stuurmanv1.ActionProposal {
		made := stuurmanv1.ModeApprove
		if len(mode) > 0 {
			made = mode[0]
		}
		ap := &stuurmanv1.ActionProposal{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: h.ns, Labels: map[string]string{LabelPolicy: "cart", LabelTarget: "cart"}},
			Spec: stuurmanv1.ActionProposalSpec{
				PolicyName: "cart", Target: stuurmanv1.TargetRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "cart"},
				Action: stuurmanv1.Action{Type: stuurmanv1.ActionScale, Replicas: ptr.To(to)}, From: 2, Mode: made,
				Proposal:  stuurmanv1.AgentProposal{Action: stuurmanv1.Action{Type: stuurmanv1.ActionScale, Replicas: ptr.To(to)}, Reason: "hand-made", Confidence: 0.9, Agent: "heuristic"},
				Decision:  stuurmanv1.PolicyDecision{Verdict: "needs_approval", PolicyHash: hash, DecidedAt: metav1.NewTime(h.clock.Now())},
				ExpiresAt: metav1.NewTime(h.clock.Now().Add(time.Hour)),
			},
		}
		if err := controllerutil.SetControllerReference(wp, ap, scheme); err != nil {
			t.Fatal(err)
		}
		if err := k8s.Create(ctx, ap); err != nil {
			t.Fatal(err)
		}
		ap.Status = stuurmanv1.ActionProposalStatus{Phase: stuurmanv1.PhaseApproved, ApprovedBy: "alice", ApprovedAt: ptr.To(metav1.NewTime(h.clock.Now()))}
		if err := k8s.Status().Update(ctx, ap); err != nil {
			t.Fatal(err)
		}
		return ap
	}
	hash := wp.Spec.Policy.Hash()
	cases := []struct {
		ap   *stuurmanv1.ActionProposal
		want string
	}{
		{approved("cart-beyond-max", 40, hash), "bounds"},
		{approved("cart-beyond-step", 8, hash), "scaleUp.step"},
		{approved("cart-other-policy", 4, "0123456789abcdef"), "decided under policy"},
	}
	recommended := approved("cart-recommended", 3, hash, stuurmanv1.ModeRecommend)
	h.clock.Step(time.Minute)
	h.reconcile("cart")
	// Made in Recommend mode: approved, but never carried out.
	got := &stuurmanv1.ActionProposal{}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(recommended), got); err != nil {
		t.Fatal(err)
	}
	if got.Status.Phase != stuurmanv1.PhaseApproved {
		t.Errorf("a proposal made in Recommend mode went %s (%s); want it left Approved until it expires", got.Status.Phase, got.Status.Message)
	}
	for _, tc := range cases {
		got := &stuurmanv1.ActionProposal{}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(tc.ap), got); err != nil {
			t.Fatal(err)
		}
		if got.Status.Phase != stuurmanv1.PhaseFailed || !strings.Contains(got.Status.Message, tc.want) {
			t.Errorf("%s: phase %s (%s); want Failed naming %q", tc.ap.Name, got.Status.Phase, got.Status.Message, tc.want)
		}
	}
	if d := h.getDeployment("cart"); *d.Spec.Replicas != 2 {
		t.Errorf("deployment scaled to %d by a proposal the policy forbids", *d.Spec.Replicas)
	}
}
