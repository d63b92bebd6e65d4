package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ActionType names an action on a workload.
// +kubebuilder:validation:Enum=Scale;Restart;Hold
type ActionType string

// The action types.
const (
	// ActionScale sets the workload's replica count (or, when an HPA
	// scales it, the HPA's minReplicas floor) to Replicas.
	ActionScale ActionType = "Scale"
	// ActionRestart performs a rolling restart through the pod template.
	ActionRestart ActionType = "Restart"
	// ActionHold changes nothing.
	ActionHold ActionType = "Hold"
)

// Action is what should happen to a workload.
type Action struct {
	// Type of the action.
	Type ActionType `json:"type"`
	// Replicas is the target replica count of a Scale.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`
}

// AgentProposal is what the agent proposed, before the policy engine.
type AgentProposal struct {
	// Action is the action the agent asked for.
	Action Action `json:"action"`
	// Reason is the agent's explanation, to be checked against Evidence.
	Reason string `json:"reason"`
	// Evidence holds the numbers the reason rests on, formatted.
	// +optional
	Evidence map[string]string `json:"evidence,omitempty"`
	// Confidence in [0,1]: how much the agent trusts its own proposal.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1
	Confidence float64 `json:"confidence"`
	// Agent names the agent that made the proposal.
	Agent string `json:"agent"`
	// Fallback, when set, says why a fallback agent made the proposal.
	// +optional
	Fallback string `json:"fallback,omitempty"`
}

// Verdict is the policy engine's answer.
// +kubebuilder:validation:Enum=allow;deny;needs_approval
type Verdict string

// RuleResult is one policy rule's verdict on the proposal.
type RuleResult struct {
	// Rule names the rule, e.g. "bounds" or "scaleUp.cooldown".
	Rule string `json:"rule"`
	// Outcome: pass, clamp, deny or needs_approval.
	Outcome string `json:"outcome"`
	// Reason is the rule's explanation.
	Reason string `json:"reason"`
}

// PolicyDecision is the policy engine's decision on the proposal.
type PolicyDecision struct {
	// Verdict: allow, deny or needs_approval.
	Verdict Verdict `json:"verdict"`
	// Rules are every rule's results, in the order they ran.
	// +optional
	Rules []RuleResult `json:"rules,omitempty"`
	// PolicyHash identifies the policy the decision was made under.
	PolicyHash string `json:"policyHash"`
	// MaxUnavailable is, for a restart, how many pods may be unavailable
	// at once while it rolls.
	// +optional
	MaxUnavailable int32 `json:"maxUnavailable,omitempty"`
	// DecidedAt is when the engine decided.
	DecidedAt metav1.Time `json:"decidedAt"`
}

// ActionProposalSpec is one proposed action on one workload and the
// decision on it. The controller writes it once; the status carries the
// lifecycle.
type ActionProposalSpec struct {
	// PolicyName is the WorkloadPolicy, in the same namespace, that made
	// the proposal.
	PolicyName string `json:"policyName"`
	// Target is the workload the action is for.
	Target TargetRef `json:"target"`
	// Action is the final action, after the policy engine's clamping: what
	// is applied once the proposal is approved.
	Action Action `json:"action"`
	// From is the workload's replica count when the action was proposed.
	// +kubebuilder:validation:Minimum=0
	From int32 `json:"from"`
	// Mode is the policy's mode when the proposal was made.
	Mode Mode `json:"mode"`
	// Proposal is what the agent proposed.
	Proposal AgentProposal `json:"proposal"`
	// Decision is the policy engine's decision.
	Decision PolicyDecision `json:"decision"`
	// ExpiresAt: a proposal still Pending or Approved (not applied) at
	// this time becomes Expired.
	ExpiresAt metav1.Time `json:"expiresAt"`
}

