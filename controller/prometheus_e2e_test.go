package controller

import (
	"context"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	stuurmanv1 "github.com/stuurman/stuurman/api/v1alpha1"
	"github.com/stuurman/stuurman/metrics"
	"github.com/stuurman/stuurman/metrics/promtest"
)

// These tests run the controller end to end on real components: the
// envtest API server and a real Prometheus (package promtest) whose
// history is a request counter per pod, backfilled with promtool. The
// policy's metric is the request-rate template of package metrics; the
// controller reads it through PrometheusSource, as in a cluster.

// webPods are the pods whose counters make up a Deployment's demand; the
// names follow Kubernetes' <deployment>-<pod-template-hash>-<suffix>, as
// the template's pod regular expression expects.
var webPods = []string{"5b4d8c7f9b-x2kqz", "5b4d8c7f9b-q8wzt"}

// requestCounters returns the http_requests_total counters of the pods
// of Deployment name in namespace ns, one sample a minute from 3 days
// before t0 to 1 day after: together their rate is dailyDemand, shared
// evenly among the pods.
func requestCounters(ns, name string) []metrics.Series {
	from, to := t0.Add(-3*24*time.Hour), t0.Add(24*time.Hour)
	n := int(to.Sub(from)/time.Minute) + 1
	var out []metrics.Series
	for _, pod := range webPods {
		s := metrics.Series{
			Name: "http_requests_total", Labels: map[string]string{"namespace": ns, "pod": name + "-" + pod},
			Start: from, Step: time.Minute, Values: make([]float64, n),
		}
		for i := 1; i < n; i++ {
			// The requests of the minute that ends at sample i.
			s.Values[i] = s.Values[i-1] + 60*dailyDemand(s.Time(i))/float64(len(webPods))
		}
		out = append(out, s)
	}
	return out
}

// countingQuerier counts the range queries sent to Prometheus.
type countingQuerier struct {
	metrics.RangeQuerier
	n atomic.Int64
}

func (c *countingQuerier) QueryRange(ctx context.Context, q string, r v1.Range, opts ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error) {
	c.n.Add(1)
	return c.RangeQuerier.QueryRange(ctx, q, r, opts...)
}

// promHarness is a harness whose reconciler reads the demand of
// Deployment name from a real Prometheus.
type promHarness struct {
	*harness
	srv     *promtest.Server
	queries *countingQuerier
	// source is the PrometheusSource the reconciler reads through; a test
	// may point it at another server.
	source atomic.Pointer[PrometheusSource]
}

func newPromHarness(t *testing.T, start time.Time, name string, replicas int32) *promHarness {
	t.Helper()
	h := &promHarness{harness: newHarness(t, start, Options{})}
	h.deployment(name, replicas)
	h.connect(promtest.Start(t, promtest.Options{History: requestCounters(h.ns, name)}))
	h.r = h.reconciler(Options{Source: MetricSourceFunc(func(ctx context.Context, q DemandQuery) (map[Target]metrics.Series, error) {
		return h.source.Load().Demand(ctx, q)
	})})
	h.policy(name, name, stuurmanv1.ModeAuto, func(wp *stuurmanv1.WorkloadPolicy) {
		wp.Spec.Metric.Query, wp.Spec.Metric.WorkloadLabel = metrics.RequestRateTemplate, ""
	})
	return h
}

