package forecast

import (
	"fmt"
	"math"
)

// Bounds of the damping parameter φ searched by HoltWinters.Fit.
const (
	hwPhiMin = 0.8
	hwPhiMax = 0.98
	// hwDefaultMaxEvals is the default cap on SSE evaluations in Fit.
	hwDefaultMaxEvals = 300
	// hwMinObserved is the fewest observed samples Fit accepts.
	hwMinObserved = 10
	// hwBlockNonSeasonal is the block length used to initialise level and
	// trend when there is no season.
	hwBlockNonSeasonal = 10
)

// HoltWinters is additive Holt-Winters exponential smoothing with a damped
// trend (ETS(A,Ad,A)). With season length m, level ℓ, trend b, seasonal
// indices s and an observation y(t):
//
//	ŷ(t|t-1) = ℓ(t-1) + φ·b(t-1) + s(t-m)
//	ℓ(t) = α·(y(t) - s(t-m)) + (1-α)·(ℓ(t-1) + φ·b(t-1))
//	b(t) = β·(ℓ(t) - ℓ(t-1)) + (1-β)·φ·b(t-1)
//	s(t) = γ·(y(t) - ℓ(t)) + (1-γ)·s(t-m)
//	ŷ(T+h|T) = ℓ(T) + (φ + φ² + … + φʰ)·b(T) + s(T+h-m·⌈h/m⌉)
//
// A gap (NaN) advances the state without correcting it: ℓ ← ℓ + φ·b,
// b ← φ·b, and the seasonal index is kept as it was.
//
// α, β, γ ∈ (0,1) and φ ∈ [0.8, 0.98] are fitted by minimising the sum of
// squared one-step-ahead errors over the observed samples (gaps are
// skipped) with Nelder-Mead on logistic-transformed parameters. The state
// starts at the first observed sample: the level is the mean of the first
// season (stepped back to before the first sample along the trend), the
// trend the difference of the first two seasons' means divided by m, and
// the seasonal indices the mean deviation of each phase from its season's
// mean along that trend over the first two seasons, centred to sum to zero.
//
// With period 0 or 1 there is no season (γ is fixed at 0 and s at 0) and
// the first two blocks of 10 samples play the role of the seasons.
//
// The zero value is ready to use.
type HoltWinters struct {
	// MaxEvals caps the SSE evaluations of the parameter search; 0 means
	// 300. Each evaluation is one O(len(y)) pass.
	MaxEvals int
}

var _ Model = HoltWinters{}

// Name returns "holt_winters_damped".
func (HoltWinters) Name() string { return "holt_winters_damped" }

// HoltWintersParams are the smoothing parameters of a fitted HoltWinters.
type HoltWintersParams struct {
	// Alpha smooths the level, Beta the trend, Gamma the seasonal
	// indices; each in (0,1). Gamma is 0 without a season.
	Alpha, Beta, Gamma float64
	// Phi damps the trend, in [0.8, 0.98].
	Phi float64
}

// Fit fits the parameters on y and returns a *HoltWintersState positioned
// after the last sample. Leading gaps are skipped. It returns an error
// wrapping ErrTooShort when, after the leading gaps, y holds fewer than two
// full seasons (2·period samples; 20 without a season) or fewer than 10
// observed samples. It panics if period < 0.
func (hw HoltWinters) Fit(y []float64, period int) (State, error) {
	if period < 0 {
		panic("forecast: HoltWinters: negative period")
	}
	z, k0, m, block, seasonal := hwLayout(y, period)
	if len(z) < 2*block {
		return nil, fmt.Errorf("holt-winters with period %d: %d samples after %d leading gaps, need %d: %w",
			period, len(z), k0, 2*block, ErrTooShort)
	}
	if n := observed(z); n < hwMinObserved {
		return nil, fmt.Errorf("holt-winters with period %d: %d observed samples, need %d: %w",
			period, n, hwMinObserved, ErrTooShort)
	}

	init := hwInit(z, m, block, seasonal)
	f := &hwFilter{z: z, init: init, s: make([]float64, m)}

	best := hwFitParams(f.sse, seasonal, hw.MaxEvals)
	st := &HoltWintersState{params: best, s: make([]float64, m), seasonal: seasonal}
	st.level, st.trend = init.level, init.trend
	copy(st.s, init.s)
	for _, v := range z {
		st.Update(v)
	}
	return st, nil
}

// hwStart is the initial state of the filter, before z[0].
type hwStart struct {
	level, trend float64
	s            []float64
}

