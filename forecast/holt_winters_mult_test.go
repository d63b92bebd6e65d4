package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
)

// multSeasonal returns n samples of level·(1 + 0.5·sin) with multiplicative
// Gaussian noise of relative sd.
func multSeasonal(n, period int, level, sd float64, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 2))
	y := make([]float64, n)
	for t := range y {
		s := 1 + 0.5*math.Sin(2*math.Pi*float64(t%period)/float64(period))
		y[t] = level * s * (1 + sd*rng.NormFloat64())
	}
	return y
}

func TestHoltWintersMultRecoversSeason(t *testing.T) {
	const m = 24
	y := multSeasonal(m*20, m, 100, 0.01, 1)
	st, err := HoltWintersMultiplicative{}.Fit(y, m)
	if err != nil {
		t.Fatal(err)
	}
	idx := st.(*HoltWintersMultState).Indices() // phase of sample 20·m first
	for j, v := range idx {
		want := 1 + 0.5*math.Sin(2*math.Pi*float64(j)/m)
		if math.Abs(v-want) > 0.05 {
			t.Errorf("index %d = %.3f, want %.3f", j, v, want)
		}
	}
	want := multSeasonal(m*21, m, 100, 0, 1)[m*20:]
	got := st.Forecast(make([]float64, m))
	if d := maxAbsDiff(got, want); d > 5 {
		t.Errorf("max forecast error %.2f", d)
	}
}

func TestHoltWintersMultOutageKeepsSeason(t *testing.T) {
	const m = 24
	y := multSeasonal(m*20, m, 100, 0.01, 3)
	clean, _ := HoltWintersMultiplicative{}.Fit(y, m)
	for i := m * 12; i < m*14; i++ { // a two-day outage
		y[i] = 0
	}
	st, err := HoltWintersMultiplicative{}.Fit(y, m)
	if err != nil {
		t.Fatal(err)
	}
	a := clean.Forecast(make([]float64, m))
	b := st.Forecast(make([]float64, m))
	if d := maxAbsDiff(a, b); d > 10 {
		t.Errorf("outage moved the forecast by %.1f", d)
	}
	// An outage met by Update freezes the indices and restores the level.
	for range 2 * m {
		st.Update(0)
	}
	want := multSeasonal(m*21, m, 100, 0, 3)[m*20:]
	st.Update(want[0] * 0) // still zero
	s := st.(*HoltWintersMultState)
	if minIdx := minOf(s.s); minIdx < 0.4 {
		t.Errorf("an index fell to %.2f during the outage", minIdx)
	}
}

func minOf(x []float64) float64 {
	m := math.Inf(1)
	for _, v := range x {
		m = math.Min(m, v)
	}
	return m
}

func TestHoltWintersMultGapsAndShort(t *testing.T) {
	y := withGaps(multSeasonal(24*10, 24, 50, 0.02, 4), 5, 30, 31, 100)
	st, err := HoltWintersMultiplicative{}.Fit(y, 24)
	if err != nil {
		t.Fatal(err)
	}
	st.Update(nan)
	for _, v := range st.Forecast(make([]float64, 48)) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("forecast %v after gaps", v)
		}
	}
	if _, err := (HoltWintersMultiplicative{}).Fit(y[:30], 24); err == nil {
		t.Error("30 samples with period 24 accepted")
	}
}
