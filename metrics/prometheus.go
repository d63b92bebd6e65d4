package metrics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// RangeQuerier is the one method of Prometheus's HTTP API that the
// Prometheus source uses. client_golang's v1.API satisfies it, and so does
// anything speaking the same API (Thanos, Mimir) through that client; tests
// of callers may pass a small fake.
type RangeQuerier interface {
	QueryRange(ctx context.Context, query string, r v1.Range, opts ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error)
}

var _ RangeQuerier = v1.API(nil)

// NewPrometheusClient returns client_golang's API client for the Prometheus
// HTTP API at address (e.g. "http://prometheus.monitoring:9090"). rt carries
// the requests; nil means client_golang's default round tripper.
func NewPrometheusClient(address string, rt http.RoundTripper) (RangeQuerier, error) {
	u, err := url.Parse(address)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("prometheus: address %q: want an http or https URL such as http://prometheus:9090", address)
	}
	c, err := api.NewClient(api.Config{Address: address, RoundTripper: rt})
	if err != nil {
		return nil, fmt.Errorf("prometheus: address %q: %w", address, err)
	}
	return v1.NewAPI(c), nil
}

// Workload identifies one subject of a batched query: a namespace and a
// workload name (a Deployment's or a StatefulSet's).
type Workload struct {
	Namespace string
	Name      string
}

// String returns "namespace/name".
func (w Workload) String() string { return w.Namespace + "/" + w.Name }

// The default query templates. Each reads one metric for every workload of
// a batch in one range query and returns one series per workload, labelled
// namespace and workload (see PrometheusQuery for the contract).
//
// Both attribute a pod to its workload by the pod's name, which Kubernetes
// derives from the owner's: <deployment>-<pod-template-hash>-<suffix> for a
// Deployment's pods, <statefulset>-<ordinal> for a StatefulSet's (QueryData.Pods).
// They need the metric to carry the namespace and pod labels, as the
// usual Kubernetes service-discovery relabelling and cAdvisor provide.
const (
	// RequestRateTemplate is the demand in requests per second: the rate
	// of the http_requests_total counter summed over each workload's
	// pods. Capacity per pod is then in requests per second too.
	RequestRateTemplate = `sum by (namespace, workload) (
  label_replace(
    rate(http_requests_total{namespace=~"{{.Namespaces}}", pod=~"{{.Pods}}"}[{{.RateWindow}}]),
    "workload", "$1", "pod", "{{.Pods}}"
  )
)`
	// CPUUsageTemplate is the demand in CPU cores: the rate of cAdvisor's
	// container_cpu_usage_seconds_total summed over each workload's
	// containers (the pod-level and pause-container series excluded).
	// Capacity per pod is then in cores; the sum of the pod's CPU requests
	// is what a CPU-utilisation HPA calls 100 %.
	CPUUsageTemplate = `sum by (namespace, workload) (
  label_replace(
    rate(container_cpu_usage_seconds_total{namespace=~"{{.Namespaces}}", pod=~"{{.Pods}}", container!="", container!="POD"}[{{.RateWindow}}]),
    "workload", "$1", "pod", "{{.Pods}}"
  )
)`
)

// PrometheusQuery is one metric read for many workloads at once.
//
// The contract: Template is a text/template of PromQL rendered once per
// batch with a QueryData. The query it yields must return a matrix whose
// series each carry the labels NamespaceLabel and WorkloadLabel, and at
// most one series per (namespace, workload) — aggregate with
// "sum by (namespace, workload)" or the like. A series whose labels name a
// workload outside the batch is ignored (regular-expression selectors may
// select more than asked); a series lacking either label is an error.
type PrometheusQuery struct {
	// Name names the resulting Series (Series.Name). Default
	// "prometheus".
	Name string
	// Template is the PromQL text/template. Default RequestRateTemplate.
	Template string
	// NamespaceLabel is the result label holding the namespace. Default
	// "namespace".
	NamespaceLabel string
	// WorkloadLabel is the result label holding the workload's name.
	// Default "workload"; e.g. "deployment" for a query grouped
	// "by (namespace, deployment)".
	WorkloadLabel string
}

