package actuators

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stuurman/stuurman/agents"
	"github.com/stuurman/stuurman/policies"
)

// Annotations the Kubernetes actuator writes.
const (
	// AnnotationLastProposal, on a workload, names the last action key
	// (ActionProposal) applied to it: a retry of that key sees it was
	// applied and does not apply it twice.
	AnnotationLastProposal = "stuurman.io/last-proposal"
	// AnnotationRestartedAt, on a workload's pod template, names the action
	// key of the rolling restart that changed it; a retry is a no-op.
	AnnotationRestartedAt = "stuurman.io/restartedAt"
	// AnnotationOriginalMinReplicas, on a HorizontalPodAutoscaler, holds
	// its minReplicas from before stuurman raised it, restored when the
	// prediction has passed.
	AnnotationOriginalMinReplicas = "stuurman.io/original-min-replicas"
)

// ErrRefused is wrapped by the errors of actions the Kubernetes actuator
// refuses to carry out, and that a retry would not fix without a change in
// the cluster: a PodDisruptionBudget allows no disruption, the workload
// changed since the proposal, the decision was a deny. Other errors (the
// API server unreachable, a conflict that outlived its retries) are
// transient.
var ErrRefused = errors.New("refused")

// Target identifies a workload: a Deployment, a StatefulSet, or any
// resource with a /scale subresource.
type Target struct {
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
}

// GroupVersionKind returns the target's GVK.
func (t Target) GroupVersionKind() schema.GroupVersionKind {
	return schema.FromAPIVersionAndKind(t.APIVersion, t.Kind)
}

func (t Target) String() string { return t.Kind + "/" + t.Namespace + "/" + t.Name }

// Request is one decision to carry out on one workload.
type Request struct {
	Target   Target
	Decision policies.Decision
	// Key identifies the action for idempotency: the ActionProposal's
	// name. Executing the same key twice acts once. Required unless
	// DryRun.
	Key string
	// Actor is who approved the action ("stuurman" for automatic ones),
	// reported in the Result and the Event.
	Actor string
	// Related is the object the Event names besides the workload (the
	// ActionProposal); nil: none.
	Related runtime.Object
	// DryRun sends every write as a server-side dry run: the API server
	// validates and admits it, and nothing changes.
	DryRun bool
}

// KubernetesOptions configure the Kubernetes actuator. The zero value of
// each field selects the default documented on it.
type KubernetesOptions struct {
	// Reader reads the objects an action writes, so that their
	// resourceVersion is current: the API server, not a cache. Default:
	// the client.
	Reader client.Reader
	// Events records a Kubernetes Event on the workload for every action
	// applied. Nil: none.
	Events events.EventRecorder
	// FieldOwner is the field manager of stuurman's writes. Default
	// "stuurman".
	FieldOwner string
	// Clock stamps Results. Default: the real clock.
	Clock clock.PassiveClock
}

// Kubernetes carries out decisions on a cluster: a scale through the
// workload's scale subresource (or, when a HorizontalPodAutoscaler scales
// the workload, by moving the HPA's minReplicas floor: stuurman never
// writes the replicas of an HPA-managed workload), a rolling restart
// through the pod template, an eviction through the Eviction API.
//
// Every write carries the resourceVersion it was computed from, and a
// conflict is retried after reading the object again. Every action is
// keyed (Request.Key): the key is recorded on the workload
// (AnnotationLastProposal) before the action, so executing a key again —
// after a crash between acting and recording that it acted — sees that
// the action was done and neither repeats it nor records a second Event.
type Kubernetes struct {
	c      client.Client
	reader client.Reader
	events events.EventRecorder
	owner  client.FieldOwner
	clock  clock.PassiveClock
}

