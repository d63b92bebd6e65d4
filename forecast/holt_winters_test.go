package forecast

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestHoltWintersPureSeason(t *testing.T) {
	y := seasonal(24*10, 24, 100, 0, 0, 1)
	want := seasonal(24*12, 24, 100, 0, 0, 1)[24*10:]
	got, err := forecastN(HoltWinters{}, y, 24, 48)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(got, want); d > 0.05 {
		t.Errorf("max error %g, want <= 0.05 (pattern amplitude 14)", d)
	}
}

func TestHoltWintersTrendAndSeason(t *testing.T) {
	const period, n, h = 24, 24 * 20, 24
	full := seasonal(n+h, period, 50, 0.5, 0.5, 7)
	want := seasonal(n+h, period, 50, 0.5, 0, 7)[n:] // noise-free truth
	y := full[:n]
	hw, err := forecastN(HoltWinters{}, y, period, h)
	if err != nil {
		t.Fatal(err)
	}
	sn, _ := forecastN(SeasonalNaive{}, y, period, h)
	var maeHW, maeSN float64
	for i := range want {
		maeHW += math.Abs(hw[i]-want[i]) / h
		maeSN += math.Abs(sn[i]-want[i]) / h
	}
	// Over one season the trend adds 0.5·h on average; a model that ignores
	// it is off by about 6.25, Holt-Winters should track it.
	if maeHW > 1.5 {
		t.Errorf("Holt-Winters MAE %.3f over %d steps, want <= 1.5", maeHW, h)
	}
	if maeHW >= maeSN {
		t.Errorf("Holt-Winters MAE %.3f not below seasonal naive %.3f on a trend", maeHW, maeSN)
	}
}

func TestHoltWintersParamsBounded(t *testing.T) {
	st, err := HoltWinters{}.Fit(seasonal(24*8, 24, 10, 0.1, 1, 3), 24)
	if err != nil {
		t.Fatal(err)
	}
	p := st.(*HoltWintersState).Params()
	if p.Phi < hwPhiMin || p.Phi > hwPhiMax {
		t.Errorf("phi %g outside [%g, %g]", p.Phi, hwPhiMin, hwPhiMax)
	}
	for name, v := range map[string]float64{"alpha": p.Alpha, "beta": p.Beta, "gamma": p.Gamma} {
		if !(v > 0 && v < 1) {
			t.Errorf("%s = %g, want in (0,1)", name, v)
		}
	}
}

func TestHoltWintersGaps(t *testing.T) {
	const period, n, h = 24, 24 * 14, 24
	y := seasonal(n, period, 100, 0.05, 1, 11)
	var idx []int
	for i := 30; i < n-5; i += 17 { // scattered gaps
		idx = append(idx, i)
	}
	for i := n - 60; i < n-40; i++ { // and a run of 20
		idx = append(idx, i)
	}
	clean, err := forecastN(HoltWinters{}, y, period, h)
	if err != nil {
		t.Fatal(err)
	}
	gappy, err := forecastN(HoltWinters{}, withGaps(y, idx...), period, h)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range gappy {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("forecast[%d] = %v", i, v)
		}
	}
	if d := maxAbsDiff(clean, gappy); d > 2 {
		t.Errorf("gaps moved the forecast by %.3f, want <= 2 (noise sd 1)", d)
	}
}

func TestHoltWintersLeadingGap(t *testing.T) {
	y := append(withGaps(make([]float64, 500), seqInts(500)...), seasonal(24*4, 24, 10, 0, 0, 1)...)
	got, err := forecastN(HoltWinters{}, y, 24, 24)
	if err != nil {
		t.Fatal(err)
	}
	// 500 leading gaps shift the phase by 500 mod 24 = 20; the pattern at
	// the next step continues the last season.
	want := seasonal(24*5, 24, 10, 0, 0, 1)[24*4:]
	if d := maxAbsDiff(got, want); d > 0.05 {
		t.Errorf("max error %g", d)
	}
}

func seqInts(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func TestHoltWintersTooShort(t *testing.T) {
	tests := []struct {
		name   string
		y      []float64
		period int
	}{
		{"under two seasons", seasonal(47, 24, 1, 0, 0, 1), 24},
		{"two seasons after leading gaps missing", append([]float64{nan, nan}, seasonal(47, 24, 1, 0, 0, 1)...), 24},
		{"non-seasonal under 20", make([]float64, 19), 0},
		{"all gaps", withGaps(make([]float64, 100), seqInts(100)...), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := (HoltWinters{}).Fit(tt.y, tt.period); !errors.Is(err, ErrTooShort) {
				t.Errorf("err = %v, want ErrTooShort", err)
			}
		})
	}
}

func TestHoltWintersAllocs(t *testing.T) {
	st, err := HoltWinters{}.Fit(seasonal(24*4, 24, 10, 0, 1, 1), 24)
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float64, 30)
	if a := testing.AllocsPerRun(100, func() { st.Update(3); st.Update(nan); st.Forecast(dst) }); a != 0 {
		t.Errorf("Update+Forecast allocate %v times, want 0", a)
	}
}

func TestHoltWintersFitFast(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	y := seasonal(20160, 1440, 100, 0, 5, 2)
	start := time.Now()
	if _, err := (HoltWinters{}).Fit(y, 1440); err != nil {
		t.Fatal(err)
	}
	// The target is well under a second; allow slack for a loaded machine.
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("fit on 20160 points took %v", d)
	}
}

func BenchmarkHoltWintersFit(b *testing.B) {
	y := seasonal(20160, 1440, 100, 0, 5, 2)
	for b.Loop() {
		if _, err := (HoltWinters{}).Fit(y, 1440); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHoltWintersUpdateForecast(b *testing.B) {
	st, _ := HoltWinters{}.Fit(seasonal(24*4, 24, 10, 0, 1, 1), 24)
	dst := make([]float64, 60)
	b.ReportAllocs()
	for b.Loop() {
		st.Update(3)
		st.Forecast(dst)
	}
}
