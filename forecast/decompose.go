package forecast

import (
	"math"
	"slices"
)

// seasonalProfile estimates the seasonal profile of y with period m, indexed
// by phase relative to y[0] (profile[j] belongs to y[j], y[j+m], ...).
//
// Each sample is compared with the centred rolling mean of the observed
// samples within ±m/2 of it (the local level): additively, the deviation
// y(t) - level(t); multiplicatively, the ratio y(t)/level(t) where the level
// is positive. The profile at phase j is the mean (or, with median, the
// median) of those over the cycles where y is observed, smoothed by a
// circular moving average of 2·half+1 phases, then normalised (additive:
// mean 0; multiplicative: mean 1). A phase never observed takes the neutral
// value (0 or 1). It returns nil when m < 2 or y holds fewer than m samples.
func seasonalProfile(y []float64, m, half int, mult bool) []float64 {
	if m < 2 || len(y) < m {
		return nil
	}
	d := deviations(y, m, mult)
	return finishProfile(rawProfile(d, m, -1, false), half, mult)
}

// autoProfile is seasonalProfile with the smoothing half-width and the
// statistic (mean or median) chosen by two-fold cross-validation over the
// cycles: the profile estimated on the even cycles is scored on the odd
// ones and vice versa, by the mean absolute error of the deviations, over
// half-widths 0, 1, 3, 7, 15 and 30 phases per 1440 of period. Sharp
// recurring features (a burst at the same minute every day) keep a narrow
// window; noisy smooth ones get a wide one. With fewer than two cycles it
// is seasonalProfile with half m/96 and the mean.
func autoProfile(y []float64, m int, mult bool) []float64 {
	if m < 2 || len(y) < m {
		return nil
	}
	d := deviations(y, m, mult)
	if len(y) < 2*m {
		return finishProfile(rawProfile(d, m, -1, false), m/slSmoothDivisor, mult)
	}
	var halves []int
	for _, h := range []int{0, 1, 3, 7, 15, 30} {
		h = h * m / 1440
		if len(halves) == 0 || halves[len(halves)-1] != h {
			halves = append(halves, h)
		}
	}
	bestErr, bestHalf, bestMedian := math.Inf(1), m/slSmoothDivisor, false
	for _, median := range []bool{false, true} {
		folds := [2][]float64{rawProfile(d, m, 0, median), rawProfile(d, m, 1, median)}
		for _, h := range halves {
			var sum float64
			n := 0
			for f := range 2 {
				prof := circularSmooth(folds[f], h)
				for t, v := range d {
					if (t/m)%2 == f || math.IsNaN(v) || math.IsNaN(prof[t%m]) {
						continue
					}
					sum += math.Abs(v - prof[t%m])
					n++
				}
			}
			if n > 0 && sum/float64(n) < bestErr {
				bestErr, bestHalf, bestMedian = sum/float64(n), h, median
			}
		}
	}
	return finishProfile(rawProfile(d, m, -1, bestMedian), bestHalf, mult)
}

// deviations returns y's deviations (ratios when mult) from its centred
// rolling mean over ±m/2 samples; NaN where either is missing (or the mean
// is not positive, when mult).
func deviations(y []float64, m int, mult bool) []float64 {
	level := rollingMean(y, m/2)
	d := make([]float64, len(y))
	for t, v := range y {
		lv := level[t]
		switch {
		case math.IsNaN(v) || math.IsNaN(lv) || (mult && !(lv > 0)):
			d[t] = nan
		case mult:
			d[t] = v / lv
		default:
			d[t] = v - lv
		}
	}
	return d
}

