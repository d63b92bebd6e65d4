package controller

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	stuurmanv1 "github.com/stuurman/stuurman/api/v1alpha1"
	"github.com/stuurman/stuurman/internal/kubetest"
	"github.com/stuurman/stuurman/metrics"
	"github.com/stuurman/stuurman/policies"
)

// The tests run against a real kube-apiserver and etcd (envtest). Nothing
// runs controllers there: no Deployment controller, no HPA controller, no
// pods. The tests set the status fields a test needs themselves.
var (
	restCfg *rest.Config
	k8s     client.Client
	scheme  *runtime.Scheme
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if os.Getenv("STUURMAN_TEST_LOG") != "" {
		log.SetLogger(logr.FromSlogHandler(slog.NewTextHandler(os.Stderr, nil)))
	} else {
		log.SetLogger(logr.Discard())
	}
	crds, err := kubetest.CRDDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cfg, stop, err := kubetest.Launch(crds)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	restCfg = cfg
	if scheme, err = NewScheme(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if k8s, err = client.New(restCfg, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// t0 is midnight of the test day; the synthetic demand peaks at noon.
var t0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

const (
	step     = 5 * time.Minute
	capacity = 100.0
)

// dailyDemand is a demand with a daily peak: a base of 60 and a bump of
// 540 centred on noon (σ 1.5 h), plus a little deterministic ripple.
func dailyDemand(t time.Time) float64 {
	h := float64(t.Sub(t.Truncate(24*time.Hour))) / float64(time.Hour)
	bump := 540 * math.Exp(-(h-12)*(h-12)/(2*1.5*1.5))
	ripple := 3 * math.Sin(float64(t.Unix())/900)
	return 60 + bump + ripple
}

// dailySeries samples dailyDemand from 3 days before t0 to 1 day after.
func dailySeries(name string) metrics.Series {
	start := t0.Add(-3 * 24 * time.Hour)
	n := int(4 * 24 * time.Hour / step)
	s := metrics.Series{Name: name, Start: start, Step: step, Values: make([]float64, n)}
	for i := range s.Values {
		// The sample of [t, t+step) is the demand at its end, as a
		// range query's point at t+step describes it.
		s.Values[i] = dailyDemand(s.Time(i + 1))
	}
	return s
}

// harness is a reconciler with a fake clock, a replayed metric source and
// a real event recorder, talking to the envtest API server directly (no
// cache), so that each Reconcile sees the previous one's writes.
type harness struct {
	t        *testing.T
	ns       string
	clock    *clocktesting.FakeClock
	source   *ReplaySource
	recorder events.EventRecorder
	r        *Reconciler
}

// newHarness returns a harness in a new namespace whose reconciler reads
// the replay source; o's Clock, Events and Source are the harness's.
func newHarness(t *testing.T, start time.Time, o Options) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cs := kubernetes.NewForConfigOrDie(restCfg)
	b := events.NewBroadcaster(&events.EventSinkImpl{Interface: cs.EventsV1()})
	if err := b.StartRecordingToSinkWithContext(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Shutdown)
	h := &harness{t: t, ns: newNamespace(t), clock: clocktesting.NewFakeClock(start), source: NewReplaySource(), recorder: b.NewRecorder(scheme, "stuurman")}
	o.Source = h.source
	h.r = h.reconciler(o)
	return h
}

// reconciler returns a new reconciler with the harness's clock and event
// recorder, reading demand from o.Source.
func (h *harness) reconciler(o Options) *Reconciler {
	h.t.Helper()
	o.Clock, o.Events = h.clock, h.recorder
	r, err := NewReconciler(k8s, o)
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "test-"}}
	if err := k8s.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// reconcile runs one Reconcile of the policy at the fake clock's time.
func (h *harness) reconcile(name string) reconcile.Result {
	h.t.Helper()
	res, err := h.r.Reconcile(context.Background(), reconcile.Request{NamespacedName: types.NamespacedName{Namespace: h.ns, Name: name}})
	if err != nil {
		h.t.Fatalf("reconcile at %s: %v", h.clock.Now().Format(time.RFC3339), err)
	}
	return res
}

func (h *harness) deployment(name string, replicas int32) *appsv1.Deployment {
	h.t.Helper()
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: h.ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.invalid/app:1"}}},
			},
		},
	}
	if err := k8s.Create(context.Background(), d); err != nil {
		h.t.Fatal(err)
	}
	h.markReady(name)
	h.source.Set(deploymentTarget(h.ns, name), dailySeries(name))
	return d
}

func deploymentTarget(ns, name string) Target {
	return Target{APIVersion: "apps/v1", Kind: "Deployment", Namespace: ns, Name: name}
}

// markReady plays the Deployment controller: every desired pod is ready.
func (h *harness) markReady(name string) *appsv1.Deployment {
	h.t.Helper()
	ctx := context.Background()
	d := &appsv1.Deployment{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: h.ns, Name: name}, d); err != nil {
		h.t.Fatal(err)
	}
	n := *d.Spec.Replicas
	if d.Status.ReadyReplicas == n && d.Status.Replicas == n {
		return d
	}
	d.Status.Replicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas, d.Status.UpdatedReplicas = n, n, n, n
	d.Status.ObservedGeneration = d.Generation
	if err := k8s.Status().Update(ctx, d); err != nil {
		h.t.Fatal(err)
	}
	return d
}

