// Package policies is the gate stage of the stuurman pipeline: a
// deterministic engine that turns an agent's Proposal into a Decision.
//
// Decide is a pure function of (proposal, state, policy, now): the same
// inputs always give the same Decision. Every rule reports its result with a
// human-readable reason, the final action may be clamped (bounds, step
// limits, stabilisation), and anything the engine cannot evaluate is denied
// (fail closed). A Decision carries the hash of the policy that made it.
//
// Policies are written in YAML (see Load and docs/policy.md); validation
// errors name the file, the line and the field.
package policies
