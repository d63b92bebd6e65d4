package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	metricsapi "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	stuurmanv1 "github.com/stuurman/stuurman/api/v1alpha1"
	"github.com/stuurman/stuurman/metrics"
	"github.com/stuurman/stuurman/policies"
)

// fakeMetricsServer serves the resource metrics API's pod metrics list,
// /apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods, from what the test
// sets, and counts the lists per namespace.
type fakeMetricsServer struct {
	t      *testing.T
	mu     sync.Mutex
	pods   map[string][]metricsapi.PodMetrics // by namespace
	status int                                // non-zero: fail with this code
	lists  map[string]int
	other  []string // requests for anything else
}

func newFakeMetricsServer(t *testing.T) (*fakeMetricsServer, *httptest.Server) {
	f := &fakeMetricsServer{t: t, pods: map[string][]metricsapi.PodMetrics{}, lists: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods", f.list)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.other = append(f.other, r.Method+" "+r.URL.Path)
		f.mu.Unlock()
		http.NotFound(w, r)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeMetricsServer) list(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ns := r.PathValue("ns")
	f.lists[ns]++
	w.Header().Set("Content-Type", "application/json")
	if f.status != 0 {
		w.WriteHeader(f.status)
		_ = json.NewEncoder(w).Encode(metav1.Status{
			TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
			Status:   metav1.StatusFailure, Code: int32(f.status),
			Reason:  metav1.StatusReasonServiceUnavailable,
			Message: "the server is currently unable to handle the request (get pods.metrics.k8s.io)",
		})
		return
	}
	list := metricsapi.PodMetricsList{
		TypeMeta: metav1.TypeMeta{Kind: "PodMetricsList", APIVersion: "metrics.k8s.io/v1beta1"},
		Items:    f.pods[ns],
	}
	if list.Items == nil {
		list.Items = []metricsapi.PodMetrics{}
	}
	if err := json.NewEncoder(w).Encode(list); err != nil {
		f.t.Error(err)
	}
}

// set makes ns's pods report usage, each pod's readings taken over the
// 30 s window that ends at windowEnd. usage maps a pod to its
// containers' cpu and memory, as "cpu/memory" quantities.
func (f *fakeMetricsServer) set(ns string, windowEnd time.Time, usage map[string][]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var items []metricsapi.PodMetrics
	for pod, containers := range usage {
		pm := metricsapi.PodMetrics{
			ObjectMeta: metav1.ObjectMeta{Name: pod, Namespace: ns},
			Timestamp:  metav1.NewTime(windowEnd.Add(-30 * time.Second)),
			Window:     metav1.Duration{Duration: 30 * time.Second},
		}
		for i, c := range containers {
			cpu, mem, _ := strings.Cut(c, "/")
			pm.Containers = append(pm.Containers, metricsapi.ContainerMetrics{
				Name:  fmt.Sprintf("c%d", i),
				Usage: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)},
			})
		}
		items = append(items, pm)
	}
	f.pods[ns] = items
}

func (f *fakeMetricsServer) fail(status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status = status
}

func (f *fakeMetricsServer) listCalls(ns string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lists[ns]
}

func (f *fakeMetricsServer) otherRequests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.other...)
}

// newMetricsServerSource returns a source reading the fake server through
// the metrics clientset, and the envtest API server for targets and pods.
func newMetricsServerSource(t *testing.T, srv *httptest.Server) *MetricsServerSource {
	t.Helper()
	mc, err := metricsclient.NewForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return &MetricsServerSource{PodMetrics: mc.MetricsV1beta1(), Client: k8s}
}

// msWorkload creates a Deployment selecting app=name and, since nothing
// runs the Deployment controller here, its pods.
func msWorkload(t *testing.T, ns, name string, pods ...string) Target {
	t.Helper()
	ctx := context.Background()
	labels := map[string]string{"app": name}
	replicas := int32(len(pods))
	spec := corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.invalid/app:1"}}}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec},
		},
	}
	if err := k8s.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	for _, p := range pods {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: p, Namespace: ns, Labels: map[string]string{"app": name, "pod-template-hash": "abc"}}, Spec: spec}
		if err := k8s.Create(ctx, pod); err != nil {
			t.Fatal(err)
		}
	}
	return Target{APIVersion: "apps/v1", Kind: "Deployment", Namespace: ns, Name: name}
}

