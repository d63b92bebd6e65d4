package forecast

import (
	"math"
	"time"

	"gonum.org/v1/gonum/dsp/fourier"
)

// Thresholds of season detection.
const (
	// ACFThreshold is the smallest autocorrelation a season's peak must
	// reach for DetectPeriod and BestCandidatePeriod to accept it.
	ACFThreshold = 0.3
	// acfProminence is how far a peak must rise above the lowest
	// autocorrelation at any shorter lag, which rejects ripples on the
	// slow decay of a smooth series.
	acfProminence = 0.1
	// acfHarmonicRatio: a peak at a divisor of the best lag is preferred
	// when it reaches this fraction of the best peak's autocorrelation.
	acfHarmonicRatio = 0.9
)

// CandidatePeriods returns the calendar season lengths, in steps of step,
// worth checking first: an hour, a day and a week, each kept only if it is
// a whole number (≥ 2) of steps. E.g. 1m → [60 1440 10080], 1h → [24 168],
// 24h → [7]. It returns nil for step ≤ 0.
func CandidatePeriods(step time.Duration) []int {
	if step <= 0 {
		return nil
	}
	var out []int
	for _, d := range [...]time.Duration{time.Hour, 24 * time.Hour, 7 * 24 * time.Hour} {
		if d%step == 0 && d/step >= 2 {
			out = append(out, int(d/step))
		}
	}
	return out
}

// DetectPeriod returns the season length in [minPeriod, maxPeriod] at which
// the autocorrelation of y has its highest peak, with that autocorrelation;
// (0, 0) when no peak reaches ACFThreshold. maxPeriod is lowered to
// len(y)/2 so that every lag has at least half the series in its pairs, and
// minPeriod raised to 2.
//
// The autocorrelation skips gaps: with x = y - mean(observed y) and the
// sums over the pairs (t, t+k) with both samples observed,
//
//	acf(k) = (Σ x(t)·x(t+k) / #pairs(k)) / (Σ x(t)² / #observed),
//
// computed for all lags at once by FFT in O(n log n). A peak is a lag whose
// autocorrelation is the largest within ±max(2, k/10) lags and exceeds the
// lowest autocorrelation at any shorter lag by at least 0.1. Among peaks, a
// divisor of the highest peak's lag (a peak near best/j, j ≥ 2) whose
// autocorrelation is at least 90 % of the highest is preferred, so that a
// multiple of the season is not chosen by noise.
func DetectPeriod(y []float64, minPeriod, maxPeriod int) (int, float64) {
	minPeriod = max(minPeriod, 2)
	maxPeriod = min(maxPeriod, len(y)/2)
	if minPeriod > maxPeriod {
		return 0, 0
	}
	acf := autocorrelation(y, maxPeriod+peakWindow(maxPeriod))
	if acf == nil {
		return 0, 0
	}
	peaks := acfPeaks(acf, minPeriod, maxPeriod)
	return choosePeak(acf, peaks)
}

// BestCandidatePeriod returns the candidate season length (e.g. from
// CandidatePeriods) whose lag is at an autocorrelation peak of y reaching
// ACFThreshold, with its autocorrelation; (0, 0) when none qualifies.
// Candidates above len(y)/2 are skipped. A candidate qualifies when a peak,
// as defined by DetectPeriod, lies within ±max(1, c/50) lags of it; the
// autocorrelation reported is the one at the candidate itself. Among the
// qualifying candidates the choice follows DetectPeriod's rule.
func BestCandidatePeriod(y []float64, candidates []int) (int, float64) {
	hi := 0
	for _, c := range candidates {
		if c >= 2 && c <= len(y)/2 {
			hi = max(hi, c)
		}
	}
	if hi == 0 {
		return 0, 0
	}
	tol := func(c int) int { return max(1, c/50) }
	acf := autocorrelation(y, hi+tol(hi)+peakWindow(hi+tol(hi)))
	if acf == nil {
		return 0, 0
	}
	var ok []int
	for _, c := range candidates {
		if c < 2 || c > hi {
			continue
		}
		if acf[c] >= ACFThreshold && len(acfPeaks(acf, c-tol(c), c+tol(c))) > 0 {
			ok = append(ok, c)
		}
	}
	return choosePeak(acf, ok)
}

