package forecast

import (
	"math"

	"gonum.org/v1/gonum/optimize"
)

// hwFitParams fits the Holt-Winters smoothing parameters α, β, φ (and γ
// when seasonal) by minimising sse with Nelder-Mead on logistic-transformed
// parameters, starting from α=0.3, β=0.02, γ=0.1, φ=0.9. maxEvals caps the
// evaluations of sse; 0 or less means hwDefaultMaxEvals. Hitting the cap is
// not a failure: the best point found is kept, unless the search ended
// worse than where it started, in which case the start is returned.
func hwFitParams(sse func(HoltWintersParams) float64, seasonal bool, maxEvals int) HoltWintersParams {
	nparam := 3
	if seasonal {
		nparam = 4
	}
	x0 := make([]float64, nparam)
	start := HoltWintersParams{Alpha: 0.3, Beta: 0.02, Gamma: 0.1, Phi: 0.9}
	x0[0], x0[1] = logit(start.Alpha), logit(start.Beta)
	x0[2] = logit((start.Phi - hwPhiMin) / (hwPhiMax - hwPhiMin))
	if seasonal {
		x0[3] = logit(start.Gamma)
	}
	toParams := func(x []float64) HoltWintersParams {
		p := HoltWintersParams{
			Alpha: logistic(x[0]),
			Beta:  logistic(x[1]),
			Phi:   hwPhiMin + (hwPhiMax-hwPhiMin)*logistic(x[2]),
		}
		if seasonal {
			p.Gamma = logistic(x[3])
		}
		return p
	}
	if maxEvals <= 0 {
		maxEvals = hwDefaultMaxEvals
	}
	problem := optimize.Problem{Func: func(x []float64) float64 {
		v := sse(toParams(x))
		if math.IsNaN(v) {
			return math.Inf(1)
		}
		return v
	}}
	settings := &optimize.Settings{
		FuncEvaluations: maxEvals,
		Converger:       &optimize.FunctionConverge{Relative: 1e-6, Iterations: 20},
	}
	best := start
	res, _ := optimize.Minimize(problem, x0, settings, &optimize.NelderMead{SimplexSize: 1})
	if res != nil && res.F <= sse(start) {
		best = toParams(res.X)
	}
	return best
}

// hwLayout skips the leading gaps of y and returns the rest, z, with the
// number of gaps skipped, k0, the season length m (1 without a season), the
// length of the blocks that initialise the state (the season, or
// hwBlockNonSeasonal without one), and whether period makes a season.
func hwLayout(y []float64, period int) (z []float64, k0, m, block int, seasonal bool) {
	for k0 < len(y) && math.IsNaN(y[k0]) {
		k0++
	}
	seasonal = period > 1
	m, block = 1, hwBlockNonSeasonal
	if seasonal {
		m, block = period, period
	}
	return y[k0:], k0, m, block, seasonal
}

// hwForecast writes the damped-trend forecasts from level and trend for
// h = 1..len(dst) into dst, combining each with the seasonal index s[pos]
// of its phase (pos being the phase of h = 1) by multiplying when mult and
// by adding otherwise, and returns dst.
func hwForecast(dst []float64, phi, level, trend float64, s []float64, pos int, mult bool) []float64 {
	var damp, pw float64 = 0, 1
	for h := range dst {
		pw *= phi
		damp += pw
		if mult {
			dst[h] = (level + damp*trend) * s[pos]
		} else {
			dst[h] = level + damp*trend + s[pos]
		}
		pos++
		if pos == len(s) {
			pos = 0
		}
	}
	return dst
}
