package forecast

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stuurman/stuurman/metrics"
)

var t0 = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

func series(y []float64, step time.Duration) metrics.Series {
	return metrics.Series{Name: "test", Start: t0, Step: step, Values: y}
}

func TestNewForecasterValidation(t *testing.T) {
	tests := []struct {
		cfg   Config
		field string
	}{
		{Config{}, "Horizon"},
		{Config{Horizon: -1}, "Horizon"},
		{Config{Horizon: 1, Period: -1}, "Period"},
		{Config{Horizon: 1, Coverage: 1}, "Coverage"},
		{Config{Horizon: 1, Coverage: -0.5}, "Coverage"},
		{Config{Horizon: 1, MinHistory: -1}, "MinHistory"},
		{Config{Horizon: 1, TrainWindow: -1}, "TrainWindow"},
		{Config{Horizon: 1, RefitEvery: -1}, "RefitEvery"},
		{Config{Horizon: 1, BacktestOrigins: -1}, "BacktestOrigins"},
	}
	for _, tt := range tests {
		_, err := NewForecaster(tt.cfg)
		if err == nil || !strings.Contains(err.Error(), "forecast: "+tt.field+":") {
			t.Errorf("%+v: err = %v, want it to name %s", tt.cfg, err, tt.field)
		}
	}
	if _, err := NewForecaster(Config{Horizon: 1}); err != nil {
		t.Errorf("minimal config: %v", err)
	}
}

