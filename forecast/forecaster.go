package forecast

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"gonum.org/v1/gonum/stat"

	"github.com/stuurman/stuurman/metrics"
)

// Defaults of Config, applied by NewForecaster and, for the ones that
// depend on the series' step, on the first Forecast.
const (
	DefaultCoverage        = 0.9
	DefaultBacktestOrigins = 50
	// DefaultTrainWindow is the span of history a fit uses.
	DefaultTrainWindow = 14 * 24 * time.Hour
	// DefaultRefitEvery is the span of new samples after which the model
	// is refitted.
	DefaultRefitEvery = 24 * time.Hour
	// minColdHistory is the floor of the default MinHistory.
	minColdHistory = 60
	// minOrigins is the fewest backtest origins a model choice accepts.
	minOrigins = 5
)

// Config configures a Forecaster. The zero value of every field but Horizon
// selects its documented default.
type Config struct {
	// Period is the season length in steps. 0 detects it at each fit: the
	// calendar candidates (CandidatePeriods: hour, day, week) first, then
	// DetectPeriod. 1 means no season.
	Period int
	// Horizon is the number of steps to forecast; required, > 0.
	Horizon int
	// Coverage is the central coverage of the prediction interval, in
	// (0,1); default 0.9.
	Coverage float64
	// MinHistory is the number of observed samples in the training window
	// below which the Forecaster is in cold start and forecasts naively with
	// MASE = NaN. Default: max(60, 2·season), where season is Period, or
	// one day of steps when Period is 0.
	MinHistory int
	// TrainWindow is the number of most recent samples a fit uses (capped
	// to what exists); default 14 days of steps.
	TrainWindow int
	// RefitEvery is the number of new samples after which the model is
	// refitted and rechosen; in between it is only updated. Default one
	// day of steps.
	RefitEvery int
	// BacktestOrigins is the number of rolling origins of the backtest
	// that chooses the model and sizes the interval; default 50. Fewer are
	// used when the history is short.
	BacktestOrigins int
	// VolatilityHalfLife is the half-life, in steps, of the running mean
	// of absolute one-step errors that rescales the interval between
	// refits; default one hour of steps (at least 5). See Forecast.
	VolatilityHalfLife int
	// FixedInterval turns the rescaling off: the interval is the backtest's
	// error quantiles as they were at the last refit.
	FixedInterval bool
	// ChooseAtHorizon chooses the model by its backtest MASE at Horizon
	// alone instead of the mean over horizons 1..Horizon: for a consumer
	// that only reads the last step (e.g. "demand in an hour"), the model
	// best one step ahead is not the one to pick. Forecast.MASE stays the
	// mean.
	ChooseAtHorizon bool
	// Models are extra candidates the choice backtests, each fitted with
	// the season period, after the built-in ones (see Forecast). Their
	// names must differ from the built-in models'.
	Models []Model
}

// Forecaster produces a Forecast from a growing history, once per decision
// cycle. It fits on the most recent TrainWindow samples, choosing among
// candidate models by rolling-origin backtest (see Forecast), and between
// refits only absorbs the samples that are new since its previous call, in
// O(new) time.
//
// A Forecaster is not safe for concurrent use; use one per series.
type Forecaster struct {
	cfg Config

	// Resolved on the first fit for step.
	step                                time.Duration
	minHistory, trainWindow, refitEvery int

	fitted   bool
	cold     bool // the state is a cold-start fallback: refit on every call
	refitDue int  // samples after the last fit at which to refit
	waiting  bool // the fit is a fallback for want of observed samples
	// observedSinceFit counts the observed samples absorbed since the fit.
	observedSinceFit int
	end              time.Time // time just after the last absorbed sample
	lastValue        float64   // value of the last absorbed sample
	sinceFit         int       // samples absorbed since the last fit

	state   State
	model   string
	period  int
	mase    float64
	lo, hi  []float64 // interval offsets per horizon
	note    string
	history int  // observed samples the state has seen
	nonNeg  bool // every observed sample of hist is ≥ 0

	// Volatility tracking: pred1 is the one-step forecast for the next
	// sample, absErr the running mean of |one-step error| (weight volAlpha)
	// and mae1 the backtest's horizon-1 MAE it is compared with.
	halfLife     int
	volAlpha     float64
	pred1        float64
	absErr, mae1 float64
	one          [1]float64
}

