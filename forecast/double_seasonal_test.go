package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
)

// twoSeasons returns n samples of 100 + a daily sine (period m) + a weekly
// step (+30 on the last two "days" of each 7m cycle) + noise.
func twoSeasons(n, m int, sd float64, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 4))
	y := make([]float64, n)
	for t := range y {
		y[t] = 100 + 20*math.Sin(2*math.Pi*float64(t%m)/float64(m))
		if (t%(7*m))/m >= 5 {
			y[t] -= 30
		}
		y[t] += sd * rng.NormFloat64()
	}
	return y
}

func TestDoubleSeasonalRecoversBothSeasons(t *testing.T) {
	const m = 48
	y := twoSeasons(m*7*3, m, 1, 1)
	st, err := DoubleSeasonal{Horizon: m}.Fit(y, m)
	if err != nil {
		t.Fatal(err)
	}
	want := twoSeasons(m*7*4, m, 0, 1)[m*7*3:]
	got := st.Forecast(make([]float64, m*7))
	var mae float64
	for i := range got {
		mae += math.Abs(got[i] - want[i])
	}
	mae /= float64(len(got))
	if mae > 3 {
		t.Errorf("MAE over the next week %.2f, want < 3 (noise sd 1)", mae)
	}
	// Seasonal naive with the daily period misses the weekly step.
	sn, _ := SeasonalNaive{}.Fit(y, m)
	var maeSN float64
	for i, v := range sn.Forecast(make([]float64, m*7)) {
		maeSN += math.Abs(v - want[i])
	}
	if maeSN/float64(len(got)) < 2*mae {
		t.Errorf("daily seasonal naive MAE %.2f not far above %.2f", maeSN/float64(len(got)), mae)
	}
}

func TestDoubleSeasonalOneWeekAndGaps(t *testing.T) {
	const m = 48
	y := withGaps(twoSeasons(m*7, m, 1, 2), 3, 4, 200)
	st, err := DoubleSeasonal{}.Fit(y, m)
	if err != nil {
		t.Fatal(err)
	}
	if p := st.(*DoubleSeasonalState).Params(); p.Omega != 0 {
		t.Errorf("ω = %g fitted on one week, want 0", p.Omega)
	}
	st.Update(nan)
	for _, v := range st.Forecast(make([]float64, 10)) {
		if math.IsNaN(v) {
			t.Fatal("NaN forecast")
		}
	}
	if _, err := (DoubleSeasonal{}).Fit(y[:m*6], m); err == nil {
		t.Error("six days accepted for a weekly season")
	}
	_ = rand.Int
}
