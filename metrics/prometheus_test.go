package metrics_test

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/stuurman/stuurman/metrics"
	"github.com/stuurman/stuurman/metrics/promtest"
)

// base is the start of every backfilled history: a fixed time in the
// past, so the tests do not depend on the clock.
var base = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// exact reads the gauge stuurman_test_demand as stored: the last sample
// in the step that ends at each evaluation instant, so a missing sample
// stays missing (a plain selector would repeat the previous sample for
// Prometheus's 5m lookback).
var exact = metrics.PrometheusQuery{
	Name:     "demand",
	Template: `last_over_time(stuurman_test_demand{namespace=~"{{.Namespaces}}", workload=~"{{.Names}}"}[59s])`,
}

func gauge(ns, name string, start time.Time, values []float64) metrics.Series {
	return metrics.Series{Name: "stuurman_test_demand", Labels: map[string]string{"namespace": ns, "workload": name},
		Start: start, Step: time.Minute, Values: values}
}

func source(t *testing.T, url string, opt metrics.PrometheusOptions) *metrics.Prometheus {
	t.Helper()
	c, err := metrics.NewPrometheusClient(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := metrics.NewPrometheus(c, opt)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func same(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

// TestPrometheusReadBack backfills known series and reads them back
// exactly, in one query for several workloads: gaps come back NaN, zeros
// stay zeros, a workload without data is all NaN, and a series the
// regular expressions select but nobody asked for is ignored.
func TestPrometheusReadBack(t *testing.T) {
	web := make([]float64, 61) // samples at base, base+1m, …, base+60m
	for i := range web {
		web[i] = 1.5 * float64(i)
	}
	web[20], web[21], web[22] = math.NaN(), math.NaN(), math.NaN()
	web[30] = 0
	api := make([]float64, 61)
	for i := range api {
		api[i] = 100 + float64(i%7)
	}
	srv := promtest.Start(t, promtest.Options{History: []metrics.Series{
		gauge("shop", "web", base, web),
		gauge("pay", "api", base, api),
		gauge("pay", "web", base, api), // selected by the regexps, not asked for
	}})
	p := source(t, srv.URL, metrics.PrometheusOptions{})
	ws := []metrics.Workload{{Namespace: "shop", Name: "web"}, {Namespace: "pay", Name: "api"}, {Namespace: "shop", Name: "gone"}}
	in := append([]metrics.Workload(nil), ws...)
	b, err := p.Range(context.Background(), exact, ws, base.Add(30*time.Second), base.Add(60*time.Minute+59*time.Second), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ws {
		if ws[i] != in[i] {
			t.Fatalf("Range changed its input: %v", ws)
		}
	}
	if b.Queries != 1 || len(b.Series) != 3 || b.Ignored != 1 || len(b.Warnings) != 0 {
		t.Fatalf("queries %d, series %d, ignored %d, warnings %v", b.Queries, len(b.Series), b.Ignored, b.Warnings)
	}
	if !b.Start.Equal(base) || !b.End.Equal(base.Add(time.Hour)) || b.Step != time.Minute {
		t.Fatalf("range [%v, %v) step %v", b.Start, b.End, b.Step)
	}
	for _, tc := range []struct {
		w    metrics.Workload
		want []float64
	}{{ws[0], web}, {ws[1], api}} {
		got := b.Series[tc.w]
		s := got.Series
		if s.Len() != 60 || !s.Start.Equal(base) || s.Name != "demand" || s.Labels["workload"] != tc.w.Name {
			t.Fatalf("%v: %d samples from %v, name %q labels %v", tc.w, s.Len(), s.Start, s.Name, s.Labels)
		}
		// Sample i covers [base+i·1m, base+(i+1)·1m): the point Prometheus
		// evaluates at its end, i.e. the backfilled sample i+1.
		for i, v := range s.Values {
			if !same(v, tc.want[i+1]) {
				t.Errorf("%v: sample %d (%v) = %v, want %v", tc.w, i, s.Time(i), v, tc.want[i+1])
			}
		}
		if !got.LastSample.Equal(base.Add(time.Hour)) {
			t.Errorf("%v: last sample at %v", tc.w, got.LastSample)
		}
	}
	if s := b.Series[ws[0]].Series; s.Gaps() != 3 || !math.IsNaN(s.Values[19]) || s.Values[29] != 0 {
		t.Errorf("shop/web: gaps %d, [19] %v, [29] %v", s.Gaps(), s.Values[19], s.Values[29])
	}
	gone := b.Series[ws[2]]
	if gone.Series.Gaps() != 60 || !gone.LastSample.IsZero() || gone.Age(base) != time.Duration(math.MaxInt64) {
		t.Errorf("shop/gone: %d gaps, last sample %v", gone.Series.Gaps(), gone.LastSample)
	}
}

// TestPrometheusDefaultTemplate reads request rates with the default
// template: counters per pod, attributed to Deployments and StatefulSets by
// pod name and summed per workload, in one query across namespaces.
func TestPrometheusDefaultTemplate(t *testing.T) {
	counter := func(ns, pod string, perSecond float64) metrics.Series {
		v := make([]float64, 120)
		for i := range v {
			v[i] = perSecond * 60 * float64(i)
		}
		return metrics.Series{Name: "http_requests_total", Labels: map[string]string{"namespace": ns, "pod": pod, "code": "200"},
			Start: base, Step: time.Minute, Values: v}
	}
	srv := promtest.Start(t, promtest.Options{History: []metrics.Series{
		counter("shop", "web-5b4d8c7f9b-x2kqz", 10), // Deployment web: 15/s
		counter("shop", "web-5b4d8c7f9b-q8wzt", 5),
		counter("shop", "web-api-0", 7), // StatefulSet web-api: 10/s
		counter("shop", "web-api-1", 3),
		counter("shop", "cart-6c9d7b8f5-mm4xp", 50), // not asked for
		counter("pay", "ledger-0", 2),               // StatefulSet ledger: 2/s
	}})
	p := source(t, srv.URL, metrics.PrometheusOptions{})
	ws := []metrics.Workload{{Namespace: "shop", Name: "web"}, {Namespace: "shop", Name: "web-api"}, {Namespace: "pay", Name: "ledger"}}
	b, err := p.Range(context.Background(), metrics.PrometheusQuery{Name: "rps"}, ws, base.Add(10*time.Minute), base.Add(110*time.Minute), time.Minute)
	if err != nil {
		t.Fatalf("%v\nquery:\n%s", err, b.Query)
	}
	if b.Queries != 1 {
		t.Errorf("%d queries", b.Queries)
	}
	for w, want := range map[metrics.Workload]float64{ws[0]: 15, ws[1]: 10, ws[2]: 2} {
		s := b.Series[w].Series
		if s.Len() != 100 || s.Gaps() != 0 {
			t.Fatalf("%v: %d samples, %d gaps\nquery:\n%s", w, s.Len(), s.Gaps(), b.Query)
		}
		for i, v := range s.Values {
			if math.Abs(v-want) > 1e-9*want {
				t.Fatalf("%v: sample %d = %v, want %v", w, i, v, want)
			}
		}
	}
	for _, want := range []string{`namespace=~"pay|shop"`, `"(web-api|ledger|web)-(?:`} {
		if !strings.Contains(b.Query, want) {
			t.Errorf("query lacks %s:\n%s", want, b.Query)
		}
	}
}

// TestPrometheusChunking reads 14 days at a 1-minute step — more points
// than Prometheus serves in one range query — in chunks and stitches them
// back exactly.
func TestPrometheusChunking(t *testing.T) {
	n := 14*24*60 + 1
	v := make([]float64, n)
	for i := range v {
		v[i] = float64(i%1440) + float64(i/1440)/4 // daily ramp, exact in binary
	}
	v[11000], v[11001] = math.NaN(), math.NaN() // a gap across the first chunk's end
	srv := promtest.Start(t, promtest.Options{History: []metrics.Series{gauge("shop", "web", base, v)}})
	c, err := metrics.NewPrometheusClient(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	end := base.Add(14 * 24 * time.Hour)
	ctx := context.Background()
	query, err := exact.Render([]metrics.Workload{{Namespace: "shop", Name: "web"}}, 0, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := c.QueryRange(ctx, query, v1.Range{Start: base, End: end, Step: time.Minute}); err == nil || !strings.Contains(err.Error(), "11,000") {
		t.Fatalf("one unchunked query of 14 days: err = %v, want Prometheus's 11,000-point limit", err)
	}
	for _, tc := range []struct{ maxPoints, queries int }{{0, 2}, {1000, 21}, {20160, 2}} {
		p, err := metrics.NewPrometheus(c, metrics.PrometheusOptions{MaxPoints: tc.maxPoints})
		if err != nil {
			t.Fatal(err)
		}
		w := metrics.Workload{Namespace: "shop", Name: "web"}
		b, err := p.Range(ctx, exact, []metrics.Workload{w}, base, end, time.Minute)
		if tc.maxPoints == 20160 {
			// More than Prometheus allows: the first query fails, and says so.
			var qe *metrics.QueryError
			if !errors.As(err, &qe) || !strings.Contains(err.Error(), "11,000") || qe.Query != query {
				t.Fatalf("MaxPoints %d: err = %v", tc.maxPoints, err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		s := b.Series[w].Series
		if b.Queries != tc.queries || s.Len() != n-1 || s.Gaps() != 2 {
			t.Fatalf("MaxPoints %d: %d queries, %d samples, %d gaps", tc.maxPoints, b.Queries, s.Len(), s.Gaps())
		}
		for i, x := range s.Values {
			if !same(x, v[i+1]) {
				t.Fatalf("MaxPoints %d: sample %d = %v, want %v", tc.maxPoints, i, x, v[i+1])
			}
		}
	}
}

// TestPrometheusStopped: a server that went away yields a QueryError that
// names the query and the cause.
func TestPrometheusStopped(t *testing.T) {
	srv := promtest.Start(t, promtest.Options{})
	p := source(t, srv.URL, metrics.PrometheusOptions{})
	w := []metrics.Workload{{Namespace: "shop", Name: "web"}}
	if _, err := p.Range(context.Background(), exact, w, base, base.Add(time.Hour), time.Minute); err != nil {
		t.Fatalf("before Stop: %v", err)
	}
	srv.Stop()
	srv.Stop() // idempotent
	_, err := p.Range(context.Background(), exact, w, base, base.Add(time.Hour), time.Minute)
	var qe *metrics.QueryError
	if !errors.As(err, &qe) || !errors.Is(err, syscall.ECONNREFUSED) || !strings.Contains(err.Error(), "last_over_time(stuurman_test_demand") {
		t.Fatalf("after Stop: err = %v", err)
	}
	t.Log(err)
}

// fake answers every range query with one result.
type fake struct {
	val      model.Value
	warnings v1.Warnings
	err      error
	ranges   []v1.Range
}

func (f *fake) QueryRange(_ context.Context, _ string, r v1.Range, _ ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error) {
	f.ranges = append(f.ranges, r)
	return f.val, f.warnings, nil, f.err
}

var _ metrics.RangeQuerier = (*fake)(nil)

func stream(lbl model.Metric, ts ...time.Time) *model.SampleStream {
	s := &model.SampleStream{Metric: lbl}
	for _, t := range ts {
		s.Values = append(s.Values, model.SamplePair{Timestamp: model.TimeFromUnixNano(t.UnixNano()), Value: 1})
	}
	return s
}

func TestPrometheusResultErrors(t *testing.T) {
	web := model.Metric{"namespace": "shop", "workload": "web"}
	w := []metrics.Workload{{Namespace: "shop", Name: "web"}}
	for _, tc := range []struct {
		name string
		q    metrics.PrometheusQuery
		f    fake
		want string
	}{
		{"vector", metrics.PrometheusQuery{}, fake{val: model.Vector{}}, "got a vector, want a matrix"},
		{"unlabelled", metrics.PrometheusQuery{}, fake{val: model.Matrix{stream(model.Metric{"namespace": "shop"})}}, `lacks the label "namespace" or "workload"`},
		{"duplicate", metrics.PrometheusQuery{}, fake{val: model.Matrix{stream(web), stream(web)}}, "several result series for workload shop/web"},
		{"server", metrics.PrometheusQuery{}, fake{err: &v1.Error{Type: v1.ErrBadData, Msg: "parse error"}}, "bad_data: parse error"},
		{"template", metrics.PrometheusQuery{Template: "rate({{.Nope}})"}, fake{}, "PrometheusQuery.Template"},
	} {
		p, err := metrics.NewPrometheus(&tc.f, metrics.PrometheusOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Range(context.Background(), tc.q, w, base, base.Add(time.Hour), time.Minute)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}

	// Warnings are kept once, chunks do not overlap, and a custom label
	// names the workload.
	f := &fake{val: model.Matrix{stream(model.Metric{"namespace": "shop", "deployment": "web"}, base.Add(time.Minute), base.Add(30*time.Minute))},
		warnings: v1.Warnings{"partial data"}}
	p, _ := metrics.NewPrometheus(f, metrics.PrometheusOptions{MaxPoints: 25})
	b, err := p.Range(context.Background(), metrics.PrometheusQuery{WorkloadLabel: "deployment"}, w, base, base.Add(time.Hour), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Warnings) != 1 || b.Queries != 3 || len(f.ranges) != 3 {
		t.Fatalf("warnings %v, %d queries", b.Warnings, b.Queries)
	}
	for i, r := range f.ranges {
		wantStart := base.Add(time.Duration(1+25*i) * time.Minute)
		if !r.Start.Equal(wantStart) || (i > 0 && !r.Start.Equal(f.ranges[i-1].End.Add(time.Minute))) {
			t.Errorf("chunk %d: %v – %v", i, r.Start, r.End)
		}
	}
	if s := b.Series[w[0]].Series; s.Values[0] != 1 || s.Values[29] != 1 || s.Gaps() != 58 {
		t.Errorf("stitched %v", s.Values)
	}

	for _, opt := range []metrics.PrometheusOptions{{MaxPoints: -1}, {MaxPoints: 1}, {RateWindow: -time.Second}} {
		if _, err := metrics.NewPrometheus(f, opt); err == nil || !strings.Contains(err.Error(), "PrometheusOptions.") {
			t.Errorf("%+v: err = %v", opt, err)
		}
	}
	if _, err := metrics.NewPrometheusClient("prometheus:9090", nil); err == nil {
		t.Error("an address without a scheme was accepted")
	}
}

// BenchmarkPrometheusSplit measures splitting a batch's answer into
// series: 200 workloads × 14 days at 1m. The read takes two chunks and the
// fake answers each with the whole matrix, so every point is looked at
// twice. About 0.2 s and 33 MB (the 200 result series) per read on 2 cores:
//
//	go test -run '^$' -bench PrometheusSplit -benchtime 5x ./metrics/
func BenchmarkPrometheusSplit(b *testing.B) {
	const workloads, n = 200, 14 * 24 * 60
	var ws []metrics.Workload
	var m model.Matrix
	for i := range workloads {
		w := metrics.Workload{Namespace: "shop", Name: "w" + strconv.Itoa(i)}
		ws = append(ws, w)
		s := &model.SampleStream{Metric: model.Metric{"namespace": "shop", "workload": model.LabelValue(w.Name)}}
		for k := 1; k <= n; k++ {
			s.Values = append(s.Values, model.SamplePair{Timestamp: model.TimeFromUnixNano(base.Add(time.Duration(k) * time.Minute).UnixNano()), Value: 1})
		}
		m = append(m, s)
	}
	p, _ := metrics.NewPrometheus(&fake{val: m}, metrics.PrometheusOptions{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Range(context.Background(), metrics.PrometheusQuery{}, ws, base, base.Add(n*time.Minute), time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}
