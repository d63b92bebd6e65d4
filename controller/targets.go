package controller

import (
	"context"
	"fmt"
	"sort"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stuurman/stuurman/actuators"
	"github.com/stuurman/stuurman/agents"
	stuurmanv1 "github.com/stuurman/stuurman/api/v1alpha1"
)

// workload is one target as observed at the start of a reconcile.
type workload struct {
	Target   Target
	Object   *unstructured.Unstructured
	Workload agents.Workload
	State    agents.WorkloadState
	// HPA names the HorizontalPodAutoscaler that scales the workload.
	HPA string
}

func (w workload) actuatorTarget() actuators.Target {
	return actuators.Target(w.Target)
}

// resolveTargets returns wp's targets, sorted by name, with their state.
func (r *Reconciler) resolveTargets(ctx context.Context, wp *stuurmanv1.WorkloadPolicy) ([]workload, error) {
	ns := wp.Namespace
	var objs []*unstructured.Unstructured
	switch {
	case wp.Spec.TargetRef != nil:
		ref := wp.Spec.TargetRef
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(schema.FromAPIVersionAndKind(ref.APIVersion, ref.Kind))
		err := r.client.Get(ctx, types.NamespacedName{Namespace: ns, Name: ref.Name}, u)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return nil, fmt.Errorf("get %s %s/%s: %w", ref.Kind, ns, ref.Name, err)
		default:
			objs = append(objs, u)
		}
	case wp.Spec.Selector != nil:
		sel := wp.Spec.Selector
		s, err := metav1.LabelSelectorAsSelector(&sel.LabelSelector)
		if err != nil {
			return nil, fmt.Errorf("spec.selector: %w", err)
		}
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(schema.FromAPIVersionAndKind(sel.APIVersion, sel.Kind+"List"))
		if err := r.client.List(ctx, list, client.InNamespace(ns), client.MatchingLabelsSelector{Selector: s}); err != nil {
			return nil, fmt.Errorf("list %s in %s: %w", sel.Kind, ns, err)
		}
		for i := range list.Items {
			objs = append(objs, &list.Items[i])
		}
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].GetName() < objs[j].GetName() })
	out := make([]workload, 0, len(objs))
	for _, u := range objs {
		if u.GetDeletionTimestamp() != nil {
			continue
		}
		w, err := r.observe(ctx, u)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, nil
}

// observe reads a target's state: replicas and ready pods from the object
// (or its scale subresource, for kinds without spec.replicas), the HPA
// that scales it, and the PodDisruptionBudget of its pods.
func (r *Reconciler) observe(ctx context.Context, u *unstructured.Unstructured) (workload, error) {
	gvk := u.GroupVersionKind()
	t := Target{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
	w := workload{
		Target: t, Object: u,
		Workload: agents.Workload{Kind: t.Kind, Namespace: t.Namespace, Name: t.Name, Labels: u.GetLabels(), Annotations: u.GetAnnotations()},
	}
	replicas, hasReplicas, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
	ready, _, _ := unstructured.NestedInt64(u.Object, "status", "readyReplicas") // omitted when 0
	podLabels, _, _ := unstructured.NestedStringMap(u.Object, "spec", "template", "metadata", "labels")
	var podSelector string
	if apps := gvk.Group == "apps" && (t.Kind == "Deployment" || t.Kind == "StatefulSet" || t.Kind == "ReplicaSet"); !apps || !hasReplicas {
		// Any other kind: what its scale subresource says.
		raw := &unstructured.Unstructured{}
		raw.SetGroupVersionKind(autoscalingv1.SchemeGroupVersion.WithKind("Scale"))
		if err := r.client.SubResource("scale").Get(ctx, u, raw); err != nil {
			return w, fmt.Errorf("get %s scale: %w", t, err)
		}
		var sc autoscalingv1.Scale
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw.Object, &sc); err != nil {
			return w, fmt.Errorf("%s scale: %w", t, err)
		}
		replicas = int64(sc.Spec.Replicas)
		if !apps {
			ready = int64(sc.Status.Replicas)
		}
		podSelector = sc.Status.Selector
	}
	w.State = agents.WorkloadState{Replicas: int(replicas), Ready: int(ready)}

	hpa, err := actuators.HPAFor(ctx, r.client, actuators.Target(t))
	if err != nil {
		return w, err
	}
	if hpa != nil {
		w.HPA = hpa.Name
	}

	if len(podLabels) == 0 && podSelector != "" {
		// No pod template to read the pods' labels from: look at a pod.
		sel, err := labels.Parse(podSelector)
		if err != nil {
			return w, fmt.Errorf("%s scale: status.selector %q: %w", t, podSelector, err)
		}
		var pods corev1.PodList
		if err := r.client.List(ctx, &pods, client.InNamespace(t.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
			return w, fmt.Errorf("list pods of %s: %w", t, err)
		}
		if len(pods.Items) > 0 {
			podLabels = pods.Items[0].Labels
		}
	}
	if len(podLabels) > 0 {
		pdbs, err := actuators.PDBsFor(ctx, r.client, t.Namespace, podLabels)
		if err != nil {
			return w, err
		}
		// With several budgets, the strictest speaks.
		for _, p := range pdbs {
			if w.State.PDB == nil || int(p.Status.DisruptionsAllowed) < w.State.PDB.DisruptionsAllowed {
				w.State.PDB = &agents.PDBStatus{Name: p.Name, DisruptionsAllowed: int(p.Status.DisruptionsAllowed)}
			}
		}
	}
	return w, nil
}
