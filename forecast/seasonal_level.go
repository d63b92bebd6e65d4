package forecast

import (
	"fmt"
	"math"
)

// Defaults of SeasonalLevel.
const (
	// slSmoothDivisor sets the default profile smoothing: a half-width of
	// period/slSmoothDivisor phases (15 minutes for a day of minutes).
	slSmoothDivisor = 96
	// DefaultOutageRun is the default length of a run of zeros that the
	// models treat as an outage rather than as demand.
	DefaultOutageRun = 30
	// slShiftRun is how many consecutive remainders must sit on one side
	// of the level, beyond slShiftSigmas mean absolute deviations of the
	// fast level, before the level is reset to the fast level.
	slShiftRun    = 15
	slShiftSigmas = 3
	// slFastAlpha smooths the fast level used by the level-shift test.
	slFastAlpha = 0.2
	// slMaskRun is the shortest run of zeros left out of the estimation.
	slMaskRun = 5
	// slClip clips a level correction at this many running mean absolute
	// errors (Huber), so that a burst does not drag the level; slDevAlpha
	// smooths that mean.
	slClip     = 3
	slDevAlpha = 0.05
	// slMinProfile floors a multiplicative profile when dividing by it.
	slMinProfile = 0.05
)

// SeasonalLevel forecasts the smoothed mean of a noisy seasonal series: an
// MSTL-style decomposition into one or two fixed seasonal profiles and a
// remainder whose level is followed by simple exponential smoothing.
//
// Additively, with profiles P₁ (period m) and P₂ (Period2) and remainder
// level ℓ:
//
//	r(t) = y(t) - P₁(t) - P₂(t)
//	ℓ(t) = ℓ(t-1) + α·(r(t) - ℓ(t-1))
//	ŷ(T+h|T) = ℓ(T) + P₁(T+h) + P₂(T+h)
//
// and multiplicatively r = y/(P₁·P₂), ŷ = ℓ·P₁·P₂. Per-minute counts are
// noisy: the last value carries its own noise into every horizon, while ℓ
// averages it away, which is what beats persistence at short horizons.
//
// Fit leaves runs of zeros out of the estimation (see Update for how the
// state treats them), estimates P₁ as the mean or median deviation of each
// phase from the centred daily rolling mean, smoothed over ±Smooth
// neighbouring phases, the statistic and the width chosen by two-fold
// cross-validation over the cycles unless Smooth is set (autoProfile);
// P₂ likewise from y - P₁ when the history holds two full cycles of Period2
// (with ±Period2/168 smoothing, an hour for a week of minutes), else P₂ = 0.
// α is the value in [0.001, 1] minimising the squared error of ℓ(t) against
// r(t+h) at h = 1, ⌈H/4⌉, ⌈H/2⌉ and H (H = Horizon), found by golden-section
// search on log α.
//
// Update is O(1) and allocation-free: the profiles stay fixed between fits;
// a gap advances the phase only. Level shifts: a fast level (α = 0.2) runs
// beside ℓ, and when it stays more than 3 mean absolute one-step deviations
// away on one side for 15 consecutive observations, ℓ jumps to it. Outages:
// inside a run of at least OutageRun zeros the level follows the zeros but
// the shift test is suspended, and at the first non-zero sample after it the
// level is restored to where it was before the run began: demand resumes,
// it does not grow back from zero.
//
// The zero value is additive with one season, tuned for one-step forecasts.
type SeasonalLevel struct {
	// Multiplicative uses ratio profiles and ŷ = ℓ·P₁·P₂.
	Multiplicative bool
	// Period2 is a second, longer season in steps (e.g. a week); 0: none.
	Period2 int
	// Horizon is the horizon α is tuned for; 0 means 1.
	Horizon int
	// Smooth is the half-width, in phases, of the first profile's circular
	// moving average; -1 means none, 0 chooses it and the statistic (mean
	// or median over cycles) by cross-validation (see autoProfile).
	Smooth int
	// OutageRun is the length of a zero run treated as an outage; 0 means
	// DefaultOutageRun.
	OutageRun int
}

var _ Model = SeasonalLevel{}

