// Package sim replays a demand trace through a simulated workload with
// several scalers side by side — a faithful Kubernetes HPA v2 baseline and
// the stuurman pipeline — and measures each: replica-hours, SLO-violation
// minutes, the SPEC elasticity metrics and the number of scaling actions.
//
// Scalers see only the past: at decision time t a scaler observes the
// samples complete at t, never a later one.
package sim
