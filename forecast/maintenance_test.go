package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stuurman/stuurman/metrics"
)

const mib = 1 << 20

// leak returns n one-minute samples of base + slope·t (t in hours) plus
// Gaussian noise of sd, and NaN at every index in gaps.
func leak(n int, base, slopePerHour, sd float64, seed uint64, gaps ...int) metrics.Series {
	rng := rand.New(rand.NewPCG(seed, 7))
	y := make([]float64, n)
	for i := range y {
		y[i] = base + slopePerHour*float64(i)/60 + sd*rng.NormFloat64()
	}
	for _, g := range gaps {
		y[g] = math.NaN()
	}
	return metrics.Series{Name: "container_memory_working_set_bytes", Start: anomT0, Step: time.Minute, Values: y}
}

// TestMemoryOOMETA: synthetic leaks with known slopes give ETAs within
// 10 %, and intervals that hold the truth.
func TestMemoryOOMETA(t *testing.T) {
	var gaps []int
	for i := 100; i < 160; i++ { // an hour-long scrape outage
		gaps = append(gaps, i)
	}
	for i := 0; i < 360; i += 7 { // and scattered misses
		gaps = append(gaps, i)
	}
	for _, tc := range []struct {
		name                 string
		base, slope, sd, lim float64
		gaps                 []int
	}{
		{"10 MiB/h", 200 * mib, 10 * mib, 2 * mib, 512 * mib, nil},
		{"1 MiB/h, noisy", 300 * mib, 1 * mib, 1 * mib, 400 * mib, nil},
		{"50 MiB/h with gaps", 100 * mib, 50 * mib, 5 * mib, 1024 * mib, gaps},
	} {
		s := leak(360, tc.base, tc.slope, tc.sd, 11, tc.gaps...) // six hours
		f, ok := MemoryOOM("default/api", s, tc.lim, TrendOptions{})
		if !ok {
			t.Fatalf("%s: no finding", tc.name)
		}
		// The truth: the noiseless line at the last sample, extrapolated.
		lastX := float64(359) / 60
		want := time.Duration((tc.lim - (tc.base + tc.slope*lastX)) / tc.slope * float64(time.Hour))
		if rel := math.Abs(float64(f.ETA-want)) / float64(want); rel > 0.10 {
			t.Errorf("%s: ETA %v, want %v ± 10 %%", tc.name, f.ETA, want)
		}
		if !(f.ETALow <= want && want <= f.ETAHigh) {
			t.Errorf("%s: interval [%v, %v] misses %v", tc.name, f.ETALow, f.ETAHigh, want)
		}
		if f.Kind != FindingTrendToThreshold || f.Confidence != 0.9 || f.Evidence["threshold"] != tc.lim ||
			math.Abs(f.Evidence["slope_per_hour"]-tc.slope)/tc.slope > 0.1 || f.Evidence["eta_seconds"] != f.ETA.Seconds() {
			t.Errorf("%s: finding %+v", tc.name, f)
		}
		if f.Evidence["r"] < 0.5 || f.Summary == "" {
			t.Errorf("%s: r %v summary %q", tc.name, f.Evidence["r"], f.Summary)
		}
	}
}

func TestTrendNoFinding(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    metrics.Series
	}{
		{"flat noise", leak(720, 300*mib, 0, 5*mib, 3)},
		{"falling", leak(720, 300*mib, -5*mib, 1*mib, 4)},
		{"too slow for the horizon", leak(720, 100*mib, 0.01*mib, 0.01*mib, 5)},
		{"too short", leak(5, 100*mib, 50*mib, 0, 6)},
	} {
		if f, ok := MemoryOOM("x", tc.s, 512*mib, TrendOptions{}); ok {
			t.Errorf("%s: finding %+v", tc.name, f)
		}
	}
	if _, ok := DiskFill("x", leak(100, 1, 1, 0, 1), 0, TrendOptions{}); ok {
		t.Error("finding with no capacity")
	}
	// Flat noise over many seeds: the 90 % interval excludes 0 rarely.
	found := 0
	for seed := range uint64(40) {
		if _, ok := DiskFill("x", leak(240, 50, 0, 1, 100+seed), 200, TrendOptions{Horizon: 1e6 * time.Hour}); ok {
			found++
		}
	}
	if found > 6 {
		t.Errorf("%d/40 findings on flat noise", found)
	}
}