// Name returns "seasonal_level", with "_mult" when multiplicative and
// "_2s" when a second season is configured.
func (m SeasonalLevel) Name() string {
	n := "seasonal_level"
	if m.Multiplicative {
		n += "_mult"
	}
	if m.Period2 > 1 {
		n += "_2s"
	}
	return n
}

// Fit estimates the profiles and α on y and returns a *SeasonalLevelState
// positioned after the last sample. With period 0 or 1 there is no season
// and it is simple exponential smoothing. It returns an error wrapping
// ErrTooShort when y holds fewer than one full period (10 samples without
// a season) or fewer than 10 observed samples. It panics if period < 0.
func (m SeasonalLevel) Fit(y []float64, period int) (State, error) {
	if period < 0 {
		panic("forecast: SeasonalLevel: negative period")
	}
	outage := m.OutageRun
	if outage <= 0 {
		outage = DefaultOutageRun
	}
	need := max(period, hwMinObserved)
	if len(y) < need || observed(y) < hwMinObserved {
		return nil, fmt.Errorf("%s with period %d: %d samples (%d observed), need %d: %w",
			m.Name(), period, len(y), observed(y), need, ErrTooShort)
	}
	st := &SeasonalLevelState{mult: m.Multiplicative, outageRun: outage}
	st.zeroAt = scheduledZeros(y, max(period, 1), min(outage, slMaskRun))
	// Estimate on the series without its runs of zeros: scheduled or not,
	// they are not the level of demand.
	z, _ := MaskOutages(y, min(outage, slMaskRun))
	if observed(z) < hwMinObserved {
		return nil, fmt.Errorf("%s: %d observed samples outside runs of zeros: %w", m.Name(), observed(z), ErrTooShort)
	}
	neutral := 0.0
	if st.mult {
		neutral = 1
	}
	if period > 1 {
		if m.Smooth == 0 {
			st.p1 = autoProfile(z, period, st.mult)
		} else {
			st.p1 = seasonalProfile(z, period, max(m.Smooth, 0), st.mult)
		}
	} else {
		st.p1 = []float64{neutral}
	}
	st.p2 = []float64{neutral}
	if p2 := m.Period2; p2 > period && len(z) >= 2*p2 {
		d := make([]float64, len(z))
		for t, v := range z {
			if st.mult {
				d[t] = v / max(st.p1[t%len(st.p1)], slMinProfile)
			} else {
				d[t] = v - st.p1[t%len(st.p1)]
			}
		}
		st.p2 = seasonalProfile(d, p2, p2/168, st.mult)
	}

	// Remainders for the α search.
	r := make([]float64, len(z))
	for t, v := range z {
		r[t] = st.remainder(v, st.p1[t%len(st.p1)], st.p2[t%len(st.p2)])
	}
	H := max(m.Horizon, 1)
	hs := uniqueInts(1, (H+3)/4, (H+1)/2, H)
	l0 := meanObserved(r[:min(len(r), max(period, 60))])
	if math.IsNaN(l0) {
		l0 = meanObserved(r)
	}
	dev0 := meanAbsDiff(r) / math.Sqrt2
	f := slFilter{level: l0, dev: dev0}
	loss := func(a, psi float64) float64 {
		g := f
		g.alpha, g.psi = a, psi
		return g.loss(r, hs)
	}
	lnA := goldenMin(func(x float64) float64 { return loss(math.Exp(x), 0) }, math.Log(0.001), 0, 30)
	psi := goldenMin(func(x float64) float64 { return loss(math.Exp(lnA), x) }, 0, 0.99, 25)
	lnA = goldenMin(func(x float64) float64 { return loss(math.Exp(x), psi) }, math.Log(0.001), 0, 30)
	f.alpha, f.psi = math.Exp(lnA), psi
	st.f = f
	st.fast = l0
	for _, v := range y {
		st.Update(v)
	}
	return st, nil
}

// slFilter is the remainder's level: simple exponential smoothing with
// Huber-clipped corrections, and the AR(1) term of the last one-step error.
type slFilter struct {
	alpha, psi float64
	level      float64
	// e is the last one-step error r - ℓ, dev the running mean of the
	// clipped absolute errors.
	e, dev float64
}

