package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/stuurman/stuurman/policies"
)

// Mode says how far the controller may go for a WorkloadPolicy.
// +kubebuilder:validation:Enum=Off;Recommend;Approve;Auto
type Mode string

// The modes, from the most careful to the most autonomous.
const (
	// ModeOff: the controller does nothing for the policy.
	ModeOff Mode = "Off"
	// ModeRecommend: the controller runs its cycles and records
	// ActionProposals and Events, and proves each action would be accepted
	// with a server-side dry run, but changes no workload.
	ModeRecommend Mode = "Recommend"
	// ModeApprove: every action waits in an ActionProposal (phase Pending)
	// until a human approves it; the controller then applies it.
	ModeApprove Mode = "Approve"
	// ModeAuto: actions the policy allows are applied at once (and recorded
	// as ActionProposals in phase Applied); those the policy says need
	// approval wait in Pending as in ModeApprove.
	ModeAuto Mode = "Auto"
)

// WorkloadPolicySpec says which workloads stuurman steers and how.
// +kubebuilder:validation:XValidation:rule="has(self.targetRef) != has(self.selector)",message="exactly one of targetRef and selector must be set"
type WorkloadPolicySpec struct {
	// TargetRef names the one workload this policy steers, in the policy's
	// namespace. Exactly one of targetRef and selector is set.
	// +optional
	TargetRef *TargetRef `json:"targetRef,omitempty"`
	// Selector selects the workloads of one kind, in the policy's
	// namespace, by label. Exactly one of targetRef and selector is set.
	// +optional
	Selector *TargetSelector `json:"selector,omitempty"`

	// Metric is the demand the forecasts are made on.
	Metric MetricSpec `json:"metric"`
	// CapacityPerPod is the demand (in the metric's unit) one ready pod
	// serves within its SLO.
	CapacityPerPod resource.Quantity `json:"capacityPerPod"`
	// LeadTime is how far ahead capacity is provisioned: a new pod's time
	// to ready plus the interval. Default: 2m + interval.
	// +optional
	LeadTime *metav1.Duration `json:"leadTime,omitempty"`
	// Interval is the time between two control cycles. Default 1m.
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`
	// Mode says how far the controller may go. Default Recommend.
	// +kubebuilder:default=Recommend
	// +optional
	Mode Mode `json:"mode,omitempty"`
	// Policy gates every proposal: the same fields as a stuurman policy
	// file (see docs/policy.md).
	Policy policies.Policy `json:"policy"`
	// Agent is the agent that proposes actions. Default: the heuristic
	// agent.
	// +optional
	Agent AgentSpec `json:"agent,omitempty"`
	// ProposalTTL is how long an ActionProposal waits for approval (and an
	// approved one for being applied) before it expires. Default 15m.
	// +optional
	ProposalTTL *metav1.Duration `json:"proposalTTL,omitempty"`
	// Approval says where the policy's proposals are put to humans and
	// who may approve them there. Without it, no one may approve in
	// Slack; approving through the API (kubectl, stuurman approve) is
	// governed by RBAC alone.
	// +optional
	Approval *ApprovalSpec `json:"approval,omitempty"`
}

// ApprovalSpec says where proposals that need approval are put to humans
// and who may approve them.
type ApprovalSpec struct {
	// Slack asks for approval in a Slack channel, with Approve and Reject
	// buttons (see docs/slack.md).
	// +optional
	Slack *SlackApproval `json:"slack,omitempty"`
}

// SlackApproval configures approval requests in Slack. A Slack user may
// approve or reject when listed in users or a member of one of userGroups
// and, when kubernetesUsers is set, when mapped there to a Kubernetes user
// who may update the workload's scale subresource (a
// SubjectAccessReview). Everyone else is told so and nothing changes.
type SlackApproval struct {
	// Channel is the ID of the Slack channel the requests are posted to
	// (e.g. C0123456789). Default: the controller's --slack-channel.
	// +optional
	Channel string `json:"channel,omitempty"`
	// Users are the Slack user IDs (e.g. U0123456789) who may approve.
	// +listType=set
	// +optional
	Users []string `json:"users,omitempty"`
	// UserGroups are Slack user group IDs (e.g. S0123456789) whose
	// members may approve; membership is read from Slack
	// (usergroups.users.list) and cached for a minute.
	// +listType=set
	// +optional
	UserGroups []string `json:"userGroups,omitempty"`
	// KubernetesUsers maps Slack user IDs to Kubernetes user names. When
	// set, an approver must be mapped, and the Kubernetes user must be
	// allowed to update the workload's scale subresource in the policy's
	// namespace, as a SubjectAccessReview answers (the user's groups are
	// not known: bind the user directly).
	// +optional
	KubernetesUsers map[string]string `json:"kubernetesUsers,omitempty"`
}

// TargetRef names a workload: a Deployment, a StatefulSet, or any resource
// with a /scale subresource.
type TargetRef struct {
	// APIVersion of the workload, e.g. "apps/v1".
	// +kubebuilder:validation:MinLength=1
	APIVersion string `json:"apiVersion"`
	// Kind of the workload, e.g. "Deployment".
	// +kubebuilder:validation:MinLength=1
	Kind string `json:"kind"`
	// Name of the workload.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// TargetSelector selects the workloads of one kind by label.
type TargetSelector struct {
	// APIVersion of the workloads, e.g. "apps/v1".
	// +kubebuilder:validation:MinLength=1
	APIVersion string `json:"apiVersion"`
	// Kind of the workloads, e.g. "Deployment".
	// +kubebuilder:validation:MinLength=1
	Kind string `json:"kind"`
	// The label selector (matchLabels, matchExpressions). An empty
	// selector selects every workload of the kind in the namespace.
	metav1.LabelSelector `json:",inline"`
}

// ResourceMetric names a resource metric.
// +kubebuilder:validation:Enum=cpu;memory
type ResourceMetric string

// The resource metrics.
const (
	ResourceCPU    ResourceMetric = "cpu"
	ResourceMemory ResourceMetric = "memory"
)

// MetricSpec is the demand metric: a PromQL template or a resource metric.
// +kubebuilder:validation:XValidation:rule="has(self.query) != has(self.resource)",message="exactly one of query and resource must be set"
type MetricSpec struct {
	// Query is a PromQL template read for all the policy's targets in one
	// range query. It is a Go text/template over {{.Namespaces}} and
	// {{.Names}} (regular expressions matching the targets' namespace and
	// names), {{.Pods}} (matching their pods' names, capturing the
	// target's name as $1), {{.RateWindow}} and {{.Step}}; its result must
	// have one series per target, labelled namespace and WorkloadLabel:
	//   sum by (namespace, deployment) (rate(http_requests_total{namespace=~"{{.Namespaces}}", deployment=~"{{.Names}}"}[{{.RateWindow}}]))
	// +optional
	Query string `json:"query,omitempty"`
	// WorkloadLabel is the label of Query's result that holds the
	// target's name. Default "workload".
	// +optional
	WorkloadLabel string `json:"workloadLabel,omitempty"`
	// Resource is a resource metric instead of a query: the usage of the
	// target's pods, summed (cpu: cores; memory: working-set bytes).
	// +optional
	Resource ResourceMetric `json:"resource,omitempty"`
	// Step is the spacing of the demand samples. Default 1m.
	// +optional
	Step *metav1.Duration `json:"step,omitempty"`
	// History is how much past demand the forecasts rest on. Default 168h
	// (a week).
	// +optional
	History *metav1.Duration `json:"history,omitempty"`
}

// AgentName names an agent.
// +kubebuilder:validation:Enum=heuristic;openai;langchain
type AgentName string

// The agents.
const (
	AgentHeuristic AgentName = "heuristic"
	AgentOpenAI    AgentName = "openai"
	AgentLangChain AgentName = "langchain"
)

// AgentSpec selects and tunes the agent.
type AgentSpec struct {
	// Name of the agent. Default heuristic.
	// +kubebuilder:default=heuristic
	// +optional
	Name AgentName `json:"name,omitempty"`
	// Options tune the agent; unknown options are errors. The heuristic
	// agent's: reactiveUtilization, maxMASE, scaleDownTolerance (numbers),
	// minHistory (samples), restartWithin (a duration).
	// +optional
	Options map[string]string `json:"options,omitempty"`
}

// The condition types of a WorkloadPolicy.
const (
	// ConditionReady: the spec is valid and its targets were found.
	ConditionReady = "Ready"
	// ConditionMetricsAvailable: every target's demand is fresh. When it
	// is False (reasons ReasonStaleMetrics, ReasonNoData,
	// ReasonQueryFailed) the controller holds: it proposes nothing, and
	// so never scales down on missing data.
	ConditionMetricsAvailable = "MetricsAvailable"
	// ConditionActing: the controller may change workloads (mode Approve
	// or Auto, the spec ready, metrics available).
	ConditionActing = "Acting"
)

// Condition reasons.
const (
	ReasonReconciled       = "Reconciled"
	ReasonInvalidSpec      = "InvalidSpec"
	ReasonNoTargets        = "NoTargets"
	ReasonAgentUnavailable = "AgentUnavailable"
	ReasonFresh            = "Fresh"
	ReasonStaleMetrics     = "StaleMetrics"
	ReasonNoData           = "NoData"
	ReasonQueryFailed      = "QueryFailed"
	ReasonModeOff          = "Off"
	ReasonRecommendOnly    = "RecommendOnly"
	ReasonAwaitingApproval = "ApprovalRequired"
	ReasonAutomatic        = "Automatic"
	ReasonHolding          = "Holding"
)

// WorkloadPolicyStatus is what the controller observed and did.
type WorkloadPolicyStatus struct {
	// ObservedGeneration is the generation of the spec last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Ready, MetricsAvailable, Acting.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// LastCycleTime is when the last control cycle ran.
	// +optional
	LastCycleTime *metav1.Time `json:"lastCycleTime,omitempty"`
	// PolicyHash is the hash of the policy (defaults applied) the
	// decisions were made under.
	// +optional
	PolicyHash string `json:"policyHash,omitempty"`
	// TargetCount is how many workloads the policy steers.
	// +optional
	TargetCount int32 `json:"targetCount,omitempty"`
	// Targets summarises each target's last cycle.
	// +listType=map
	// +listMapKey=name
	// +optional
	Targets []TargetStatus `json:"targets,omitempty"`
}

// TargetStatus is one target's state at the last cycle.
type TargetStatus struct {
	// Name of the workload.
	Name string `json:"name"`
	// Replicas is the workload's desired replica count.
	Replicas int32 `json:"replicas"`
	// ReadyReplicas is how many of its pods were ready.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
	// HPA names the HorizontalPodAutoscaler that scales the workload, if
	// any: stuurman then moves its minReplicas floor instead of the
	// workload's replicas.
	// +optional
	HPA string `json:"hpa,omitempty"`
	// LastSampleTime is the time of the newest demand sample.
	// +optional
	LastSampleTime *metav1.Time `json:"lastSampleTime,omitempty"`
	// ForecastUpper is the forecast's upper bound over the lead time.
	// +optional
	ForecastUpper *resource.Quantity `json:"forecastUpper,omitempty"`
	// ForecastModel names the model the forecast came from.
	// +optional
	ForecastModel string `json:"forecastModel,omitempty"`
	// LastDecision summarises the last decision, e.g. "allow: scale 2 → 5".
	// +optional
	LastDecision string `json:"lastDecision,omitempty"`
	// LastProposal names the last ActionProposal made for the target.
	// +optional
	LastProposal string `json:"lastProposal,omitempty"`
	// Holding, when set, says why the last cycle held without deciding.
	// +optional
	Holding string `json:"holding,omitempty"`
}

// WorkloadPolicy tells stuurman to steer workloads: forecast their demand,
// propose actions with an agent, gate them with a policy, and act as far
// as the mode allows.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=wp,categories=stuurman
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
// +kubebuilder:printcolumn:name="Targets",type=integer,JSONPath=`.status.targetCount`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Metrics",type=string,JSONPath=`.status.conditions[?(@.type=="MetricsAvailable")].reason`
// +kubebuilder:printcolumn:name="Last cycle",type=date,JSONPath=`.status.lastCycleTime`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type WorkloadPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   WorkloadPolicySpec   `json:"spec"`
	Status WorkloadPolicyStatus `json:"status,omitempty"`
}

// WorkloadPolicyList is a list of WorkloadPolicies.
//
// +kubebuilder:object:root=true
type WorkloadPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []WorkloadPolicy `json:"items"`
}
