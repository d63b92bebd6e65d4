// Package v1alpha1 holds the stuurman.io/v1alpha1 API: the custom resources
// through which the in-cluster controller (package controller) is
// configured and through which it reports.
//
//   - WorkloadPolicy (namespaced) says which workloads stuurman steers, from
//     which demand metric, under which policy (a policies.Policy, the same
//     type as the YAML policy file), with which agent and in which Mode.
//   - ActionProposal (namespaced) is one action the controller proposed for
//     one workload: the agent's proposal, the policy engine's decision, and
//     in its status the proposal's lifecycle (Pending, Approved, Applied…).
//
// The deep-copy functions and the CRD manifests (config/crd) are generated
// by controller-gen: run `make generate manifests` after changing a type.
//
// +kubebuilder:object:generate=true
// +groupName=stuurman.io
package v1alpha1