func (h *harness) getDeployment(name string) *appsv1.Deployment {
	h.t.Helper()
	d := &appsv1.Deployment{}
	if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: h.ns, Name: name}, d); err != nil {
		h.t.Fatal(err)
	}
	return d
}

// testPolicy is the policy of the tests: 1 to 8 replicas, up by at most
// 4 pods at a time, down by at most half.
func testPolicy() policies.Policy {
	return policies.Policy{
		MinReplicas: 1, MaxReplicas: 8,
		ScaleUp:   policies.Rules{MaxStep: 4},
		ScaleDown: policies.Rules{MaxStepPercent: 50, StabilizationWindow: policies.Duration(10 * time.Minute)},
	}
}

func (h *harness) policy(name, target string, mode stuurmanv1.Mode, mutate ...func(*stuurmanv1.WorkloadPolicy)) *stuurmanv1.WorkloadPolicy {
	h.t.Helper()
	wp := &stuurmanv1.WorkloadPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: h.ns},
		Spec: stuurmanv1.WorkloadPolicySpec{
			TargetRef:      &stuurmanv1.TargetRef{APIVersion: "apps/v1", Kind: "Deployment", Name: target},
			Metric:         stuurmanv1.MetricSpec{Query: `sum by (namespace, deployment) (rate(http_requests_total{namespace=~"{{.Namespaces}}"}[{{.RateWindow}}]))`, WorkloadLabel: "deployment", Step: &metav1.Duration{Duration: step}, History: &metav1.Duration{Duration: 3 * 24 * time.Hour}},
			CapacityPerPod: resource.MustParse("100"),
			LeadTime:       &metav1.Duration{Duration: 30 * time.Minute},
			Interval:       &metav1.Duration{Duration: 5 * time.Minute},
			Mode:           mode,
			Policy:         testPolicy(),
			// Two days of five-minute samples are history enough here.
			Agent: stuurmanv1.AgentSpec{Name: stuurmanv1.AgentHeuristic, Options: map[string]string{"minHistory": "576"}},
		},
	}
	for _, m := range mutate {
		m(wp)
	}
	if err := k8s.Create(context.Background(), wp); err != nil {
		h.t.Fatal(err)
	}
	return wp
}

func (h *harness) getPolicy(name string) *stuurmanv1.WorkloadPolicy {
	h.t.Helper()
	wp := &stuurmanv1.WorkloadPolicy{}
	if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: h.ns, Name: name}, wp); err != nil {
		h.t.Fatal(err)
	}
	return wp
}

func (h *harness) proposals() []stuurmanv1.ActionProposal {
	h.t.Helper()
	var list stuurmanv1.ActionProposalList
	if err := k8s.List(context.Background(), &list, client.InNamespace(h.ns)); err != nil {
		h.t.Fatal(err)
	}
	return list.Items
}

// events returns the Events regarding the named object, waiting until
// at least min have arrived (they are recorded asynchronously) and then
// a little longer for any more.
func (h *harness) events(kind, name string, min int) []eventsv1.Event {
	h.t.Helper()
	var out []eventsv1.Event
	settled := false
	deadline := time.Now().Add(10 * time.Second)
	for {
		var list eventsv1.EventList
		if err := k8s.List(context.Background(), &list, client.InNamespace(h.ns)); err != nil {
			h.t.Fatal(err)
		}
		out = out[:0]
		for _, e := range list.Items {
			if e.Regarding.Kind == kind && e.Regarding.Name == name {
				out = append(out, e)
			}
		}
		if len(out) >= min || time.Now().After(deadline) {
			if settled {
				break
			}
			// Give a duplicate time to show up.
			settled = true
			time.Sleep(500 * time.Millisecond)
			continue
		}
		time.Sleep(100 * time.Millisecond)
	}
	return out
}

func condition(wp *stuurmanv1.WorkloadPolicy, typ string) metav1.Condition {
	for _, c := range wp.Status.Conditions {
		if c.Type == typ {
			return c
		}
	}
	return metav1.Condition{}
}

// managerWroteReplicas reports whether the field manager wrote
// spec.replicas of obj, as the API server's managed fields record it.
func managerWroteReplicas(obj metav1.Object, manager string) bool {
	for _, mf := range obj.GetManagedFields() {
		if mf.Manager == manager && mf.FieldsV1 != nil && strings.Contains(string(mf.FieldsV1.Raw), `"f:replicas"`) && strings.Contains(string(mf.FieldsV1.Raw), `"f:spec"`) {
			return true
		}
	}
	return false
}

func (h *harness) unstructuredDeployment(name string) *unstructured.Unstructured {
	h.t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind("Deployment"))
	if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: h.ns, Name: name}, u); err != nil {
		h.t.Fatal(err)
	}
	return u
}