// connect makes the reconciler read from srv.
func (h *promHarness) connect(srv *promtest.Server) {
	h.t.Helper()
	api, err := metrics.NewPrometheusClient(srv.URL, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	h.queries = &countingQuerier{RangeQuerier: api}
	prom, err := metrics.NewPrometheus(h.queries, metrics.PrometheusOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	h.srv = srv
	h.source.Store(&PrometheusSource{Prometheus: prom})
}

// history returns the demand history the reconciler keeps for the
// Deployment target of the policy.
func (h *harness) history(policy, target string) metrics.Series {
	h.t.Helper()
	h.r.mu.Lock()
	defer h.r.mu.Unlock()
	rt := h.r.policies[types.NamespacedName{Namespace: h.ns, Name: policy}]
	if rt == nil || rt.targets[deploymentTarget(h.ns, target)] == nil {
		h.t.Fatalf("the reconciler keeps nothing for policy %s, target %s", policy, target)
	}
	return rt.targets[deploymentTarget(h.ns, target)].history.series().Clone()
}

// (a) on real Prometheus: Auto mode on a Deployment whose request rate
// has a daily peak coming; the controller scales up ahead of the peak and
// back down after it, within the policy, reading one range query per
// cycle.
func TestPrometheusAutoScalesAheadOfDailyPeak(t *testing.T) {
	h := newPromHarness(t, t0.Add(8*time.Hour), "web", 1)

	replicas := map[time.Time]int32{}
	for now := h.clock.Now(); !now.After(t0.Add(18 * time.Hour)); now = now.Add(5 * time.Minute) {
		h.clock.SetTime(now)
		h.reconcile("web")
		replicas[now] = *h.markReady("web").Spec.Replicas
		if ts := h.getPolicy("web").Status.Targets; len(ts) != 1 || ts[0].LastSampleTime == nil || !ts[0].LastSampleTime.Time.Equal(now) {
			t.Fatalf("%s: target summary %+v, want one target whose newest sample ends now", now.Format("15:04"), ts)
		}
	}

	noon := t0.Add(12 * time.Hour)
	need := podsFor(dailyDemand(noon))
	if got := replicas[noon.Add(-15*time.Minute)]; got < need {
		t.Errorf("at 11:45 the deployment has %d replicas, want at least the %d the noon peak needs", got, need)
	}
	for now, n := range replicas {
		if now.After(t0.Add(9*time.Hour)) && now.Before(noon) {
			if d := dailyDemand(now.Add(5 * time.Minute)); float64(n)*capacity < d {
				t.Errorf("at %s: %d replicas serve %.0f, the demand 5 minutes later is %.0f", now.Format("15:04"), n, float64(n)*capacity, d)
			}
		}
	}
	if got := replicas[t0.Add(18*time.Hour)]; got > 2 {
		t.Errorf("at 18:00 the deployment has %d replicas, want at most 2 after the peak", got)
	}

	var applied, up, down int
	for _, ap := range h.proposals() {
		if ap.Status.Phase != stuurmanv1.PhaseApplied {
			if ap.Status.Phase != stuurmanv1.PhaseDenied {
				t.Errorf("proposal %s in phase %s, want Applied or Denied in mode Auto", ap.Name, ap.Status.Phase)
			}
			continue
		}
		applied++
		from, to := ap.Spec.From, *ap.Spec.Action.Replicas
		switch {
		case to < 1 || to > 8:
			t.Errorf("proposal %s: %d replicas outside the policy's [1, 8]", ap.Name, to)
		case to > from && to-from > 4:
			t.Errorf("proposal %s: scale-up %d → %d exceeds maxStep 4", ap.Name, from, to)
		case to < from && from-to > max(1, from/2):
			t.Errorf("proposal %s: scale-down %d → %d exceeds 50 %%", ap.Name, from, to)
		case to > from:
			up++
		case to < from:
			down++
		}
	}
	if up == 0 || down == 0 {
		t.Errorf("%d applied proposals, %d up and %d down; want both", applied, up, down)
	}
	wp := h.getPolicy("web")
	if c := condition(wp, stuurmanv1.ConditionMetricsAvailable); c.Status != metav1.ConditionTrue || c.Reason != stuurmanv1.ReasonFresh {
		t.Errorf("MetricsAvailable = %s/%s (%s), want True/%s", c.Status, c.Reason, c.Message, stuurmanv1.ReasonFresh)
	}
	if ts := wp.Status.Targets; ts[0].ForecastUpper == nil || ts[0].ForecastModel == "" {
		t.Errorf("target summary %+v, want a forecast", ts[0])
	}
	// The demand the controller kept is the counters' rate, sample for
	// sample: the sample of [t, t+5m) is Prometheus's rate at t+5m, the
	// mean of the five minutes' requests.
	hist := h.history("web", "web")
	if want := int(3 * 24 * time.Hour / step); hist.Len() != want || !hist.End().Equal(t0.Add(18*time.Hour)) {
		t.Errorf("history of %d samples ending %s, want %d ending 18:00", hist.Len(), hist.End().Format(time.RFC3339), want)
	}
	for i, v := range hist.Values {
		end := hist.Time(i + 1)
		var want float64
		for k := range 5 {
			want += dailyDemand(end.Add(-time.Duration(k)*time.Minute)) / 5
		}
		if !(math.Abs(v-want) <= 1e-6*want) {
			t.Fatalf("demand of [%s, +5m): %v, want %v", hist.Time(i).Format(time.RFC3339), v, want)
		}
	}
	// One batched range query per cycle: the first reads the policy's 3
	// days of history (864 steps, one query), the others only the new
	// samples.
	if got := h.queries.n.Load(); got != int64(len(replicas)) {
		t.Errorf("%d range queries for %d cycles, want one per cycle", got, len(replicas))
	}
	t.Logf("%d cycles, %d applied proposals (%d up, %d down); replicas at 10:00 %d, 11:00 %d, 11:45 %d, 12:00 %d, 14:00 %d, 18:00 %d",
		len(replicas), applied, up, down, replicas[t0.Add(10*time.Hour)], replicas[t0.Add(11*time.Hour)],
		replicas[noon.Add(-15*time.Minute)], replicas[noon], replicas[t0.Add(14*time.Hour)], replicas[t0.Add(18*time.Hour)])
}

// (b) on real Prometheus: Prometheus stops mid-run, at the peak. The
// controller holds for the hour it is down, although the demand falls
// (no scale-down, no proposal), and says why in MetricsAvailable; when a
// Prometheus is back it resumes and scales down.
func TestPrometheusOutageHolds(t *testing.T) {
	h := newPromHarness(t, t0.Add(11*time.Hour), "shop", 1)
	h.run("shop", "shop", t0.Add(12*time.Hour), 5*time.Minute)
	high := *h.getDeployment("shop").Spec.Replicas
	if high < 5 {
		t.Fatalf("at the peak the deployment has %d replicas, want at least 5 before Prometheus stops", high)
	}
	n := len(h.proposals())
	if c := condition(h.getPolicy("shop"), stuurmanv1.ConditionMetricsAvailable); c.Status != metav1.ConditionTrue {
		t.Fatalf("before the outage MetricsAvailable = %s/%s (%s), want True", c.Status, c.Reason, c.Message)
	}

	h.srv.Stop()
	for now := t0.Add(12*time.Hour + 5*time.Minute); !now.After(t0.Add(13 * time.Hour)); now = now.Add(5 * time.Minute) {
		h.clock.SetTime(now)
		h.reconcile("shop")
		h.markReady("shop")
		at := now.Format("15:04")
		wp := h.getPolicy("shop")
		c := condition(wp, stuurmanv1.ConditionMetricsAvailable)
		if c.Status != metav1.ConditionFalse || c.Reason != stuurmanv1.ReasonQueryFailed || !strings.Contains(c.Message, "connection refused") {
			t.Errorf("%s: MetricsAvailable = %s/%s (%s), want False/%s saying the connection was refused", at, c.Status, c.Reason, c.Message, stuurmanv1.ReasonQueryFailed)
		}
		if a := condition(wp, stuurmanv1.ConditionActing); a.Status != metav1.ConditionFalse || a.Reason != stuurmanv1.ReasonHolding {
			t.Errorf("%s: Acting = %s/%s, want False/%s", at, a.Status, a.Reason, stuurmanv1.ReasonHolding)
		}
		if ts := wp.Status.Targets; len(ts) != 1 || !strings.HasPrefix(ts[0].Holding, stuurmanv1.ReasonQueryFailed+": ") {
			t.Errorf("%s: target summary %+v, want the hold", at, ts)
		}
		if got := *h.getDeployment("shop").Spec.Replicas; got != high {
			t.Errorf("%s: %d replicas while Prometheus is down, want %d", at, got, high)
		}
		if got := len(h.proposals()); got != n {
			t.Errorf("%s: %d proposals while Prometheus is down, want %d", at, got, n)
		}
	}

	// A Prometheus with the same history is back: the controller resumes,
	// and the demand has fallen.
	h.connect(promtest.Start(t, promtest.Options{History: requestCounters(h.ns, "shop")}))
	h.clock.SetTime(t0.Add(13*time.Hour + 5*time.Minute))
	h.run("shop", "shop", t0.Add(14*time.Hour), 5*time.Minute)
	if c := condition(h.getPolicy("shop"), stuurmanv1.ConditionMetricsAvailable); c.Status != metav1.ConditionTrue {
		t.Errorf("after recovery MetricsAvailable = %s/%s (%s), want True", c.Status, c.Reason, c.Message)
	}
	if got := *h.getDeployment("shop").Spec.Replicas; got >= high {
		t.Errorf("after recovery %d replicas, want fewer than %d", got, high)
	}
}
