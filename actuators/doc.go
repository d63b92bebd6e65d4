// Package actuators is the act stage of the stuurman pipeline: it carries
// out policies.Decisions and reports what was done as Results.
//
// Recorder is the dry run: it records every decision and changes nothing;
// the report and the replays use it. Kubernetes carries a decision out on a
// cluster — the scale subresource, the HPA's minReplicas floor instead of
// the workload when an HPA owns it, a rolling restart through the pod
// template, an eviction through the Eviction API — idempotently, keyed by
// the ActionProposal that asked for it, with an Event on the workload.
package actuators