// NewKubernetes returns the Kubernetes actuator writing through c. c's
// reads of HorizontalPodAutoscalers and PodDisruptionBudgets may be
// cached.
func NewKubernetes(c client.Client, o KubernetesOptions) *Kubernetes {
	if o.Reader == nil {
		o.Reader = c
	}
	if o.FieldOwner == "" {
		o.FieldOwner = "stuurman"
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	return &Kubernetes{c: c, reader: o.Reader, events: o.Events, owner: client.FieldOwner(o.FieldOwner), clock: o.Clock}
}

// Execute carries out req.Decision's action on req.Target. The caller has
// checked that the action may happen: the verdict is Allow, or
// NeedsApproval and a human approved. A Deny, or a hold, changes nothing.
//
// Errors that wrap ErrRefused are final for this request; others are
// transient, and executing the same request again is safe.
func (k *Kubernetes) Execute(ctx context.Context, req Request) (Result, error) {
	d := req.Decision
	res := Result{Decision: d, Time: k.clock.Now(), Actor: req.Actor, Replicas: d.Proposal.From}
	if req.Key == "" && !req.DryRun {
		return res, errors.New("actuators: kubernetes: Request.Key is required")
	}
	if d.Verdict == policies.Deny {
		return res, fmt.Errorf("actuators: %s: the policy denied the action: %w", req.Target, ErrRefused)
	}
	switch d.Action.Kind {
	case agents.ActionHold:
		res.Message = "hold: nothing to do"
		return res, nil
	case agents.ActionScale:
		if d.Action.Replicas < 0 {
			return res, fmt.Errorf("actuators: %s: negative replicas %d: %w", req.Target, d.Action.Replicas, ErrRefused)
		}
		return k.scale(ctx, req, res)
	case agents.ActionRestart:
		return k.restart(ctx, req, res)
	}
	return res, fmt.Errorf("actuators: %s: unsupported action %q: %w", req.Target, d.Action.Kind, ErrRefused)
}

// workload reads the target from the API server.
func (k *Kubernetes) workload(ctx context.Context, t Target) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(t.GroupVersionKind())
	if err := k.reader.Get(ctx, types.NamespacedName{Namespace: t.Namespace, Name: t.Name}, u); err != nil {
		return nil, fmt.Errorf("actuators: get %s: %w", t, err)
	}
	return u, nil
}

// markApplying records key on the workload, unless it is there already.
func (k *Kubernetes) markApplying(ctx context.Context, t Target, key string) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		u, err := k.workload(ctx, t)
		if err != nil {
			return err
		}
		if u.GetAnnotations()[AnnotationLastProposal] == key {
			return nil
		}
		before := u.DeepCopy()
		setAnnotation(u, AnnotationLastProposal, key)
		return k.c.Patch(ctx, u, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}), k.owner)
	})
}

func (k *Kubernetes) scale(ctx context.Context, req Request, res Result) (Result, error) {
	t, d, want := req.Target, req.Decision, int32(req.Decision.Action.Replicas)
	hpa, err := k.hpaFor(ctx, t)
	if err != nil {
		return res, err
	}
	if hpa != nil {
		return k.moveFloor(ctx, req, res, hpa.Name)
	}

	u, err := k.workload(ctx, t)
	if err != nil {
		return res, err
	}
	sc, err := k.getScale(ctx, u)
	if err != nil {
		return res, err
	}
	marked := u.GetAnnotations()[AnnotationLastProposal] == req.Key
	if marked && sc.Spec.Replicas == want {
		res.Applied, res.Replicas = true, int(want)
		res.Message = fmt.Sprintf("already applied: %s has %d replicas (%s)", t, want, req.Key)
		return res, nil
	}
	if !marked && sc.Spec.Replicas != int32(d.Proposal.From) {
		return res, fmt.Errorf("actuators: %s has %d replicas, the proposal was made at %d: %w",
			t, sc.Spec.Replicas, d.Proposal.From, ErrRefused)
	}
	from := sc.Spec.Replicas
	if req.DryRun {
		sc.Spec.Replicas = want
		if err := k.updateScale(ctx, u, sc, client.DryRunAll); err != nil {
			return res, fmt.Errorf("actuators: dry run: scale %s to %d: %w", t, want, err)
		}
		res.Replicas = int(want)
		res.Message = fmt.Sprintf("dry run: the API server accepts scaling %s from %d to %d", t, from, want)
		return res, nil
	}

	if err := k.markApplying(ctx, t, req.Key); err != nil {
		return res, err
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		u, err := k.workload(ctx, t)
		if err != nil {
			return err
		}
		sc, err := k.getScale(ctx, u)
		if err != nil {
			return err
		}
		if sc.Spec.Replicas == want {
			return nil
		}
		sc.Spec.Replicas = want
		return k.updateScale(ctx, u, sc)
	})
	if err != nil {
		return res, fmt.Errorf("actuators: scale %s to %d: %w", t, want, err)
	}
	res.Applied, res.Replicas = true, int(want)
	res.Message = fmt.Sprintf("scaled %s from %d to %d", t, from, want)
	k.record(u, req, "Scaled", "Scale", res.Message)
	return res, nil
}

