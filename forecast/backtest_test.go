package forecast

import (
	"errors"
	"math"
	"slices"
	"testing"
)

func TestBacktestPureSeason(t *testing.T) {
	y := seasonal(24*10, 24, 100, 0, 0, 1)
	r, err := Backtest(SeasonalNaive{}, y, 24, 12, 30)
	if err != nil {
		t.Fatal(err)
	}
	if r.MeanMASE > 1e-9 {
		t.Errorf("MeanMASE %g, want ~0", r.MeanMASE)
	}
	if r.Scale != 0 || r.MASE[0] != 0 {
		t.Errorf("Scale %g MASE[0] %g, want 0 and 0 (0/0 defined as 0)", r.Scale, r.MASE[0])
	}
	if lo, hi := r.Interval(1, 0.9); lo != 0 || hi != 0 {
		t.Errorf("interval [%g, %g], want [0, 0]", lo, hi)
	}
}

func TestBacktestNaiveOnNoisySeason(t *testing.T) {
	y := seasonal(24*20, 24, 100, 0, 1, 2)
	sn, err := Backtest(SeasonalNaive{}, y, 24, 6, 48)
	if err != nil {
		t.Fatal(err)
	}
	naive, err := Backtest(SeasonalNaive{}, y, 0, 6, 48)
	if err != nil {
		t.Fatal(err)
	}
	// Seasonal naive's MASE is about 1 by construction (its own in-sample
	// error is the scale); naive ignores a strong season.
	if sn.MeanMASE < 0.6 || sn.MeanMASE > 1.5 {
		t.Errorf("seasonal naive MeanMASE %.3f, want ~1", sn.MeanMASE)
	}
	if naive.MAE[5] <= sn.MAE[5] {
		t.Errorf("naive MAE %.3f at h=6 not above seasonal naive %.3f", naive.MAE[5], sn.MAE[5])
	}
}

func TestBacktestMechanics(t *testing.T) {
	// Naive on 0,1,2,...: the error at horizon h is exactly h.
	y := make([]float64, 100)
	for i := range y {
		y[i] = float64(i)
	}
	y[98] = math.NaN() // a NaN actual is skipped
	r, err := Backtest(SeasonalNaive{}, y, 0, 3, 10)
	if err != nil {
		t.Fatal(err)
	}
	if r.Train != 100-(9+3) || r.Spacing != 1 || r.Origins != 10 {
		t.Errorf("Train %d Spacing %d Origins %d", r.Train, r.Spacing, r.Origins)
	}
	for h := 1; h <= 3; h++ {
		if r.MAE[h-1] != float64(h) || r.MASE[h-1] != float64(h) {
			t.Errorf("h=%d MAE %g MASE %g, want %d", h, r.MAE[h-1], r.MASE[h-1], h)
		}
		if lo, hi := r.Interval(h, 0.8); lo != float64(h) || hi != float64(h) {
			t.Errorf("h=%d interval [%g,%g]", h, lo, hi)
		}
	}
	if n := len(r.Errors(3)); n != 9 { // one of the 10 origins hits y[98]
		t.Errorf("%d errors at h=3, want 9", n)
	}
	// The returned state has walked through all of y.
	if got := r.State.Forecast(make([]float64, 1)); got[0] != 99 {
		t.Errorf("state forecast %v, want 99", got)
	}
}

func TestBacktestIntervalQuantiles(t *testing.T) {
	r := BacktestResult{Horizon: 1, errs: [][]float64{{-5, -1, 0, 1, 2, 3, 4, 5, 6, 10}}}
	lo, hi := r.Interval(1, 0.8)
	if lo != -5 || hi != 6 {
		t.Errorf("[%g,%g], want [-5,6]", lo, hi)
	}
	if lo, hi := r.Interval(2, 0.8); !math.IsNaN(lo) || !math.IsNaN(hi) {
		t.Errorf("out-of-range horizon: [%g,%g]", lo, hi)
	}
}

func TestBacktestTooShort(t *testing.T) {
	_, err := Backtest(SeasonalNaive{}, make([]float64, 10), 0, 5, 10)
	if !errors.Is(err, ErrTooShort) {
		t.Errorf("err = %v", err)
	}
	// Holt-Winters reports its own ErrTooShort through Backtest.
	_, err = Backtest(HoltWinters{}, seasonal(24*3, 24, 1, 0, 0, 1), 24, 4, 30)
	if !errors.Is(err, ErrTooShort) {
		t.Errorf("err = %v", err)
	}
}

func TestBacktestInputUnchanged(t *testing.T) {
	y := withGaps(seasonal(24*6, 24, 5, 0, 1, 1), 3, 50)
	in := slices.Clone(y)
	if _, err := Backtest(HoltWinters{}, y, 24, 6, 10); err != nil {
		t.Fatal(err)
	}
	for i := range y {
		if y[i] != in[i] && !(math.IsNaN(y[i]) && math.IsNaN(in[i])) {
			t.Fatalf("y[%d] changed", i)
		}
	}
}
