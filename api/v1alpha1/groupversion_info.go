package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the API group and version of the stuurman resources.
var GroupVersion = schema.GroupVersion{Group: "stuurman.io", Version: "v1alpha1"}

// AddToScheme registers the stuurman.io/v1alpha1 types with s.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&WorkloadPolicy{}, &WorkloadPolicyList{},
		&ActionProposal{}, &ActionProposalList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