func (q PrometheusQuery) withDefaults() PrometheusQuery {
	if q.Name == "" {
		q.Name = "prometheus"
	}
	if q.Template == "" {
		q.Template = RequestRateTemplate
	}
	if q.NamespaceLabel == "" {
		q.NamespaceLabel = "namespace"
	}
	if q.WorkloadLabel == "" {
		q.WorkloadLabel = "workload"
	}
	return q
}

// QueryData is what a PrometheusQuery's Template is rendered with. The
// string fields are escaped for use between double quotes in PromQL; the
// regular expressions are unanchored, as PromQL anchors them itself.
type QueryData struct {
	// Namespaces matches the batch's namespaces: "payments|shop".
	Namespaces string
	// Names matches the batch's workload names: "api|web".
	Names string
	// Pods matches the names of the batch's workloads' pods and captures
	// the workload's name as $1: "(api|web)-(?:<hash>-<suffix>|<ordinal>)".
	// Longer names come first, so "web-api-0" goes to web-api, not web.
	Pods string
	// RateWindow is the range of rate() and *_over_time() selectors, as a
	// PromQL duration ("5m"); see PrometheusOptions.RateWindow.
	RateWindow string
	// Step is the query's resolution as a PromQL duration ("1m").
	Step string
	// Workloads are the batch's workloads, unescaped, sorted.
	Workloads []Workload
}

// podSuffix matches what Kubernetes appends to a workload's name to name
// its pods: a Deployment's pod-template-hash and random suffix (both
// drawn from the consonant-and-digit alphabet of rand.SafeEncodeString),
// or a StatefulSet's ordinal.
const podSuffix = `(?:[bcdfghjklmnpqrstvwxz2456789]{1,10}-[bcdfghjklmnpqrstvwxz2456789]{5}|[0-9]+)`

func newQueryData(ws []Workload, rateWindow, step time.Duration) QueryData {
	ws = slices.Clone(ws)
	slices.SortFunc(ws, func(a, b Workload) int { return strings.Compare(a.String(), b.String()) })
	ws = slices.Compact(ws)
	var nss, names []string
	for _, w := range ws {
		nss = append(nss, w.Namespace)
		names = append(names, w.Name)
	}
	slices.Sort(nss)
	nss = slices.Compact(nss)
	slices.Sort(names)
	names = slices.Compact(names)
	byLength := slices.Clone(names)
	slices.SortStableFunc(byLength, func(a, b string) int { return len(b) - len(a) })
	return QueryData{
		Namespaces: promqlString(alternation(nss)),
		Names:      promqlString(alternation(names)),
		Pods:       promqlString("(" + alternation(byLength) + ")-" + podSuffix),
		RateWindow: model.Duration(rateWindow).String(),
		Step:       model.Duration(step).String(),
		Workloads:  ws,
	}
}

func alternation(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = regexp.QuoteMeta(v)
	}
	return strings.Join(quoted, "|")
}