// NewForecaster validates cfg, applies the defaults that do not depend on
// the series' step and returns a Forecaster. Errors name the field.
func NewForecaster(cfg Config) (*Forecaster, error) {
	switch {
	case cfg.Horizon <= 0:
		return nil, errors.New("forecast: Horizon: must be > 0")
	case cfg.Period < 0:
		return nil, errors.New("forecast: Period: must be >= 0")
	case cfg.Coverage != 0 && !(cfg.Coverage > 0 && cfg.Coverage < 1):
		return nil, errors.New("forecast: Coverage: must be in (0,1)")
	case cfg.MinHistory < 0:
		return nil, errors.New("forecast: MinHistory: must be >= 0")
	case cfg.TrainWindow < 0:
		return nil, errors.New("forecast: TrainWindow: must be >= 0")
	case cfg.RefitEvery < 0:
		return nil, errors.New("forecast: RefitEvery: must be >= 0")
	case cfg.BacktestOrigins < 0:
		return nil, errors.New("forecast: BacktestOrigins: must be >= 0")
	}
	if cfg.Coverage == 0 {
		cfg.Coverage = DefaultCoverage
	}
	if cfg.BacktestOrigins == 0 {
		cfg.BacktestOrigins = DefaultBacktestOrigins
	}
	return &Forecaster{cfg: cfg}, nil
}

// resolve applies the step-dependent defaults.
func (f *Forecaster) resolve(step time.Duration) {
	f.step = step
	steps := func(d time.Duration) int { return max(1, int(d/step)) }
	f.trainWindow = f.cfg.TrainWindow
	if f.trainWindow == 0 {
		f.trainWindow = steps(DefaultTrainWindow)
	}
	f.refitEvery = f.cfg.RefitEvery
	if f.refitEvery == 0 {
		f.refitEvery = steps(DefaultRefitEvery)
	}
	f.halfLife = f.cfg.VolatilityHalfLife
	if f.halfLife == 0 {
		f.halfLife = max(5, steps(time.Hour))
	}
	f.volAlpha = 1 - math.Pow(0.5, 1/float64(f.halfLife))
	f.minHistory = f.cfg.MinHistory
	if f.minHistory == 0 {
		season := f.cfg.Period
		if season == 0 {
			season = steps(24 * time.Hour)
		}
		f.minHistory = max(minColdHistory, 2*season)
	}
}

// Forecast returns the forecast for the Horizon steps after hist, from the
// samples of hist only (it is causal). hist is not modified.
//
// When hist continues what the Forecaster has already absorbed (same Step,
// and the last absorbed sample, with the same value, lies inside hist) and
// fewer than RefitEvery samples have been absorbed since the last fit, the
// fitted state is only updated with the new samples. Otherwise it refits on
// the last TrainWindow samples of hist:
//
//   - with fewer than MinHistory observed samples there (cold start) it
//     forecasts with seasonal naive (naive without a configured Period), the
//     interval from the quantiles of one-step differences widened by √h,
//     MASE = NaN and a Note saying so;
//   - otherwise it backtests the candidates (seasonal naive and
//     Holt-Winters with the season period p, seasonal naive with the period
//     DetectPeriod finds, naive and non-seasonal Holt-Winters, the seasonal
//     level models and the Holt-Winters + seasonal level combination; see
//     candidates), all on the same origins and with MASE scaled by seasonal
//     naive with p, and keeps the model with the lowest mean MASE (or MASE at
//     Horizon with ChooseAtHorizon; ties: the lower mean MAE, then the
//     simpler model).
//
// The interval is Point + the chosen model's backtest error quantiles at
// each horizon (BacktestResult.Interval), rescaled by recent volatility
// unless FixedInterval is set: the offsets are multiplied by
// clamp(running mean |one-step error| / backtest horizon-1 MAE, 0.5, 3),
// the running mean having a half-life of VolatilityHalfLife steps. Point,
// Lower and Upper are clamped at 0 when every observed sample of hist (all
// of it, not only the window) is non-negative: a count is never forecast
// below zero. It returns an error when hist.Step is not positive or hist has
// no observed sample in the training window.
func (f *Forecaster) Forecast(hist metrics.Series) (Forecast, error) {
	if hist.Step <= 0 {
		return Forecast{}, fmt.Errorf("forecast %q: step %v: must be > 0", hist.Name, hist.Step)
	}
	refit := true
	if from, ok := f.continuation(hist); ok && !f.cold {
		for _, v := range hist.Values[from:] {
			f.absorb(v)
		}
		f.end = hist.End()
		// A fallback waiting for observed samples gains nothing from a
		// refit until some arrive.
		refit = f.sinceFit >= f.refitDue && (!f.waiting || f.observedSinceFit > 0)
	}
	if refit {
		if err := f.refit(hist); err != nil {
			return Forecast{}, fmt.Errorf("forecast %q: %w", hist.Name, err)
		}
	}
	return f.output(hist.End()), nil
}