// rawProfile returns, per phase, the mean (or median) of d over the cycles
// of parity fold (all cycles when fold < 0); NaN for phases without data.
func rawProfile(d []float64, m, fold int, median bool) []float64 {
	raw := make([]float64, m)
	if median {
		vals := make([][]float64, m)
		for t, v := range d {
			if !math.IsNaN(v) && (fold < 0 || (t/m)%2 == fold) {
				vals[t%m] = append(vals[t%m], v)
			}
		}
		for j, vs := range vals {
			raw[j] = nan
			if len(vs) > 0 {
				slices.Sort(vs)
				k := len(vs) / 2
				raw[j] = vs[k]
				if len(vs)%2 == 0 {
					raw[j] = (vs[k-1] + vs[k]) / 2
				}
			}
		}
		return raw
	}
	cnt := make([]float64, m)
	for t, v := range d {
		if !math.IsNaN(v) && (fold < 0 || (t/m)%2 == fold) {
			raw[t%m] += v
			cnt[t%m]++
		}
	}
	for j := range raw {
		if cnt[j] > 0 {
			raw[j] /= cnt[j]
		} else {
			raw[j] = nan
		}
	}
	return raw
}

// finishProfile smooths raw over ±half phases, fills unobserved phases with
// the neutral value and normalises (see seasonalProfile).
func finishProfile(raw []float64, half int, mult bool) []float64 {
	neutral := 0.0
	if mult {
		neutral = 1
	}
	prof := circularSmooth(raw, half)
	var acc float64
	var n int
	for j, v := range prof {
		if math.IsNaN(v) {
			prof[j] = neutral
			continue
		}
		acc += v
		n++
	}
	if n > 0 {
		c := acc / float64(n)
		for j := range prof {
			if mult {
				if c > 0 {
					prof[j] /= c
				}
			} else {
				prof[j] -= c
			}
		}
	}
	return prof
}

// rollingMean returns, for each t, the mean of the observed samples of y in
// [t-half, t+half] (truncated at the ends); NaN when there are none.
func rollingMean(y []float64, half int) []float64 {
	n := len(y)
	cs := make([]float64, n+1) // prefix sums of observed values
	cc := make([]int, n+1)     // prefix counts of observed values
	for i, v := range y {
		cs[i+1], cc[i+1] = cs[i], cc[i]
		if !math.IsNaN(v) {
			cs[i+1] += v
			cc[i+1]++
		}
	}
	out := make([]float64, n)
	for t := range out {
		lo, hi := max(0, t-half), min(n, t+half+1)
		if c := cc[hi] - cc[lo]; c > 0 {
			out[t] = (cs[hi] - cs[lo]) / float64(c)
		} else {
			out[t] = nan
		}
	}
	return out
}

// circularSmooth returns the circular moving average of x over 2·half+1
// neighbours, skipping NaNs; NaN where a whole neighbourhood is NaN.
func circularSmooth(x []float64, half int) []float64 {
	m := len(x)
	out := make([]float64, m)
	if half <= 0 || m < 3 {
		copy(out, x)
		return out
	}
	half = min(half, (m-1)/2)
	for j := range out {
		var s float64
		var c int
		for k := j - half; k <= j+half; k++ {
			v := x[((k%m)+m)%m]
			if !math.IsNaN(v) {
				s += v
				c++
			}
		}
		if c > 0 {
			out[j] = s / float64(c)
		} else {
			out[j] = nan
		}
	}
	return out
}

// MaskOutages returns a copy of y in which every run of at least minRun
// consecutive zeros is replaced by NaN, and the number of samples masked.
// A long run of zeros in a series that is otherwise positive is an outage
// (the source or the service was down), not demand: fitted as data it drags
// a level to zero and, worse, collapses a multiplicative season. Shorter
// runs are kept: a quiet minute at night is a real zero. It panics if
// minRun < 1. y is not modified.
func MaskOutages(y []float64, minRun int) ([]float64, int) {
	if minRun < 1 {
		panic("forecast: MaskOutages: minRun must be >= 1")
	}
	out := append([]float64(nil), y...)
	masked := 0
	for i := 0; i < len(out); {
		if out[i] != 0 {
			i++
			continue
		}
		j := i
		for j < len(out) && out[j] == 0 {
			j++
		}
		if j-i >= minRun {
			for k := i; k < j; k++ {
				out[k] = nan
			}
			masked += j - i
		}
		i = j
	}
	return out, masked
}
