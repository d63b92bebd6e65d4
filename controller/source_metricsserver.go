package controller

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	metricsv1beta1 "k8s.io/metrics/pkg/client/clientset/versioned/typed/metrics/v1beta1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stuurmanv1 "github.com/stuurman/stuurman/api/v1alpha1"
	"github.com/stuurman/stuurman/metrics"
)

// DefaultMetricsServerMaxAge is how long one read of a namespace's pod
// metrics serves further queries by default.
const DefaultMetricsServerMaxAge = 10 * time.Second

// MetricsServerSource is the MetricSource that reads resource metrics
// (spec.metric.resource cpu or memory) from the resource metrics API,
// metrics.k8s.io, as metrics-server serves it: one list of the pod
// metrics of a namespace per cycle, however many workloads and policies
// the namespace holds.
//
// A target's demand is the usage of its pods — the pods its label
// selector matches (spec.selector, or the scale subresource's
// status.selector for kinds without one) — summed over their containers:
// cores for cpu, working-set bytes for memory. The pods without metrics
// yet (just started, on a node metrics-server could not scrape) are left
// out of the sum; a target with no pod that has metrics has no reading.
//
// metrics-server only knows the current usage, so the source keeps each
// target's history itself, in memory, at the query's step: a reading
// whose window ends at t is a sample of the step t falls in (the mean, when
// several readings fall in one step); a step without a reading is NaN,
// never zero. The history therefore starts when the controller starts,
// and is lost when it stops: until enough has accumulated, the forecasts
// are in cold start and the heuristic agent acts reactively. Prometheus
// (PrometheusSource) serves the history of a metric from the start.
//
// Set PodMetrics and Client before the first Demand. Demand calls are
// serialized.
type MetricsServerSource struct {
	// PodMetrics reads the metrics.k8s.io API: the metrics clientset's
	// MetricsV1beta1(). Required.
	PodMetrics metricsv1beta1.PodMetricsesGetter
	// Client reads the targets (for their selectors) and the metadata of
	// their pods (for their labels). The manager's client serves both from
	// its cache. Required.
	Client client.Client
	// MaxAge is how long one read of a namespace's pod metrics serves
	// further queries (the other policies of the namespace, the other
	// resource), measured on the queries' End. Default
	// DefaultMetricsServerMaxAge; negative: every query reads.
	MaxAge time.Duration

	mu      sync.Mutex
	reads   map[string]*namespaceUsage
	history map[usageKey]*usageHistory
}

var _ MetricSource = (*MetricsServerSource)(nil)

// namespaceUsage is one read of a namespace: the usage of each of its pods
// that has metrics, with the pod's labels.
type namespaceUsage struct {
	at   time.Time
	pods []podUsage
	// unread are the labels of the namespace's pods with no reading.
	unread []labels.Set
}

type podUsage struct {
	labels    labels.Set
	windowEnd time.Time
	usage     map[stuurmanv1.ResourceMetric]float64
}

// usageKey names one accumulated series: a target's resource at a step.
type usageKey struct {
	target   Target
	resource stuurmanv1.ResourceMetric
	step     time.Duration
}

// usageHistory is one accumulated series. values[i] is the mean of the
// counts[i] readings of the step that starts at start + i*step; NaN when
// there were none.
type usageHistory struct {
	step   time.Duration
	start  time.Time
	values []float64
	counts []int
	// lastWindow is the end of the newest reading's window: a reading is
	// counted once, however often it is read.
	lastWindow time.Time
	// keep is how much history is kept (the policy's metric.history).
	keep time.Duration
	// queried is the End of the last query that asked for the series:
	// a series not asked for within keep is forgotten.
	queried time.Time
}