// step absorbs the remainder r (observed).
func (f *slFilter) step(r float64) {
	e := r - f.level
	c := e
	if f.dev > 0 {
		lim := slClip * f.dev
		c = max(-lim, min(e, lim))
	}
	f.level += f.alpha * c
	f.dev += slDevAlpha * (math.Abs(c) - f.dev)
	f.e = e
}

// at returns the remainder forecast h steps ahead, ℓ + ψʰ·e, with pw = ψʰ.
func (f *slFilter) at(pw float64) float64 { return f.level + pw*f.e }

// loss runs the filter over r and returns the mean squared error of its
// forecasts at the horizons hs (ascending) against r.
func (f *slFilter) loss(r []float64, hs []int) float64 {
	var sse float64
	n := 0
	for t, v := range r {
		if math.IsNaN(v) {
			f.e *= f.psi
		} else {
			f.step(v)
		}
		pw := 1.0
		hi := 0
		for h := 1; hi < len(hs); h++ {
			pw *= f.psi
			if h != hs[hi] {
				continue
			}
			hi++
			if t+h < len(r) {
				if w := r[t+h]; !math.IsNaN(w) {
					e := w - f.at(pw)
					sse += e * e
					n++
				}
			}
		}
	}
	if n == 0 {
		return math.Inf(1)
	}
	return sse / float64(n)
}

