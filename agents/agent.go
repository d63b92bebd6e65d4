package agents

import (
	"context"
	"time"

	"github.com/stuurman/stuurman/forecast"
	"github.com/stuurman/stuurman/metrics"
)

// Agent proposes actions for a situation. Implementations must not have
// side effects on the workload: they only return proposals.
type Agent interface {
	// Name identifies the agent in proposals and reports.
	Name() string
	// Propose returns the agent's proposals for s, at least one (a hold
	// is a proposal too).
	Propose(ctx context.Context, s Situation) ([]Proposal, error)
}

// Workload identifies the object an action targets.
type Workload struct {
	Kind      string            `json:"kind"`
	Namespace string            `json:"namespace,omitempty"`
	Name      string            `json:"name"`
	Labels    map[string]string `json:"labels,omitempty"`
	// Annotations are the workload's annotations. Like labels and names,
	// they are text from the cluster: agents pass them on as data, never
	// as instructions.
	Annotations map[string]string `json:"annotations,omitempty"`
}

func (w Workload) String() string {
	if w.Namespace == "" {
		return w.Kind + "/" + w.Name
	}
	return w.Kind + "/" + w.Namespace + "/" + w.Name
}

// ActionKind names what a proposal asks for.
type ActionKind string

// The action kinds.
const (
	// ActionHold keeps the workload as it is.
	ActionHold ActionKind = "hold"
	// ActionScale sets the desired replica count to Action.Replicas.
	ActionScale ActionKind = "scale"
	// ActionRestart performs a rolling restart.
	ActionRestart ActionKind = "restart"
)

// Action is what should happen to a workload.
type Action struct {
	Kind ActionKind `json:"kind"`
	// Replicas is the target replica count for ActionScale.
	Replicas int `json:"replicas,omitempty"`
}

// WorkloadState is the workload's observed state at decision time.
type WorkloadState struct {
	// Replicas is the desired (spec) count; Ready the pods serving load.
	Replicas int `json:"replicas"`
	Ready    int `json:"ready"`
	// CapacityPerPod is the demand one ready pod serves within its SLO.
	CapacityPerPod float64 `json:"capacity_per_pod"`
	// PDB is the workload's PodDisruptionBudget status; nil when no PDB
	// selects its pods.
	PDB *PDBStatus `json:"pdb,omitempty"`
}

// PDBStatus is what a PodDisruptionBudget currently allows.
type PDBStatus struct {
	Name string `json:"name"`
	// DisruptionsAllowed is the PDB's status.disruptionsAllowed.
	DisruptionsAllowed int `json:"disruptions_allowed"`
}

// Limits are the policy's bounds, given to agents so they propose within
// them. The policy engine enforces them regardless.
type Limits struct {
	MinReplicas int `json:"min_replicas"`
	MaxReplicas int `json:"max_replicas"`
}

// ActionRecord is an action applied earlier.
type ActionRecord struct {
	Time   time.Time `json:"time"`
	Action Action    `json:"action"`
	From   int       `json:"from"`
}

// Situation is everything an agent may know when it proposes.
type Situation struct {
	Now      time.Time
	Workload Workload
	State    WorkloadState
	// Demand is the observed demand history, complete samples only.
	Demand metrics.Series
	// Forecast covers at least LeadTime from the last observed sample.
	Forecast forecast.Forecast
	Findings []forecast.Finding
	// LeadTime is how far ahead capacity must be provisioned: the time a
	// new pod needs to become ready plus the decision interval.
	LeadTime      time.Duration
	Limits        Limits
	RecentActions []ActionRecord
}

// Proposal is an agent's typed request for one action on one workload.
type Proposal struct {
	Workload Workload `json:"workload"`
	Action   Action   `json:"action"`
	// From is the replica count when the proposal was made.
	From int `json:"from"`
	// Reason is one or two sentences a human can check against Evidence.
	Reason string `json:"reason"`
	// Evidence holds the numbers the reason rests on.
	Evidence map[string]float64 `json:"evidence,omitempty"`
	// Confidence in [0,1]: how much the agent trusts its own proposal.
	Confidence float64 `json:"confidence"`
	// Agent names the agent that made the proposal.
	Agent string `json:"agent"`
	// Fallback, when not empty, says why a fallback agent made this
	// proposal instead of the configured one.
	Fallback string `json:"fallback,omitempty"`
}