// getScale reads the workload's scale subresource.
func (k *Kubernetes) getScale(ctx context.Context, u *unstructured.Unstructured) (*autoscalingv1.Scale, error) {
	raw := &unstructured.Unstructured{}
	raw.SetGroupVersionKind(autoscalingv1.SchemeGroupVersion.WithKind("Scale"))
	if err := k.c.SubResource("scale").Get(ctx, u, raw); err != nil {
		return nil, fmt.Errorf("actuators: get %s/%s scale: %w", u.GetKind(), u.GetName(), err)
	}
	sc := &autoscalingv1.Scale{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw.Object, sc); err != nil {
		return nil, fmt.Errorf("actuators: %s/%s scale: %w", u.GetKind(), u.GetName(), err)
	}
	return sc, nil
}

// updateScale writes sc (with its resourceVersion) to u's scale
// subresource.
func (k *Kubernetes) updateScale(ctx context.Context, u *unstructured.Unstructured, sc *autoscalingv1.Scale, opts ...client.SubResourceUpdateOption) error {
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(sc)
	if err != nil {
		return err
	}
	body := &unstructured.Unstructured{Object: obj}
	body.SetGroupVersionKind(autoscalingv1.SchemeGroupVersion.WithKind("Scale"))
	opts = append(opts, client.WithSubResourceBody(body), k.owner)
	return k.c.SubResource("scale").Update(ctx, u, opts...)
}

// hpaFor returns the HorizontalPodAutoscaler that scales t, or nil.
func (k *Kubernetes) hpaFor(ctx context.Context, t Target) (*autoscalingv2.HorizontalPodAutoscaler, error) {
	return HPAFor(ctx, k.c, t)
}

// HPAFor returns the HorizontalPodAutoscaler (autoscaling/v2) in t's
// namespace whose scaleTargetRef is t, or nil when there is none.
func HPAFor(ctx context.Context, r client.Reader, t Target) (*autoscalingv2.HorizontalPodAutoscaler, error) {
	var list autoscalingv2.HorizontalPodAutoscalerList
	if err := r.List(ctx, &list, client.InNamespace(t.Namespace)); err != nil {
		return nil, fmt.Errorf("actuators: list HorizontalPodAutoscalers in %s: %w", t.Namespace, err)
	}
	group := t.GroupVersionKind().Group
	for i := range list.Items {
		ref := list.Items[i].Spec.ScaleTargetRef
		if ref.Kind == t.Kind && ref.Name == t.Name && schema.FromAPIVersionAndKind(ref.APIVersion, ref.Kind).Group == group {
			return &list.Items[i], nil
		}
	}
	return nil, nil
}