func TestTrendAlreadyOver(t *testing.T) {
	s := leak(120, 600*mib, 1*mib, 1*mib, 8)
	f, ok := MemoryOOM("x", s, 512*mib, TrendOptions{})
	if !ok || f.ETA != 0 || f.Severity != SeverityCritical || f.Evidence["eta_seconds"] != 0 {
		t.Errorf("ok %v finding %+v", ok, f)
	}
}

func TestTheilSenRobust(t *testing.T) {
	n := 500
	x := make([]float64, n)
	y := make([]float64, n)
	rng := rand.New(rand.NewPCG(9, 9))
	for i := range x {
		x[i] = float64(i) / 10
		y[i] = 3 + 2*x[i] + 0.1*rng.NormFloat64()
		if i%10 == 0 {
			y[i] += 1000 // 10 % wild outliers
		}
	}
	tr, ok := TheilSen(x, y, TrendOptions{})
	if !ok || math.Abs(tr.Slope-2) > 0.02 || !(tr.SlopeLow < 2 && 2 < tr.SlopeHigh) || math.Abs(tr.Level-(3+2*x[n-1])) > 0.2 {
		t.Errorf("trend %+v", tr)
	}
	// Long series: pairs are subsampled and the answer stays right.
	big := leak(100000, 0, 6, 1, 10)
	start := time.Now()
	tr, ok = TheilSen(seriesHours(big), big.Values, TrendOptions{})
	if !ok || math.Abs(tr.Slope-6) > 0.01 || tr.Pairs > 50000 {
		t.Errorf("trend %+v", tr)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Theil–Sen on 100,000 samples took %v", d)
	}
}

func restartCounts(n int, rate func(i int) float64, seed uint64) metrics.Series {
	rng := rand.New(rand.NewPCG(seed, 3))
	y := make([]float64, n)
	c := 0.0
	for i := range y {
		// Poisson-ish: restarts per minute.
		p := rate(i) / 60
		for p > 0 {
			if rng.Float64() < min(p, 1) {
				c++
			}
			p--
		}
		y[i] = c
	}
	return metrics.Series{Name: "restarts", Start: anomT0, Step: time.Minute, Values: y}
}

func TestRestartStorm(t *testing.T) {
	// Six quiet hours (one restart every two hours), then 30 an hour.
	s := restartCounts(420, func(i int) float64 {
		if i >= 360 {
			return 30
		}
		return 0.5
	}, 1)
	f, ok := RestartStorm("default/worker", s, TrendOptions{})
	if !ok {
		t.Fatal("no storm found")
	}
	if f.Kind != FindingRestartStorm || f.Evidence["slope_per_hour"] < 15 || f.Evidence["slope_per_hour"] > 45 ||
		f.Evidence["baseline_per_hour"] > 2 || f.Evidence["restarts_recent"] < 15 {
		t.Errorf("finding %+v", f)
	}
	// A steady crash loop at the same rate throughout is not rising.
	steady := restartCounts(420, func(int) float64 { return 30 }, 2)
	if f, ok := RestartStorm("x", steady, TrendOptions{}); ok {
		t.Errorf("steady rate: %+v", f)
	}
	quiet := restartCounts(420, func(int) float64 { return 0.5 }, 3)
	if f, ok := RestartStorm("x", quiet, TrendOptions{}); ok {
		t.Errorf("quiet: %+v", f)
	}
	// A counter reset (pod replaced) in the storm does not hide it; gaps
	// neither.
	r := s.Clone()
	for i := 380; i < len(r.Values); i++ {
		r.Values[i] -= s.Values[379]
	}
	r.Values[390], r.Values[391] = math.NaN(), math.NaN()
	if _, ok := RestartStorm("x", r, TrendOptions{}); !ok {
		t.Error("storm lost after a counter reset")
	}
}

func BenchmarkTheilSen(b *testing.B) {
	s := leak(10080, 100, 1, 1, 1) // a week of minutes
	x := seriesHours(s)
	for b.Loop() {
		TheilSen(x, s.Values, TrendOptions{})
	}
}
