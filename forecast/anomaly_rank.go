package forecast

import (
	"math"
	"slices"
	"sort"
	"time"
)

// RankDetector is a distribution-free detector: it ranks each sample among
// the last W samples and scores how extreme that rank is. With g samples
// greater than v and e equal to it among the n ≤ W in the window, the upper
// tail probability is (g + e/2 + 1)/(n + 1), the lower one likewise, and
// the two-sided p-value is min(1, 2·min(upper, lower)): a conformal
// p-value, valid whatever the distribution as long as the window is
// exchangeable. A new maximum in a window of 500 gets p ≈ 0.004.
//
// Observe costs O(W) in the worst case (a sorted window is kept by binary
// search and copy), well under a microsecond for W = 1000.
type RankDetector struct {
	win rankWindow
}

var _ Detector = (*RankDetector)(nil)

// NewRankDetector returns a detector over a window of w ≥ 2 samples. It
// panics if w < 2.
func NewRankDetector(w int) *RankDetector {
	if w < 2 {
		panic("forecast: NewRankDetector: window < 2")
	}
	return &RankDetector{win: newRankWindow(w)}
}

// Observe ranks v among the window, then adds it (dropping the oldest
// sample when the window is full). Value is 1 − p; Expected is the
// window's median.
func (d *RankDetector) Observe(t time.Time, v float64) Score {
	s := Score{Time: t, Evidence: Evidence{Observed: v, Expected: nan, Residual: nan, PValue: 1}}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return s
	}
	if n := d.win.len(); n > 0 {
		up, dn := d.win.tails(v)
		s.Evidence.PValue = min(1, 2*min(up, dn))
		s.Evidence.Expected = d.win.sorted[n/2]
		s.Value = 1 - s.Evidence.PValue
	}
	d.win.add(v)
	return s
}

// rankWindow keeps the last w values, in arrival order and sorted.
type rankWindow struct {
	w      int
	ring   []float64 // oldest at head once full
	head   int
	sorted []float64
}

func newRankWindow(w int) rankWindow {
	return rankWindow{w: w, ring: make([]float64, 0, w), sorted: make([]float64, 0, w)}
}

func (r *rankWindow) len() int { return len(r.sorted) }

// tails returns the conformal upper and lower tail probabilities of v,
// (greater + equal/2 + 1)/(n+1) and (less + equal/2 + 1)/(n+1); 1, 1 when
// the window is empty.
func (r *rankWindow) tails(v float64) (up, dn float64) {
	n := len(r.sorted)
	if n == 0 {
		return 1, 1
	}
	lo := sort.SearchFloat64s(r.sorted, v)
	hi := lo
	for hi < n && r.sorted[hi] == v {
		hi++
	}
	less, eq := float64(lo), float64(hi-lo)
	greater := float64(n) - less - eq
	return (greater + eq/2 + 1) / float64(n+1), (less + eq/2 + 1) / float64(n+1)
}

// upperExt is the upper tail probability of v ≥ 0 among non-negative
// values, extended past the window's maximum M by a Pareto tail:
// p·(M/v)² when v > M > 0, so that a sample twice the largest seen lately
// is four times less likely than one just above it.
func (r *rankWindow) upperExt(v float64) float64 {
	up, _ := r.tails(v)
	if n := len(r.sorted); n > 0 {
		if m := r.sorted[n-1]; v > m && m > 0 {
			up *= (m / v) * (m / v)
		}
	}
	return up
}

// twoSidedExt is the two-sided tail probability of v, extended past the
// window's range [lo, hi] as p·(w/(w+x))² where x is the excess beyond
// the range and w = hi − lo its width.
func (r *rankWindow) twoSidedExt(v float64) float64 {
	up, dn := r.tails(v)
	p := min(1, 2*min(up, dn))
	if n := len(r.sorted); n > 1 {
		lo, hi := r.sorted[0], r.sorted[n-1]
		var x float64
		switch {
		case v > hi:
			x = v - hi
		case v < lo:
			x = lo - v
		}
		if w := hi - lo; x > 0 && w > 0 {
			p *= (w / (w + x)) * (w / (w + x))
		}
	}
	return p
}

// add appends v, dropping the oldest value when the window is full.
func (r *rankWindow) add(v float64) {
	if len(r.ring) < r.w {
		r.ring = append(r.ring, v)
	} else {
		old := r.ring[r.head]
		r.ring[r.head] = v
		r.head = (r.head + 1) % r.w
		i := sort.SearchFloat64s(r.sorted, old)
		r.sorted = slices.Delete(r.sorted, i, i+1)
	}
	i := sort.SearchFloat64s(r.sorted, v)
	r.sorted = slices.Insert(r.sorted, i, v)
}
