package forecast

import (
	"fmt"
	"math"
	"time"
)

// CADConfig configures NewCADDetector. Zero fields take their defaults,
// which are those of the original detector.
type CADConfig struct {
	// Bits is the number of bits of a value's bin: the value range is cut
	// into 2^Bits − 1 equal steps and the bin's binary digits are the
	// sensor facts. Default 3.
	Bits int
	// MaxLeft is the largest number of facts a context's left side may
	// have for the context to seed narrower ones. Default 7.
	MaxLeft int
	// MaxActive is the number of active contexts (the most often
	// confirmed) that become facts of the next step. Default 15.
	MaxActive int
	// BaseThreshold is the score that makes CADDetector rest: scores are
	// reported as 0 for the next RestPeriod samples. Default 0.75.
	BaseThreshold float64
	// RestPeriod is the number of samples CADDetector rests after a score
	// reaching BaseThreshold, and at the start. Default 150.
	RestPeriod int
	// Min and Max fix the value range when Max > Min. Otherwise the range
	// is the smallest and largest value seen so far, and the memory is
	// rebuilt by replaying the last History samples whenever a sample
	// extends it, so that the bins always span the range.
	Min, Max float64
	// History is the number of recent samples kept to rebuild the memory.
	// Default 5000.
	History int
	// MaxContexts bounds the memory: when it holds more contexts, it is
	// rebuilt from the last History samples. Default 1<<17.
	MaxContexts int
}

func (c CADConfig) withDefaults() CADConfig {
	defInt := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	defInt(&c.Bits, 3)
	defInt(&c.MaxLeft, 7)
	defInt(&c.MaxActive, 15)
	if c.BaseThreshold == 0 {
		c.BaseThreshold = 0.75
	}
	defInt(&c.RestPeriod, 150)
	defInt(&c.History, 5000)
	defInt(&c.MaxContexts, 1<<17)
	return c
}

func (c CADConfig) validate() error {
	switch {
	case c.Bits < 1 || c.Bits > 16:
		return fmt.Errorf("forecast: CADConfig.Bits %d outside [1,16]", c.Bits)
	case c.MaxLeft < 1:
		return fmt.Errorf("forecast: CADConfig.MaxLeft %d < 1", c.MaxLeft)
	case c.MaxActive < 1:
		return fmt.Errorf("forecast: CADConfig.MaxActive %d < 1", c.MaxActive)
	case !(c.BaseThreshold > 0):
		return fmt.Errorf("forecast: CADConfig.BaseThreshold %v must be positive", c.BaseThreshold)
	case c.RestPeriod < 0:
		return fmt.Errorf("forecast: CADConfig.RestPeriod %d < 0", c.RestPeriod)
	case c.History < 1:
		return fmt.Errorf("forecast: CADConfig.History %d < 1", c.History)
	case c.MaxContexts < 1:
		return fmt.Errorf("forecast: CADConfig.MaxContexts %d < 1", c.MaxContexts)
	case math.IsNaN(c.Min) || math.IsNaN(c.Max) || math.IsInf(c.Min, 0) || math.IsInf(c.Max, 0):
		return fmt.Errorf("forecast: CADConfig.Min, Max must be finite")
	}
	return nil
}

// CADDetector is an online anomaly detector after the Contextual Anomaly
// Detector (CAD OSE) by Smirnov and Fedorov, as published in NAB, where it
// scores 69.9 on the standard profile.
//
// Each value is binned into 2^Bits levels over the value range and coded
// as Bits sensor facts (one per binary digit). A context memory (see
// cadMemory) learns which facts follow which left fact sets, where the
// left set of a step is its sensor facts plus the ids of the contexts that
// fired on it (so the memory learns sequences of contexts, not only of
// values), and predicts the next sensor facts. A sample whose facts were
// all predicted scores 0; otherwise
//
//	score = (1 − active/selected + new/proposed) / 2
//
// where selected counts the contexts whose left side matched the previous
// step, active those whose right side came true too, proposed the contexts
// this step suggests storing and new those of them not yet stored: low
// when the sequence behaves as learned, high when it breaks and much of it
// is new. After a score of BaseThreshold the detector rests (reports 0)
// for RestPeriod samples, and it rests at the start.
//
// The original bins over the range of the whole series, known in advance.
// Here, unless Min and Max fix it, the range is learned online: when a
// sample falls outside the range seen so far, the range is widened to it
// and the memory is rebuilt by replaying the last History samples binned
// anew, which costs O(History) steps but happens only on a new extreme.
// Scores use the samples seen so far only. With Min, Max and RestPeriod
// set as NAB sets them, the scores are the original's.
//
// State grows with the number of contexts learned, bounded by MaxContexts;
// a step costs a few microseconds.
type CADDetector struct {
	cfg       CADConfig
	cad       *cadScorer
	sinceHigh int // samples since the last score ≥ BaseThreshold (the start counts as one)
}

