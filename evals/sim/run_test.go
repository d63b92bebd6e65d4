package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stuurman/stuurman/metrics"
)

// fixed always recommends n.
type fixed struct {
	n     int
	every time.Duration
}

func (f fixed) Name() string            { return fmt.Sprintf("fixed-%d", f.n) }
func (f fixed) Interval() time.Duration { return f.every }
func (f fixed) Recommend(context.Context, Observation) (int, error) {
	return f.n, nil
}

var _ Scaler = fixed{}

// probe fails on any look-ahead and otherwise recommends from the whole
// observed history, so that a leaked future sample would change its
// decisions.
type probe struct{ every time.Duration }

func (p probe) Name() string            { return "probe" }
func (p probe) Interval() time.Duration { return p.every }
func (p probe) Recommend(_ context.Context, o Observation) (int, error) {
	if end := o.Demand.End(); end.After(o.Now) {
		return 0, fmt.Errorf("look-ahead: saw samples up to %v at %v", end, o.Now)
	}
	peak, sum := 0.0, 0.0
	for _, v := range o.Demand.Values {
		if !math.IsNaN(v) {
			peak, sum = max(peak, v), sum+v
		}
	}
	return int(math.Ceil(peak/o.CapacityPerPod)) + int(sum)%3, nil
}

var _ Scaler = probe{}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestRunMetricsHandComputed(t *testing.T) {
	gap := math.NaN()
	for _, c := range []struct {
		name   string
		demand []float64
		cfg    Config
		scaler Scaler
		want   Metrics
		ready  []float64
	}{
		{
			// Demand 25 → d = 3 pods. 2 ready pods at start, the scaler
			// asks for 4 at t=0; the 2 new ones are ready at 3 min. Under
			// by 1 of 3 for 3 min, over by 1 of 3 for 7 min.
			name:   "under then over",
			demand: repeat(25, 10),
			cfg:    Config{CapacityPerPod: 10, StartupDelay: 3 * time.Minute, InitialReplicas: 2},
			scaler: fixed{4, time.Minute},
			want: Metrics{
				ReplicaHours:        4 * 10.0 / 60,
				SLOViolationMinutes: 3,
				ThetaU:              100.0 / 10 * 3 * (1.0 / 3),
				ThetaO:              100.0 / 10 * 7 * (1.0 / 3),
				TauU:                30,
				TauO:                70,
				Actions:             1,
			},
			ready: []float64{2, 2, 2, 4, 4, 4, 4, 4, 4, 4},
		},
		{
			// The same with sample 1 a gap: T = 9 min, but the gap's pods
			// still cost replica-hours.
			name:   "gap excluded",
			demand: []float64{25, gap, 25, 25, 25, 25, 25, 25, 25, 25},
			cfg:    Config{CapacityPerPod: 10, StartupDelay: 3 * time.Minute, InitialReplicas: 2},
			scaler: fixed{4, time.Minute},
			want: Metrics{
				ReplicaHours:        4 * 10.0 / 60,
				SLOViolationMinutes: 2,
				ThetaU:              100.0 / 9 * 2 * (1.0 / 3),
				ThetaO:              100.0 / 9 * 7 * (1.0 / 3),
				TauU:                100.0 * 2 / 9,
				TauO:                100.0 * 7 / 9,
				Actions:             1,
			},
			ready: []float64{2, 2, 2, 4, 4, 4, 4, 4, 4, 4},
		},
		{
			// Zero demand: d = 0, one idle pod is 1/max(0,1) = 100 % over.
			name:   "zero demand",
			demand: repeat(0, 5),
			cfg:    Config{CapacityPerPod: 10, InitialReplicas: 1},
			scaler: fixed{1, time.Minute},
			want:   Metrics{ReplicaHours: 5.0 / 60, ThetaO: 100, TauO: 100},
			ready:  repeat(1, 5),
		},
		{
			// Scale-down is immediate and 30 s ticks split each sample:
			// 5 ready pods, asked for 3 at t=0 and every 30 s. Demand 30
			// → d = 3: exactly provisioned.
			name:   "exact, sub-sample ticks",
			demand: repeat(30, 4),
			cfg:    Config{CapacityPerPod: 10, InitialReplicas: 5},
			scaler: fixed{3, 30 * time.Second},
			want:   Metrics{ReplicaHours: 3 * 4.0 / 60, Actions: 1},
			ready:  repeat(3, 4),
		},
		{
			name:   "float quotient",
			demand: repeat(1.1, 2),
			cfg:    Config{CapacityPerPod: 0.1, InitialReplicas: 11},
			scaler: fixed{11, time.Minute},
			want:   Metrics{ReplicaHours: 11 * 2.0 / 60},
			ready:  repeat(11, 2),
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := Run(context.Background(), series(c.demand...), c.cfg, c.scaler)
			if err != nil {
				t.Fatal(err)
			}
			got := res.Scalers[0]
			m, w := got.Metrics, c.want
			if !near(m.ReplicaHours, w.ReplicaHours) || !near(m.SLOViolationMinutes, w.SLOViolationMinutes) ||
				!near(m.ThetaU, w.ThetaU) || !near(m.ThetaO, w.ThetaO) || !near(m.TauU, w.TauU) || !near(m.TauO, w.TauO) ||
				m.Actions != w.Actions {
				t.Errorf("metrics\n got  %+v\n want %+v", m, w)
			}
			if !slices.Equal(got.Ready, c.ready) {
				t.Errorf("ready = %v, want %v", got.Ready, c.ready)
			}
		})
	}
}

