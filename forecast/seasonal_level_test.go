package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
)

// poissonDay returns n per-step counts whose mean follows a daily profile
// of period m around base (Poisson noise, seeded).
func poissonDay(n, m int, base float64, seed uint64) (y, mean []float64) {
	rng := rand.New(rand.NewPCG(seed, 3))
	y, mean = make([]float64, n), make([]float64, n)
	for t := range y {
		mean[t] = base * (1 + 0.6*math.Sin(2*math.Pi*float64(t%m)/float64(m)))
		// Normal approximation of Poisson(mean): good enough for base ≥ 20.
		y[t] = math.Max(0, math.Round(mean[t]+math.Sqrt(mean[t])*rng.NormFloat64()))
	}
	return y, mean
}

func TestSeasonalLevelForecastsTheMean(t *testing.T) {
	const m = 288
	y, mean := poissonDay(m*8, m, 50, 1)
	for _, mult := range []bool{false, true} {
		st, err := SeasonalLevel{Horizon: 6, Multiplicative: mult}.Fit(y[:m*7], m)
		if err != nil {
			t.Fatal(err)
		}
		var errModel, errNaive float64
		buf := make([]float64, 6)
		for i := m * 7; i+6 <= len(y); i++ {
			st.Forecast(buf)
			errModel += math.Abs(y[i+5] - buf[5])
			errNaive += math.Abs(y[i+5] - y[i-1])
			st.Update(y[i])
		}
		// The mean's own error is about 0.8·σ, naive's about 1.13·σ.
		if r := errModel / errNaive; r > 0.85 {
			t.Errorf("mult=%v: MAE ratio to naive %.3f, want < 0.85", mult, r)
		}
		_ = mean
	}
}

func TestSeasonalLevelScheduledZeros(t *testing.T) {
	const m = 288
	y, _ := poissonDay(m*7, m, 80, 2)
	for d := range 7 { // the same 20-step window is empty every day
		for i := d*m + 100; i < d*m+120; i++ {
			y[i] = 0
		}
	}
	st, err := SeasonalLevel{}.Fit(y, m)
	if err != nil {
		t.Fatal(err)
	}
	fc := st.Forecast(make([]float64, m))
	for i := 100; i < 120; i++ {
		if fc[i] != 0 {
			t.Fatalf("phase %d: forecast %.1f inside the daily empty window, want 0", i, fc[i])
		}
	}
	if fc[130] < 30 {
		t.Errorf("after the window: %.1f", fc[130])
	}
}

func TestSeasonalLevelOutageAndShift(t *testing.T) {
	const m = 288
	y, _ := poissonDay(m*7, m, 80, 3)
	st, err := SeasonalLevel{Horizon: 5}.Fit(y, m)
	if err != nil {
		t.Fatal(err)
	}
	s := st.(*SeasonalLevelState)
	before := s.Level()
	for range 3 * DefaultOutageRun {
		st.Update(0)
	}
	st.Update(80) // demand returns
	if math.Abs(s.Level()-before) > 20 {
		t.Errorf("level %.1f after the outage, was %.1f", s.Level(), before)
	}
	// A level shift of +100 is followed within about slShiftRun steps.
	for range 40 {
		st.Update(180 + 0*s.Level())
	}
	if s.Level() < before+60 {
		t.Errorf("level %.1f 40 steps after a shift of +100 from %.1f", s.Level(), before)
	}
}

func TestSeasonalLevelGapsAndCausality(t *testing.T) {
	const m = 96
	y, _ := poissonDay(m*8, m, 40, 4)
	g := withGaps(y, 10, 11, 12, 500, 501)
	a, err := SeasonalLevel{}.Fit(g, m)
	if err != nil {
		t.Fatal(err)
	}
	a.Update(nan)
	for _, v := range a.Forecast(make([]float64, 10)) {
		if math.IsNaN(v) {
			t.Fatal("NaN forecast after gaps")
		}
	}
	// Causality: the fit on a prefix does not change when the future does.
	p1, _ := SeasonalLevel{}.Fit(y[:m*7], m)
	z := append([]float64(nil), y...)
	for i := m * 7; i < len(z); i++ {
		z[i] = 1e6
	}
	p2, _ := SeasonalLevel{}.Fit(z[:m*7], m)
	if d := maxAbsDiff(p1.Forecast(make([]float64, 5)), p2.Forecast(make([]float64, 5))); d != 0 {
		t.Errorf("future samples changed the forecast by %g", d)
	}
}

func TestMaskOutages(t *testing.T) {
	y := []float64{1, 0, 0, 2, 0, 0, 0, nan, 3}
	got, n := MaskOutages(y, 3)
	if n != 3 || !math.IsNaN(got[4]) || !math.IsNaN(got[6]) || got[1] != 0 || y[4] != 0 {
		t.Errorf("got %v, %d", got, n)
	}
}
