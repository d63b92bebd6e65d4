// Package controller is stuurman's in-cluster controller: it runs the same
// control cycle as a dry-run replay (package pipeline: forecast → agent →
// policy engine → actuator) for every workload a WorkloadPolicy
// (api/v1alpha1) targets, on a schedule, against a live cluster.
//
// The Reconciler is level-based. Each Reconcile of a WorkloadPolicy
//
//  1. resolves its targets and their state (replicas, ready pods, the HPA
//     that scales them, the PodDisruptionBudget of their pods) from the
//     manager's cache;
//  2. settles its ActionProposals: expires those past expiresAt, applies
//     the approved ones (mode Approve or Auto) through the Kubernetes
//     actuator, deletes old finished ones;
//  3. when a cycle is due (status.lastCycleTime + interval), reads the
//     demand of all its targets in one batched MetricSource query and runs
//     one pipeline.Pipeline cycle per target. The pipelines are kept across
//     cycles, so the forecasters update incrementally. A stale, empty or
//     failing metric source makes it hold (propose nothing, so never scale
//     down on missing data) and set MetricsAvailable=False;
//  4. records each actionable decision as an ActionProposal — Denied,
//     Pending (Recommend and Approve modes, and decisions that need
//     approval), or Applied (Auto) — and writes the status.
//
// Time comes from an injected clock, so tests drive cycles by advancing a
// fake clock and calling Reconcile.
package controller
