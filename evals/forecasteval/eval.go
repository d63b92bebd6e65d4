package forecasteval

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/stuurman/stuurman/forecast"
	"github.com/stuurman/stuurman/metrics"
)

// Names of the baselines and of the automatic choice in Result.
const (
	Naive         = "naive"
	SeasonalNaive = "seasonal_naive"
	Auto          = "auto"
)

// Candidate is one model the evaluation scores, fitted with Period.
type Candidate struct {
	// Name is the key in Horizon.Models.
	Name   string
	Model  forecast.Model
	Period int
}

// Options configures Run. The zero value evaluates at 5 minutes, 15
// minutes and one hour, refitting daily on the preceding week, with an
// origin at every step.
type Options struct {
	// Horizons are the lead times scored; each is converted to steps of
	// the trace (rounded up, at least one). Default 5m, 15m, 1h.
	Horizons []time.Duration
	// TrainWindow is the history each fit sees: only the samples just
	// before the refit. Default 7 days.
	TrainWindow time.Duration
	// RefitEvery is the spacing of refits; between refits the fitted
	// states are only updated with each new sample. Default 24 hours.
	RefitEvery time.Duration
	// OriginEvery is the spacing of forecast origins. Default: the trace
	// step (an origin at every sample).
	OriginEvery time.Duration
	// Season is the seasonal naive baseline's lag and the models' season.
	// Default 24 hours.
	Season time.Duration
	// Models returns the candidates scored at a horizon of h steps besides
	// the baselines and Auto. Default: DefaultModels.
	Models func(step time.Duration, season, h int) []Candidate
	// BacktestOrigins is passed to the automatic choice's Forecaster
	// (forecast.Config.BacktestOrigins). Default 0: its default.
	BacktestOrigins int
}

// Result is the outcome of Run; it is what forecast.json holds.
type Result struct {
	Trace string `json:"trace"`
	// Step is the trace's step in seconds.
	Step float64 `json:"step_seconds"`
	// Samples and Gaps count the trace's samples and NaN gaps.
	Samples int `json:"samples"`
	Gaps    int `json:"gaps"`
	// TrainSteps, RefitSteps, OriginSteps and SeasonSteps are the
	// options in steps.
	TrainSteps  int `json:"train_steps"`
	RefitSteps  int `json:"refit_steps"`
	OriginSteps int `json:"origin_steps"`
	SeasonSteps int `json:"season_steps"`
	// Scale is the MASE denominator: the mean absolute difference
	// |y(t) - y(t-season)| over the trace's observed pairs.
	Scale    float64   `json:"mase_scale"`
	Horizons []Horizon `json:"horizons"`
	Elapsed  float64   `json:"elapsed_seconds"`
}

// Horizon holds the scores at one lead time.
type Horizon struct {
	Minutes float64 `json:"minutes"`
	Steps   int     `json:"steps"`
	// Origins is the number of origins scored: those whose actual at this
	// horizon was observed. Every model is scored on the same origins.
	Origins int              `json:"origins"`
	Models  map[string]Score `json:"models"`
}

// Score is one model's error at one horizon.
type Score struct {
	MAE  float64 `json:"mae"`
	MASE float64 `json:"mase"`
	// Ratio is MAE divided by the lower of the naive and seasonal naive
	// MAEs: below 1 beats both.
	Ratio float64 `json:"ratio"`
	// Fallbacks counts refits at which the model could not be fitted and
	// seasonal naive stood in for it until the next refit.
	Fallbacks int `json:"fallbacks,omitempty"`
	// Chosen counts, for Auto, the origins at which each model was the
	// Forecaster's choice.
	Chosen map[string]int `json:"chosen,omitempty"`
}

// Run backtests the models on s by rolling origin: the first origin is
// TrainWindow after the start; at each refit (every RefitEvery from there)
// every model is fitted on the TrainWindow samples before it; between
// refits its state absorbs one sample at a time, and at every origin
// (every OriginEvery) it forecasts the horizons. Auto is the production
// forecast.Forecaster, one per horizon, configured with the same train
// window and refit spacing and Horizon = the horizon's steps, fed the
// trace's prefix at each origin. Errors are scored where the actual is
// observed; the outage's zeros are scored like any other value.
//
// The horizons run in parallel on up to two goroutines. It returns an error
// when the trace is shorter than TrainWindow plus the longest horizon, or
// ctx is done.
func Run(ctx context.Context, s metrics.Series, o Options) (Result, error) {
	if s.Step <= 0 {
		return Result{}, fmt.Errorf("forecasteval: trace %q: step %v: must be > 0", s.Name, s.Step)
	}
	o = o.withDefaults()
	steps := func(d time.Duration) int { return max(1, int((d+s.Step-1)/s.Step)) }
	res := Result{
		Trace: s.Name, Step: s.Step.Seconds(), Samples: s.Len(), Gaps: s.Gaps(),
		TrainSteps: steps(o.TrainWindow), RefitSteps: steps(o.RefitEvery),
		OriginSteps: steps(o.OriginEvery), SeasonSteps: steps(o.Season),
	}
	maxH := 0
	for _, h := range o.Horizons {
		maxH = max(maxH, steps(h))
	}
	if s.Len() < res.TrainSteps+maxH {
		return Result{}, fmt.Errorf("forecasteval: trace %q: %d samples, need at least %d (train window %v + horizon): %w",
			s.Name, s.Len(), res.TrainSteps+maxH, o.TrainWindow, forecast.ErrTooShort)
	}
	res.Scale = seasonalScale(s.Values, res.SeasonSteps)
	start := time.Now()
	res.Horizons = make([]Horizon, len(o.Horizons))
	errs := make([]error, len(o.Horizons))
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for i, hd := range o.Horizons {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			res.Horizons[i], errs[i] = runHorizon(ctx, s, o, res, steps(hd), hd)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Result{}, err
	}
	res.Elapsed = time.Since(start).Seconds()
	return res, nil
}

