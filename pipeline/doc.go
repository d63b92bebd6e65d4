// Package pipeline runs one control cycle of stuurman for one workload:
// metrics.Series → forecast → agent → policy engine → actuator, each stage
// handing the next a plain value.
//
// The controller, the dry-run report and the replay evals all run this same
// cycle; only the actuator and where the Series comes from differ. The
// Pipeline keeps the little memory the policy engine needs between cycles
// (recent recommendations for stabilisation, when it last acted) so that
// the engine itself stays a pure function.
package pipeline