// choosePeak picks among the lags in peaks (ascending) following the rule
// documented on DetectPeriod.
func choosePeak(acf []float64, peaks []int) (int, float64) {
	best := -1
	for _, k := range peaks {
		if acf[k] >= ACFThreshold && (best < 0 || acf[k] > acf[best]) {
			best = k
		}
	}
	if best < 0 {
		return 0, 0
	}
	for _, k := range peaks { // ascending: the shortest divisor first
		if k >= best || acf[k] < acfHarmonicRatio*acf[best] {
			continue
		}
		j := int(math.Round(float64(best) / float64(k)))
		if j >= 2 && abs(best-j*k) <= max(1, peakWindow(best)/2) {
			return k, acf[k]
		}
	}
	return best, acf[best]
}

// peakWindow is the half-width of the neighbourhood in which a peak at lag k
// must be the maximum.
func peakWindow(k int) int { return max(2, k/10) }

// acfPeaks returns the peak lags in [lo, hi] of acf, ascending.
func acfPeaks(acf []float64, lo, hi int) []int {
	lo = max(lo, 2)
	hi = min(hi, len(acf)-2)
	// low[k] = min acf over lags 1..k, for the prominence test.
	var peaks []int
	runMin := math.Inf(1)
	for k := 1; k < lo && k < len(acf); k++ {
		runMin = math.Min(runMin, acf[k])
	}
	for k := lo; k <= hi; k++ {
		runMin = math.Min(runMin, acf[k])
		a := acf[k]
		if math.IsNaN(a) || !(a > acf[k-1] && a >= acf[k+1]) || a-runMin < acfProminence {
			continue
		}
		w := peakWindow(k)
		isMax := true
		for j := max(1, k-w); j <= min(len(acf)-1, k+w); j++ {
			if acf[j] > a || (j < k && acf[j] == a) {
				isMax = false
				break
			}
		}
		if isMax {
			peaks = append(peaks, k)
		}
	}
	return peaks
}

// autocorrelation returns the gap-aware autocorrelation of y at lags
// 0..maxLag (see DetectPeriod), NaN at lags without pairs; nil when y has
// fewer than two observed samples or no variance.
func autocorrelation(y []float64, maxLag int) []float64 {
	maxLag = min(maxLag, len(y)-1)
	mean := meanObserved(y)
	if math.IsNaN(mean) || maxLag < 1 {
		return nil
	}
	n := fftSize(len(y) + maxLag)
	x := make([]float64, n)
	w := make([]float64, n)
	for i, v := range y {
		if !math.IsNaN(v) {
			x[i] = v - mean
			w[i] = 1
		}
	}
	fft := fourier.NewFFT(n)
	cx := fft.Coefficients(nil, x)
	cw := fft.Coefficients(nil, w)
	for i := range cx {
		cx[i] = complex(real(cx[i])*real(cx[i])+imag(cx[i])*imag(cx[i]), 0)
		cw[i] = complex(real(cw[i])*real(cw[i])+imag(cw[i])*imag(cw[i]), 0)
	}
	r := fft.Sequence(x, cx) // x is no longer needed
	c := fft.Sequence(w, cw)
	if c[0] < 0.5 || r[0] <= 0 {
		return nil
	}
	var0 := r[0] / c[0]
	acf := make([]float64, maxLag+1)
	for k := range acf {
		pairs := math.Round(c[k] / float64(n))
		if pairs < 1 {
			acf[k] = nan
			continue
		}
		acf[k] = r[k] / c[k] / var0
	}
	return acf
}

// fftSize returns the smallest 2^a·3^b·5^c ≥ n, a size fftpack handles fast.
func fftSize(n int) int {
	best := math.MaxInt
	for p2 := 1; p2 < 2*n; p2 *= 2 {
		for p3 := p2; p3 < 2*n; p3 *= 3 {
			for p5 := p3; p5 < 2*n; p5 *= 5 {
				if p5 >= n && p5 < best {
					best = p5
				}
			}
		}
	}
	return best
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
