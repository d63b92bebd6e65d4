package forecast

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/optimize"
)

// DoubleSeasonal is double-seasonal Holt-Winters exponential smoothing
// (Taylor 2003, "Short-term electricity demand forecasting using double
// seasonal exponential smoothing"), additive, with the first-order
// autocorrelation adjustment of its errors: a daily season d of period m₁
// (the period passed to Fit) and a weekly one w of period m₂ (Period2).
// With level ℓ and observation y(t):
//
//	e(t) = y(t) - (ℓ(t-1) + d(t-m₁) + w(t-m₂))
//	ŷ(t|t-1) = ℓ(t-1) + d(t-m₁) + w(t-m₂) + ψ·e(t-1)
//	ℓ(t) = ℓ(t-1) + α·e(t)
//	d(t) = d(t-m₁) + δ·e(t)
//	w(t) = w(t-m₂) + ω·e(t)
//	ŷ(T+h|T) = ℓ(T) + d(T+h-m₁) + w(T+h-m₂) + ψʰ·e(T)
//
// (the error-correction form of Taylor's recursions). α, δ, ω, ψ ∈ (0,1)
// are fitted by Nelder-Mead on the mean squared error of the forecasts at
// horizons 1, ⌈H/2⌉ and H (H = Horizon), so that noise is not chased when
// the horizon is long. Initial state: ℓ the mean of the first day; d each
// phase's mean deviation from its day's mean over the first week, smoothed
// over ±m₁/96 phases; w the deviation of the first week from ℓ + d,
// smoothed over ±m₂/168 phases (an hour for a week of minutes). Gaps
// advance the phases without a correction; outages (runs of at least
// DefaultOutageRun zeros) are masked before fitting.
//
// The zero value uses a week of the daily period (Period2 = 7·m₁).
type DoubleSeasonal struct {
	// Period2 is the second season in steps; 0 means 7 times the period.
	Period2 int
	// Horizon is the horizon the parameters are tuned for; 0 means 1.
	Horizon int
	// MaxEvals caps the parameter search's evaluations; 0 means 200.
	MaxEvals int
}

var _ Model = DoubleSeasonal{}

// Name returns "double_seasonal".
func (DoubleSeasonal) Name() string { return "double_seasonal" }

// Fit fits on y and returns a *DoubleSeasonalState positioned after its
// last sample. It returns an error wrapping ErrTooShort when y, after
// holds less than one full second season or fewer than one first season of
// observed samples. It panics if period < 2.
func (ds DoubleSeasonal) Fit(y []float64, period int) (State, error) {
	if period < 2 {
		panic("forecast: DoubleSeasonal: period must be >= 2")
	}
	m1, m2 := period, ds.Period2
	if m2 <= 0 {
		m2 = 7 * period
	}
	z, _ := MaskOutages(y, DefaultOutageRun)
	if len(z) < m2 || m2 <= m1 || observed(z) < m1 {
		return nil, fmt.Errorf("double seasonal with periods %d and %d: %d samples (%d observed), need %d with %d observed: %w",
			m1, m2, len(z), observed(z), m2, m1, ErrTooShort)
	}
	level := meanObserved(z[:m1])
	if math.IsNaN(level) {
		level = meanObserved(z)
	}
	d := seasonalProfile(z[:m2], m1, m1/slSmoothDivisor, false)
	w := doubleSeasonalWeekly(z, level, d, m1, m2)
	init := &DoubleSeasonalState{level: level, d: d, w: w}
	H := max(ds.Horizon, 1)
	hs := uniqueInts(1, (H+1)/2, H)
	scratch := &DoubleSeasonalState{d: make([]float64, m1), w: make([]float64, m2)}
	// With less than two weeks no weekly index is seen twice: ω cannot be
	// measured and stays 0.
	fitOmega := len(z) >= 2*m2
	toParams := func(x []float64) DoubleSeasonalParams {
		p := DoubleSeasonalParams{Alpha: logistic(x[0]), Delta: logistic(x[1]), Psi: logistic(x[2])}
		if fitOmega {
			p.Omega = logistic(x[3])
		}
		return p
	}
	start := DoubleSeasonalParams{Alpha: 0.05, Delta: 0.05, Psi: 0.5}
	x0 := []float64{logit(start.Alpha), logit(start.Delta), logit(start.Psi)}
	if fitOmega {
		start.Omega = 0.05
		x0 = append(x0, logit(start.Omega))
	}
	loss := func(x []float64) float64 {
		scratch.reset(init, toParams(x))
		v := scratch.loss(z, hs)
		if math.IsNaN(v) {
			return math.Inf(1)
		}
		return v
	}
	maxEvals := ds.MaxEvals
	if maxEvals <= 0 {
		maxEvals = 200
	}
	best := start
	res, _ := optimize.Minimize(optimize.Problem{Func: loss}, x0, &optimize.Settings{
		FuncEvaluations: maxEvals,
		Converger:       &optimize.FunctionConverge{Relative: 1e-6, Iterations: 20},
	}, &optimize.NelderMead{SimplexSize: 1})
	if res != nil && res.F <= loss(x0) {
		best = toParams(res.X)
	}
	st := &DoubleSeasonalState{d: make([]float64, m1), w: make([]float64, m2)}
	st.reset(init, best)
	for _, v := range z {
		st.Update(v)
	}
	return st, nil
}

