package forecast

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/stuurman/stuurman/metrics"
)

// TrendOptions tune the predictive-maintenance estimators. The zero value
// is ready to use; each field documents its default.
type TrendOptions struct {
	// Confidence is the two-sided coverage of the slope's and the ETA's
	// intervals, in (0,1). Default 0.9.
	Confidence float64
	// MaxPairs caps the pairwise slopes Theil–Sen computes: a series with
	// more than MaxPairs pairs uses MaxPairs pairs drawn at random (with a
	// fixed seed, so results are reproducible), which bounds the cost at
	// O(MaxPairs·log MaxPairs). Default 50,000.
	MaxPairs int
	// MinSamples is the fewest observed samples an estimate needs.
	// Default 10.
	MinSamples int
	// Horizon: no trend finding when the ETA lies further ahead.
	// Default 7 days.
	Horizon time.Duration
	// Critical: a trend finding is critical when the ETA is at most
	// Critical, a warning otherwise. Default 6 hours.
	Critical time.Duration
	// StormWindow is the recent stretch whose restart rate RestartStorm
	// compares with the rate before it. Default 1 hour.
	StormWindow time.Duration
	// StormFactor and StormMinRate: RestartStorm reports when the lower
	// bound of the recent rate exceeds both StormFactor times the earlier
	// rate and StormMinRate restarts per hour. Defaults 3 and 3.
	StormFactor, StormMinRate float64
}

func (o TrendOptions) withDefaults() TrendOptions {
	if o.Confidence == 0 {
		o.Confidence = 0.9
	}
	if o.MaxPairs == 0 {
		o.MaxPairs = 50000
	}
	if o.MinSamples == 0 {
		o.MinSamples = 10
	}
	if o.Horizon == 0 {
		o.Horizon = 7 * 24 * time.Hour
	}
	if o.Critical == 0 {
		o.Critical = 6 * time.Hour
	}
	if o.StormWindow == 0 {
		o.StormWindow = time.Hour
	}
	if o.StormFactor == 0 {
		o.StormFactor = 3
	}
	if o.StormMinRate == 0 {
		o.StormMinRate = 3
	}
	return o
}

// Trend is a robust straight-line fit y ≈ Level + Slope·(x − X) through a
// series, with x in hours.
type Trend struct {
	// Slope is the Theil–Sen slope per hour; SlopeLow and SlopeHigh bound
	// it at Confidence.
	Slope, SlopeLow, SlopeHigh float64
	// Level is the fitted value at X, the time of the last observed
	// sample (hours since the series' start).
	Level, X float64
	// R is Pearson's correlation of the observed samples with time: how
	// well a line describes them (1: perfectly, rising).
	R float64
	// N is the number of observed samples; Pairs the number of pairwise
	// slopes the estimate rests on.
	N, Pairs   int
	Confidence float64
}

