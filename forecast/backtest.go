package forecast

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"
)

// BacktestResult is the outcome of a rolling-origin backtest. Slices indexed
// by horizon hold horizon h at index h-1.
type BacktestResult struct {
	// Model is the name of the model evaluated; Period the season length
	// it was fitted with.
	Model  string
	Period int
	// Horizon is the number of horizons evaluated.
	Horizon int
	// Train is the number of leading samples the model was fitted on;
	// Origins the number of forecast origins in the evaluation tail and
	// Spacing the steps between consecutive origins.
	Train, Origins, Spacing int
	// Scale is the MASE denominator: the in-sample mean absolute error of
	// the one-step seasonal naive forecast over the training part,
	// mean |y(t) - y(t-m)| over the pairs with both samples observed
	// (m = the scale period, 1 when it is 0 or 1). NaN when no pair exists.
	Scale float64
	// MAE[h-1] is the mean absolute error at horizon h over the origins
	// whose actual was observed; NaN when there were none.
	MAE []float64
	// MASE[h-1] = MAE[h-1] / Scale. When Scale is 0 it is 0 if MAE is 0
	// and +Inf otherwise.
	MASE []float64
	// MeanMASE is the mean of MASE over the horizons where it is defined;
	// NaN when none is.
	MeanMASE float64
	// State is the model's state after walking through all of y: fitted
	// on the training part and updated with the evaluation tail, so it is
	// ready to forecast what follows y.
	State State

	// errs[h-1] holds the errors actual - forecast at horizon h, sorted.
	errs [][]float64
}

// Errors returns a sorted copy of the horizon-h errors (actual - forecast)
// for h in 1..Horizon, and nil otherwise.
func (r BacktestResult) Errors(h int) []float64 {
	if h < 1 || h > len(r.errs) {
		return nil
	}
	return slices.Clone(r.errs[h-1])
}

// Interval returns the empirical (1-coverage)/2 and (1+coverage)/2
// quantiles of the horizon-h errors, so that [point+lo, point+hi] is the
// central prediction interval at that coverage. It returns NaN, NaN when h
// is outside 1..Horizon or no error was recorded at h. It panics unless
// 0 < coverage < 1.
func (r BacktestResult) Interval(h int, coverage float64) (lo, hi float64) {
	if !(coverage > 0 && coverage < 1) {
		panic("forecast: Interval: coverage must be in (0,1)")
	}
	if h < 1 || h > len(r.errs) || len(r.errs[h-1]) == 0 {
		return nan, nan
	}
	e := r.errs[h-1]
	return stat.Quantile((1-coverage)/2, stat.Empirical, e, nil),
		stat.Quantile((1+coverage)/2, stat.Empirical, e, nil)
}

// Backtest evaluates m on y by rolling origin. The last
// tail = (origins-1)·k + horizon samples form the evaluation tail, with
// origin spacing k = max(1, ⌈period/origins⌉) so that the origins cover a
// whole season. m is fitted once on the first len(y)-tail samples; the
// state then walks forward through the tail with Update, and at each origin
// (every k steps) forecasts horizons 1..horizon. An error is actual -
// forecast; NaN actuals are skipped. MASE is scaled by the seasonal naive
// in-sample error with the same period (see BacktestResult.Scale).
//
// It returns an error wrapping ErrTooShort when y leaves no training part,
// and the model's error when Fit fails. It panics if horizon < 1,
// origins < 1 or period < 0. y is not modified.
func Backtest(m Model, y []float64, period, horizon, origins int) (BacktestResult, error) {
	if horizon < 1 || origins < 1 || period < 0 {
		panic(fmt.Sprintf("forecast: Backtest: bad arguments horizon=%d origins=%d period=%d", horizon, origins, period))
	}
	k := max(1, (period+origins-1)/origins)
	return backtest(m, y, period, horizon, origins, k, period)
}

// backtest is Backtest with an explicit origin spacing and MASE scale
// period, so that a model choice compares candidates on the same origins and
// the same scale.
func backtest(m Model, y []float64, period, horizon, origins, spacing, scalePeriod int) (BacktestResult, error) {
	tail := (origins-1)*spacing + horizon
	train := len(y) - tail
	r := BacktestResult{
		Model: m.Name(), Period: period, Horizon: horizon,
		Train: train, Origins: origins, Spacing: spacing,
	}
	if train < 1 {
		return r, fmt.Errorf("backtest %s: %d samples, evaluation tail needs %d plus training: %w",
			m.Name(), len(y), tail, ErrTooShort)
	}
	st, err := m.Fit(y[:train], period)
	if err != nil {
		return r, fmt.Errorf("backtest %s: fit on %d samples: %w", m.Name(), train, err)
	}
	r.errs = make([][]float64, horizon)
	for h := range r.errs {
		r.errs[h] = make([]float64, 0, origins)
	}
	buf := make([]float64, horizon)
	next := train // the next origin
	for t := train; t < len(y); t++ {
		if t == next && t+horizon <= len(y) {
			st.Forecast(buf)
			for h, fc := range buf {
				a := y[t+h]
				if e := a - fc; !math.IsNaN(e) {
					r.errs[h] = append(r.errs[h], e)
				}
			}
			next += spacing
		}
		st.Update(y[t])
	}
	r.State = st

	r.Scale = naiveScale(y[:train], scalePeriod)
	r.MAE = make([]float64, horizon)
	r.MASE = make([]float64, horizon)
	var sum float64
	var n int
	for h, e := range r.errs {
		slices.Sort(e)
		r.MAE[h], r.MASE[h] = nan, nan
		if len(e) == 0 {
			continue
		}
		var abs float64
		for _, v := range e {
			abs += math.Abs(v)
		}
		mae := abs / float64(len(e))
		r.MAE[h] = mae
		switch {
		case math.IsNaN(r.Scale):
		case r.Scale > 0:
			r.MASE[h] = mae / r.Scale
		case mae == 0:
			r.MASE[h] = 0
		default:
			r.MASE[h] = math.Inf(1)
		}
		if !math.IsNaN(r.MASE[h]) {
			sum += r.MASE[h]
			n++
		}
	}
	r.MeanMASE = nan
	if n > 0 {
		r.MeanMASE = sum / float64(n)
	}
	return r, nil
}

// naiveScale returns mean |y(t) - y(t-m)| over the t where both samples are
// observed, with m = max(period, 1); NaN when there is no such pair.
func naiveScale(y []float64, period int) float64 {
	m := max(period, 1)
	var sum float64
	n := 0
	for t := m; t < len(y); t++ {
		d := y[t] - y[t-m]
		if !math.IsNaN(d) {
			sum += math.Abs(d)
			n++
		}
	}
	if n == 0 {
		return nan
	}
	return sum / float64(n)
}
