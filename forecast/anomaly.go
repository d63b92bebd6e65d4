package forecast

import (
	"fmt"
	"math"
	"time"
)

// Detector is an online anomaly detector: Observe absorbs the next sample
// and scores it, using only the samples observed so far. A NaN sample (a
// gap) scores 0 and leaves the detector's state as it was.
type Detector interface {
	Observe(t time.Time, v float64) Score
}

// Score is a detector's verdict on one sample.
type Score struct {
	// Time is the sample's time.
	Time time.Time
	// Value is the anomaly score in [0,1]: 0 is ordinary, 1 as anomalous
	// as the detector can say.
	Value float64
	// Evidence backs the score with numbers.
	Evidence Evidence
}

// Evidence is what a score rests on.
type Evidence struct {
	// Observed is the sample; Expected the detector's one-step
	// expectation of it (NaN before it has one).
	Observed, Expected float64
	// Residual is (Observed − Expected) in robust units: divided by the
	// running scale of the residuals, so that it reads like a z-score.
	Residual float64
	// PValue is the tail probability of the sample under the detector's
	// view of ordinary behaviour (1 when there is no evidence).
	PValue float64
	// Damped reports that the score was damped because an alarm was
	// raised shortly before.
	Damped bool
}

// Finding turns the score into a FindingAnomaly about subject, with the
// evidence as numbers: expected, observed, robust_z, p_value and score.
// The severity is critical from a score of 0.9, warning from 0.5, and info
// below.
func (s Score) Finding(subject string) Finding {
	sev := SeverityInfo
	switch {
	case s.Value >= 0.9:
		sev = SeverityCritical
	case s.Value >= 0.5:
		sev = SeverityWarning
	}
	e := s.Evidence
	return Finding{
		Kind:     FindingAnomaly,
		Subject:  subject,
		Severity: sev,
		Time:     s.Time,
		Evidence: map[string]float64{
			"expected": e.Expected,
			"observed": e.Observed,
			"robust_z": e.Residual,
			"p_value":  e.PValue,
			"score":    s.Value,
		},
		Summary: fmt.Sprintf("observed %.4g, expected %.4g (%+.1f robust sd), anomaly score %.2f",
			e.Observed, e.Expected, e.Residual, s.Value),
	}
}

// View is one kind of evidence AnomalyDetector weighs; a set of views is
// their bitwise or.
type View uint8

// The views of AnomalyDetector. The first four (the ranked views) are each
// ranked against their own last Window values, so that they become
// conformal p-values; the last two (the fast views) score directly.
const (
	// ViewResidual: the robust one-step residual |z| of a
	// ResidualDetector (upper tail).
	ViewResidual View = 1 << iota
	// ViewShortResidual: the mean of the last Short values of |z| (upper
	// tail): spikes, dips, level shifts, and noise growing.
	ViewShortResidual
	// ViewValue: the value itself, two-sided (as a RankDetector): levels
	// not seen lately.
	ViewValue
	// ViewSeasonal: the residual of the seasonal naive forecast
	// ŷ(t) = y(t − 24h), in robust units (divided by the running scale of
	// the one-step residuals), averaged over the last Short samples (upper
	// tail): a daily pattern breaking, a level leaving its usual course.
	// Silent while no sample lies a day back (within half the smallest
	// spacing seen), so it is scale- and step-free.
	ViewSeasonal
	// ViewContext: the score of a context detector (CADDetector, without
	// its rest period) times ContextWeight: a learned sequence of value
	// levels breaking.
	ViewContext
	// ViewRange: 1 when the value lies outside the range of all values
	// seen so far, widened on each side by RangeTolerance times its
	// width; 0 otherwise.
	ViewRange

	// DefaultViews is the set tuned on NAB: the seasonal forecast
	// residual and the value's rank, the context detector and the range.
	DefaultViews = ViewValue | ViewSeasonal | ViewContext | ViewRange
	rankedViews  = ViewResidual | ViewShortResidual | ViewValue | ViewSeasonal
	allViews     = rankedViews | ViewContext | ViewRange
)

