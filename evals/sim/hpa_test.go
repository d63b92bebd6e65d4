package sim

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stuurman/stuurman/metrics"
)

var t0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// series builds a per-minute trace starting at t0.
func series(values ...float64) metrics.Series {
	return metrics.Series{Name: "demand", Start: t0, Step: time.Minute, Values: values}
}

// repeat returns v n times.
func repeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func newHPA(t testing.TB, cfg HPAConfig) *HPA {
	t.Helper()
	h, err := NewHPA(cfg)
	if err != nil {
		t.Fatalf("NewHPA: %v", err)
	}
	return h
}

// TestHPAStepLoad replays a step load through the default HPA and checks
// every 15 s decision against a sequence computed by hand.
//
// Capacity 10 per pod, target 70 %, tolerance 0.1, pods ready 60 s after
// creation, per-minute trace: 14 for 5 min, 100 for 5 min, 14 for 20 min.
// Utilisation is the whole percentage ⌊100 v / (pods × 10)⌋ as in the
// controller.
//
//	0–345 s   2 pods. Until 60 s no sample is complete (no metric); then
//	          14 over 2 ready pods = 70 % → ratio 1.0, within tolerance.
//	360 s     the first 100 sample is complete: 100/20 = 500 % → ratio
//	          7.142857, ceil(7.142857 × 2) = 15. Rate limit: max(2+4,
//	          2×2) = 6 → 6 (4 pods starting until 420 s).
//	375 s     2 ready, 4 starting; ratio over ready 7.14 > 1 with unready
//	          pods, so they count as 0 %: 10000/60 = 166 % → 2.3714,
//	          ceil(2.3714 × 6) = 15. The event at 360 s is not after
//	          375−15 s, so the period starts at 6: max(6+4, 6×2) = 12.
//	390 s     2 ready, 10 starting: 10000/120 = 83 % → 1.1857, ceil(1.1857
//	          × 12) = 15 <= max(16, 24) → 15.
//	405–645 s recomputed over all 15 pods 10000/150 = 66 % → 0.9429, within
//	          tolerance: stay at 15 (the same once all are ready at 450 s).
//	660 s     the first low sample: 1400/150 = 9 % → 0.1286, ceil(0.1286 ×
//	          15) = 2, but the 300 s scale-down window holds 15s.
//	945 s     the last 15 (recorded at 645 s) is no longer after 945−300 s:
//	          max of the window is 2; Percent 100 allows ⌊15 × 0⌋ = 0,
//	          MinReplicas 1 → 2.
//	960 s–    14/20 = 70 % → 2.
func TestHPAStepLoad(t *testing.T) {
	var v []float64
	v = append(v, repeat(14, 5)...)
	v = append(v, repeat(100, 5)...)
	v = append(v, repeat(14, 20)...)
	demand := series(v...)
	cfg := Config{
		CapacityPerPod:  10,
		StartupDelay:    time.Minute,
		InitialReplicas: 2,
		MinReplicas:     1,
		MaxReplicas:     100,
		RecordDecisions: true,
	}
	res, err := Run(context.Background(), demand, cfg, newHPA(t, HPAConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Tick != 15*time.Second {
		t.Fatalf("tick = %v, want 15s", res.Tick)
	}

	expected := func(sec int) int {
		switch {
		case sec < 360:
			return 2
		case sec == 360:
			return 6
		case sec == 375:
			return 12
		case sec < 945:
			return 15
		default:
			return 2
		}
	}
	got := res.Scalers[0].Decisions
	if len(got) != 120 {
		t.Fatalf("got %d decisions, want 120 (30 min at 15 s)", len(got))
	}
	for i, d := range got {
		sec := i * 15
		if want := t0.Add(time.Duration(sec) * time.Second); !d.Time.Equal(want) {
			t.Fatalf("decision %d at %v, want %v", i, d.Time, want)
		}
		if want := expected(sec); d.Replicas != want {
			t.Errorf("t=%ds: replicas %d, want %d", sec, d.Replicas, want)
		}
	}

	r := res.Scalers[0]
	if r.Metrics.Actions != 4 {
		t.Errorf("actions = %d, want 4 (2→6→12→15→2)", r.Metrics.Actions)
	}
	// Sample 6 (360–420 s): running 6, 12, 15, 15; none of the new pods
	// ready yet. Sample 7 (420–480 s): ready 6, 12, 15, 15 as the batches
	// of 360, 375 and 390 s finish starting. Sample 15 (900–960 s): 15,
	// 15, 15, then 2 from 945 s.
	for _, c := range []struct {
		i           int
		pods, ready float64
	}{
		{5, 2, 2}, {6, 12, 2}, {7, 15, 12}, {8, 15, 15}, {15, 11.75, 11.75}, {16, 2, 2},
	} {
		if r.Pods[c.i] != c.pods || r.Ready[c.i] != c.ready {
			t.Errorf("sample %d: pods %v ready %v, want %v %v", c.i, r.Pods[c.i], r.Ready[c.i], c.pods, c.ready)
		}
	}
}

// obs builds an Observation at t0+at whose latest complete sample is v.
func obs(at time.Duration, v float64, replicas, ready int) Observation {
	n := int(at / time.Minute)
	vals := repeat(v, n)
	return Observation{
		Now:            t0.Add(at),
		Demand:         series(vals...),
		Replicas:       replicas,
		Ready:          ready,
		CapacityPerPod: 10,
		MinReplicas:    1,
		MaxReplicas:    100,
	}
}

func TestHPAReplicaCalculator(t *testing.T) {
	for _, c := range []struct {
		name            string
		v               float64
		replicas, ready int
		want            int
	}{
		{"within tolerance", 15, 2, 2, 2},            // 75 % → 1.0714
		{"scale up", 100, 2, 2, 15},                  // 500 % → ceil(7.1429 × 2)
		{"scale down over ready only", 14, 10, 5, 2}, // 28 % → ceil(0.4 × 5); starting pods ignored
		// 100 % over 2 ready → 1.4286 > 1; with the 10 starting pods at 0 %
		// it is 16 % → 0.2286 < 1: the direction would reverse.
		{"unready reverses direction", 20, 12, 2, 12},
		// 500 % over 2 ready; over 4 pods 250 % → 3.5714, ceil(14.29) = 15.
		{"unready rebalanced", 100, 4, 2, 15},
		// 77.25 % is 77 % → 77/70 = 1.1, within; unrounded 1.1036 would scale.
		{"whole percent truncation", 15.45, 2, 2, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHPA(t, HPAConfig{ScaleUp: HPARules{Policies: []HPAPolicy{{Type: PodsPolicy, Value: 1000, Period: 15 * time.Second}}}})
			o := obs(5*time.Minute, c.v, c.replicas, c.ready)
			got, ok := h.resourceReplicas(o)
			if !ok || got != c.want {
				t.Errorf("resourceReplicas = %d, %v; want %d, true", got, ok, c.want)
			}
		})
	}
}

func TestHPANoMetricKeepsCurrent(t *testing.T) {
	for _, c := range []struct {
		name string
		o    Observation
	}{
		{"no complete sample", obs(30*time.Second, 100, 3, 3)},
		{"no ready pod", obs(5*time.Minute, 100, 3, 0)},
		{"latest sample is a gap", func() Observation {
			o := obs(5*time.Minute, 100, 3, 3)
			o.Demand.Values[len(o.Demand.Values)-1] = math.NaN()
			return o
		}()},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHPA(t, HPAConfig{})
			got, err := h.Recommend(context.Background(), c.o)
			if err != nil || got != 3 {
				t.Fatalf("Recommend = %d, %v; want 3, nil", got, err)
			}
			if len(h.recommendations) != 1 || len(h.scaleUpEvents)+len(h.downEvents) != 0 {
				t.Errorf("history: %d recommendations, %d events; want only the initial one", len(h.recommendations), len(h.scaleUpEvents)+len(h.downEvents))
			}
		})
	}
}