// DoubleSeasonalParams are the smoothing parameters of a DoubleSeasonal.
type DoubleSeasonalParams struct {
	// Alpha smooths the level, Delta the first season, Omega the second;
	// Psi is the lag-one autocorrelation of the errors.
	Alpha, Delta, Omega, Psi float64
}

// DoubleSeasonalState is a fitted DoubleSeasonal. Update is O(1) and
// neither it nor Forecast allocates.
type DoubleSeasonalState struct {
	p          DoubleSeasonalParams
	level      float64
	d, w       []float64
	pos1, pos2 int
	e          float64 // the last one-step error, 0 after a gap
}

var _ State = (*DoubleSeasonalState)(nil)

// Params returns the fitted parameters.
func (st *DoubleSeasonalState) Params() DoubleSeasonalParams { return st.p }

// reset copies the initial state from init and sets the parameters.
func (st *DoubleSeasonalState) reset(init *DoubleSeasonalState, p DoubleSeasonalParams) {
	st.p, st.level, st.e = p, init.level, 0
	copy(st.d, init.d)
	copy(st.w, init.w)
	st.pos1, st.pos2 = 0, 0
}

// loss runs the filter over z and returns the mean squared error of the
// forecasts at horizons hs.
func (st *DoubleSeasonalState) loss(z []float64, hs []int) float64 {
	m1, m2 := len(st.d), len(st.w)
	var sse float64
	n := 0
	for t, v := range z {
		st.Update(v)
		pw := 1.0
		hi := 0
		for h := 1; hi < len(hs); h++ {
			pw *= st.p.Psi
			if h != hs[hi] {
				continue
			}
			hi++
			if t+h >= len(z) || math.IsNaN(z[t+h]) {
				continue
			}
			fc := st.level + st.d[(st.pos1+h-1)%m1] + st.w[(st.pos2+h-1)%m2] + pw*st.e
			e := z[t+h] - fc
			sse += e * e
			n++
		}
	}
	if n == 0 {
		return math.Inf(1)
	}
	return sse / float64(n)
}

// Update absorbs the next observation (NaN: a gap).
func (st *DoubleSeasonalState) Update(y float64) {
	if !math.IsNaN(y) {
		e := y - (st.level + st.d[st.pos1] + st.w[st.pos2])
		st.level += st.p.Alpha * e
		st.d[st.pos1] += st.p.Delta * e
		st.w[st.pos2] += st.p.Omega * e
		st.e = e
	} else {
		st.e *= st.p.Psi
	}
	st.pos1++
	if st.pos1 == len(st.d) {
		st.pos1 = 0
	}
	st.pos2++
	if st.pos2 == len(st.w) {
		st.pos2 = 0
	}
}

// Forecast writes ℓ + d + w + ψʰ·e at each horizon into dst.
func (st *DoubleSeasonalState) Forecast(dst []float64) []float64 {
	i1, i2 := st.pos1, st.pos2
	pw := 1.0
	for h := range dst {
		pw *= st.p.Psi
		dst[h] = st.level + st.d[i1] + st.w[i2] + pw*st.e
		i1++
		if i1 == len(st.d) {
			i1 = 0
		}
		i2++
		if i2 == len(st.w) {
			i2 = 0
		}
	}
	return dst
}

// doubleSeasonalWeekly returns the initial weekly indices (see
// DoubleSeasonal).
func doubleSeasonalWeekly(z []float64, level float64, d []float64, m1, m2 int) []float64 {
	cycles := len(z) / m2
	dev := make([]float64, m2)
	cnt := make([]float64, m2)
	for t := range cycles * m2 {
		if v := z[t]; !math.IsNaN(v) {
			dev[t%m2] += v - level - d[t%m1]
			cnt[t%m2]++
		}
	}
	for j := range dev {
		if cnt[j] > 0 {
			dev[j] /= cnt[j]
		} else {
			dev[j] = nan
		}
	}
	var w []float64
	if cycles >= 2 {
		w = circularSmooth(dev, m2/168)
	} else {
		days := make([]float64, m2)
		for k := 0; k*m1 < m2; k++ {
			mean := meanObserved(dev[k*m1 : min(m2, (k+1)*m1)])
			for j := k * m1; j < min(m2, (k+1)*m1); j++ {
				days[j] = mean
			}
		}
		w = circularSmooth(days, m1/24)
	}
	for j, v := range w {
		if math.IsNaN(v) {
			w[j] = 0
		}
	}
	return w
}