// promqlString escapes s for the inside of a double-quoted PromQL string.
func promqlString(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// Render returns the PromQL q reads for the workloads ws at step, with the
// rate window defaulted as PrometheusOptions documents.
func (q PrometheusQuery) Render(ws []Workload, rateWindow, step time.Duration) (string, error) {
	q = q.withDefaults()
	t, err := template.New(q.Name).Option("missingkey=error").Parse(q.Template)
	if err != nil {
		return "", fmt.Errorf("prometheus: PrometheusQuery.Template: %w", err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, newQueryData(ws, rateWindow, step)); err != nil {
		return "", fmt.Errorf("prometheus: PrometheusQuery.Template: %w", err)
	}
	return buf.String(), nil
}

// DefaultMaxPoints is the most evaluation steps one range query asks for:
// Prometheus refuses a range query of more than 11,000 points per series.
const DefaultMaxPoints = 11000

// PrometheusOptions configure a Prometheus source. The zero value is
// usable.
type PrometheusOptions struct {
	// MaxPoints caps the evaluation steps of one range query; a longer
	// range is split into several queries whose results are stitched
	// together. Default DefaultMaxPoints.
	MaxPoints int
	// RateWindow is QueryData.RateWindow. Default: 5m, or the step when
	// that is longer, so that no sample falls between two windows.
	RateWindow time.Duration
}

// Prometheus reads metrics.Series from a Prometheus server, one range
// query per metric for a whole batch of workloads (longer ranges split in
// chunks of at most MaxPoints steps).
type Prometheus struct {
	api RangeQuerier
	opt PrometheusOptions
}

// NewPrometheus returns a source that queries through api.
func NewPrometheus(api RangeQuerier, opt PrometheusOptions) (*Prometheus, error) {
	if api == nil {
		return nil, errors.New("prometheus: NewPrometheus: nil RangeQuerier")
	}
	if opt.MaxPoints < 0 || opt.MaxPoints == 1 {
		return nil, fmt.Errorf("prometheus: PrometheusOptions.MaxPoints: must be 0 (default) or >= 2, got %d", opt.MaxPoints)
	}
	if opt.RateWindow < 0 {
		return nil, fmt.Errorf("prometheus: PrometheusOptions.RateWindow: must be >= 0, got %v", opt.RateWindow)
	}
	if opt.MaxPoints == 0 {
		opt.MaxPoints = DefaultMaxPoints
	}
	return &Prometheus{api: api, opt: opt}, nil
}

// WorkloadSeries is one workload's part of a Batch.
type WorkloadSeries struct {
	Workload Workload
	// Series is the workload's samples over the batch's range; NaN where
	// Prometheus returned no point (or a NaN or infinite one).
	Series Series
	// LastSample is the evaluation time of the last point Prometheus
	// returned with a value (Series.Time(i)+Step of the last non-NaN
	// sample); zero when there was none. It lags the last scrape by up to
	// Prometheus's lookback delta (5m by default) for a plain selector.
	LastSample time.Time
}

// Age returns how old the freshest sample is at now: now − LastSample;
// +Inf (as the largest Duration) when there is no sample.
func (s WorkloadSeries) Age(now time.Time) time.Duration {
	if s.LastSample.IsZero() {
		return time.Duration(math.MaxInt64)
	}
	return now.Sub(s.LastSample)
}

// Batch is the result of one batched read.
type Batch struct {
	// Query is the rendered PromQL.
	Query string
	// Start, End and Step are the aligned range: the series cover
	// [Start, End) in steps of Step.
	Start, End time.Time
	Step       time.Duration
	// Series has one entry per requested workload, including those
	// Prometheus returned nothing for (all NaN, zero LastSample).
	Series map[Workload]WorkloadSeries
	// Warnings are Prometheus's warnings and infos, deduplicated over the
	// chunks, in order of first appearance; infos are prefixed "info: ".
	Warnings []string
	// Ignored counts result series whose labels named no requested
	// workload.
	Ignored int
	// Queries is the number of range queries sent (chunks).
	Queries int
}

// QueryError is a failed range query: Prometheus unreachable, a bad query,
// a result that cannot be split by workload. Err is the cause.
type QueryError struct {
	Query string
	Range v1.Range
	Err   error
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("prometheus: query %q over [%s, %s] step %v: %v", e.Query,
		e.Range.Start.UTC().Format(time.RFC3339), e.Range.End.UTC().Format(time.RFC3339), e.Range.Step, e.Err)
}

func (e *QueryError) Unwrap() error { return e.Err }

// Range reads q for the workloads ws over [start, end) at step.
//
// start and end are truncated to multiples of step. A range query
// evaluates at instants; the point Prometheus evaluates at instant t
// describes what happened up to t (a rate over the window that ends at t,
// the last scrape at or before t), so it becomes the sample of the
// interval [t−step, t): Series.Values[i] is the point evaluated at
// Start+(i+1)·step, and the last sample is the point at End. The series is
// thus a causal view: a sample is complete at the end of its interval
// (Series.Until).
//
// One range query is sent for every MaxPoints steps; the chunks do not
// overlap and are stitched by timestamp. The first failing query stops the
// read with a *QueryError (the Batch then holds what was read so far, to
// be discarded but for its Warnings); Prometheus's warnings are returned
// in the Batch, not as errors.
func (p *Prometheus) Range(ctx context.Context, q PrometheusQuery, ws []Workload, start, end time.Time, step time.Duration) (Batch, error) {
	if step <= 0 {
		return Batch{}, fmt.Errorf("prometheus: step must be > 0, got %v", step)
	}
	if len(ws) == 0 {
		return Batch{}, errors.New("prometheus: no workloads to query")
	}
	for _, w := range ws {
		if w.Namespace == "" || w.Name == "" {
			return Batch{}, fmt.Errorf("prometheus: workload %q: namespace and name must not be empty", w.String())
		}
	}
	q = q.withDefaults()
	start, end = start.Truncate(step), end.Truncate(step)
	n := int(end.Sub(start) / step)
	if n <= 0 {
		return Batch{}, fmt.Errorf("prometheus: empty range [%s, %s) at step %v", start.Format(time.RFC3339), end.Format(time.RFC3339), step)
	}
	rw := p.opt.RateWindow
	if rw == 0 {
		rw = max(5*time.Minute, step)
	}
	query, err := q.Render(ws, rw, step)
	if err != nil {
		return Batch{}, err
	}

	b := Batch{Query: query, Start: start, End: end, Step: step, Series: make(map[Workload]WorkloadSeries, len(ws))}
	for _, w := range ws {
		values := make([]float64, n)
		for i := range values {
			values[i] = math.NaN()
		}
		b.Series[w] = WorkloadSeries{Workload: w, Series: Series{
			Name:   q.Name,
			Labels: map[string]string{"namespace": w.Namespace, "workload": w.Name, "source": "prometheus"},
			Start:  start, Step: step, Values: values,
		}}
	}
	seen := map[string]bool{}
	warn := func(prefix string, ws []string) {
		for _, w := range ws {
			if w = prefix + w; !seen[w] {
				seen[w] = true
				b.Warnings = append(b.Warnings, w)
			}
		}
	}
	// Evaluation instants are start + k·step for k = 1..n; each chunk
	// takes at most MaxPoints of them.
	for first := 1; first <= n; first += p.opt.MaxPoints {
		last := min(n, first+p.opt.MaxPoints-1)
		r := v1.Range{Start: start.Add(time.Duration(first) * step), End: start.Add(time.Duration(last) * step), Step: step}
		val, warnings, infos, err := p.api.QueryRange(ctx, query, r)
		b.Queries++
		warn("", warnings)
		warn("info: ", infos)
		if err != nil {
			return b, &QueryError{Query: query, Range: r, Err: err}
		}
		if err := b.add(q, val, first, last); err != nil {
			return b, &QueryError{Query: query, Range: r, Err: err}
		}
	}
	for w, s := range b.Series {
		if _, i := s.Series.Last(); i >= 0 {
			s.LastSample = s.Series.Time(i + 1)
			b.Series[w] = s
		}
	}
	return b, nil
}

// add places one chunk's matrix, whose evaluation instants are steps
// first..last after b.Start, into b.Series.
func (b *Batch) add(q PrometheusQuery, val model.Value, first, last int) error {
	m, ok := val.(model.Matrix)
	if !ok {
		t := "nothing"
		if val != nil {
			t = val.Type().String()
		}
		return fmt.Errorf("got a %s, want a matrix (a range query of an instant vector)", t)
	}
	placed := map[Workload]bool{}
	for _, ss := range m {
		ns, okNS := ss.Metric[model.LabelName(q.NamespaceLabel)]
		name, okName := ss.Metric[model.LabelName(q.WorkloadLabel)]
		if !okNS || !okName {
			return fmt.Errorf("result series %s lacks the label %q or %q that names its workload: group the query by (%s, %s)",
				ss.Metric, q.NamespaceLabel, q.WorkloadLabel, q.NamespaceLabel, q.WorkloadLabel)
		}
		w := Workload{Namespace: string(ns), Name: string(name)}
		s, ok := b.Series[w]
		if !ok {
			b.Ignored++
			continue
		}
		if placed[w] {
			return fmt.Errorf("several result series for workload %s (one is %s): aggregate by (%s, %s)", w, ss.Metric, q.NamespaceLabel, q.WorkloadLabel)
		}
		placed[w] = true
		if len(ss.Histograms) > 0 {
			return fmt.Errorf("result series %s holds native histograms; want float samples", ss.Metric)
		}
		for _, p := range ss.Values {
			t := p.Timestamp.Time()
			off := t.Sub(b.Start)
			k := int((off + b.Step/2) / b.Step) // nearest evaluation instant
			if k < first || k > last {
				continue
			}
			v := float64(p.Value)
			if math.IsInf(v, 0) {
				v = math.NaN()
			}
			s.Series.Values[k-1] = v
		}
	}
	return nil
}