// Phase is where a proposal is in its lifecycle:
//
//	Pending ─▶ Approved ─▶ Applied | Failed
//	   │  └──▶ Rejected
//	   └─────▶ Expired   (also from Approved, if not applied in time)
//	Denied               (the policy engine denied it: record only)
//
// +kubebuilder:validation:Enum=Pending;Approved;Rejected;Expired;Applied;Failed;Denied
type Phase string

// The phases.
const (
	PhasePending  Phase = "Pending"
	PhaseApproved Phase = "Approved"
	PhaseRejected Phase = "Rejected"
	PhaseExpired  Phase = "Expired"
	PhaseApplied  Phase = "Applied"
	PhaseFailed   Phase = "Failed"
	PhaseDenied   Phase = "Denied"
)

// Terminal reports whether p is a final phase.
func (p Phase) Terminal() bool {
	switch p {
	case PhaseRejected, PhaseExpired, PhaseApplied, PhaseFailed, PhaseDenied:
		return true
	}
	return false
}

// The condition types of an ActionProposal.
const (
	// ConditionDryRun: the API server accepted (True) or rejected (False)
	// a server-side dry run of the action, in mode Recommend.
	ConditionDryRun = "DryRunAccepted"
)

// ActionProposalStatus is the proposal's lifecycle. A human (or the Slack
// flow) approves a Pending proposal by setting phase Approved with
// approvedBy and approvedAt, or rejects it with phase Rejected.
type ActionProposalStatus struct {
	// Phase: Pending, Approved, Rejected, Expired, Applied, Failed, Denied.
	// Empty means Pending.
	// +optional
	Phase Phase `json:"phase,omitempty"`
	// ApprovedBy is who approved (or rejected) the proposal, as verified:
	// "slack:U0123456789 (k8s: alice)" from Slack, "kube:alice" from
	// stuurman approve, "stuurman" when the policy allowed it in mode Auto.
	// +optional
	ApprovedBy string `json:"approvedBy,omitempty"`
	// ApprovedAt is when it was approved or rejected.
	// +optional
	ApprovedAt *metav1.Time `json:"approvedAt,omitempty"`
	// AppliedAt is when it was applied (or failed).
	// +optional
	AppliedAt *metav1.Time `json:"appliedAt,omitempty"`
	// Replicas is the workload's replica count (or HPA floor) after the
	// action was applied.
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`
	// Message says what happened, for humans.
	// +optional
	Message string `json:"message,omitempty"`
	// ObservedGeneration is the generation the status was written for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: DryRunAccepted.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// Slack is the approval request posted in Slack for the proposal: a
	// restarted controller updates this message instead of posting again.
	// +optional
	Slack *SlackMessage `json:"slack,omitempty"`
}

// SlackMessage identifies the Slack message that asked for approval.
type SlackMessage struct {
	// Channel is the ID of the channel the message is in.
	Channel string `json:"channel"`
	// TS is the message's timestamp, its ID within the channel.
	TS string `json:"ts"`
	// Phase is the proposal's phase the message last showed.
	// +optional
	Phase Phase `json:"phase,omitempty"`
}

// ActionProposal is one action the controller proposed for one workload,
// the policy engine's decision on it, and its lifecycle.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ap,categories=stuurman
// +kubebuilder:printcolumn:name="Target",type=string,JSONPath=`.spec.target.name`
// +kubebuilder:printcolumn:name="Action",type=string,JSONPath=`.spec.action.type`
// +kubebuilder:printcolumn:name="From",type=integer,JSONPath=`.spec.from`
// +kubebuilder:printcolumn:name="To",type=integer,JSONPath=`.spec.action.replicas`
// +kubebuilder:printcolumn:name="Verdict",type=string,JSONPath=`.spec.decision.verdict`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Expires",type=date,JSONPath=`.spec.expiresAt`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ActionProposal struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ActionProposalSpec   `json:"spec"`
	Status ActionProposalStatus `json:"status,omitempty"`
}

// ActionProposalList is a list of ActionProposals.
//
// +kubebuilder:object:root=true
type ActionProposalList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ActionProposal `json:"items"`
}
