// Package replay runs the stuurman pipeline and the Kubernetes HPA baseline
// side by side over a recorded demand trace, through the workload simulator
// in evals/sim, and assembles the dry-run report.
//
// It is what `stuurman recommend --trace` and the autoscaling evals run:
// the pipeline is the same one the controller runs, with the dry-run
// recorder as its actuator and the simulator standing in for the cluster.
package replay