// Demand reads the current usage of q's targets, adds it to their
// histories, and returns the histories over [q.Start, q.End) at q.Step:
// the samples complete at q.End, NaN where there was no reading. Every
// target gets a series, all NaN when it has no pods or they have no
// metrics. An error from the metrics API fails the read as a whole.
func (s *MetricsServerSource) Demand(ctx context.Context, q DemandQuery) (map[Target]metrics.Series, error) {
	switch q.Metric.Resource {
	case stuurmanv1.ResourceCPU, stuurmanv1.ResourceMemory:
	case "":
		return nil, errors.New("metrics-server: spec.metric.query: the resource metrics API serves only resource metrics (cpu, memory)")
	default:
		return nil, fmt.Errorf("metrics-server: spec.metric.resource %q: want cpu or memory", q.Metric.Resource)
	}
	if q.Step <= 0 {
		return nil, fmt.Errorf("metrics-server: step must be > 0, got %v", q.Step)
	}
	start, end := q.Start.Truncate(q.Step), q.End.Truncate(q.Step)
	n := int(end.Sub(start) / q.Step)
	if n <= 0 {
		return nil, fmt.Errorf("metrics-server: empty range [%s, %s) at step %v", start.Format(time.RFC3339), end.Format(time.RFC3339), q.Step)
	}
	keep := DefaultHistory
	if h := q.Metric.History; h != nil && h.Duration > 0 {
		keep = h.Duration
	}
	keep = max(keep, q.End.Sub(start))

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reads == nil {
		s.reads, s.history = map[string]*namespaceUsage{}, map[usageKey]*usageHistory{}
	}
	out := make(map[Target]metrics.Series, len(q.Targets))
	reads := map[string]*namespaceUsage{} // one read per namespace
	for _, t := range q.Targets {
		ns := reads[t.Namespace]
		if ns == nil {
			var err error
			if ns, err = s.read(ctx, t.Namespace, q.End); err != nil {
				return nil, err
			}
			reads[t.Namespace] = ns
		}
		sel, err := podSelector(ctx, s.Client, t)
		if err != nil {
			return nil, fmt.Errorf("metrics-server: %w", err)
		}
		key := usageKey{target: t, resource: q.Metric.Resource, step: q.Step}
		h := s.history[key]
		if h == nil {
			h = &usageHistory{step: q.Step}
			s.history[key] = h
		}
		h.keep, h.queried = keep, q.End
		if sel != nil {
			if windowEnd, v, ok := ns.sum(sel, q.Metric.Resource); ok {
				h.add(windowEnd, v)
			}
		}
		h.trim(q.End.Add(-keep))
		series := metrics.Series{
			Name:   string(q.Metric.Resource),
			Labels: map[string]string{"namespace": t.Namespace, "workload": t.Name, "source": "metrics-server"},
			Start:  start, Step: q.Step, Values: make([]float64, n),
		}
		for i := range series.Values {
			series.Values[i] = h.at(series.Time(i))
		}
		out[t] = series
	}
	// Forget the targets no policy has asked for within their history.
	for k, h := range s.history {
		if q.End.Sub(h.queried) > h.keep {
			delete(s.history, k)
		}
	}
	return out, nil
}

// read returns the usage of ns's pods, read at most MaxAge before now.
func (s *MetricsServerSource) read(ctx context.Context, ns string, now time.Time) (*namespaceUsage, error) {
	maxAge := s.MaxAge
	if maxAge == 0 {
		maxAge = DefaultMetricsServerMaxAge
	}
	if r := s.reads[ns]; r != nil && !now.Before(r.at) && now.Sub(r.at) <= maxAge {
		return r, nil
	}
	list, err := s.PodMetrics.PodMetricses(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("metrics-server: list pod metrics in %s: %w", ns, err)
	}
	var pods metav1.PartialObjectMetadataList
	pods.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("PodList"))
	if err := s.Client.List(ctx, &pods, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("metrics-server: list pods in %s: %w", ns, err)
	}
	podLabels := make(map[string]labels.Set, len(pods.Items))
	for _, p := range pods.Items {
		podLabels[p.Name] = p.Labels
	}
	r := &namespaceUsage{at: now}
	read := make(map[string]bool, len(list.Items))
	for _, pm := range list.Items {
		l, ok := podLabels[pm.Name]
		if !ok {
			continue // the pod is gone
		}
		if pm.Timestamp.IsZero() {
			continue // no reading
		}
		read[pm.Name] = true
		u := podUsage{labels: l, windowEnd: pm.Timestamp.Add(pm.Window.Duration), usage: map[stuurmanv1.ResourceMetric]float64{}}
		for _, c := range pm.Containers {
			u.usage[stuurmanv1.ResourceCPU] += c.Usage.Cpu().AsApproximateFloat64()
			u.usage[stuurmanv1.ResourceMemory] += c.Usage.Memory().AsApproximateFloat64()
		}
		r.pods = append(r.pods, u)
	}
	for name, l := range podLabels {
		if !read[name] {
			r.unread = append(r.unread, l)
		}
	}
	s.reads[ns] = r
	// Forget the reads too old to serve anything.
	for k, old := range s.reads {
		if now.Sub(old.at) > maxAge {
			delete(s.reads, k)
		}
	}
	return r, nil
}

// sum returns the usage of resource summed over the pods sel matches, and
// the newest end of their windows; ok is false when no pod matches, or when
// a pod that matches has no reading: a partial sum would undercount demand
// and could scale down on missing data, so the step stays a gap instead.
func (r *namespaceUsage) sum(sel labels.Selector, resource stuurmanv1.ResourceMetric) (windowEnd time.Time, v float64, ok bool) {
	for _, l := range r.unread {
		if sel.Matches(l) {
			return time.Time{}, 0, false
		}
	}
	for _, p := range r.pods {
		if !sel.Matches(p.labels) {
			continue
		}
		ok = true
		v += p.usage[resource]
		if p.windowEnd.After(windowEnd) {
			windowEnd = p.windowEnd
		}
	}
	return windowEnd, v, ok
}