// AnomalyConfig configures NewAnomalyDetector. The zero value is the
// default tuned on NAB (one parameter set for every series); every field
// documents its default.
type AnomalyConfig struct {
	// Alpha smooths the level that predicts the next sample:
	// ŷ(t) = ℓ(t−1), ℓ(t) = ℓ(t−1) + Alpha·(y(t) − ℓ(t−1)). Default 0.5.
	Alpha float64
	// ScaleAlpha smooths the running scale of the residuals (see
	// ResidualDetector). Default 0.05.
	ScaleAlpha float64
	// Window is the number of recent values of each view a new one is
	// ranked against. Default 2000.
	Window int
	// Short is the number of recent values averaged by the short-term
	// views. Default 8.
	Short int
	// Warmup is the number of observed samples scored 0 while the
	// detector learns. Default 100.
	Warmup int
	// Saturation is the multiple of the window's own extreme surprisal
	// that maps to score 1 (see AnomalyDetector). Default 2.
	Saturation float64
	// AlarmScore is the score at which the detector considers it has
	// raised an alarm. Default 0.5.
	AlarmScore float64
	// Refractory is the number of samples after an alarm during which
	// the ranked views' score is multiplied by Damping. Default 600.
	Refractory int
	// FastRefractory is the number of samples after an alarm during
	// which the fast views' score (ViewContext, ViewRange) is multiplied
	// by Damping. Default 75.
	FastRefractory int
	// Damping multiplies scores inside the refractory periods. Default 0;
	// 1 disables damping.
	Damping float64
	// ContextWeight multiplies the context detector's score
	// (ViewContext). Default 0.65, so that it alarms from a raw score of
	// about 0.77.
	ContextWeight float64
	// Context configures the context detector of ViewContext; its
	// BaseThreshold and RestPeriod are not used. Default: CADConfig's.
	Context CADConfig
	// RangeTolerance widens the range of ViewRange on each side, as a
	// fraction of its width. Default 0.02.
	RangeTolerance float64
	// Views selects the evidence weighed. Default DefaultViews.
	Views View
}

func (c AnomalyConfig) withDefaults() AnomalyConfig {
	def := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		}
	}
	defInt := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	def(&c.Alpha, 0.5)
	def(&c.ScaleAlpha, 0.05)
	defInt(&c.Window, 2000)
	defInt(&c.Short, 8)
	defInt(&c.Warmup, 150)
	def(&c.Saturation, 2)
	def(&c.AlarmScore, 0.5)
	defInt(&c.Refractory, 600)
	defInt(&c.FastRefractory, 75)
	def(&c.ContextWeight, 0.65)
	def(&c.RangeTolerance, 0.02)
	c.Context = c.Context.withDefaults()
	if c.Views == 0 {
		c.Views = DefaultViews
	}
	return c
}

func (c AnomalyConfig) validate() error {
	switch {
	case !(c.Alpha > 0 && c.Alpha <= 1):
		return fmt.Errorf("forecast: AnomalyConfig.Alpha %v outside (0,1]", c.Alpha)
	case !(c.ScaleAlpha > 0 && c.ScaleAlpha <= 1):
		return fmt.Errorf("forecast: AnomalyConfig.ScaleAlpha %v outside (0,1]", c.ScaleAlpha)
	case c.Window < 2:
		return fmt.Errorf("forecast: AnomalyConfig.Window %d < 2", c.Window)
	case c.Short < 1:
		return fmt.Errorf("forecast: AnomalyConfig.Short %d < 1", c.Short)
	case c.Warmup < 0:
		return fmt.Errorf("forecast: AnomalyConfig.Warmup %d < 0", c.Warmup)
	case !(c.Saturation > 0):
		return fmt.Errorf("forecast: AnomalyConfig.Saturation %v must be positive", c.Saturation)
	case !(c.AlarmScore > 0 && c.AlarmScore <= 1):
		return fmt.Errorf("forecast: AnomalyConfig.AlarmScore %v outside (0,1]", c.AlarmScore)
	case c.Refractory < 0:
		return fmt.Errorf("forecast: AnomalyConfig.Refractory %d < 0", c.Refractory)
	case c.FastRefractory < 0:
		return fmt.Errorf("forecast: AnomalyConfig.FastRefractory %d < 0", c.FastRefractory)
	case !(c.ContextWeight > 0 && c.ContextWeight <= 1):
		return fmt.Errorf("forecast: AnomalyConfig.ContextWeight %v outside (0,1]", c.ContextWeight)
	case !(c.RangeTolerance >= 0) || math.IsInf(c.RangeTolerance, 0):
		return fmt.Errorf("forecast: AnomalyConfig.RangeTolerance %v must be finite and non-negative", c.RangeTolerance)
	case !(c.Damping >= 0 && c.Damping <= 1):
		return fmt.Errorf("forecast: AnomalyConfig.Damping %v outside [0,1]", c.Damping)
	case c.Views&^allViews != 0:
		return fmt.Errorf("forecast: AnomalyConfig.Views %#x has unknown bits", c.Views)
	}
	if err := c.Context.validate(); err != nil {
		return fmt.Errorf("forecast: AnomalyConfig.Context: %w", err)
	}
	return nil
}