// msT0 is a step boundary; the tests' readings fall 50 s into steps.
var msT0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// sameSeries reports whether got holds want (NaN matching NaN), within
// rounding.
func sameSeries(got metrics.Series, start time.Time, want []float64) bool {
	if !got.Start.Equal(start) || got.Len() != len(want) {
		return false
	}
	for i, w := range want {
		g := got.Values[i]
		if math.IsNaN(w) != math.IsNaN(g) || (!math.IsNaN(w) && math.Abs(g-w) > 1e-9*math.Max(1, math.Abs(w))) {
			return false
		}
	}
	return true
}

func TestMetricsServerSourceAccumulates(t *testing.T) {
	const step = time.Minute
	ns := newNamespace(t)
	web := msWorkload(t, ns, "web", "web-1", "web-2")
	api := msWorkload(t, ns, "api", "api-1")
	idle := msWorkload(t, ns, "idle") // no pods
	warm := msWorkload(t, ns, "warm", "warm-1")
	half := msWorkload(t, ns, "half", "half-1", "half-2") // half-2 never has metrics
	msWorkload(t, ns, "stray", "stray-1")                 // not a target: its pods must not count
	fake, srv := newFakeMetricsServer(t)
	src := newMetricsServerSource(t, srv)

	// The usage at step k: web-1 runs two containers, web-2 one; warm-1
	// has no metrics yet.
	usage := func(k int) map[string][]string {
		return map[string][]string{
			"web-1":   {fmt.Sprintf("%dm/100Mi", 100+10*k), "5m/10Mi"},
			"web-2":   {"200m/200Mi"},
			"api-1":   {fmt.Sprintf("%d/1Gi", k+1)},
			"stray-1": {"7/7Gi"},
			"half-1":  {"3/3Gi"},
		}
	}
	webCPU := func(k int) float64 { return 0.305 + 0.01*float64(k) }
	apiCPU := func(k int) float64 { return float64(k + 1) }
	nan := math.NaN()

	start := msT0.Add(-2 * step)
	cpu := stuurmanv1.MetricSpec{Resource: stuurmanv1.ResourceCPU}
	demand := func(end time.Time, m stuurmanv1.MetricSpec, targets ...Target) map[Target]metrics.Series {
		t.Helper()
		got, err := src.Demand(context.Background(), DemandQuery{Metric: m, Targets: targets, Start: start, End: end, Step: step})
		if err != nil {
			t.Fatalf("demand at %s: %v", end.Format(time.TimeOnly), err)
		}
		if len(got) != len(targets) {
			t.Fatalf("demand at %s: %d series, want one per target (%d)", end.Format(time.TimeOnly), len(got), len(targets))
		}
		return got
	}

	// Cycles at 10 s past each minute read what metrics-server scraped
	// 20 s before; the cycle of step 2 never runs.
	lists := 0
	for _, k := range []int{0, 1, 3, 4} {
		fake.set(ns, msT0.Add(time.Duration(k)*step+50*time.Second), usage(k))
		end := msT0.Add(time.Duration(k+1)*step + 10*time.Second)
		got := demand(end, cpu, web, api, idle, warm, half)
		lists++
		if n := fake.listCalls(ns); n != lists {
			t.Fatalf("step %d: %d list calls of %s, want one per cycle (%d)", k, n, ns, lists)
		}
		if k == 0 {
			// The reading of step 0 is complete at the cycle of step 1.
			if want := []float64{nan, nan, webCPU(0)}; !sameSeries(got[web], start, want) {
				t.Errorf("web at step 0: %v from %s, want %v", got[web].Values, got[web].Start.Format(time.TimeOnly), want)
			}
		}
	}

	// The last cycle: steps -2 and -1 precede the controller's start, step
	// 2 was missed; web sums two pods and three containers.
	end := msT0.Add(5*step + 10*time.Second)
	got := demand(end, cpu, web, api, idle, warm, half) // within MaxAge: no new list
	if n := fake.listCalls(ns); n != lists {
		t.Errorf("a second query within MaxAge made a list call: %d, want %d", n, lists)
	}
	for _, tc := range []struct {
		target Target
		want   []float64
	}{
		{web, []float64{nan, nan, webCPU(0), webCPU(1), nan, webCPU(3), webCPU(4)}},
		{api, []float64{nan, nan, apiCPU(0), apiCPU(1), nan, apiCPU(3), apiCPU(4)}},
		{idle, []float64{nan, nan, nan, nan, nan, nan, nan}},
		{warm, []float64{nan, nan, nan, nan, nan, nan, nan}},
		// One of two pods unread: a partial sum would undercount the
		// demand, so every step is a gap.
		{half, []float64{nan, nan, nan, nan, nan, nan, nan}},
	} {
		s := got[tc.target]
		if !sameSeries(s, start, tc.want) {
			t.Errorf("%s: %v from %s, want %v from %s", tc.target, s.Values, s.Start.Format(time.TimeOnly), tc.want, start.Format(time.TimeOnly))
		}
		if s.Step != step || s.Name != "cpu" || s.Labels["workload"] != tc.target.Name || s.Labels["source"] != "metrics-server" {
			t.Errorf("%s: step %v, name %q, labels %v", tc.target, s.Step, s.Name, s.Labels)
		}
	}

	// Another policy of the namespace, on memory, in the same cycle:
	// served by the same list.
	mem := demand(end.Add(2*time.Second), stuurmanv1.MetricSpec{Resource: stuurmanv1.ResourceMemory}, web)
	if n := fake.listCalls(ns); n != lists {
		t.Errorf("a second policy in the same cycle made a list call: %d, want %d", n, lists)
	}
	wantMem := float64(310 << 20)
	if s := mem[web]; s.Len() != 7 || math.Abs(s.Values[6]-wantMem) > 1 || s.Gaps() != 6 {
		t.Errorf("web memory: %v, want %v at step 4 only", s.Values, wantMem)
	}

	// Two scrapes in step 5, each read once however often it is read:
	// the step's sample is their mean.
	fake.set(ns, msT0.Add(5*step+20*time.Second), usage(5))
	demand(msT0.Add(5*step+25*time.Second), cpu, web)
	fake.set(ns, msT0.Add(5*step+50*time.Second), usage(7))
	demand(msT0.Add(5*step+55*time.Second), cpu, web)
	got = demand(msT0.Add(6*step+10*time.Second), cpu, web) // metrics-server has not scraped again
	if s, want := got[web], (webCPU(5)+webCPU(7))/2; s.Len() != 8 || math.Abs(s.Values[7]-want) > 1e-9 {
		t.Errorf("web at step 5: %v, want the mean of the two scrapes, %v", s.Values, want)
	}
	if n := fake.listCalls(ns); n != lists+3 {
		t.Errorf("%d list calls, want %d", n, lists+3)
	}
	if o := fake.otherRequests(); len(o) > 0 {
		t.Errorf("requests the fake does not serve: %v", o)
	}
}