// add counts the reading v whose window ends at windowEnd in its step,
// unless it was counted before.
func (h *usageHistory) add(windowEnd time.Time, v float64) {
	if !windowEnd.After(h.lastWindow) || math.IsNaN(v) {
		return
	}
	h.lastWindow = windowEnd
	t := windowEnd.Truncate(h.step)
	if len(h.values) == 0 || t.Sub(h.start) > h.keep {
		// The first reading, or one after a gap longer than the history
		// kept: the history starts again.
		h.start, h.values, h.counts = t, nil, nil
	}
	i := int(t.Sub(h.start) / h.step)
	for len(h.values) <= i {
		h.values = append(h.values, math.NaN())
		h.counts = append(h.counts, 0)
	}
	if h.counts[i] == 0 {
		h.values[i] = 0
	}
	h.counts[i]++
	h.values[i] += (v - h.values[i]) / float64(h.counts[i])
}

// at returns the sample of the step that starts at t, NaN when none.
func (h *usageHistory) at(t time.Time) float64 {
	if len(h.values) == 0 || t.Before(h.start) {
		return math.NaN()
	}
	i := int(t.Sub(h.start) / h.step)
	if i >= len(h.values) {
		return math.NaN()
	}
	return h.values[i]
}

// trim drops the steps that end at or before from.
func (h *usageHistory) trim(from time.Time) {
	i := min(int(from.Sub(h.start)/h.step), len(h.values))
	if len(h.values) == 0 || i <= 0 {
		return
	}
	h.values, h.counts = h.values[i:], h.counts[i:]
	h.start = h.start.Add(time.Duration(i) * h.step)
}

// podSelector returns the selector of t's pods: spec.selector, or, for a
// kind without one, its scale subresource's status.selector. A target
// that does not exist has none (nil, nil).
func podSelector(ctx context.Context, c client.Client, t Target) (labels.Selector, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(schema.FromAPIVersionAndKind(t.APIVersion, t.Kind))
	err := c.Get(ctx, types.NamespacedName{Namespace: t.Namespace, Name: t.Name}, u)
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("get %s: %w", t, err)
	}
	if m, ok, _ := unstructured.NestedMap(u.Object, "spec", "selector"); ok {
		var ls metav1.LabelSelector
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &ls); err != nil {
			return nil, fmt.Errorf("%s: spec.selector: %w", t, err)
		}
		sel, err := metav1.LabelSelectorAsSelector(&ls)
		if err != nil {
			return nil, fmt.Errorf("%s: spec.selector: %w", t, err)
		}
		return sel, nil
	}
	raw := &unstructured.Unstructured{}
	raw.SetGroupVersionKind(autoscalingv1.SchemeGroupVersion.WithKind("Scale"))
	if err := c.SubResource("scale").Get(ctx, u, raw); err != nil {
		return nil, fmt.Errorf("get %s scale: %w", t, err)
	}
	var sc autoscalingv1.Scale
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw.Object, &sc); err != nil {
		return nil, fmt.Errorf("%s scale: %w", t, err)
	}
	if sc.Status.Selector == "" {
		return nil, fmt.Errorf("%s: neither spec.selector nor a scale status.selector to find its pods by", t)
	}
	sel, err := labels.Parse(sc.Status.Selector)
	if err != nil {
		return nil, fmt.Errorf("%s scale: status.selector %q: %w", t, sc.Status.Selector, err)
	}
	return sel, nil
}

// ErrNoQuerySource is the error of a policy whose metric is a query when
// the controller has no source for queries (no Prometheus).
var ErrNoQuerySource = errors.New("the controller has no Prometheus to run queries on: set metric.resource (cpu or memory) instead, or give the controller a Prometheus")

// SplitSource reads a policy's metric from one of two sources by its
// kind: resource metrics (spec.metric.resource) from Resources, queries
// (spec.metric.query) from Queries. It lets resource metrics come from
// metrics-server while queries go to Prometheus, and lets the controller
// run without Prometheus at all: a policy with a query then holds
// (MetricsAvailable=False, QueryFailed) with ErrNoQuerySource.
type SplitSource struct {
	// Queries reads the metrics given as a query. Nil: none can be read;
	// Demand returns ErrNoQuerySource.
	Queries MetricSource
	// Resources reads the resource metrics. Nil: Queries reads them too.
	Resources MetricSource
}

var _ MetricSource = SplitSource{}

// Demand reads q from the source of its metric's kind.
func (s SplitSource) Demand(ctx context.Context, q DemandQuery) (map[Target]metrics.Series, error) {
	src := s.Queries
	if q.Metric.Resource != "" && s.Resources != nil {
		src = s.Resources
	}
	if src == nil {
		return nil, fmt.Errorf("spec.metric.query: %w", ErrNoQuerySource)
	}
	return src.Demand(ctx, q)
}