// moveFloor carries out a scale on an HPA-managed workload: the HPA's
// minReplicas becomes max(original floor, target), at most its
// maxReplicas; at the original floor the annotation is removed.
func (k *Kubernetes) moveFloor(ctx context.Context, req Request, res Result, hpaName string) (Result, error) {
	t, want := req.Target, int32(req.Decision.Action.Replicas)
	key := types.NamespacedName{Namespace: t.Namespace, Name: hpaName}
	plan := func(hpa *autoscalingv2.HorizontalPodAutoscaler) (cur, floor, orig int32, err error) {
		cur = 1
		if hpa.Spec.MinReplicas != nil {
			cur = *hpa.Spec.MinReplicas
		}
		orig = cur
		if s, ok := hpa.Annotations[AnnotationOriginalMinReplicas]; ok {
			v, err := strconv.ParseInt(s, 10, 32)
			if err != nil || v < 1 {
				return 0, 0, 0, fmt.Errorf("actuators: HorizontalPodAutoscaler %s: annotation %s=%q is not a replica count: %w",
					key, AnnotationOriginalMinReplicas, s, ErrRefused)
			}
			orig = int32(v)
		}
		floor = min(max(orig, want), hpa.Spec.MaxReplicas)
		return cur, floor, orig, nil
	}
	apply := func(hpa *autoscalingv2.HorizontalPodAutoscaler, floor, orig int32, opts ...client.PatchOption) error {
		before := hpa.DeepCopy()
		hpa.Spec.MinReplicas = &floor
		if floor == orig {
			delete(hpa.Annotations, AnnotationOriginalMinReplicas)
		} else if _, ok := hpa.Annotations[AnnotationOriginalMinReplicas]; !ok {
			if hpa.Annotations == nil {
				hpa.Annotations = map[string]string{}
			}
			hpa.Annotations[AnnotationOriginalMinReplicas] = strconv.Itoa(int(orig))
		}
		opts = append(opts, k.owner)
		return k.c.Patch(ctx, hpa, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}), opts...)
	}

	hpa := &autoscalingv2.HorizontalPodAutoscaler{}
	if err := k.reader.Get(ctx, key, hpa); err != nil {
		return res, fmt.Errorf("actuators: get HorizontalPodAutoscaler %s: %w", key, err)
	}
	cur, floor, orig, err := plan(hpa)
	if err != nil {
		return res, err
	}
	u, err := k.workload(ctx, t)
	if err != nil {
		return res, err
	}
	if u.GetAnnotations()[AnnotationLastProposal] == req.Key && cur == floor {
		res.Applied, res.Replicas = true, int(floor)
		res.Message = fmt.Sprintf("already applied: HorizontalPodAutoscaler %s has minReplicas %d (%s)", hpaName, floor, req.Key)
		return res, nil
	}
	if req.DryRun {
		if err := apply(hpa, floor, orig, client.DryRunAll); err != nil {
			return res, fmt.Errorf("actuators: dry run: HorizontalPodAutoscaler %s minReplicas %d: %w", key, floor, err)
		}
		res.Replicas = int(floor)
		res.Message = fmt.Sprintf("dry run: the API server accepts moving HorizontalPodAutoscaler %s's minReplicas from %d to %d", hpaName, cur, floor)
		return res, nil
	}

	if err := k.markApplying(ctx, t, req.Key); err != nil {
		return res, err
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		hpa := &autoscalingv2.HorizontalPodAutoscaler{}
		if err := k.reader.Get(ctx, key, hpa); err != nil {
			return err
		}
		cur, floor, orig, err = plan(hpa)
		if err != nil {
			return err
		}
		_, remembered := hpa.Annotations[AnnotationOriginalMinReplicas]
		if cur == floor && remembered == (floor != orig) {
			return nil // already so
		}
		return apply(hpa, floor, orig)
	})
	if err != nil {
		return res, fmt.Errorf("actuators: HorizontalPodAutoscaler %s minReplicas %d: %w", key, floor, err)
	}
	res.Applied, res.Replicas = true, int(floor)
	reason := "RaisedHPAFloor"
	switch {
	case floor == orig:
		reason = "RestoredHPAFloor"
		res.Message = fmt.Sprintf("restored HorizontalPodAutoscaler %s's minReplicas to its original %d (was %d)", hpaName, floor, cur)
	case floor < cur:
		reason = "LoweredHPAFloor"
		res.Message = fmt.Sprintf("lowered HorizontalPodAutoscaler %s's minReplicas from %d to %d (original %d)", hpaName, cur, floor, orig)
	default:
		res.Message = fmt.Sprintf("raised HorizontalPodAutoscaler %s's minReplicas from %d to %d (original %d)", hpaName, cur, floor, orig)
	}
	if floor < want {
		res.Message += fmt.Sprintf("; %d asked, capped at the HPA's maxReplicas", want)
	}
	k.record(u, req, reason, "Scale", res.Message)
	return res, nil
}