// meanAbsDiff returns mean |r(t) - r(t-1)| over the observed pairs, 0 if
// none.
func meanAbsDiff(r []float64) float64 {
	var s float64
	n := 0
	for t := 1; t < len(r); t++ {
		if d := r[t] - r[t-1]; !math.IsNaN(d) {
			s += math.Abs(d)
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return s / float64(n)
}

// scheduledZeros marks the phases (of period m) at which y is zero, inside
// a run of at least minRun and at most m/8 zeros (longer is an outage, not
// a schedule), in at least two cycles and in at least
// half of the cycles where the phase is observed: a recurring maintenance
// window or log rotation, which the forecast should reproduce. nil when
// none is.
func scheduledZeros(y []float64, m, minRun int) []bool {
	if m < 2 {
		return nil
	}
	zeros := make([]int, m)
	obs := make([]int, m)
	for i := 0; i < len(y); {
		if math.IsNaN(y[i]) {
			i++
			continue
		}
		if y[i] != 0 {
			obs[i%m]++
			i++
			continue
		}
		j := i
		for j < len(y) && y[j] == 0 {
			j++
		}
		for k := i; k < j; k++ {
			obs[k%m]++
			if j-i >= minRun && j-i <= m/8 {
				zeros[k%m]++
			}
		}
		i = j
	}
	var out []bool
	for j := range zeros {
		if zeros[j] >= 2 && 2*zeros[j] >= obs[j] {
			if out == nil {
				out = make([]bool, m)
			}
			out[j] = true
		}
	}
	return out
}

// goldenMin minimises f on [a, b] by golden-section search with iters
// iterations and returns the best abscissa found.
func goldenMin(f func(float64) float64, a, b float64, iters int) float64 {
	g := (math.Sqrt(5) - 1) / 2
	c, d := b-g*(b-a), a+g*(b-a)
	fc, fd := f(c), f(d)
	for range iters {
		if fc < fd {
			b, d, fd = d, c, fc
			c = b - g*(b-a)
			fc = f(c)
		} else {
			a, c, fc = c, d, fd
			d = a + g*(b-a)
			fd = f(d)
		}
	}
	if fc < fd {
		return c
	}
	return d
}

// uniqueInts returns the distinct positive values of xs in their order.
func uniqueInts(xs ...int) []int {
	var out []int
	for _, x := range xs {
		if x < 1 {
			continue
		}
		dup := false
		for _, o := range out {
			dup = dup || o == x
		}
		if !dup {
			out = append(out, x)
		}
	}
	return out
}

// SeasonalLevelState is a fitted SeasonalLevel. Update is O(1) and neither
// Update nor Forecast allocates.
type SeasonalLevelState struct {
	p1, p2     []float64
	pos1, pos2 int
	mult       bool
	f          slFilter
	// zeroAt marks the phases of p1 at which zeros are scheduled (see
	// scheduledZeros); nil when none are.
	zeroAt []bool
	// Level-shift test: the fast level, the mean absolute one-step
	// deviation of r from it, and the signed run of remainders beyond the
	// shift threshold.
	fast, dev float64
	shiftRun  int
	// Outage detection: the current run of zero observations, and the
	// level before it began.
	zeroRun, outageRun int
	preZero            float64
}

var _ State = (*SeasonalLevelState)(nil)

// Alpha returns the fitted smoothing constant.
func (st *SeasonalLevelState) Alpha() float64 { return st.f.alpha }

// Psi returns the fitted autocorrelation of the one-step errors.
func (st *SeasonalLevelState) Psi() float64 { return st.f.psi }

// Level returns the remainder's current level ℓ.
func (st *SeasonalLevelState) Level() float64 { return st.f.level }

// Profile returns the first seasonal profile by phase, phase 0 being the
// phase of the first sample Fit saw. The slice is the state's own.
func (st *SeasonalLevelState) Profile() []float64 { return st.p1 }

func (st *SeasonalLevelState) remainder(v, s1, s2 float64) float64 {
	if st.mult {
		return v / max(s1*s2, slMinProfile)
	}
	return v - s1 - s2
}

// Update absorbs the next observation (NaN: a gap).
func (st *SeasonalLevelState) Update(y float64) {
	ph := st.pos1
	s1, s2 := st.p1[st.pos1], st.p2[st.pos2]
	st.pos1++
	if st.pos1 == len(st.p1) {
		st.pos1 = 0
	}
	st.pos2++
	if st.pos2 == len(st.p2) {
		st.pos2 = 0
	}
	f := &st.f
	if math.IsNaN(y) || (y == 0 && st.zeroAt != nil && st.zeroAt[ph]) {
		f.e *= f.psi
		return
	}
	if y == 0 {
		if st.zeroRun == 0 {
			st.preZero = f.level
		}
		st.zeroRun++
	} else {
		if st.zeroRun >= st.outageRun {
			// Back from an outage: demand resumes where it was.
			f.level, f.e, st.fast, st.shiftRun = st.preZero, 0, st.preZero, 0
		}
		st.zeroRun = 0
	}
	r := st.remainder(y, s1, s2)
	if st.zeroRun >= st.outageRun {
		// In an outage: follow the zeros, leave the shift test alone.
		f.level += f.alpha * (r - f.level)
		f.e = 0
		return
	}
	if st.dev == 0 {
		st.dev = math.Abs(r - st.fast)
	}
	st.dev += 0.05 * (math.Abs(r-st.fast) - st.dev)
	st.fast += slFastAlpha * (r - st.fast)
	f.step(r)
	// Level shift: the fast level far from the slow one, persistently.
	switch gap := st.fast - f.level; {
	case gap > slShiftSigmas*st.dev:
		st.shiftRun = max(st.shiftRun, 0) + 1
	case gap < -slShiftSigmas*st.dev:
		st.shiftRun = min(st.shiftRun, 0) - 1
	default:
		st.shiftRun = 0
	}
	if st.shiftRun >= slShiftRun || st.shiftRun <= -slShiftRun {
		f.level, st.shiftRun = st.fast, 0
	}
}

// Forecast writes (ℓ + ψʰ·e) + P₁ + P₂ (multiplicative: (ℓ + ψʰ·e)·P₁·P₂)
// at each horizon's phases into dst, 0 at phases with scheduled zeros, and
// returns it.
func (st *SeasonalLevelState) Forecast(dst []float64) []float64 {
	i1, i2 := st.pos1, st.pos2
	pw := 1.0
	for h := range dst {
		pw *= st.f.psi
		l := st.f.at(pw)
		switch {
		case st.zeroAt != nil && st.zeroAt[i1]:
			dst[h] = 0
		case st.mult:
			dst[h] = l * st.p1[i1] * st.p2[i2]
		default:
			dst[h] = l + st.p1[i1] + st.p2[i2]
		}
		i1++
		if i1 == len(st.p1) {
			i1 = 0
		}
		i2++
		if i2 == len(st.p2) {
			i2 = 0
		}
	}
	return dst
}