// AnomalyDetector is stuurman's online anomaly detector. It weighs two
// kinds of evidence, selected by Config.Views.
//
// The ranked views are each turned into a conformal p-value p_i by ranking
// the view's current value among its own last Window values (with a Pareto
// tail past the window's extreme, see rankWindow.upperExt), and combined as
//
//	p = min(1, k·min(p₁, …, p_k))           (Bonferroni, k ranked views)
//	ranked = min(1, log(1/p) / (Saturation·log((Window+1)/k)))
//
// so that a score of 1/Saturation means "more extreme than everything in
// the window" in the most telling view. Ranking each view against its own
// history makes the score scale-free and comparable across series of any
// level, step or noise, so one threshold serves them all.
//
// The fast views score directly: ViewContext is a context detector (see
// CADDetector, after the Contextual Anomaly Detector by Smirnov and
// Fedorov) that learns sequences of value levels, weighted by
// ContextWeight; ViewRange flags values outside the range seen so far (a
// margin of RangeTolerance on each side), the "spatial anomaly" check of
// NAB's HTM detector. Both are scale-free too.
//
//	score = max(ranked, fast),  fast = max(ContextWeight·cad, range)
//
// After a score reaches AlarmScore, the ranked part is multiplied by
// Damping (0: silenced) for the next Refractory samples and the fast part
// for the next FastRefractory, so that one anomaly raises one alarm while
// a second, sharper one soon after is still seen. The first Warmup samples
// score 0. Evidence carries the residual view's expectation and robust
// residual whatever the views, and the ranked views' p-value.
//
// With the defaults it scores 70.7 on the standard profile of the NAB
// series it was tuned on (one parameter set for all).
//
// State is O(Window) for the ranked views, plus the context memory and up
// to Context.History samples for ViewContext. Observe costs O(Window) in
// the worst case for the sorted windows' copies, about a microsecond, plus
// a few microseconds for ViewContext, whose memory is rebuilt by replaying
// its history (O(History) steps) when a sample sets a new extreme.
type AnomalyDetector struct {
	cfg        AnomalyConfig
	k          float64 // number of ranked views
	res        *ResidualDetector
	zs, shorts rankWindow
	values     rankWindow
	seasons    rankWindow
	zMean      movingMean
	seasonMean movingMean
	memory     *seasonalMemory
	cad        *cadScorer
	lo, hi     float64 // range of the values seen (ViewRange)
	lastTime   time.Time
	step       time.Duration // smallest positive spacing seen
	seen       int
	sinceAlarm int // samples since the last alarm; -1: none yet
}

var _ Detector = (*AnomalyDetector)(nil)

// NewAnomalyDetector returns a detector configured by cfg (zero fields take
// their defaults); it fails when a field is out of range.
func NewAnomalyDetector(cfg AnomalyConfig) (*AnomalyDetector, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	d := &AnomalyDetector{
		cfg:        cfg,
		res:        NewResidualDetector(cfg.Alpha, cfg.ScaleAlpha),
		zMean:      newMovingMean(cfg.Short),
		seasonMean: newMovingMean(cfg.Short),
		sinceAlarm: -1,
	}
	for v := cfg.Views & rankedViews; v != 0; v &= v - 1 {
		d.k++
	}
	if cfg.Views&ViewResidual != 0 {
		d.zs = newRankWindow(cfg.Window)
	}
	if cfg.Views&ViewShortResidual != 0 {
		d.shorts = newRankWindow(cfg.Window)
	}
	if cfg.Views&ViewValue != 0 {
		d.values = newRankWindow(cfg.Window)
	}
	if cfg.Views&ViewSeasonal != 0 {
		d.seasons = newRankWindow(cfg.Window)
		d.memory = newSeasonalMemory(24*time.Hour, 2*cfg.Window)
	}
	if cfg.Views&ViewContext != 0 {
		d.cad = newCADScorer(cfg.Context)
	}
	return d, nil
}

