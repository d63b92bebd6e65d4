package sim

import (
	"context"
	"time"

	"github.com/stuurman/stuurman/metrics"
)

// Observation is what a scaler may see at decision time Now: only the
// demand samples complete at Now (no look-ahead) and the workload's state.
type Observation struct {
	Now time.Time
	// Demand holds the trace's samples that are complete at Now.
	Demand metrics.Series
	// Replicas is the current desired (spec) replica count; Ready the pods
	// that have finished starting and serve load.
	Replicas, Ready int
	// CapacityPerPod is the demand one ready pod serves per step.
	CapacityPerPod float64
}

// Scaler decides a workload's desired replica count.
type Scaler interface {
	// Name identifies the scaler in results ("hpa", "stuurman").
	Name() string
	// Interval is how often Recommend is called.
	Interval() time.Duration
	// Recommend returns the desired replica count.
	Recommend(ctx context.Context, obs Observation) (int, error)
}

// Config describes the simulated workload. The zero value of each optional
// field selects the documented default.
type Config struct {
	// CapacityPerPod is the demand (trace units per step) one ready pod
	// serves without violating its SLO. Required, > 0.
	CapacityPerPod float64
	// StartupDelay is the time from a pod's creation until it is ready.
	// Default 2m.
	StartupDelay time.Duration
	// InitialReplicas at the start of the trace. Default: enough pods for
	// the first observed sample at 70 % utilisation, at least MinReplicas.
	InitialReplicas int
	// MinReplicas and MaxReplicas bound every scaler. Defaults 1 and 10000.
	MinReplicas, MaxReplicas int
	// Progress, when set, is called now and then with the samples
	// simulated so far and the total.
	Progress func(done, total int)
}

// Metrics are the measures of one scaler over a replay.
type Metrics struct {
	// ReplicaHours is the integral of running pods (ready or starting).
	ReplicaHours float64 `json:"replica_hours"`
	// SLOViolationMinutes is the time during which demand exceeded the
	// capacity of ready pods.
	SLOViolationMinutes float64 `json:"slo_violation_minutes"`
	// ThetaU and ThetaO are SPEC's average relative under- and
	// over-provisioning accuracy, in percent.
	ThetaU float64 `json:"theta_u"`
	ThetaO float64 `json:"theta_o"`
	// TauU and TauO are SPEC's share of time under- and over-provisioned,
	// in percent.
	TauU float64 `json:"tau_u"`
	TauO float64 `json:"tau_o"`
	// Actions counts changes of the desired replica count.
	Actions int `json:"actions"`
}

// ScalerResult is one scaler's run: its metrics and, per trace sample, the
// mean number of running (Pods) and ready (Ready) pods during the sample.
type ScalerResult struct {
	Name    string    `json:"name"`
	Metrics Metrics   `json:"metrics"`
	Pods    []float64 `json:"-"`
	Ready   []float64 `json:"-"`
}

// Result is a replay of one trace through every scaler, side by side.
type Result struct {
	Demand  metrics.Series `json:"-"`
	Config  Config         `json:"-"`
	Scalers []ScalerResult `json:"scalers"`
}