func (k *Kubernetes) restart(ctx context.Context, req Request, res Result) (Result, error) {
	t, d := req.Target, req.Decision
	u, err := k.workload(ctx, t)
	if err != nil {
		return res, err
	}
	tmplAnn, _, _ := unstructured.NestedString(u.Object, "spec", "template", "metadata", "annotations", AnnotationRestartedAt)
	if tmplAnn == req.Key && u.GetAnnotations()[AnnotationLastProposal] == req.Key {
		res.Applied = true
		res.Message = fmt.Sprintf("already applied: %s was restarted by %s", t, req.Key)
		return res, nil
	}
	if _, ok, _ := unstructured.NestedMap(u.Object, "spec", "template"); !ok {
		return res, fmt.Errorf("actuators: %s has no pod template to restart: %w", t, ErrRefused)
	}
	if err := k.checkDisruption(ctx, u, d.MaxUnavailable); err != nil {
		return res, err
	}
	if req.DryRun {
		if err := k.patchRestart(ctx, u, req.Key, client.DryRunAll); err != nil {
			return res, fmt.Errorf("actuators: dry run: restart %s: %w", t, err)
		}
		res.Message = fmt.Sprintf("dry run: the API server accepts a rolling restart of %s", t)
		return res, nil
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		u, err := k.workload(ctx, t)
		if err != nil {
			return err
		}
		return k.patchRestart(ctx, u, req.Key)
	})
	if err != nil {
		return res, fmt.Errorf("actuators: restart %s: %w", t, err)
	}
	res.Applied = true
	res.Message = fmt.Sprintf("rolling restart of %s (at most %d pods unavailable)", t, d.MaxUnavailable)
	k.record(u, req, "Restarted", "Restart", res.Message)
	return res, nil
}

// patchRestart sets the pod template's restart annotation and the
// workload's last-proposal annotation to key in one write.
func (k *Kubernetes) patchRestart(ctx context.Context, u *unstructured.Unstructured, key string, opts ...client.PatchOption) error {
	before := u.DeepCopy()
	setAnnotation(u, AnnotationLastProposal, key)
	if err := unstructured.SetNestedField(u.Object, key, "spec", "template", "metadata", "annotations", AnnotationRestartedAt); err != nil {
		return err
	}
	opts = append(opts, k.owner)
	return k.c.Patch(ctx, u, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}), opts...)
}

// checkDisruption refuses a restart that could take down more pods than
// maxUnavailable, or than a PodDisruptionBudget selecting the pods allows
// now. A rolling restart goes through the workload's controller, not the
// Eviction API, so the budget is checked here.
func (k *Kubernetes) checkDisruption(ctx context.Context, u *unstructured.Unstructured, maxUnavailable int) error {
	name := u.GetKind() + "/" + u.GetNamespace() + "/" + u.GetName()
	if maxUnavailable < 1 {
		return fmt.Errorf("actuators: restart %s: the decision allows no unavailable pod: %w", name, ErrRefused)
	}
	podLabels, _, _ := unstructured.NestedStringMap(u.Object, "spec", "template", "metadata", "labels")
	pdbs, err := PDBsFor(ctx, k.c, u.GetNamespace(), podLabels)
	if err != nil {
		return err
	}
	for _, p := range pdbs {
		if p.Status.DisruptionsAllowed < 1 {
			return fmt.Errorf("actuators: restart %s: PodDisruptionBudget %s allows %d disruptions: %w",
				name, p.Name, p.Status.DisruptionsAllowed, ErrRefused)
		}
		maxUnavailable = min(maxUnavailable, int(p.Status.DisruptionsAllowed))
	}
	replicas, _, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
	var down int
	switch u.GetKind() {
	case "Deployment":
		typ, _, _ := unstructured.NestedString(u.Object, "spec", "strategy", "type")
		if typ == "Recreate" {
			down = int(replicas)
			break
		}
		down, err = scaledDown(u.Object, int(replicas), "25%", "spec", "strategy", "rollingUpdate", "maxUnavailable")
	case "StatefulSet":
		if typ, _, _ := unstructured.NestedString(u.Object, "spec", "updateStrategy", "type"); typ == "OnDelete" {
			return fmt.Errorf("actuators: restart %s: updateStrategy OnDelete restarts no pod on a template change: %w", name, ErrRefused)
		}
		down, err = scaledDown(u.Object, int(replicas), "1", "spec", "updateStrategy", "rollingUpdate", "maxUnavailable")
	default:
		return nil // the controller of the kind decides how it rolls
	}
	if err != nil {
		return fmt.Errorf("actuators: restart %s: %w", name, err)
	}
	if down > maxUnavailable {
		return fmt.Errorf("actuators: restart %s: its update strategy may take %d pods down at once, at most %d may be: %w",
			name, down, maxUnavailable, ErrRefused)
	}
	return nil
}

