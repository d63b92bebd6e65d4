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
	// Demand holds the trace's samples that are complete at Now
	// (demand.Until(Now)). It shares the trace's backing array: a scaler
	// must not modify it.
	Demand metrics.Series
	// Replicas is the current desired (spec) replica count; Ready the pods
	// that have finished starting and serve load.
	Replicas, Ready int
	// CapacityPerPod is the demand one ready pod serves per step.
	CapacityPerPod float64
	// MinReplicas and MaxReplicas are the bounds Run clamps every
	// recommendation to (Config after defaults). A scaler that keeps
	// history of its own changes, like the HPA, clamps itself to them so
	// that what it records is what happens.
	MinReplicas, MaxReplicas int
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
// field selects the documented default; Run applies the defaults in one
// place and returns the effective Config in Result.Config.
type Config struct {
	// CapacityPerPod is the demand (trace units per step) one ready pod
	// serves without violating its SLO. Required, > 0 and finite.
	CapacityPerPod float64
	// StartupDelay is the time from a pod's creation until it is ready.
	// Default 2m; must be >= 0. Readiness takes effect on the simulation
	// clock: a pod is ready from the first tick at or after its creation
	// plus StartupDelay, so a delay shorter than one tick means "ready at
	// the next tick".
	StartupDelay time.Duration
	// InitialReplicas at the start of the trace; they are ready at the
	// start. Default: enough pods for the first observed (non-NaN) sample
	// at 70 % utilisation, ceil(v / (0.7 × CapacityPerPod)), clamped to
	// [MinReplicas, MaxReplicas] (MinReplicas when every sample is a gap).
	// When set it must lie in [MinReplicas, MaxReplicas].
	InitialReplicas int
	// MinReplicas and MaxReplicas bound every scaler. Defaults 1 and 10000;
	// both must be >= 0 and MinReplicas <= MaxReplicas after defaults.
	MinReplicas, MaxReplicas int
	// Progress, when set, is called now and then with the samples
	// simulated so far and the total (about every 1 % of the trace, and
	// once at the end with done == total).
	Progress func(done, total int)
	// RecordDecisions makes Run keep every recommendation of every scaler
	// in ScalerResult.Decisions. Off by default: a week at 15 s is 40 320
	// decisions per scaler.
	RecordDecisions bool
}

// Metrics are the measures of one scaler over a replay.
//
// The simulation clock ticks every Δt (see Run). For a tick, running is
// the number of pods ready or starting and ready the number of ready pods,
// both after the tick's decisions; v is the demand of the trace sample the
// tick lies in. Ticks whose sample is a gap (NaN) count for ReplicaHours
// only. For the others, the resource demand is d = ceil(v /
// CapacityPerPod) pods — the fewest ready pods that meet the SLO — and the
// supply is s = ready. A quotient within a relative 1e-9 of a whole number
// counts as that number, so float rounding (1.1/0.1 = 11.000000000000002)
// does not add a pod. T is the total duration of non-gap ticks.
type Metrics struct {
	// ReplicaHours is Σ running × Δt over all ticks, gaps included, in
	// hours.
	ReplicaHours float64 `json:"replica_hours"`
	// SLOViolationMinutes is Σ Δt, in minutes, over the non-gap ticks in
	// which demand exceeds the capacity of the ready pods, v > ready ×
	// CapacityPerPod, which for whole pods is s < d.
	SLOViolationMinutes float64 `json:"slo_violation_minutes"`
	// ThetaU and ThetaO are SPEC's average relative under- and
	// over-provisioning accuracy, in percent (Herbst et al., "Ready for
	// Rain? A View from SPEC Research on the Future of Cloud Metrics"):
	//
	//	θU = 100/T Σ max(d − s, 0) / max(d, 1) Δt
	//	θO = 100/T Σ max(s − d, 0) / max(d, 1) Δt
	//
	// SPEC divides by d; a tick with zero demand (d = 0, e.g. an outage)
	// would divide by zero, so the denominator is max(d, 1): one idle pod
	// then counts as 100 % over-provisioning. Both are 0 when T = 0.
	ThetaU float64 `json:"theta_u"`
	ThetaO float64 `json:"theta_o"`
	// TauU and TauO are SPEC's share of time under- and over-provisioned,
	// in percent: τU = 100/T Σ [s < d] Δt, τO = 100/T Σ [s > d] Δt. Both
	// are 0 when T = 0.
	TauU float64 `json:"tau_u"`
	TauO float64 `json:"tau_o"`
	// Actions counts changes of the desired replica count: every
	// recommendation that, after clamping, differs from the current
	// desired count is one action, whatever its size.
	Actions int `json:"actions"`
}

// Decision is one recommendation of a scaler: the desired replica count
// at Time, after clamping to [MinReplicas, MaxReplicas].
type Decision struct {
	Time     time.Time `json:"time"`
	Replicas int       `json:"replicas"`
}

// ScalerResult is one scaler's run: its metrics and, per trace sample, the
// mean number of running (Pods) and ready (Ready) pods during the sample.
type ScalerResult struct {
	Name    string    `json:"name"`
	Metrics Metrics   `json:"metrics"`
	Pods    []float64 `json:"-"`
	Ready   []float64 `json:"-"`
	// Decisions holds every recommendation in time order when
	// Config.RecordDecisions is set, and is nil otherwise.
	Decisions []Decision `json:"decisions,omitempty"`
}

// Result is a replay of one trace through every scaler, side by side.
type Result struct {
	Demand metrics.Series `json:"-"`
	// Config is the effective configuration, defaults applied.
	Config  Config         `json:"-"`
	Scalers []ScalerResult `json:"scalers"`
	// Tick is the simulation clock's step: the greatest common divisor of
	// the trace step and every scaler's Interval.
	Tick time.Duration `json:"-"`
}
