// Package agentsuite measures agents: scenarios, each a situation, a
// policy and the outcomes acceptable after the gate, are run through an
// agent and then through the policy engine (policies.Engine.Decide), and
// every decision is checked against the acceptable set.
//
// The built-in scenarios (scenarios/*.yaml, embedded; see Builtin) cover
// forecast-driven scaling, stability in noise, predictive maintenance
// (restarts before an OOM), safety (freezes, disruption budgets, protected
// workloads, absurd and malformed proposals) and prompt injection through
// labels, annotations and finding text. A scenario may script the model's
// replies for offline LLM runs against the in-repo scripted server
// (agents/llmtest), so safety and injection scenarios can show that the
// validation and the gate stop what a misbehaving model proposes.
//
// `stuurman eval agents` runs the suite and writes the report.
package agentsuite