func TestHPABoundsAndPolicies(t *testing.T) {
	ctx := context.Background()

	// Above MaxReplicas: the bound, whatever the metric.
	h := newHPA(t, HPAConfig{})
	o := obs(5*time.Minute, 0, 8, 8)
	o.MaxReplicas = 5
	if got, _ := h.Recommend(ctx, o); got != 5 {
		t.Errorf("above max: %d, want 5", got)
	}

	// selectPolicy Min on scale-up: min(3+1, ceil(3 × 1.5)) = 4.
	h = newHPA(t, HPAConfig{ScaleUp: HPARules{
		SelectPolicy: MinChangePolicySelect,
		Policies: []HPAPolicy{
			{Type: PodsPolicy, Value: 1, Period: time.Minute},
			{Type: PercentPolicy, Value: 50, Period: time.Minute},
		},
	}})
	if got, _ := h.Recommend(ctx, obs(5*time.Minute, 100, 3, 3)); got != 4 {
		t.Errorf("select Min: %d, want 4", got)
	}
	// 30 s later the +1 is inside both 1-minute periods: start = 3, limit 4.
	if got, _ := h.Recommend(ctx, obs(5*time.Minute+30*time.Second, 100, 4, 3)); got != 4 {
		t.Errorf("select Min within period: %d, want 4", got)
	}

	// Scale-down with no stabilisation and Pods 2 per minute.
	zero := time.Duration(0)
	h = newHPA(t, HPAConfig{ScaleDown: HPARules{
		StabilizationWindow: &zero,
		Policies:            []HPAPolicy{{Type: PodsPolicy, Value: 2, Period: time.Minute}},
	}})
	if got, _ := h.Recommend(ctx, obs(5*time.Minute, 7, 10, 10)); got != 8 {
		t.Errorf("scale down Pods 2: %d, want 8", got)
	}
	// 15 s later the 2 removed count: start = 10, limit 8 → stay.
	if got, _ := h.Recommend(ctx, obs(5*time.Minute+15*time.Second, 7, 8, 8)); got != 8 {
		t.Errorf("scale down within period: %d, want 8", got)
	}
	// A minute after the event it no longer counts (not after now−60 s).
	if got, _ := h.Recommend(ctx, obs(6*time.Minute, 7, 8, 8)); got != 6 {
		t.Errorf("scale down next period: %d, want 6", got)
	}

	// Disabled scale-down never scales down.
	h = newHPA(t, HPAConfig{ScaleDown: HPARules{SelectPolicy: DisabledPolicySelect, StabilizationWindow: &zero}})
	if got, _ := h.Recommend(ctx, obs(5*time.Minute, 7, 10, 10)); got != 10 {
		t.Errorf("disabled scale down: %d, want 10", got)
	}
}