func TestMetricsServerSourceErrors(t *testing.T) {
	const step = time.Minute
	ns := newNamespace(t)
	web := msWorkload(t, ns, "web", "web-1")
	fake, srv := newFakeMetricsServer(t)
	src := newMetricsServerSource(t, srv)
	src.MaxAge = -1 // every query reads
	q := DemandQuery{Metric: stuurmanv1.MetricSpec{Resource: stuurmanv1.ResourceCPU}, Targets: []Target{web}, Start: msT0.Add(-5 * step), End: msT0.Add(step + 10*time.Second), Step: step}

	fake.fail(http.StatusServiceUnavailable)
	got, err := src.Demand(context.Background(), q)
	if err == nil || got != nil {
		t.Fatalf("demand with the metrics API down: %v, %v; want an error", got, err)
	}
	if !apierrors.IsServiceUnavailable(err) || !strings.Contains(err.Error(), ns) {
		t.Errorf("error %q: want the API's ServiceUnavailable, naming the namespace", err)
	}

	// Recovered: the failed cycle left no sample behind, not even a zero.
	fake.fail(0)
	fake.set(ns, msT0.Add(50*time.Second), map[string][]string{"web-1": {"250m/1Mi"}})
	got, err = src.Demand(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if s := got[web]; s.Len() != 6 || s.Gaps() != 5 || s.Values[5] != 0.25 {
		t.Errorf("web after recovery: %v, want 0.25 at step 0 only", s.Values)
	}
	if n := fake.listCalls(ns); n != 2 {
		t.Errorf("%d list calls, want 2", n)
	}

	for _, m := range []stuurmanv1.MetricSpec{{Query: "up"}, {Resource: "gpu"}} {
		q.Metric = m
		if _, err := src.Demand(context.Background(), q); err == nil {
			t.Errorf("metric %+v: no error", m)
		}
	}
}

func TestMetricsServerSplitSource(t *testing.T) {
	var queries, resources int
	prom := MetricSourceFunc(func(context.Context, DemandQuery) (map[Target]metrics.Series, error) { queries++; return nil, nil })
	ms := MetricSourceFunc(func(context.Context, DemandQuery) (map[Target]metrics.Series, error) { resources++; return nil, nil })
	ctx := context.Background()
	query := DemandQuery{Metric: stuurmanv1.MetricSpec{Query: "up"}}
	cpu := DemandQuery{Metric: stuurmanv1.MetricSpec{Resource: stuurmanv1.ResourceCPU}}

	for _, tc := range []struct {
		src                  SplitSource
		q                    DemandQuery
		wantQueries, wantRes int
		wantErrNoQuerySource bool
	}{
		{SplitSource{Queries: prom, Resources: ms}, query, 1, 0, false},
		{SplitSource{Queries: prom, Resources: ms}, cpu, 0, 1, false},
		{SplitSource{Queries: prom}, cpu, 1, 0, false},
		{SplitSource{Resources: ms}, cpu, 0, 1, false},
		{SplitSource{Resources: ms}, query, 0, 0, true},
	} {
		queries, resources = 0, 0
		_, err := tc.src.Demand(ctx, tc.q)
		if errors.Is(err, ErrNoQuerySource) != tc.wantErrNoQuerySource || queries != tc.wantQueries || resources != tc.wantRes {
			t.Errorf("%+v on %+v: err %v, %d queries, %d resource reads", tc.src, tc.q.Metric, err, queries, resources)
		}
	}
}

// The controller on metrics-server alone: a resource policy has no data
// until the first reading's step is complete, then fresh demand; a
// policy with a query holds with QueryFailed, naming the cause.
func TestMetricsServerReconcile(t *testing.T) {
	const step = time.Minute
	ns := newNamespace(t)
	msWorkload(t, ns, "web", "web-1", "web-2")
	fake, srv := newFakeMetricsServer(t)
	clock := clocktesting.NewFakeClock(msT0.Add(10 * time.Second))
	r, err := NewReconciler(k8s, Options{Source: SplitSource{Resources: newMetricsServerSource(t, srv)}, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	policy := func(name string, m stuurmanv1.MetricSpec) {
		t.Helper()
		m.Step, m.History = &metav1.Duration{Duration: step}, &metav1.Duration{Duration: time.Hour}
		wp := &stuurmanv1.WorkloadPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: stuurmanv1.WorkloadPolicySpec{
				TargetRef:      &stuurmanv1.TargetRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
				Metric:         m,
				CapacityPerPod: resource.MustParse("1"),
				Interval:       &metav1.Duration{Duration: step},
				Mode:           stuurmanv1.ModeRecommend,
				Policy:         policies.Policy{MinReplicas: 1, MaxReplicas: 4},
			},
		}
		if err := k8s.Create(context.Background(), wp); err != nil {
			t.Fatal(err)
		}
	}
	policy("cpu", stuurmanv1.MetricSpec{Resource: stuurmanv1.ResourceCPU})
	policy("promql", stuurmanv1.MetricSpec{Query: `sum by (namespace, workload) (up{namespace=~"{{.Namespaces}}"})`})
	metricsAvailable := func(name string) metav1.Condition {
		t.Helper()
		if _, err := r.Reconcile(context.Background(), reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}); err != nil {
			t.Fatalf("reconcile %s at %s: %v", name, clock.Now().Format(time.TimeOnly), err)
		}
		wp := &stuurmanv1.WorkloadPolicy{}
		if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, wp); err != nil {
			t.Fatal(err)
		}
		for _, c := range wp.Status.Conditions {
			if c.Type == stuurmanv1.ConditionMetricsAvailable {
				return c
			}
		}
		t.Fatalf("%s: no MetricsAvailable condition", name)
		return metav1.Condition{}
	}

	fake.set(ns, msT0.Add(5*time.Second), map[string][]string{"web-1": {"300m/1Mi"}, "web-2": {"200m/1Mi"}})
	if c := metricsAvailable("cpu"); c.Status != metav1.ConditionFalse || c.Reason != stuurmanv1.ReasonNoData {
		t.Errorf("cpu, first cycle: %s %s %q; want False NoData", c.Status, c.Reason, c.Message)
	}
	if c := metricsAvailable("promql"); c.Status != metav1.ConditionFalse || c.Reason != stuurmanv1.ReasonQueryFailed || !strings.Contains(c.Message, ErrNoQuerySource.Error()) {
		t.Errorf("promql: %s %s %q; want False QueryFailed naming the missing Prometheus", c.Status, c.Reason, c.Message)
	}

	clock.SetTime(msT0.Add(step + 10*time.Second))
	fake.set(ns, msT0.Add(step+5*time.Second), map[string][]string{"web-1": {"400m/1Mi"}, "web-2": {"200m/1Mi"}})
	if c := metricsAvailable("cpu"); c.Status != metav1.ConditionTrue || c.Reason != stuurmanv1.ReasonFresh {
		t.Errorf("cpu, second cycle: %s %s %q; want True Fresh", c.Status, c.Reason, c.Message)
	}
	if n := fake.listCalls(ns); n != 2 {
		t.Errorf("%d list calls, want one per cycle (2)", n)
	}
}
