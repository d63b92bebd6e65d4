package forecast

import (
	"fmt"
	"math"
)

// hwmMinLevel: an index is updated only while the level exceeds this
// fraction of the fitted series' mean level.
const hwmMinLevel = 0.05

// hwmMaxIndex caps a multiplicative seasonal index, so that a phase seen
// only near zero level cannot explode.
const hwmMaxIndex = 20

// HoltWintersMultiplicative is Holt-Winters exponential smoothing with a
// damped trend and a multiplicative season (ETS(A,Ad,M)): the season scales
// with the level, as traffic's daily swing does. With season length m,
// level ℓ, trend b, seasonal indices s (mean 1) and observation y(t):
//
//	ŷ(t|t-1) = (ℓ(t-1) + φ·b(t-1))·s(t-m)
//	ℓ(t) = α·y(t)/s(t-m) + (1-α)·(ℓ(t-1) + φ·b(t-1))
//	b(t) = β·(ℓ(t) - ℓ(t-1)) + (1-β)·φ·b(t-1)
//	s(t) = γ·y(t)/ℓ(t) + (1-γ)·s(t-m)
//	ŷ(T+h|T) = (ℓ(T) + (φ + … + φʰ)·b(T))·s(T+h-m·⌈h/m⌉)
//
// α, β, γ ∈ (0,1) and φ ∈ [0.8, 0.98] are fitted, as for HoltWinters, by
// minimising the one-step squared error with Nelder-Mead, from the same
// initial level and trend; the initial indices are each phase's ratio to
// its season's mean over the first two seasons, normalised to mean 1.
//
// Zeros need care in a multiplicative model: a long run of them (an
// outage) would drive the indices of every phase it covers to zero, and the
// season would forecast zero there long after the service came back. Fit
// therefore masks outages (runs of at least OutageRun zeros, see
// MaskOutages) before fitting; in the state, the indices are not updated
// inside a run of at least OutageRun zeros (the level follows the zeros),
// and at the first non-zero sample after such a run the level is restored to
// where it was before the run and the trend reset to 0. The level is floored at
// 0 and an index at 0.05 when dividing by it; an index is updated only while the level exceeds 5 % of the fitted
// series' mean, and is capped at 20.
//
// A gap (NaN) advances the state without correcting it, as in HoltWinters.
// With period 0 or 1 there is no season and the model is Holt's damped
// trend. The zero value is ready to use.
type HoltWintersMultiplicative struct {
	// MaxEvals caps the SSE evaluations of the parameter search; 0 means
	// 300.
	MaxEvals int
	// OutageRun is the length of a zero run treated as an outage; 0 means
	// DefaultOutageRun.
	OutageRun int
}

var _ Model = HoltWintersMultiplicative{}

// Name returns "holt_winters_mult_damped".
func (HoltWintersMultiplicative) Name() string { return "holt_winters_mult_damped" }

// Fit fits the parameters on y and returns a *HoltWintersMultState
// positioned after the last sample. Leading gaps are skipped. It returns an
// error wrapping ErrTooShort as HoltWinters.Fit does, and when the first two
// seasons' mean is not positive. It panics if period < 0.
func (hw HoltWintersMultiplicative) Fit(y []float64, period int) (State, error) {
	if period < 0 {
		panic("forecast: HoltWintersMultiplicative: negative period")
	}
	outage := hw.OutageRun
	if outage <= 0 {
		outage = DefaultOutageRun
	}
	masked, _ := MaskOutages(y, outage)
	z, k0, m, block, seasonal := hwLayout(masked, period)
	if len(z) < 2*block || observed(z) < hwMinObserved {
		return nil, fmt.Errorf("%s with period %d: %d samples (%d observed) after %d leading gaps, need %d: %w",
			hw.Name(), period, len(z), observed(z), k0, 2*block, ErrTooShort)
	}
	init := hwInit(z, m, block, false)
	s := make([]float64, m)
	for j := range s {
		s[j] = 1
	}
	if seasonal {
		mean0, mean1 := meanObserved(z[:m]), meanObserved(z[m:2*m])
		if !(mean0 > 0) {
			return nil, fmt.Errorf("%s: first season's mean %g is not positive", hw.Name(), mean0)
		}
		var sum float64
		var n int
		for j := range m {
			var acc float64
			var c int
			for k, mean := range [2]float64{mean0, mean1} {
				if v := z[k*m+j]; !math.IsNaN(v) && mean > 0 {
					acc += v / mean
					c++
				}
			}
			if c > 0 {
				s[j] = acc / float64(c)
				sum += s[j]
				n++
			}
		}
		if n > 0 && sum > 0 {
			c := sum / float64(n)
			for j := range s {
				s[j] /= c
			}
		}
	}
	init.s = s
	f := &hwmFilter{z: z, init: init, s: make([]float64, m), seasonal: seasonal, scale: meanObserved(z)}

	best := hwFitParams(f.sse, seasonal, hw.MaxEvals)
	st := &HoltWintersMultState{params: best, s: make([]float64, m), seasonal: seasonal, outageRun: outage, scale: f.scale}
	st.level, st.trend = init.level, init.trend
	copy(st.s, init.s)
	for _, v := range z {
		st.Update(v)
	}
	for i := len(y) - 1; i >= 0 && y[i] == 0; i-- {
		st.zeroRun++
	}
	st.preZero = st.level
	return st, nil
}

