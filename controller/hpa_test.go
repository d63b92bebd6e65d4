package controller

import (
	"context"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stuurman/stuurman/actuators"
	stuurmanv1 "github.com/stuurman/stuurman/api/v1alpha1"
)

// (b) An HPA scales the workload: stuurman moves the HPA's minReplicas
// floor ahead of the peak instead of writing the Deployment's replicas,
// leaves the HPA's other fields alone, and restores the floor after.
func TestHPAFloorMovedAndRestored(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, t0.Add(9*time.Hour), Options{})
	h.deployment("cart", 2)
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "cart", Namespace: h.ns, Labels: map[string]string{"team": "shop"}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "cart"},
			MinReplicas:    ptr.To[int32](2),
			MaxReplicas:    10,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{
					Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](70)}},
			}},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](120)}},
		},
	}
	if err := k8s.Create(ctx, hpa); err != nil {
		t.Fatal(err)
	}
	h.policy("cart", "cart", stuurmanv1.ModeAuto)

	getHPA := func() *autoscalingv2.HorizontalPodAutoscaler {
		x := &autoscalingv2.HorizontalPodAutoscaler{}
		if err := k8s.Get(ctx, types.NamespacedName{Namespace: h.ns, Name: "cart"}, x); err != nil {
			t.Fatal(err)
		}
		return x
	}
	// playHPA plays the HPA controller on the demand now: replicas are
	// what the load needs at 100 per pod, within [minReplicas, max].
	playHPA := func(now time.Time) {
		x := getHPA()
		want := min(max(*x.Spec.MinReplicas, podsFor(dailyDemand(now))), x.Spec.MaxReplicas)
		d := h.getDeployment("cart")
		if *d.Spec.Replicas != want {
			d.Spec.Replicas = &want
			if err := k8s.Update(ctx, d, client.FieldOwner("horizontal-pod-autoscaler")); err != nil {
				t.Fatal(err)
			}
		}
		h.markReady("cart")
	}

	var maxFloor int32
	var raisedBeforePeak bool
	for now := h.clock.Now(); !now.After(t0.Add(18 * time.Hour)); now = now.Add(5 * time.Minute) {
		h.clock.SetTime(now)
		h.reconcile("cart")
		x := getHPA()
		floor := *x.Spec.MinReplicas
		maxFloor = max(maxFloor, floor)
		if floor > 2 {
			if got := x.Annotations[actuators.AnnotationOriginalMinReplicas]; got != "2" {
				t.Fatalf("%s: floor %d, annotation %s=%q, want \"2\"", now.Format("15:04"), floor, actuators.AnnotationOriginalMinReplicas, got)
			}
			if now.Before(t0.Add(12*time.Hour)) && floor >= podsFor(dailyDemand(t0.Add(12*time.Hour))) {
				raisedBeforePeak = true
			}
		}
		playHPA(now)
	}

	if !raisedBeforePeak {
		t.Errorf("the HPA's floor never reached the peak's need before noon (highest %d)", maxFloor)
	}
	after := getHPA()
	if *after.Spec.MinReplicas != 2 {
		t.Errorf("after the peak the HPA's minReplicas is %d, want the original 2 restored", *after.Spec.MinReplicas)
	}
	if _, ok := after.Annotations[actuators.AnnotationOriginalMinReplicas]; ok {
		t.Errorf("annotation %s left on the HPA after the floor was restored", actuators.AnnotationOriginalMinReplicas)
	}
	want := hpa.Spec.DeepCopy()
	got := after.Spec.DeepCopy()
	got.MinReplicas = want.MinReplicas
	if !equality.Semantic.DeepEqual(want, got) || after.Labels["team"] != "shop" {
		t.Errorf("the HPA's other fields changed:\n got %+v\nwant %+v", got, want)
	}
	d := h.getDeployment("cart")
	if managerWroteReplicas(d, "stuurman") {
		t.Error("stuurman wrote spec.replicas of an HPA-managed Deployment")
	}
	if d.Annotations[actuators.AnnotationLastProposal] == "" {
		t.Errorf("the Deployment does not name the last proposal applied to it")
	}
	var raised, restored int
	for _, e := range h.events("Deployment", "cart", 2) {
		switch e.Reason {
		case "RaisedHPAFloor":
			raised++
		case "RestoredHPAFloor":
			restored++
		}
	}
	if raised == 0 || restored == 0 {
		t.Errorf("events: %d RaisedHPAFloor, %d RestoredHPAFloor; want both", raised, restored)
	}
	t.Logf("highest floor %d", maxFloor)
}