// TheilSen fits a Trend to y sampled at x (hours), skipping NaN samples.
//
// The slope is the median of the pairwise slopes (y_j − y_i)/(x_j − x_i),
// i < j, x_i ≠ x_j; the level at the last sample is X·Slope plus the median
// of y_i − Slope·x_i. The interval is Sen's (1968): with n samples,
// N = n(n−1)/2 pairs and C = z_{(1+c)/2}·√(n(n−1)(2n+5)/18), it runs from
// the ((N − C)/2)-th to the ((N + C)/2 + 1)-th smallest pairwise slope;
// when the pairs are subsampled, those ranks are taken as fractions of N.
// It assumes independent noise: with autocorrelated noise the interval is
// too narrow.
//
// It returns ok false when fewer than MinSamples samples are observed or
// they span no time.
func TheilSen(x, y []float64, opt TrendOptions) (tr Trend, ok bool) {
	opt = opt.withDefaults()
	if len(x) != len(y) {
		panic("forecast: TheilSen: x and y differ in length")
	}
	var xs, ys []float64
	for i := range y {
		if !math.IsNaN(y[i]) && !math.IsNaN(x[i]) {
			xs = append(xs, x[i])
			ys = append(ys, y[i])
		}
	}
	n := len(xs)
	if n < max(2, opt.MinSamples) {
		return Trend{}, false
	}
	total := n * (n - 1) / 2
	slopes := make([]float64, 0, min(total, opt.MaxPairs))
	add := func(i, j int) {
		if dx := xs[j] - xs[i]; dx != 0 {
			slopes = append(slopes, (ys[j]-ys[i])/dx)
		}
	}
	if total <= opt.MaxPairs {
		for i := range n {
			for j := i + 1; j < n; j++ {
				add(i, j)
			}
		}
	} else {
		rng := rand.New(rand.NewPCG(uint64(n), 0x5eed))
		for range opt.MaxPairs {
			i, j := rng.IntN(n), rng.IntN(n)
			if i > j {
				i, j = j, i
			}
			if i != j {
				add(i, j)
			}
		}
	}
	if len(slopes) == 0 {
		return Trend{}, false
	}
	slices.Sort(slopes)
	m := len(slopes)
	tr.Slope = median(slopes)
	nf := float64(n)
	c := distuv.UnitNormal.Quantile((1+opt.Confidence)/2) * math.Sqrt(nf*(nf-1)*(2*nf+5)/18)
	lo := (float64(total) - c) / 2 / float64(total) * float64(m)
	hi := (float64(total)+c)/2/float64(total)*float64(m) + 1
	tr.SlopeLow = slopes[clampInt(int(math.Floor(lo))-1, 0, m-1)]
	tr.SlopeHigh = slopes[clampInt(int(math.Ceil(hi))-1, 0, m-1)]
	res := make([]float64, n)
	for i := range n {
		res[i] = ys[i] - tr.Slope*xs[i]
	}
	slices.Sort(res)
	tr.X = xs[n-1]
	tr.Level = median(res) + tr.Slope*tr.X
	tr.R = stat.Correlation(xs, ys, nil)
	tr.N, tr.Pairs, tr.Confidence = n, m, opt.Confidence
	return tr, true
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

func clampInt(v, lo, hi int) int { return max(lo, min(v, hi)) }

// seriesHours returns the sample times of s in hours since its start.
func seriesHours(s metrics.Series) []float64 {
	x := make([]float64, s.Len())
	h := s.Step.Hours()
	for i := range x {
		x[i] = float64(i) * h
	}
	return x
}

// TrendToThreshold estimates when the rising series s reaches threshold:
// a Theil–Sen Trend (see TheilSen) extrapolated from its fitted level at
// the last observed sample,
//
//	ETA = (threshold − Level)/Slope,
//
// bounded at Confidence by (threshold − Level)/SlopeHigh and
// (threshold − Level)/SlopeLow. what names the quantity in the summary
// ("memory working set", "disk usage").
//
// It reports a FindingTrendToThreshold when the slope is significantly
// positive (SlopeLow > 0) and the ETA lies within Horizon, or when the
// fitted level or the last sample already reaches the threshold (ETA 0).
// Evidence: slope_per_hour, slope_low_per_hour, slope_high_per_hour,
// current (the last sample), fitted (Level), threshold, eta_seconds,
// eta_low_seconds, eta_high_seconds, r and samples. The finding's Time is
// that of the last observed sample. ok is false when there is no finding.
func TrendToThreshold(subject, what string, s metrics.Series, threshold float64, opt TrendOptions) (f Finding, ok bool) {
	opt = opt.withDefaults()
	tr, ok := TheilSen(seriesHours(s), s.Values, opt)
	if !ok {
		return Finding{}, false
	}
	last, li := s.Last()
	f = Finding{
		Kind:       FindingTrendToThreshold,
		Subject:    subject,
		Time:       s.Time(li),
		Confidence: opt.Confidence,
		Evidence: map[string]float64{
			"slope_per_hour":      tr.Slope,
			"slope_low_per_hour":  tr.SlopeLow,
			"slope_high_per_hour": tr.SlopeHigh,
			"current":             last,
			"fitted":              tr.Level,
			"threshold":           threshold,
			"r":                   tr.R,
			"samples":             float64(tr.N),
		},
	}
	gap := threshold - tr.Level
	switch {
	case last >= threshold || gap <= 0:
		f.Severity = SeverityCritical
		f.Summary = fmt.Sprintf("%s %.4g has reached the threshold %.4g", what, last, threshold)
		f.Evidence["eta_seconds"], f.Evidence["eta_low_seconds"], f.Evidence["eta_high_seconds"] = 0, 0, 0
		return f, true
	case !(tr.SlopeLow > 0):
		return Finding{}, false
	}
	hours := func(h float64) time.Duration { return time.Duration(h * float64(time.Hour)) }
	eta := gap / tr.Slope
	if hours(eta) > opt.Horizon {
		return Finding{}, false
	}
	f.ETA, f.ETALow, f.ETAHigh = hours(eta), hours(gap/tr.SlopeHigh), hours(gap/tr.SlopeLow)
	f.Evidence["eta_seconds"] = f.ETA.Seconds()
	f.Evidence["eta_low_seconds"] = f.ETALow.Seconds()
	f.Evidence["eta_high_seconds"] = f.ETAHigh.Seconds()
	f.Severity = SeverityWarning
	if f.ETA <= opt.Critical {
		f.Severity = SeverityCritical
	}
	f.Summary = fmt.Sprintf("%s rises %.4g/h from %.4g; reaches %.4g in %s (%s–%s at %.0f%%)",
		what, tr.Slope, tr.Level, threshold, roundDur(f.ETA), roundDur(f.ETALow), roundDur(f.ETAHigh), 100*opt.Confidence)
	return f, true
}

func roundDur(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Hour:
		return d.Round(time.Hour)
	case d >= time.Hour:
		return d.Round(time.Minute)
	}
	return d.Round(time.Second)
}