// scaledDown resolves the int-or-percent at path (def when unset) against
// replicas, rounding down as Kubernetes does for maxUnavailable.
func scaledDown(obj map[string]any, replicas int, def string, path ...string) (int, error) {
	v := intstr.Parse(def)
	if raw, ok, _ := unstructured.NestedFieldNoCopy(obj, path...); ok {
		switch x := raw.(type) {
		case int64:
			v = intstr.FromInt32(int32(x))
		case string:
			v = intstr.Parse(x)
		}
	}
	return intstr.GetScaledValueFromIntOrPercent(&v, replicas, false)
}

// PDBsFor returns the PodDisruptionBudgets in namespace whose selector
// matches podLabels.
func PDBsFor(ctx context.Context, r client.Reader, namespace string, podLabels map[string]string) ([]policyv1.PodDisruptionBudget, error) {
	var list policyv1.PodDisruptionBudgetList
	if err := r.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return nil, fmt.Errorf("actuators: list PodDisruptionBudgets in %s: %w", namespace, err)
	}
	var out []policyv1.PodDisruptionBudget
	for _, p := range list.Items {
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err != nil || p.Spec.Selector == nil || sel.Empty() {
			continue // an empty or invalid selector selects nothing in policy/v1
		}
		if sel.Matches(labels.Set(podLabels)) {
			out = append(out, p)
		}
	}
	return out, nil
}

// Evict evicts a pod through the Eviction API, so that the API server
// enforces the PodDisruptionBudgets that select it: an eviction a budget
// forbids is refused (an error wrapping ErrRefused). key names the action
// in the Event.
func (k *Kubernetes) Evict(ctx context.Context, pod types.NamespacedName, key string, dryRun bool) error {
	p := &corev1.Pod{}
	if err := k.reader.Get(ctx, pod, p); err != nil {
		return fmt.Errorf("actuators: get pod %s: %w", pod, err)
	}
	ev := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace}}
	if dryRun {
		ev.DeleteOptions = &metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}}
	}
	err := k.c.SubResource("eviction").Create(ctx, p, ev)
	switch {
	case apierrors.IsTooManyRequests(err):
		return fmt.Errorf("actuators: evict pod %s: %v: %w", pod, err, ErrRefused)
	case err != nil:
		return fmt.Errorf("actuators: evict pod %s: %w", pod, err)
	}
	if !dryRun && k.events != nil {
		k.events.Eventf(p, nil, corev1.EventTypeNormal, "Evicted", "Evict", "stuurman %s: evicted pod %s", key, pod)
	}
	return nil
}

// record emits the Event of an applied action on the workload.
func (k *Kubernetes) record(u *unstructured.Unstructured, req Request, reason, action, msg string) {
	if k.events == nil {
		return
	}
	by := ""
	if req.Actor != "" {
		by = ", approved by " + req.Actor
	}
	k.events.Eventf(u, req.Related, corev1.EventTypeNormal, reason, action, "stuurman %s: %s%s", req.Key, msg, by)
}

func setAnnotation(u *unstructured.Unstructured, k, v string) {
	a := u.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[k] = v
	u.SetAnnotations(a)
}