func TestNewHPAValidation(t *testing.T) {
	neg := -time.Second
	for _, c := range []struct {
		cfg   HPAConfig
		field string
	}{
		{HPAConfig{TargetUtilization: -0.5}, "TargetUtilization"},
		{HPAConfig{TargetUtilization: math.NaN()}, "TargetUtilization"},
		{HPAConfig{TargetUtilization: 0.001}, "TargetUtilization"},
		{HPAConfig{Tolerance: -0.1}, "Tolerance"},
		{HPAConfig{SyncPeriod: -time.Second}, "SyncPeriod"},
		{HPAConfig{ScaleUp: HPARules{StabilizationWindow: &neg}}, "ScaleUp.StabilizationWindow"},
		{HPAConfig{ScaleDown: HPARules{SelectPolicy: "Most"}}, "ScaleDown.SelectPolicy"},
		{HPAConfig{ScaleUp: HPARules{Policies: []HPAPolicy{{Type: "Cores", Value: 1, Period: time.Second}}}}, "ScaleUp.Policies[0].Type"},
		{HPAConfig{ScaleUp: HPARules{Policies: []HPAPolicy{{Type: PodsPolicy, Value: 0, Period: time.Second}}}}, "ScaleUp.Policies[0].Value"},
		{HPAConfig{ScaleDown: HPARules{Policies: []HPAPolicy{{Type: PodsPolicy, Value: 1}}}}, "ScaleDown.Policies[0].Period"},
	} {
		_, err := NewHPA(c.cfg)
		if err == nil || !strings.Contains(err.Error(), "HPAConfig."+c.field+":") {
			t.Errorf("NewHPA(%+v) = %v; want an error naming %s", c.cfg, err, c.field)
		}
	}

	h := newHPA(t, HPAConfig{})
	got := h.Config()
	if got.TargetUtilization != 0.7 || got.Tolerance != 0.1 || got.SyncPeriod != 15*time.Second ||
		*got.ScaleUp.StabilizationWindow != 0 || *got.ScaleDown.StabilizationWindow != 300*time.Second ||
		got.ScaleUp.SelectPolicy != MaxChangePolicySelect || len(got.ScaleUp.Policies) != 2 || len(got.ScaleDown.Policies) != 1 {
		t.Errorf("defaults: %+v", got)
	}
}

// TestHPAReusedAcrossRuns: an HPA passed to a second Run starts from an
// empty history (time goes backwards), so both replays agree.
func TestHPAReusedAcrossRuns(t *testing.T) {
	demand := series(append(repeat(14, 5), repeat(100, 10)...)...)
	cfg := Config{CapacityPerPod: 10, RecordDecisions: true}
	h := newHPA(t, HPAConfig{})
	a, err := Run(context.Background(), demand, cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run(context.Background(), demand, cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Scalers[0].Decisions, b.Scalers[0].Decisions) {
		t.Errorf("decisions differ between runs:\n%v\n%v", a.Scalers[0].Decisions, b.Scalers[0].Decisions)
	}
}