// MemoryOOM estimates when a container's memory working set (bytes) reaches
// its memory limit (bytes), the point where the kernel kills it: a
// TrendToThreshold finding. ok is false when there is no leak to report or
// the limit is not positive.
func MemoryOOM(subject string, workingSet metrics.Series, limit float64, opt TrendOptions) (Finding, bool) {
	if !(limit > 0) {
		return Finding{}, false
	}
	return TrendToThreshold(subject, "memory working set", workingSet, limit, opt)
}

// DiskFill estimates when a volume's used bytes reach its capacity: a
// TrendToThreshold finding. ok is false when there is nothing to report or
// the capacity is not positive.
func DiskFill(subject string, used metrics.Series, capacity float64, opt TrendOptions) (Finding, bool) {
	if !(capacity > 0) {
		return Finding{}, false
	}
	return TrendToThreshold(subject, "volume usage", used, capacity, opt)
}

// RestartStorm looks for restarts coming faster and faster in a container's
// cumulative restart count (kube_pod_container_status_restarts_total; a
// drop is a counter reset and counts from zero again).
//
// The recent rate is the Theil–Sen slope (restarts per hour, with its
// interval at Confidence) of the count over the last StormWindow; the
// earlier rate is the count's increase before that window divided by its
// duration. It reports a FindingRestartStorm when the recent rate's lower
// bound exceeds both StormFactor times the earlier rate and StormMinRate,
// with evidence slope_per_hour (the recent rate), slope_low_per_hour,
// slope_high_per_hour, baseline_per_hour, threshold (the rate it had to
// beat), current (the count), restarts_recent, r and samples. Critical
// when the recent rate exceeds ten times the threshold.
func RestartStorm(subject string, restarts metrics.Series, opt TrendOptions) (Finding, bool) {
	opt = opt.withDefaults()
	// Undo counter resets.
	y := make([]float64, restarts.Len())
	var offset, prev float64
	prev = math.NaN()
	for i, v := range restarts.Values {
		if math.IsNaN(v) {
			y[i] = v
			continue
		}
		if !math.IsNaN(prev) && v < prev {
			offset += prev
		}
		prev = v
		y[i] = v + offset
	}
	_, li := restarts.Last()
	if li < 0 {
		return Finding{}, false
	}
	w := int(opt.StormWindow / restarts.Step)
	start := max(0, li+1-w)
	if li+1-start < opt.MinSamples {
		return Finding{}, false
	}
	x := seriesHours(restarts)
	tr, ok := TheilSen(x[start:li+1], y[start:li+1], opt)
	if !ok {
		return Finding{}, false
	}
	first, fi := math.NaN(), -1
	for i := range start {
		if !math.IsNaN(y[i]) {
			first, fi = y[i], i
			break
		}
	}
	baseline := 0.0
	startVal := math.NaN()
	for i := start; i <= li; i++ {
		if !math.IsNaN(y[i]) {
			startVal = y[i]
			break
		}
	}
	if fi >= 0 && x[start] > x[fi] {
		baseline = max(0, (startVal-first)/(x[start]-x[fi]))
	}
	threshold := max(opt.StormMinRate, opt.StormFactor*baseline)
	if !(tr.SlopeLow > threshold) {
		return Finding{}, false
	}
	f := Finding{
		Kind:       FindingRestartStorm,
		Subject:    subject,
		Severity:   SeverityWarning,
		Time:       restarts.Time(li),
		Confidence: opt.Confidence,
		Evidence: map[string]float64{
			"slope_per_hour":      tr.Slope,
			"slope_low_per_hour":  tr.SlopeLow,
			"slope_high_per_hour": tr.SlopeHigh,
			"baseline_per_hour":   baseline,
			"threshold":           threshold,
			"current":             restarts.Values[li],
			"restarts_recent":     y[li] - startVal,
			"r":                   tr.R,
			"samples":             float64(tr.N),
		},
	}
	if tr.Slope > 10*threshold {
		f.Severity = SeverityCritical
	}
	f.Summary = fmt.Sprintf("restarts at %.3g/h over the last %s (%.3g–%.3g at %.0f%%), against %.3g/h before",
		tr.Slope, opt.StormWindow, tr.SlopeLow, tr.SlopeHigh, 100*opt.Confidence, baseline)
	return f, true
}