// hwmFilter runs the multiplicative recursions for the parameter search.
type hwmFilter struct {
	z        []float64
	init     hwStart
	s        []float64
	seasonal bool
	scale    float64
}

func (f *hwmFilter) sse(p HoltWintersParams) float64 {
	st := HoltWintersMultState{params: p, s: f.s, seasonal: f.seasonal, outageRun: math.MaxInt, scale: f.scale}
	copy(st.s, f.init.s)
	st.level, st.trend = f.init.level, f.init.trend
	var sse float64
	for _, v := range f.z {
		if v == v {
			e := v - (st.level+p.Phi*st.trend)*st.s[st.pos]
			sse += e * e
		}
		st.Update(v)
	}
	return sse
}

// HoltWintersMultState is a fitted HoltWintersMultiplicative. Update is
// O(1) and Forecast does not allocate.
type HoltWintersMultState struct {
	params       HoltWintersParams
	level, trend float64
	s            []float64
	pos          int
	seasonal     bool
	// zeroRun counts the current run of zeros; from outageRun on they are
	// treated as gaps.
	zeroRun, outageRun int
	// scale is the mean of the observed samples Fit saw; preZero the level
	// before the current run of zeros.
	scale, preZero float64
}

var _ State = (*HoltWintersMultState)(nil)

// Params returns the fitted smoothing parameters.
func (st *HoltWintersMultState) Params() HoltWintersParams { return st.params }

// Indices returns the seasonal indices by phase, the phase of the next
// sample first. It allocates.
func (st *HoltWintersMultState) Indices() []float64 {
	out := make([]float64, len(st.s))
	for i := range out {
		out[i] = st.s[(st.pos+i)%len(st.s)]
	}
	return out
}

// Update absorbs the next observation y with the recursions documented on
// HoltWintersMultiplicative.
func (st *HoltWintersMultState) Update(y float64) {
	outage := false
	if y == 0 {
		if st.zeroRun == 0 {
			st.preZero = st.level
		}
		st.zeroRun++
		outage = st.zeroRun >= st.outageRun
	} else if !math.IsNaN(y) {
		if st.zeroRun >= st.outageRun {
			// Back from an outage: demand resumes where it was.
			st.level, st.trend = st.preZero, 0
		}
		st.zeroRun = 0
	}
	p := st.params
	sp := st.s[st.pos]
	fc := st.level + p.Phi*st.trend
	if math.IsNaN(y) {
		st.level = max(fc, 0)
		st.trend *= p.Phi
	} else {
		ln := p.Alpha*y/max(sp, slMinProfile) + (1-p.Alpha)*fc
		st.trend = p.Beta*(ln-st.level) + (1-p.Beta)*p.Phi*st.trend
		ln = max(ln, 0)
		if st.seasonal && !outage && ln > hwmMinLevel*st.scale {
			st.s[st.pos] = min(p.Gamma*y/ln+(1-p.Gamma)*sp, hwmMaxIndex)
		}
		st.level = ln
	}
	st.pos++
	if st.pos == len(st.s) {
		st.pos = 0
	}
}

// Forecast writes (ℓ + (φ+…+φʰ)·b)·s(phase of T+h) for h = 1..len(dst)
// into dst and returns it.
func (st *HoltWintersMultState) Forecast(dst []float64) []float64 {
	return hwForecast(dst, st.params.Phi, st.level, st.trend, st.s, st.pos, true)
}