// hwInit computes the initial level, trend and seasonal indices from the
// first two blocks of z (z[0] is observed; len(z) ≥ 2·block).
func hwInit(z []float64, m, block int, seasonal bool) hwStart {
	mean0 := meanObserved(z[:block])
	mean1 := meanObserved(z[block : 2*block])
	trend := 0.0
	if !math.IsNaN(mean1) {
		trend = (mean1 - mean0) / float64(block)
	}
	// mean0 is the level at the block's centre; step back to just before z[0].
	level := mean0 - trend*float64(block+1)/2
	s := make([]float64, m)
	if seasonal {
		var sum float64
		var nphase int
		for j := range m {
			var acc float64
			var n int
			// The deviation from the season's mean, detrended within the
			// season (the mean sits at its centre, (m-1)/2).
			ramp := trend * (float64(j) - float64(m-1)/2)
			for c, mean := range [2]float64{mean0, mean1} {
				v := z[c*m+j]
				if !math.IsNaN(v) && !math.IsNaN(mean) {
					acc += v - mean - ramp
					n++
				}
			}
			if n > 0 {
				s[j] = acc / float64(n)
				sum += s[j]
				nphase++
			}
		}
		if nphase > 0 {
			c := sum / float64(nphase)
			for j := range s {
				s[j] -= c
			}
		}
	}
	return hwStart{level: level, trend: trend, s: s}
}

// hwFilter runs the Holt-Winters recursions over z for the parameter search;
// s is scratch space reused by every evaluation.
type hwFilter struct {
	z    []float64
	init hwStart
	s    []float64
}

// sse returns the sum of squared one-step-ahead errors over the observed
// samples of z.
func (f *hwFilter) sse(p HoltWintersParams) float64 {
	a, b, g, phi := p.Alpha, p.Beta, p.Gamma, p.Phi
	s := f.s
	copy(s, f.init.s)
	l, t := f.init.level, f.init.trend
	m := len(s)
	pos := 0
	var sse float64
	for _, v := range f.z {
		sp := s[pos]
		fc := l + phi*t
		if v == v { // observed
			e := v - fc - sp
			sse += e * e
			ln := a*(v-sp) + (1-a)*fc
			t = b*(ln-l) + (1-b)*phi*t
			s[pos] = g*(v-ln) + (1-g)*sp
			l = ln
		} else {
			l = fc
			t *= phi
		}
		pos++
		if pos == m {
			pos = 0
		}
	}
	return sse
}

// HoltWintersState is a fitted HoltWinters model. Update is O(1) and
// Forecast does not allocate.
type HoltWintersState struct {
	params       HoltWintersParams
	level, trend float64
	// s holds the seasonal indices by phase; pos is the phase of the next
	// sample.
	s        []float64
	pos      int
	seasonal bool
}

var _ State = (*HoltWintersState)(nil)

// Params returns the fitted smoothing parameters.
func (st *HoltWintersState) Params() HoltWintersParams { return st.params }

// Update absorbs the next observation y with the recursions documented on
// HoltWinters; a NaN advances the level by φ·b, damps the trend and keeps
// the seasonal index.
func (st *HoltWintersState) Update(y float64) {
	p := st.params
	sp := st.s[st.pos]
	fc := st.level + p.Phi*st.trend
	if math.IsNaN(y) {
		st.level = fc
		st.trend *= p.Phi
	} else {
		ln := p.Alpha*(y-sp) + (1-p.Alpha)*fc
		st.trend = p.Beta*(ln-st.level) + (1-p.Beta)*p.Phi*st.trend
		if st.seasonal {
			st.s[st.pos] = p.Gamma*(y-ln) + (1-p.Gamma)*sp
		}
		st.level = ln
	}
	st.pos++
	if st.pos == len(st.s) {
		st.pos = 0
	}
}

// Forecast writes ŷ(T+h) = ℓ + (φ+…+φʰ)·b + s(phase of T+h) for
// h = 1..len(dst) into dst and returns it.
func (st *HoltWintersState) Forecast(dst []float64) []float64 {
	return hwForecast(dst, st.params.Phi, st.level, st.trend, st.s, st.pos, false)
}

func logistic(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func logit(p float64) float64 { return math.Log(p / (1 - p)) }

// observed returns the number of non-NaN values in y.
func observed(y []float64) int {
	n := 0
	for _, v := range y {
		if !math.IsNaN(v) {
			n++
		}
	}
	return n
}

// meanObserved returns the mean of the non-NaN values in y, NaN if none.
func meanObserved(y []float64) float64 {
	var sum float64
	n := 0
	for _, v := range y {
		if !math.IsNaN(v) {
			sum += v
			n++
		}
	}
	if n == 0 {
		return nan
	}
	return sum / float64(n)
}
