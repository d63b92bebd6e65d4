package forecast

import (
	"fmt"
	"math"
	"slices"
)

// Parameters of RobustTrend's Huber regression.
const (
	// huberK is the Huber threshold in robust standard deviations
	// (1.345 gives 95 % efficiency under Gaussian noise).
	huberK = 1.345
	// rtIters caps the iteratively reweighted least-squares passes.
	rtIters = 30
)

// RobustTrend is a straight line fitted with Huber's M-estimator, which
// outliers (a spike, a short outage) barely move, on the deseasonalised
// series when there is a season:
//
//	y(t) = a + b·t + P(t) + ε(t),  ŷ(T+h|T) = a + b·(T+h) + P(T+h)
//
// P is the smoothed additive seasonal profile (as in SeasonalLevel), 0
// without a season. a and b minimise Σ ρ((y - a - b·t - P)/σ) with Huber's
// ρ (threshold 1.345σ), σ the residuals' median absolute deviation × 1.4826,
// by iteratively reweighted least squares started from ordinary least
// squares. Gaps are skipped; outages (runs of at least DefaultOutageRun
// zeros) are masked.
//
// It is a model of slow drift (memory leaks, disk fill), not of the level
// of noisy traffic: Update only advances the clock (O(1)), the line stays
// where Fit put it until the next fit.
type RobustTrend struct{}

var _ Model = RobustTrend{}

// Name returns "robust_trend".
func (RobustTrend) Name() string { return "robust_trend" }

// Fit returns a *RobustTrendState positioned after the last sample. It
// returns an error wrapping ErrTooShort when y holds fewer than 10 observed
// samples or, with a season, is shorter than one period. It panics if
// period < 0.
func (RobustTrend) Fit(y []float64, period int) (State, error) {
	if period < 0 {
		panic("forecast: RobustTrend: negative period")
	}
	z, _ := MaskOutages(y, DefaultOutageRun)
	if observed(z) < hwMinObserved || (period > 1 && len(z) < period) {
		return nil, fmt.Errorf("robust trend with period %d: %d samples (%d observed): %w", period, len(z), observed(z), ErrTooShort)
	}
	prof := []float64{0}
	if period > 1 {
		prof = seasonalProfile(z, period, period/slSmoothDivisor, false)
	}
	x := make([]float64, len(z))
	for t, v := range z {
		x[t] = v - prof[t%len(prof)]
	}
	a, b := HuberLine(x)
	return &RobustTrendState{a: a, b: b, t: len(z), prof: prof, pos: len(z) % len(prof)}, nil
}

// HuberLine fits x(t) = a + b·t, t = 0..len(x)-1, by Huber regression
// (threshold 1.345 robust standard deviations, IRLS, see RobustTrend),
// skipping NaNs. It returns NaN, NaN when fewer than two samples are
// observed.
func HuberLine(x []float64) (a, b float64) {
	w := make([]float64, len(x))
	for t, v := range x {
		if !math.IsNaN(v) {
			w[t] = 1
		}
	}
	a, b = weightedLine(x, w)
	res := make([]float64, 0, len(x))
	for range rtIters {
		if math.IsNaN(b) {
			return a, b
		}
		res = res[:0]
		for t, v := range x {
			if !math.IsNaN(v) {
				res = append(res, math.Abs(v-a-b*float64(t)))
			}
		}
		slices.Sort(res)
		sigma := 1.4826 * res[len(res)/2]
		if !(sigma > 0) {
			return a, b // most residuals are exactly zero: the line fits
		}
		c := huberK * sigma
		for t, v := range x {
			if math.IsNaN(v) {
				continue
			}
			r := math.Abs(v - a - b*float64(t))
			w[t] = 1
			if r > c {
				w[t] = c / r
			}
		}
		na, nb := weightedLine(x, w)
		done := math.Abs(na-a) <= 1e-9*(1+math.Abs(a)) && math.Abs(nb-b) <= 1e-9*(1+math.Abs(b))
		a, b = na, nb
		if done {
			break
		}
	}
	return a, b
}

// weightedLine is weighted least squares of x on t (weights w, NaNs skipped).
func weightedLine(x, w []float64) (a, b float64) {
	var sw, st, sx float64
	for t, v := range x {
		if math.IsNaN(v) || w[t] == 0 {
			continue
		}
		sw += w[t]
		st += w[t] * float64(t)
		sx += w[t] * v
	}
	if sw == 0 {
		return nan, nan
	}
	mt, mx := st/sw, sx/sw
	var stt, stx float64
	for t, v := range x {
		if math.IsNaN(v) || w[t] == 0 {
			continue
		}
		dt := float64(t) - mt
		stt += w[t] * dt * dt
		stx += w[t] * dt * (v - mx)
	}
	if stt == 0 {
		return nan, nan
	}
	b = stx / stt
	return mx - b*mt, b
}

// RobustTrendState is a fitted RobustTrend.
type RobustTrendState struct {
	a, b float64
	t    int // index of the next sample
	prof []float64
	pos  int
}

var _ State = (*RobustTrendState)(nil)

// Line returns the intercept (at the first sample Fit saw) and the slope
// per step.
func (st *RobustTrendState) Line() (a, b float64) { return st.a, st.b }

// Update advances the clock by one step; the line is not refitted.
func (st *RobustTrendState) Update(float64) {
	st.t++
	st.pos++
	if st.pos == len(st.prof) {
		st.pos = 0
	}
}

// Forecast writes a + b·(T+h) + P(T+h) into dst.
func (st *RobustTrendState) Forecast(dst []float64) []float64 {
	pos := st.pos
	for h := range dst {
		dst[h] = st.a + st.b*float64(st.t+h) + st.prof[pos]
		pos++
		if pos == len(st.prof) {
			pos = 0
		}
	}
	return dst
}
