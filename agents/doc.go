// Package agents is the propose stage of the stuurman pipeline: an Agent
// turns a Situation (the workload, its state, the forecast, the findings,
// recent actions and the policy's limits) into typed Proposals.
//
// The default agent is Heuristic: deterministic, no network, no key. It
// sizes the workload for the forecast's upper bound over the lead time,
// never below what the HPA's arithmetic asks for on the latest observation,
// and holds when the forecast is not trusted. LLM agents implement the same
// interface and return the same values; a Proposal is a request, never an
// order — the policies stage decides.
package agents