func TestForecasterColdStart(t *testing.T) {
	f, err := NewForecaster(Config{Horizon: 5, Period: 24})
	if err != nil {
		t.Fatal(err)
	}
	y := seasonal(30, 24, 10, 0, 1, 1)
	fc, err := f.Forecast(series(y, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(fc.MASE) {
		t.Errorf("MASE %g, want NaN in cold start", fc.MASE)
	}
	if !strings.HasPrefix(fc.Note, "cold start: 30 observed samples, fewer than 60") {
		t.Errorf("Note %q", fc.Note)
	}
	if fc.Model != "seasonal_naive" || fc.Period != 24 || fc.History != 30 || fc.Len() != 5 {
		t.Errorf("Model %q Period %d History %d Len %d", fc.Model, fc.Period, fc.History, fc.Len())
	}
	if want := t0.Add(30 * time.Hour); !fc.Start.Equal(want) || fc.Step != time.Hour {
		t.Errorf("Start %v Step %v", fc.Start, fc.Step)
	}
	for h := range fc.Point {
		if !(fc.Lower[h] <= fc.Point[h] && fc.Point[h] <= fc.Upper[h]) {
			t.Errorf("h=%d: %g not in [%g,%g]", h+1, fc.Point[h], fc.Lower[h], fc.Upper[h])
		}
	}

	// Without a configured period cold start is naive.
	f, _ = NewForecaster(Config{Horizon: 2})
	fc, err = f.Forecast(series([]float64{nan, 1, 2, 3}, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if fc.Model != "naive" || !slices.Equal(fc.Point, []float64{3, 3}) || !strings.Contains(fc.Note, "naive forecast") {
		t.Errorf("Model %q Point %v Note %q", fc.Model, fc.Point, fc.Note)
	}
}

func TestForecasterNoObservation(t *testing.T) {
	f, _ := NewForecaster(Config{Horizon: 2})
	_, err := f.Forecast(series(withGaps(make([]float64, 10), seqInts(10)...), time.Minute))
	if !errors.Is(err, ErrTooShort) {
		t.Errorf("err = %v, want ErrTooShort", err)
	}
	if _, err := f.Forecast(metrics.Series{Values: []float64{1}}); err == nil {
		t.Error("zero step accepted")
	}
}

func TestForecasterPureSeason(t *testing.T) {
	// Hourly, daily season, period detected from the calendar candidates.
	f, _ := NewForecaster(Config{Horizon: 12})
	y := seasonal(24*20, 24, 100, 0, 0, 1)
	fc, err := f.Forecast(series(y, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := seasonal(24*20+12, 24, 100, 0, 0, 1)[24*20:]
	if fc.Period != 24 || fc.Model != "seasonal_naive" || fc.MASE > 1e-9 || fc.Note != "" {
		t.Errorf("Period %d Model %q MASE %g Note %q", fc.Period, fc.Model, fc.MASE, fc.Note)
	}
	if d := maxAbsDiff(fc.Point, want); d > 1e-6 {
		t.Errorf("max error %g", d)
	}
}

func TestForecasterChoosesHoltWintersOnTrend(t *testing.T) {
	f, _ := NewForecaster(Config{Horizon: 12, Period: 24})
	y := seasonal(24*20, 24, 100, 0.3, 0.5, 3)
	fc, err := f.Forecast(series(y, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if fc.Model != "holt_winters_damped" || !(fc.MASE < 0.5) {
		t.Errorf("Model %q MASE %g, want holt_winters_damped with MASE < 0.5", fc.Model, fc.MASE)
	}
	for h := range fc.Point {
		if !(fc.Lower[h] <= fc.Upper[h]) {
			t.Errorf("h=%d: [%g,%g]", h+1, fc.Lower[h], fc.Upper[h])
		}
	}
}

// replay feeds f every prefix of y from n0 on and returns the forecasts.
func replay(t testing.TB, f *Forecaster, y []float64, step time.Duration, n0 int) []Forecast {
	var out []Forecast
	for n := n0; n <= len(y); n++ {
		fc, err := f.Forecast(series(y[:n], step))
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		out = append(out, fc)
	}
	return out
}

func equalForecast(a, b Forecast) bool {
	eq := func(x, y []float64) bool {
		return slices.EqualFunc(x, y, func(p, q float64) bool { return p == q || (math.IsNaN(p) && math.IsNaN(q)) })
	}
	return a.Start.Equal(b.Start) && a.Model == b.Model && a.Period == b.Period &&
		(a.MASE == b.MASE || (math.IsNaN(a.MASE) && math.IsNaN(b.MASE))) &&
		a.History == b.History && eq(a.Point, b.Point) && eq(a.Lower, b.Lower) && eq(a.Upper, b.Upper)
}

func TestForecasterIncremental(t *testing.T) {
	y := withGaps(seasonal(24*25, 24, 100, 0.05, 1, 8), 400, 401, 450)
	cfg := Config{Horizon: 6, Period: 24, RefitEvery: 48}
	n0 := 24 * 20

	// Stepwise (one new sample per call) and a jump straight to the end
	// absorb the same samples, so they agree.
	step, _ := NewForecaster(cfg)
	steps := replay(t, step, y[:n0+40], time.Hour, n0)
	jump, _ := NewForecaster(cfg)
	if _, err := jump.Forecast(series(y[:n0], time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, err := jump.Forecast(series(y[:n0+40], time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !equalForecast(got, steps[len(steps)-1]) {
		t.Errorf("jump %+v\nstepwise %+v", got, steps[len(steps)-1])
	}

	// A sliding window (Start moves forward) is still a continuation.
	slide, _ := NewForecaster(cfg)
	if _, err := slide.Forecast(series(y[:n0], time.Hour)); err != nil {
		t.Fatal(err)
	}
	s := series(y[:n0+40], time.Hour).Slice(100, n0+40)
	got2, err := slide.Forecast(s)
	if err != nil {
		t.Fatal(err)
	}
	if !equalForecast(got, got2) {
		t.Errorf("sliding window differs from growing history")
	}
}

func TestForecasterIncrementalMatchesScratchOnPureSeason(t *testing.T) {
	y := seasonal(24*30, 24, 100, 0, 0, 2)
	inc, _ := NewForecaster(Config{Horizon: 24, Period: 24})
	fcs := replay(t, inc, y, time.Hour, 24*20)
	for _, n := range []int{24 * 20, 24*20 + 7, 24*20 + 23, 24 * 30} {
		scratch, _ := NewForecaster(Config{Horizon: 24, Period: 24})
		want, err := scratch.Forecast(series(y[:n], time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		got := fcs[n-24*20]
		if d := maxAbsDiff(got.Point, want.Point); d > 1e-6 {
			t.Errorf("n=%d: incremental differs from scratch by %g", n, d)
		}
	}
}

func TestForecasterRefitsWhenNotContinuation(t *testing.T) {
	f, _ := NewForecaster(Config{Horizon: 3, Period: 24})
	a := seasonal(24*10, 24, 100, 0, 0, 1)
	if _, err := f.Forecast(series(a, time.Hour)); err != nil {
		t.Fatal(err)
	}
	// A different series at the same times: the last value differs, so the
	// cache must not be used.
	b := seasonal(24*10, 24, 500, 0, 0, 1)
	fc, err := f.Forecast(series(b, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(fc.Point[0]-b[24*9]) > 1e-9 {
		t.Errorf("forecast %g, want %g from the new series", fc.Point[0], b[24*9])
	}
	// A different step: refit too.
	fc, err = f.Forecast(series(b, 2*time.Hour))
	if err != nil || fc.Step != 2*time.Hour {
		t.Errorf("step change: %v, %v", err, fc.Step)
	}
}

func TestForecasterCausal(t *testing.T) {
	y := seasonal(24*22, 24, 100, 0.1, 2, 4)
	n := 24 * 20
	f1, _ := NewForecaster(Config{Horizon: 12})
	f2, _ := NewForecaster(Config{Horizon: 12})
	s := series(y, time.Hour)
	in := slices.Clone(y)
	a, err := f1.Forecast(s.Until(s.Time(n)))
	if err != nil {
		t.Fatal(err)
	}
	// Change the future: the forecast at n must not move.
	z := slices.Clone(y)
	for i := n; i < len(z); i++ {
		z[i] = 1e6
	}
	sz := series(z, time.Hour)
	b, err := f2.Forecast(sz.Until(sz.Time(n)))
	if err != nil {
		t.Fatal(err)
	}
	if !equalForecast(a, b) {
		t.Errorf("forecast depends on the future")
	}
	if !slices.Equal(in, y) {
		t.Errorf("input modified")
	}
}

func TestForecasterGapsAndLeadingNaN(t *testing.T) {
	const step = time.Hour
	base := seasonal(24*20, 24, 100, 0, 1, 6)
	lead := append(withGaps(make([]float64, 24*30), seqInts(24*30)...), base...)
	gappy := withGaps(base, seqInts(24 * 3)[48:]...) // a long gap early on
	for i := 24 * 10; i < 24*13; i++ {
		gappy[i] = nan // and a 3-day gap in the middle
	}
	for name, y := range map[string][]float64{"leading NaN": lead, "gaps": gappy} {
		t.Run(name, func(t *testing.T) {
			f, _ := NewForecaster(Config{Horizon: 6, Period: 24})
			fc, err := f.Forecast(series(y, step))
			if err != nil {
				t.Fatal(err)
			}
			clean, _ := NewForecaster(Config{Horizon: 6, Period: 24})
			want, _ := clean.Forecast(series(base, step))
			for h := range fc.Point {
				if math.IsNaN(fc.Point[h]) || math.IsNaN(fc.Lower[h]) || math.IsNaN(fc.Upper[h]) {
					t.Fatalf("NaN in %+v", fc)
				}
			}
			if d := maxAbsDiff(fc.Point, want.Point); d > 3 {
				t.Errorf("gaps moved the forecast by %g (noise sd 1)", d)
			}
			if math.IsNaN(fc.MASE) {
				t.Errorf("MASE NaN, note %q", fc.Note)
			}
		})
	}
}

func TestForecasterLowerClamp(t *testing.T) {
	// Non-negative counts near zero: Lower is clamped at 0.
	y := seasonal(24*20, 24, 0, 0, 3, 7)
	for i := range y {
		y[i] = math.Abs(y[i])
	}
	f, _ := NewForecaster(Config{Horizon: 24, Period: 24})
	fc, err := f.Forecast(series(y, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if slices.Min(fc.Lower) < 0 {
		t.Errorf("Lower %v below 0 on non-negative history", fc.Lower)
	}
	// With a negative sample it is not clamped.
	y[5] = -20
	f, _ = NewForecaster(Config{Horizon: 24, Period: 24})
	fc, _ = f.Forecast(series(y, time.Hour))
	if slices.Min(fc.Lower) >= 0 {
		t.Errorf("Lower clamped although history has a negative sample: %v %v %s", fc.Lower, fc.Point, fc.Model)
	}
}

// BenchmarkForecasterReplay replays 60 days of per-minute samples (86,400)
// with a daily season, noise and a 3-day gap, calling Forecast once per
// minute after the first day, with the pipeline's settings (horizon 15,
// period detected, 14-day window, daily refit). One iteration is a whole
// replay.
func BenchmarkForecasterReplay(b *testing.B) {
	y := seasonal(60*1440, 1440, 100, 0, 8, 1)
	for i := range y {
		y[i] = math.Max(0, y[i]+40*math.Sin(2*math.Pi*float64(i)/(7*1440)))
	}
	for i := 40 * 1440; i < 43*1440; i++ {
		y[i] = nan
	}
	b.ReportAllocs()
	for b.Loop() {
		f, err := NewForecaster(Config{Horizon: 15})
		if err != nil {
			b.Fatal(err)
		}
		for n := 1440; n <= len(y); n++ {
			if _, err := f.Forecast(series(y[:n], time.Minute)); err != nil {
				b.Fatal(err)
			}
		}
	}
}