// continuation reports whether hist extends the absorbed history, and the
// index of its first new sample.
func (f *Forecaster) continuation(hist metrics.Series) (int, bool) {
	if !f.fitted || hist.Step != f.step {
		return 0, false
	}
	d := f.end.Add(-f.step).Sub(hist.Start)
	if d < 0 || d%f.step != 0 {
		return 0, false
	}
	i := int(d / f.step)
	if i >= len(hist.Values) {
		return 0, false
	}
	if v := hist.Values[i]; v != f.lastValue && !(math.IsNaN(v) && math.IsNaN(f.lastValue)) {
		return 0, false
	}
	return i + 1, true
}

// absorb updates the state with one new sample.
func (f *Forecaster) absorb(v float64) {
	if !math.IsNaN(v) && !math.IsNaN(f.pred1) && !math.IsNaN(f.absErr) {
		f.absErr += f.volAlpha * (math.Abs(v-f.pred1) - f.absErr)
	}
	f.state.Update(v)
	f.pred1 = f.state.Forecast(f.one[:])[0]
	f.sinceFit++
	f.lastValue = v
	if !math.IsNaN(v) {
		f.history++
		f.observedSinceFit++
		if v < 0 {
			f.nonNeg = false
		}
	}
}

// refit fits from scratch on the training window of hist.
func (f *Forecaster) refit(hist metrics.Series) error {
	if hist.Step != f.step {
		f.resolve(hist.Step)
	}
	f.fitted = false
	w := hist.Values[max(0, len(hist.Values)-f.trainWindow):]
	k0 := 0
	for k0 < len(w) && math.IsNaN(w[k0]) {
		k0++
	}
	w = w[k0:]
	if len(w) == 0 {
		return fmt.Errorf("no observed sample in the last %d: %w", f.trainWindow, ErrTooShort)
	}
	f.history = observed(w)
	f.nonNeg = true
	for _, v := range hist.Values { // all of hist, not only the window
		if v < 0 {
			f.nonNeg = false
			break
		}
	}
	var err error
	f.refitDue = f.refitEvery
	f.waiting = false
	f.observedSinceFit = 0
	f.cold = f.history < f.minHistory
	if f.cold {
		err = f.fitColdStart(w, fmt.Sprintf("cold start: %d observed samples, fewer than %d", f.history, f.minHistory))
	} else {
		err = f.fitChosen(w, hist.Step)
	}
	if err != nil {
		return err
	}
	f.fitted = true
	f.pred1 = f.state.Forecast(f.one[:])[0]
	f.absErr = f.mae1 // the running error starts at the backtest's
	f.sinceFit = 0
	f.end = hist.End()
	f.lastValue = hist.Values[len(hist.Values)-1]
	return nil
}

// fitColdStart fits the untrusted fallback: seasonal naive with the
// configured period when a season fits in w, naive otherwise, MASE = NaN,
// and a Note starting with why.
func (f *Forecaster) fitColdStart(w []float64, why string) error {
	p := 0
	if f.cfg.Period > 1 && len(w) >= f.cfg.Period {
		p = f.cfg.Period
	}
	st, err := SeasonalNaive{}.Fit(w, p)
	if err != nil {
		return fmt.Errorf("cold start: %w", err)
	}
	var d []float64
	for t := 1; t < len(w); t++ {
		if v := w[t] - w[t-1]; !math.IsNaN(v) {
			d = append(d, v)
		}
	}
	f.lo, f.hi = make([]float64, f.cfg.Horizon), make([]float64, f.cfg.Horizon)
	what := "naive forecast"
	if p > 1 {
		what = fmt.Sprintf("seasonal naive forecast with period %d", p)
	}
	if len(d) >= 2 {
		slices.Sort(d)
		lo := stat.Quantile((1-f.cfg.Coverage)/2, stat.Empirical, d, nil)
		hi := stat.Quantile((1+f.cfg.Coverage)/2, stat.Empirical, d, nil)
		for h := range f.lo {
			s := math.Sqrt(float64(h + 1))
			f.lo[h], f.hi[h] = lo*s, hi*s
		}
	} else {
		what += ", interval of zero width"
	}
	f.state, f.model, f.period, f.mase = st, modelLabel(SeasonalNaive{}, p), p, nan
	f.mae1 = nan // no rescaling of a cold-start interval
	f.note = why + "; " + what
	return nil
}