func (o Options) withDefaults() Options {
	if len(o.Horizons) == 0 {
		o.Horizons = []time.Duration{5 * time.Minute, 15 * time.Minute, time.Hour}
	}
	if o.TrainWindow <= 0 {
		o.TrainWindow = 7 * 24 * time.Hour
	}
	if o.RefitEvery <= 0 {
		o.RefitEvery = 24 * time.Hour
	}
	if o.Season <= 0 {
		o.Season = 24 * time.Hour
	}
	if o.Models == nil {
		o.Models = DefaultModels
	}
	return o
}

// DefaultModels returns the models scored by default at a horizon of h
// steps, with season the daily season in steps: additive and multiplicative
// Holt-Winters, double-seasonal Holt-Winters (day and week), the
// seasonal-level decomposition (additive, multiplicative, two seasons),
// AR on the deseasonalised series, the robust trend, and the combination
// of Holt-Winters with the seasonal level.
func DefaultModels(step time.Duration, season, h int) []Candidate {
	week := 7 * season
	return []Candidate{
		{"holt_winters", forecast.HoltWinters{}, season},
		{"holt_winters_mult", forecast.HoltWintersMultiplicative{}, season},
		{"double_seasonal", forecast.DoubleSeasonal{Period2: week, Horizon: h}, season},
		{"seasonal_level", forecast.SeasonalLevel{Horizon: h}, season},
		{"seasonal_level_mult", forecast.SeasonalLevel{Horizon: h, Multiplicative: true}, season},
		{"ar", forecast.AR{}, season},
		{"robust_trend", forecast.RobustTrend{}, season},
		{"combination", forecast.Combination{Models: []forecast.Model{
			forecast.HoltWinters{}, forecast.SeasonalLevel{Horizon: h}}}, season},
	}
}

// track is one scored model's running state.
type track struct {
	c         Candidate
	st        forecast.State
	fallbacks int
	buf       []float64
	sum       float64
}

func runHorizon(ctx context.Context, s metrics.Series, o Options, res Result, H int, hd time.Duration) (Horizon, error) {
	y := s.Values
	W, R, O, m := res.TrainSteps, res.RefitSteps, res.OriginSteps, res.SeasonSteps
	cands := append([]Candidate{
		{Naive, forecast.SeasonalNaive{}, 0},
		{SeasonalNaive, forecast.SeasonalNaive{}, m},
	}, o.Models(s.Step, m, H)...)
	tracks := make([]*track, len(cands))
	for i, c := range cands {
		tracks[i] = &track{c: c, buf: make([]float64, H)}
	}
	fc, err := forecast.NewForecaster(forecast.Config{
		Horizon: H, Period: m, TrainWindow: W, RefitEvery: R,
		BacktestOrigins: o.BacktestOrigins,
	})
	if err != nil {
		return Horizon{}, err
	}
	var autoSum float64
	chosen := map[string]int{}
	origins := 0
	for t := W; t+H <= len(y); t++ {
		if (t-W)%R == 0 {
			if err := ctx.Err(); err != nil {
				return Horizon{}, err
			}
			for _, tr := range tracks {
				st, err := tr.c.Model.Fit(y[t-W:t], tr.c.Period)
				if err != nil {
					st, err = forecast.SeasonalNaive{}.Fit(y[t-W:t], m)
					tr.fallbacks++
				}
				if err != nil { // no observed sample in the window
					st = nil
				}
				tr.st = st
			}
		}
		if (t-W)%O == 0 && !math.IsNaN(y[t+H-1]) {
			f, err := fc.Forecast(s.Slice(0, t))
			ok := err == nil
			for _, tr := range tracks {
				ok = ok && tr.st != nil
			}
			if ok {
				a := y[t+H-1]
				for _, tr := range tracks {
					tr.sum += math.Abs(a - tr.st.Forecast(tr.buf)[H-1])
				}
				autoSum += math.Abs(a - f.Point[H-1])
				chosen[f.Model]++
				origins++
			}
		}
		for _, tr := range tracks {
			if tr.st != nil {
				tr.st.Update(y[t])
			}
		}
	}
	out := Horizon{Minutes: hd.Minutes(), Steps: H, Origins: origins, Models: map[string]Score{}}
	if origins == 0 {
		return out, fmt.Errorf("forecasteval: horizon %v: no origin could be scored", hd)
	}
	n := float64(origins)
	base := math.Min(tracks[0].sum, tracks[1].sum) / n
	score := func(sum float64) Score {
		mae := sum / n
		return Score{MAE: mae, MASE: mae / res.Scale, Ratio: mae / base}
	}
	for _, tr := range tracks {
		sc := score(tr.sum)
		sc.Fallbacks = tr.fallbacks
		out.Models[tr.c.Name] = sc
	}
	a := score(autoSum)
	a.Chosen = chosen
	out.Models[Auto] = a
	return out, nil
}

// seasonalScale returns mean |y(t) - y(t-m)| over the observed pairs; NaN
// when there is none.
func seasonalScale(y []float64, m int) float64 {
	var sum float64
	n := 0
	for t := m; t < len(y); t++ {
		if d := y[t] - y[t-m]; !math.IsNaN(d) {
			sum += math.Abs(d)
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// ModelNames returns the model names of h with the baselines first, then
// Auto, then the rest sorted.
func (h Horizon) ModelNames() []string {
	names := []string{Naive, SeasonalNaive, Auto}
	var rest []string
	for k := range h.Models {
		if !slices.Contains(names, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	return append(names, rest...)
}
