package forecast

import (
	"time"
)

// Forecast is a prediction for the steps that follow the last observed
// sample: Point[h-1] is the forecast for horizon h (h = 1..Len), and
// Lower[h-1], Upper[h-1] bound it at the central coverage Coverage (e.g. 0.9
// means Lower is the 5 % and Upper the 95 % quantile of the backtest errors).
//
// MASE is the model's rolling-origin backtest error averaged over the
// forecast's horizons, so consumers can judge how far to trust it: NaN means
// "not measured" (too little history) and must be read as untrusted.
type Forecast struct {
	// Start is the time of the first forecast step (horizon 1).
	Start time.Time
	// Step is the spacing of forecast steps, the same as the input series'.
	Step time.Duration
	// Point, Lower and Upper have one entry per horizon.
	Point, Lower, Upper []float64
	// Coverage is the nominal central coverage of [Lower, Upper], in (0,1).
	Coverage float64
	// Model names the model that produced the forecast, e.g.
	// "holt_winters_damped" or "seasonal_naive".
	Model string
	// Period is the season length in steps the model used (0: none).
	Period int
	// MASE is the backtest mean absolute scaled error averaged over horizons
	// 1..Len; NaN when it could not be measured.
	MASE float64
	// History is the number of observed (non-NaN) samples the model saw.
	History int
	// Note explains a fallback or a caveat in one sentence, e.g. "cold
	// start: 90 samples, seasonal naive with period 0". Empty when none.
	Note string
}

// Len returns the number of forecast horizons.
func (f Forecast) Len() int { return len(f.Point) }

// MaxUpper returns the largest upper bound over horizons 1..h (clamped to
// Len); NaN when the forecast is empty.
func (f Forecast) MaxUpper(h int) float64 {
	return maxOf(f.Upper, h)
}

// MaxPoint returns the largest point forecast over horizons 1..h (clamped
// to Len); NaN when the forecast is empty.
func (f Forecast) MaxPoint(h int) float64 {
	return maxOf(f.Point, h)
}

func maxOf(xs []float64, h int) float64 {
	h = min(h, len(xs))
	if h <= 0 {
		return nan
	}
	m := xs[0]
	for _, v := range xs[1:h] {
		if v > m || m != m {
			m = v
		}
	}
	return m
}