// TestRunNoLookAhead changes every sample from T on and checks that no
// decision before the changed samples could be seen differs.
func TestRunNoLookAhead(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n, cut := 240, 120
	base := make([]float64, n)
	for i := range base {
		base[i] = 200 + 150*math.Sin(2*math.Pi*float64(i)/90) + 40*rng.Float64()
	}
	base[50] = math.NaN()
	changed := slices.Clone(base)
	for i := cut; i < n; i++ {
		changed[i] *= 10
	}
	// The sample at cut is complete only at T + Step, so decisions
	// strictly before then saw nothing of the change.
	horizon := t0.Add(time.Duration(cut+1) * time.Minute)

	run := func(values []float64) Result {
		cfg := Config{CapacityPerPod: 10, RecordDecisions: true}
		res, err := Run(context.Background(), series(values...), cfg,
			newHPA(t, HPAConfig{}), probe{every: 45 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	a, b := run(base), run(changed)
	if a.Tick != 15*time.Second {
		t.Fatalf("tick = %v, want 15s (gcd of 60s, 15s, 45s)", a.Tick)
	}
	for s := range a.Scalers {
		da, db := a.Scalers[s].Decisions, b.Scalers[s].Decisions
		if len(da) != len(db) || len(da) == 0 {
			t.Fatalf("%s: %d vs %d decisions", a.Scalers[s].Name, len(da), len(db))
		}
		before, differAfter := 0, false
		for i := range da {
			if da[i].Time.Before(horizon) {
				before++
				if da[i] != db[i] {
					t.Errorf("%s: decision at %v differs before the change is observable: %d vs %d",
						a.Scalers[s].Name, da[i].Time, da[i].Replicas, db[i].Replicas)
				}
			} else if da[i] != db[i] {
				differAfter = true
			}
		}
		if !differAfter {
			t.Errorf("%s: no decision differs after the change: the test would not catch look-ahead", a.Scalers[s].Name)
		}
		t.Logf("%s: %d decisions compared before %v", a.Scalers[s].Name, before, horizon.Sub(t0))
	}
}

func TestRunClampsAndCounts(t *testing.T) {
	res, err := Run(context.Background(), series(repeat(10, 3)...),
		Config{CapacityPerPod: 10, MinReplicas: 2, MaxReplicas: 5, InitialReplicas: 2, RecordDecisions: true},
		fixed{50, time.Minute}, fixed{0, time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if d := res.Scalers[0].Decisions[0].Replicas; d != 5 {
		t.Errorf("clamped to max: %d, want 5", d)
	}
	if d := res.Scalers[1].Decisions[0].Replicas; d != 2 {
		t.Errorf("clamped to min: %d, want 2", d)
	}
	if a := res.Scalers[1].Metrics.Actions; a != 0 {
		t.Errorf("no change is no action: %d", a)
	}
}

// script recommends plan[minute since start], or the current count.
type script map[int]int

func (script) Name() string            { return "script" }
func (script) Interval() time.Duration { return time.Minute }
func (s script) Recommend(_ context.Context, o Observation) (int, error) {
	if n, ok := s[int(o.Now.Sub(t0)/time.Minute)]; ok {
		return n, nil
	}
	return o.Replicas, nil
}

// TestRunScaleDownRemovesStartingFirst: 2 ready pods; +4 at 0 min (ready
// at 3 min) and +2 at 1 min (ready at 4 min); down to 5 at 2 min removes
// the newest starting pod only, down to 1 at 3 min — when the first batch
// is ready — removes the last starting pod, then 5 ready ones.
func TestRunScaleDownRemovesStartingFirst(t *testing.T) {
	res, err := Run(context.Background(), series(repeat(10, 6)...),
		Config{CapacityPerPod: 10, StartupDelay: 3 * time.Minute, InitialReplicas: 2},
		script{0: 6, 1: 8, 2: 7, 3: 1})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Scalers[0]
	wantPods := []float64{6, 8, 7, 1, 1, 1}
	wantReady := []float64{2, 2, 2, 1, 1, 1}
	if !slices.Equal(r.Pods, wantPods) || !slices.Equal(r.Ready, wantReady) {
		t.Errorf("pods %v ready %v; want %v %v", r.Pods, r.Ready, wantPods, wantReady)
	}
	if r.Metrics.Actions != 4 {
		t.Errorf("actions = %d, want 4", r.Metrics.Actions)
	}
}

func TestRunValidation(t *testing.T) {
	ok := series(1, 2, 3)
	s := fixed{1, time.Minute}
	for _, c := range []struct {
		name    string
		demand  metrics.Series
		cfg     Config
		scalers []Scaler
		field   string
	}{
		{"capacity zero", ok, Config{}, []Scaler{s}, "CapacityPerPod:"},
		{"capacity NaN", ok, Config{CapacityPerPod: math.NaN()}, []Scaler{s}, "CapacityPerPod:"},
		{"capacity inf", ok, Config{CapacityPerPod: math.Inf(1)}, []Scaler{s}, "CapacityPerPod:"},
		{"startup negative", ok, Config{CapacityPerPod: 1, StartupDelay: -1}, []Scaler{s}, "StartupDelay:"},
		{"min negative", ok, Config{CapacityPerPod: 1, MinReplicas: -1}, []Scaler{s}, "MinReplicas:"},
		{"max negative", ok, Config{CapacityPerPod: 1, MaxReplicas: -1}, []Scaler{s}, "MaxReplicas:"},
		{"min above max", ok, Config{CapacityPerPod: 1, MinReplicas: 5, MaxReplicas: 3}, []Scaler{s}, "MinReplicas:"},
		{"initial out of range", ok, Config{CapacityPerPod: 1, MaxReplicas: 3, InitialReplicas: 4}, []Scaler{s}, "InitialReplicas:"},
		{"initial negative", ok, Config{CapacityPerPod: 1, InitialReplicas: -2}, []Scaler{s}, "InitialReplicas:"},
		{"no step", metrics.Series{Values: []float64{1}}, Config{CapacityPerPod: 1}, []Scaler{s}, "demand.Step:"},
		{"empty", series(), Config{CapacityPerPod: 1}, []Scaler{s}, "demand.Values:"},
		{"negative demand", series(1, -1), Config{CapacityPerPod: 1}, []Scaler{s}, "demand.Values[1]:"},
		{"no scaler", ok, Config{CapacityPerPod: 1}, nil, "scalers:"},
		{"nil scaler", ok, Config{CapacityPerPod: 1}, []Scaler{s, nil}, "scalers[1]:"},
		{"zero interval", ok, Config{CapacityPerPod: 1}, []Scaler{fixed{1, 0}}, "Interval:"},
		{"tiny gcd", ok, Config{CapacityPerPod: 1}, []Scaler{fixed{1, time.Minute + time.Nanosecond}}, "clock:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Run(context.Background(), c.demand, c.cfg, c.scalers...)
			if err == nil || !strings.HasPrefix(err.Error(), "sim: ") || !strings.Contains(err.Error(), c.field) {
				t.Errorf("err = %v; want one naming %q", err, c.field)
			}
		})
	}
}

func TestRunDefaults(t *testing.T) {
	res, err := Run(context.Background(), series(math.NaN(), 15, 30), Config{CapacityPerPod: 10}, fixed{1, time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Config
	// First observed sample 15 at 70 % of 10 per pod: ceil(15/7) = 3.
	if c.StartupDelay != 2*time.Minute || c.MinReplicas != 1 || c.MaxReplicas != 10000 || c.InitialReplicas != 3 {
		t.Errorf("defaults: %+v", c)
	}
}

func TestRunCancelAndProgress(t *testing.T) {
	demand := series(repeat(10, 500)...)
	var calls [][2]int
	cfg := Config{CapacityPerPod: 1, Progress: func(done, total int) { calls = append(calls, [2]int{done, total}) }}
	if _, err := Run(context.Background(), demand, cfg, fixed{10, time.Minute}); err != nil {
		t.Fatal(err)
	}
	if len(calls) < 2 || calls[len(calls)-1] != [2]int{500, 500} {
		t.Errorf("progress calls %v; want several ending with (500, 500)", calls)
	}
	for i := 1; i < len(calls); i++ {
		if calls[i][0] <= calls[i-1][0] {
			t.Fatalf("progress not increasing: %v", calls)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cfg.Progress = func(done, total int) {
		if done >= 100 {
			cancel()
		}
	}
	_, err := Run(ctx, demand, cfg, fixed{10, time.Minute})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestRunScalerError(t *testing.T) {
	_, err := Run(context.Background(), series(1, 2), Config{CapacityPerPod: 1}, failing{})
	if err == nil || !strings.Contains(err.Error(), `"failing"`) || !errors.Is(err, errBoom) {
		t.Errorf("err = %v; want the scaler's error wrapped with its name", err)
	}
}

var errBoom = errors.New("boom")

type failing struct{}

func (failing) Name() string            { return "failing" }
func (failing) Interval() time.Duration { return time.Minute }
func (failing) Recommend(context.Context, Observation) (int, error) {
	return 0, errBoom
}

func TestRunLeavesDemandUnchanged(t *testing.T) {
	demand := series(10, math.NaN(), 30, 40)
	before := slices.Clone(demand.Values)
	if _, err := Run(context.Background(), demand, Config{CapacityPerPod: 10}, newHPA(t, HPAConfig{})); err != nil {
		t.Fatal(err)
	}
	for i := range before {
		if !(before[i] == demand.Values[i] || math.IsNaN(before[i]) && math.IsNaN(demand.Values[i])) {
			t.Fatalf("demand modified: %v → %v", before, demand.Values)
		}
	}
}

func TestWholeCeil(t *testing.T) {
	for _, c := range []struct {
		x    float64
		want int
	}{{0, 0}, {1.1 / 0.1, 11}, {0.3 / 0.1, 3}, {2.5, 3}, {2.0000001, 3}, {14.0 / 10, 2}} {
		if got := wholeCeil(c.x); got != c.want {
			t.Errorf("wholeCeil(%v) = %d, want %d", c.x, got, c.want)
		}
	}
}

// weekTrace is a per-minute week of diurnal demand with noise.
func weekTrace() metrics.Series {
	rng := rand.New(rand.NewPCG(7, 7))
	v := make([]float64, 7*24*60)
	for i := range v {
		day := 2 * math.Pi * float64(i) / (24 * 60)
		v[i] = max(0, 500+400*math.Sin(day)+60*rng.NormFloat64())
	}
	return series(v...)
}

// BenchmarkRunHPA replays a per-minute week (10 080 samples, 40 320 ticks
// of 15 s) through the default HPA.
//
//	go test -run '^$' -bench BenchmarkRunHPA -benchmem ./evals/sim/
func BenchmarkRunHPA(b *testing.B) {
	demand := weekTrace()
	cfg := Config{CapacityPerPod: 10}
	b.ReportAllocs()
	for b.Loop() {
		h, err := NewHPA(HPAConfig{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Run(context.Background(), demand, cfg, h); err != nil {
			b.Fatal(err)
		}
	}
}