// Observe scores v and absorbs it. A NaN or infinite v scores 0 and leaves
// the state unchanged.
func (d *AnomalyDetector) Observe(t time.Time, v float64) Score {
	s := Score{Time: t, Evidence: Evidence{Observed: v, Expected: nan, Residual: nan, PValue: 1}}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return s
	}
	r := d.res.Observe(t, v)
	scale := d.res.scale
	s.Evidence = r.Evidence
	s.Evidence.PValue = 1
	z := math.Abs(r.Evidence.Residual)
	if math.IsNaN(z) {
		z = 0
	}
	z = min(z, 1e6)

	p := 1.0
	if d.cfg.Views&ViewResidual != 0 {
		p = min(p, d.zs.upperExt(z))
		d.zs.add(z)
	}
	if d.cfg.Views&ViewShortResidual != 0 {
		m := d.zMean.add(z)
		p = min(p, d.shorts.upperExt(m))
		d.shorts.add(m)
	}
	if d.cfg.Views&ViewValue != 0 {
		p = min(p, d.values.twoSidedExt(v))
		d.values.add(v)
	}
	if d.cfg.Views&ViewSeasonal != 0 {
		if !d.lastTime.IsZero() {
			if dt := t.Sub(d.lastTime); dt > 0 && (d.step == 0 || dt < d.step) {
				d.step = dt
			}
		}
		d.lastTime = t
		prev := d.memory.before(t, d.step/2)
		d.memory.add(t, v)
		if !math.IsNaN(prev) && scale > 0 {
			m := d.seasonMean.add(min(math.Abs(v-prev)/scale, 1e6))
			if d.seasonMean.full() {
				p = min(p, d.seasons.upperExt(m))
			}
			d.seasons.add(m)
		}
	}
	var fast float64
	if d.cfg.Views&ViewContext != 0 {
		fast = d.cfg.ContextWeight * d.cad.observe(v)
	}
	if d.cfg.Views&ViewRange != 0 {
		if d.seen == 0 {
			d.lo, d.hi = v, v
		}
		if w := d.hi - d.lo; w > 0 && (v > d.hi+d.cfg.RangeTolerance*w || v < d.lo-d.cfg.RangeTolerance*w) {
			fast = 1
		}
		d.lo, d.hi = min(d.lo, v), max(d.hi, v)
	}
	d.seen++
	if d.seen <= d.cfg.Warmup {
		return s
	}
	var ranked float64
	if d.k > 0 {
		p = min(1, d.k*p)
		s.Evidence.PValue = p
		ranked = min(1, max(0, math.Log(1/p)/(d.cfg.Saturation*math.Log(float64(d.cfg.Window+1)/d.k))))
	}
	if d.sinceAlarm >= 0 {
		d.sinceAlarm++
		if d.sinceAlarm <= d.cfg.Refractory {
			ranked *= d.cfg.Damping
			s.Evidence.Damped = true
		}
		if d.sinceAlarm <= d.cfg.FastRefractory {
			fast *= d.cfg.Damping
			s.Evidence.Damped = true
		}
	}
	s.Value = max(ranked, fast)
	if s.Value >= d.cfg.AlarmScore {
		d.sinceAlarm = 0
	}
	return s
}

// movingMean is the mean of the last n values added.
type movingMean struct {
	ring []float64
	i    int
	sum  float64
}

func newMovingMean(n int) movingMean { return movingMean{ring: make([]float64, 0, n)} }

func (m *movingMean) full() bool { return len(m.ring) == cap(m.ring) }

// add adds x and returns the mean of the last n values (fewer at first).
func (m *movingMean) add(x float64) float64 {
	if !m.full() {
		m.ring = append(m.ring, x)
		m.sum += x
	} else {
		m.sum += x - m.ring[m.i]
		m.ring[m.i] = x
		m.i = (m.i + 1) % len(m.ring)
	}
	return m.sum / float64(len(m.ring))
}