var _ Detector = (*CADDetector)(nil)

// NewCADDetector returns a detector configured by cfg (zero fields take
// their defaults); it fails when a field is out of range.
func NewCADDetector(cfg CADConfig) (*CADDetector, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &CADDetector{cfg: cfg, cad: newCADScorer(cfg)}, nil
}

// Observe scores v and absorbs it. A NaN or infinite v scores 0 and leaves
// the state unchanged. Evidence carries no expectation: the detector
// predicts facts, not values.
func (d *CADDetector) Observe(t time.Time, v float64) Score {
	s := Score{Time: t, Evidence: Evidence{Observed: v, Expected: nan, Residual: nan, PValue: 1}}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return s
	}
	raw := d.cad.observe(v)
	if d.sinceHigh >= d.cfg.RestPeriod {
		s.Value = raw
	}
	if raw >= d.cfg.BaseThreshold {
		d.sinceHigh = 0
	} else {
		d.sinceHigh++
	}
	return s
}

// cadScorer bins values and feeds them to a context memory, and computes
// the raw CAD score of each (without the rest period).
type cadScorer struct {
	bits, maxLeft, maxActive int
	maxContexts              int
	fixed                    bool      // the range is given
	lo, hi                   float64   // the range
	n                        int       // samples seen
	hist                     []float64 // the last samples, a ring once full
	histHead, histCap        int
	mem                      *cadMemory
	pred, sens               []uint32
}

func newCADScorer(cfg CADConfig) *cadScorer {
	c := &cadScorer{bits: cfg.Bits, maxLeft: cfg.MaxLeft, maxActive: cfg.MaxActive,
		maxContexts: cfg.MaxContexts, mem: newCADMemory(cfg.MaxLeft),
		histCap: cfg.History, sens: make([]uint32, 0, cfg.Bits)}
	if cfg.Max > cfg.Min {
		c.fixed, c.lo, c.hi = true, cfg.Min, cfg.Max
	}
	return c
}

// bin is the original's: ⌊(v − lo)/((hi − lo)/(2^Bits − 1))⌋, with a
// step of 1 while the range is a single value, clamped to the bins.
func (c *cadScorer) bin(v float64) int {
	top := float64(int(1)<<c.bits - 1)
	r := c.hi - c.lo
	if r == 0 {
		r = top
	}
	return int(max(0, min(top, math.Floor((v-c.lo)/(r/top)))))
}

// observe absorbs v (finite) and returns its raw score.
func (c *cadScorer) observe(v float64) float64 {
	c.remember(v)
	c.n++
	switch {
	case c.fixed:
	case c.n == 1:
		c.lo, c.hi = v, v
	case v < c.lo || v > c.hi:
		c.lo, c.hi = min(c.lo, v), max(c.hi, v)
		c.rebuild()
	}
	if len(c.mem.contexts) > c.maxContexts {
		c.rebuild()
	}
	return c.step(c.bin(v))
}

// remember keeps v among the last History samples.
func (c *cadScorer) remember(v float64) {
	if len(c.hist) < c.histCap {
		c.hist = append(c.hist, v)
		return
	}
	c.hist[c.histHead] = v
	c.histHead = (c.histHead + 1) % len(c.hist)
}

// rebuild starts a new memory and replays into it the remembered samples
// but the newest (the one being observed), binned over the current range.
// Should the replay fill more than half of MaxContexts, it starts again
// from the newer half of the samples left, so that a rebuilt memory has
// room to grow and the cost stays within twice a full replay.
func (c *cadScorer) rebuild() {
	n := len(c.hist) - 1
	for from := 0; ; from += (n - from + 1) / 2 {
		c.mem = newCADMemory(c.maxLeft)
		c.pred = c.pred[:0]
		full := false
		for i := from; i < n && !full; i++ {
			c.step(c.bin(c.hist[(c.histHead+i)%len(c.hist)]))
			full = len(c.mem.contexts) > c.maxContexts/2
		}
		if !full {
			return
		}
	}
}

// step feeds bin b to the memory and returns the raw score.
func (c *cadScorer) step(b int) float64 {
	// Sensor fact of binary digit i with value d: 65536 + 2i + d, as in
	// the original; a digit that was not predicted weighs 2^i.
	c.sens = c.sens[:0]
	missed := 0
	for i := range c.bits {
		f := uint32(65536 + 2*i + (b>>i)&1)
		c.sens = append(c.sens, f)
		if !containsFact(c.pred, f) {
			missed += 1 << i
		}
	}
	var active, added float64
	c.pred, active, added = c.mem.step(c.pred[:0], c.sens, c.maxActive)
	if missed == 0 {
		return 0
	}
	return (1 - active + added) / 2
}

func containsFact(s []uint32, f uint32) bool {
	for _, x := range s {
		if x == f {
			return true
		}
	}
	return false
}
