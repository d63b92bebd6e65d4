package forecast

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stuurman/stuurman/metrics"
)

// loadNASA reads the NASA HTTP per-minute trace from the evaluation data
// (STUURMAN_DATA_DIR, set by `make test`; default ../../shared/data) and
// skips when it is absent. Missing minutes are NaN.
func loadNASA(t testing.TB) []float64 {
	dir := os.Getenv("STUURMAN_DATA_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "data")
	}
	path := filepath.Join(dir, "traces", "nasa_http_1995_per_minute.csv")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("evaluation data not found: %v", err)
	}
	s, err := metrics.ReadCSVFile(path, metrics.CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s.Values
}

func TestNASAModels(t *testing.T) {
	y := loadNASA(t)
	t.Logf("n=%d gaps=%d", len(y), len(y)-observed(y))
	w := y[:20160]
	t0 := time.Now()
	p, a := DetectPeriod(w, 2, 5000)
	t.Logf("detect %d %.3f in %v", p, a, time.Since(t0))
	t0 = time.Now()
	p, a = BestCandidatePeriod(w, CandidatePeriods(time.Minute))
	t.Logf("cand %d %.3f in %v", p, a, time.Since(t0))
	acf := autocorrelation(w, 3000)
	for _, k := range []int{1, 5, 30, 60, 120, 360, 720, 1440, 2880} {
		t.Logf("acf[%d]=%.3f", k, acf[k])
	}
	t0 = time.Now()
	st, err := HoltWinters{}.Fit(w, 1440)
	if err != nil {
		t.Fatalf("fit Holt-Winters on two weeks of NASA: %v", err)
	}
	t.Logf("fit %v params=%+v", time.Since(t0), st.(*HoltWintersState).Params())
	mae60 := map[string]float64{}
	for _, m := range []Model{SeasonalNaive{}, HoltWinters{}} {
		for _, per := range []int{0, 1440} {
			t0 = time.Now()
			r, err := Backtest(m, w, per, 60, 50)
			if err != nil {
				t.Fatalf("backtest %s p=%d: %v", m.Name(), per, err)
			}
			mae60[fmt.Sprintf("%s/%d", m.Name(), per)] = r.MAE[59]
			t.Logf("%s p=%d MASE=%.3f mae1=%.2f mae60=%.2f scale=%.2f %v", m.Name(), per, r.MeanMASE, r.MAE[0], r.MAE[59], r.Scale, time.Since(t0))
		}
	}
	// An hour ahead on noisy per-minute traffic, damped Holt-Winters (with
	// or without the daily season: on these two weeks the season does not
	// pay at this horizon) must beat both persistence and yesterday's value.
	hw := min(mae60["holt_winters_damped/0"], mae60["holt_winters_damped/1440"])
	best := min(mae60["seasonal_naive/0"], mae60["seasonal_naive/1440"])
	if !(hw < best) {
		t.Errorf("Holt-Winters MAE at 1 h %.2f, want below the better naive baseline's %.2f", hw, best)
	}
}

func TestNASAReplay(t *testing.T) {
	y := loadNASA(t)
	f, err := NewForecaster(Config{Horizon: 15})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(1995, 7, 1, 4, 0, 0, 0, time.UTC)
	t0 := time.Now()
	var sumAbs, n float64
	var cover int
	models := map[string]int{}
	for i := 1; i < len(y)-1; i++ {
		s := metrics.Series{Start: start, Step: time.Minute, Values: y[:i]}
		fc, err := f.Forecast(s)
		if err != nil {
			t.Fatalf("i=%d: %v", i, err)
		}
		models[fmt.Sprintf("%s/%d/%.2f", fc.Model, fc.Period, fc.MASE)]++
		if a := y[i]; !math.IsNaN(a) {
			sumAbs += math.Abs(a - fc.Point[0])
			n++
			if a >= fc.Lower[0] && a <= fc.Upper[0] {
				cover++
			}
		}
		if i%14400 == 0 {
			t.Logf("i=%d %s p=%d MASE=%.3f hist=%d note=%q pt=%.1f [%.1f,%.1f] elapsed %v", i, fc.Model, fc.Period, fc.MASE, fc.History, fc.Note, fc.Point[0], fc.Lower[0], fc.Upper[0], time.Since(t0))
		}
	}
	mae, coverage := sumAbs/n, float64(cover)/n
	t.Logf("replay %v; MAE1=%.2f coverage=%.3f", time.Since(t0), mae, coverage)
	// The one-step error of persistence on this trace is about 14 requests
	// a minute; the interval is nominally 90 %.
	if mae > 13 || coverage < 0.8 || coverage > 0.97 {
		t.Errorf("one-step MAE %.2f (want <= 13), interval coverage %.3f (want 0.8-0.97)", mae, coverage)
	}
	for k, v := range models {
		if v > 100 {
			t.Logf("%s: %d", k, v)
		}
	}
}
