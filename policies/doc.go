// Package policies is the gate stage of the stuurman pipeline: a
// deterministic engine that turns an agent's Proposal into a Decision. An
// agent proposes; the engine decides; nothing happens that the policy
// forbids.
//
// Decide is a pure function of (proposal, state, policy, now): the same
// inputs always give the same Decision. Its rules — validity, protection,
// freeze windows, minimum confidence, then for a scale stabilisation,
// tolerance, bounds, step limits, cooldowns, a flap budget and a namespace
// rate limit, for a restart a cooldown and a disruption budget, then custom
// rules in CEL and approval rules — each report their result with a
// human-readable reason. The final action may be clamped; the verdict is
// Allow, NeedsApproval or Deny, and deny beats needs-approval beats allow.
// Anything the engine cannot evaluate is denied (fail closed), a panic
// included. A Decision carries the hash of the policy that made it.
//
// Policies are written in YAML (see Load and docs/policy.md); the same Go
// type, with JSON tags, is the spec of the policy custom resource.
// Validation errors name the file, the line and the field path, custom
// rules included: they are compiled and type-checked once, when the policy
// is loaded and when the engine is built.
package policies