// fallback fits the cold-start model when the history is long enough but
// the backtest cannot measure the models, and brings the next refit forward
// to 1/24 of RefitEvery (an hour with the daily default).
func (f *Forecaster) fallback(w []float64, why string) error {
	f.refitDue = max(1, f.refitEvery/24)
	f.waiting = true
	return f.fitColdStart(w, why)
}

// candidate is one model and period the model choice backtests.
type candidate struct {
	m      Model
	period int
}

// fitChosen backtests the candidates on w and keeps the best.
func (f *Forecaster) fitChosen(w []float64, step time.Duration) error {
	H := f.cfg.Horizon
	maxP := (len(w) - H) / 3 // room for two seasons of training and one of evaluation
	detected, _ := DetectPeriod(w, 2, maxP)
	p := f.cfg.Period
	if p == 0 {
		var cands []int
		for _, c := range CandidatePeriods(step) {
			if c <= maxP {
				cands = append(cands, c)
			}
		}
		if p, _ = BestCandidatePeriod(w, cands); p == 0 {
			p = detected
		}
	}
	if p == 1 {
		p = 0
	}

	// The same origins for every candidate: spacing so that they cover a
	// season, and a training part of at least half the window.
	origins := f.cfg.BacktestOrigins
	spacing := max(1, (p+origins-1)/origins)
	fit := func() int { return (len(w) - len(w)/2 - H) / spacing }
	if fit()+1 < origins {
		origins = fit() + 1
	}
	if origins < minOrigins && spacing > 1 {
		spacing = 1
		origins = min(f.cfg.BacktestOrigins, fit()+1)
	}
	if origins < minOrigins {
		return f.fallback(w, fmt.Sprintf("too little history to backtest: %d samples for horizon %d", len(w), H))
	}

	cands := f.candidates(p, detected, step)
	var best BacktestResult
	found := false
	var errs []error
	for _, c := range cands {
		r, err := backtest(c.m, w, c.period, H, origins, spacing, p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !found || f.better(r, best) {
			best, found = r, true
		}
	}
	if !found {
		return f.fallback(w, fmt.Sprintf("no model could be backtested (%v)", errors.Join(errs...)))
	}
	if math.IsNaN(best.MeanMASE) || len(best.errs[0]) < minOrigins {
		return f.fallback(w, fmt.Sprintf("backtest measured %d one-step errors, fewer than %d: too few observed samples in the last %d",
			len(best.errs[0]), minOrigins, (origins-1)*spacing+H))
	}

	f.lo, f.hi = make([]float64, H), make([]float64, H)
	for h := range H {
		f.lo[h], f.hi[h] = best.Interval(h+1, f.cfg.Coverage)
	}
	fillNaN(f.lo)
	fillNaN(f.hi)
	f.state, f.period, f.mase = best.State, best.Period, best.MeanMASE
	f.mae1 = best.MAE[0]
	f.model = modelLabel(modelOf(best, cands), best.Period)
	f.note = ""
	return nil
}

// candidates returns the models the choice backtests, simplest first (a tie
// keeps the earlier): seasonal naive and additive Holt-Winters with the
// season p; seasonal naive with the detected period when it differs; then,
// with a season, naive and Holt's damped trend without one, the seasonal
// level (additive and multiplicative, with a weekly second season when p is
// a day), and the combination of Holt-Winters with the multiplicative
// seasonal level; without a season: naive, Holt and simple exponential
// smoothing. Config.Models come last. Multiplicative and double-seasonal
// Holt-Winters and AR are not built in: on the NASA trace they won few
// backtests, and every extra candidate adds selection noise (the choice
// then picked worse models more often) and fit time.
func (f *Forecaster) candidates(p, detected int, step time.Duration) []candidate {
	H := f.cfg.Horizon
	cands := []candidate{{SeasonalNaive{}, p}, {HoltWinters{}, p}}
	if detected > 1 && detected != p {
		cands = append(cands, candidate{SeasonalNaive{}, detected})
	}
	if p <= 1 {
		cands = append(cands, candidate{SeasonalLevel{Horizon: H}, 0})
		for _, m := range f.cfg.Models {
			cands = append(cands, candidate{m, 0})
		}
		return cands
	}
	week := 0
	if d := 24 * time.Hour; step > 0 && d%step == 0 && int(d/step) == p {
		week = 7 * p
	}
	cands = append(cands,
		candidate{SeasonalNaive{}, 0}, candidate{HoltWinters{}, 0},
		candidate{SeasonalLevel{Horizon: H, Period2: week}, p},
		candidate{SeasonalLevel{Horizon: H, Period2: week, Multiplicative: true}, p},
	)
	cands = append(cands,
		candidate{Combination{Models: []Model{HoltWinters{}, SeasonalLevel{Horizon: H, Multiplicative: true}}}, p},
	)
	for _, m := range f.cfg.Models {
		cands = append(cands, candidate{m, p})
	}
	return cands
}

// better reports whether a beats b: lower mean MASE (with ChooseAtHorizon,
// MASE at Horizon; NaN counts as +Inf), then lower mean MAE. Equal candidates keep the earlier, simpler one.
func (f *Forecaster) better(a, b BacktestResult) bool {
	ma, mb := orInf(a.MeanMASE), orInf(b.MeanMASE)
	if f.cfg.ChooseAtHorizon {
		ma, mb = orInf(a.MASE[len(a.MASE)-1]), orInf(b.MASE[len(b.MASE)-1])
	}
	if ma != mb {
		return ma < mb
	}
	return orInf(meanOf(a.MAE)) < orInf(meanOf(b.MAE))
}

// modelOf returns the candidate model that produced r.
func modelOf(r BacktestResult, cands []candidate) Model {
	for _, c := range cands {
		if c.m.Name() == r.Model {
			return c.m
		}
	}
	return SeasonalNaive{}
}

// modelLabel names a model with its period for Forecast.Model: seasonal
// naive without a season is "naive" and Holt-Winters "holt_damped".
func modelLabel(m Model, period int) string {
	if period <= 1 {
		switch m.(type) {
		case SeasonalNaive:
			return "naive"
		case HoltWinters:
			return "holt_damped"
		}
	}
	return m.Name()
}

// output builds the Forecast for the steps after end from the state.
func (f *Forecaster) output(start time.Time) Forecast {
	H := f.cfg.Horizon
	fc := Forecast{
		Start: start, Step: f.step,
		Point: f.state.Forecast(make([]float64, H)),
		Lower: make([]float64, H), Upper: make([]float64, H),
		Coverage: f.cfg.Coverage,
		Model:    f.model, Period: f.period, MASE: f.mase,
		History: f.history, Note: f.note,
	}
	scale := f.volatilityScale()
	for h, p := range fc.Point {
		fc.Lower[h], fc.Upper[h] = p+scale*f.lo[h], p+scale*f.hi[h]
		if f.nonNeg {
			fc.Point[h], fc.Lower[h], fc.Upper[h] = max(p, 0), max(fc.Lower[h], 0), max(fc.Upper[h], 0)
		}
	}
	return fc
}

// Bounds of the interval's rescaling by recent volatility.
const (
	minVolatilityScale = 0.5
	maxVolatilityScale = 3
)

// volatilityScale returns the factor applied to the interval offsets: the
// running mean of absolute one-step errors divided by the backtest's
// horizon-1 MAE, clamped to [0.5, 3]; 1 when either is unknown or
// FixedInterval is set. Count data is noisier when it is busier, and noise
// comes in bursts: the backtest's quantiles average over a whole window,
// this follows the last hour or so.
func (f *Forecaster) volatilityScale() float64 {
	if f.cfg.FixedInterval || !(f.mae1 > 0) || math.IsNaN(f.absErr) || math.IsInf(f.mae1, 0) {
		return 1
	}
	return max(minVolatilityScale, min(f.absErr/f.mae1, maxVolatilityScale))
}

// fillNaN replaces NaNs with the nearest earlier value, leading NaNs with
// the first value, and all with 0 when every value is NaN.
func fillNaN(x []float64) {
	first := slices.IndexFunc(x, func(v float64) bool { return !math.IsNaN(v) })
	if first < 0 {
		clear(x)
		return
	}
	prev := x[first]
	for i, v := range x {
		if math.IsNaN(v) {
			x[i] = prev
		} else {
			prev = v
		}
	}
}

func orInf(v float64) float64 {
	if math.IsNaN(v) {
		return math.Inf(1)
	}
	return v
}

// meanOf returns the mean of the non-NaN values in x, NaN if none.
func meanOf(x []float64) float64 { return meanObserved(x) }
