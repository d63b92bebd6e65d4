package controller

import (
	"maps"
	"math"
	"slices"
	"time"

	"github.com/stuurman/stuurman/metrics"
)

// demandHistory is a target's demand history, kept in one buffer that is
// reused from cycle to cycle: a cycle's new samples are written after the
// window, the window's head is dropped by moving its start, and the window
// is moved back to the buffer's beginning only when the buffer is full
// (about every historySlack-th part of the window). A steady-state cycle
// thus allocates nothing and copies no history.
//
// The Series that series returns shares the buffer: it is valid until the
// next merge, which may overwrite it. The cycle hands it to the target's
// pipeline, which reads it during the cycle only (the forecaster keeps
// model state, time and value of the last absorbed sample, not the
// slice), and nobody else holds it.
type demandHistory struct {
	buf []float64 // the backing array; s.Values is buf[off : off+s.Len()]
	off int
	s   metrics.Series
}

// historySlack is the share of the window the buffer holds beyond it, at
// least, as a divisor: the window of a week at one minute (10,080
// samples, 78.75 KiB) gets 160 more, which the allocation's size class
// (80 KiB) holds anyway, and moves back every 2 hours and 40 minutes.
const historySlack = 64

// series returns the history; see demandHistory.
func (h *demandHistory) series() metrics.Series { return h.s }

// Len returns the number of samples, gaps included.
func (h *demandHistory) Len() int { return h.s.Len() }

// End returns the time just after the last sample.
func (h *demandHistory) End() time.Time { return h.s.End() }

// merge extends the history by the samples of s (same step; s's samples
// replace the history's where both have a value, as late data revises a
// sample) and trims it to the last keep. When the history is empty, or its
// step or phase differs from s's, it starts over from s. s is not
// modified nor retained.
func (h *demandHistory) merge(s metrics.Series, keep time.Duration) {
	switch {
	case s.Len() == 0:
	case h.s.Len() == 0 || h.s.Step != s.Step || s.Start.Sub(h.s.Start)%h.s.Step != 0:
		n := s.Len()
		if w := window(s.Step, keep); w >= 0 && n > w {
			n = w // only what the trim would keep
		}
		meta := s
		meta.Values, meta.Labels = nil, maps.Clone(s.Labels)
		h.s = meta
		h.set(s.Time(s.Len()-n), s.Values[s.Len()-n:], keep)
	default:
		if i := h.s.Index(s.Start); i < 0 {
			// s starts before the history (rare): prepend gaps, in a new
			// buffer.
			v := make([]float64, -i+h.s.Len())
			for k := range -i {
				v[k] = math.NaN()
			}
			copy(v[-i:], h.s.Values)
			h.set(s.Start, v, keep)
		}
		// Make room for the samples after the history's end, as gaps, then
		// write s's observed samples over them.
		if add := h.s.Index(s.End()) - h.s.Len(); add > 0 {
			h.grow(add, keep)
		}
		// (grow may have dropped the head of s with that of the history.)
		i0 := h.s.Index(s.Start)
		for k, v := range s.Values[max(0, -i0):] {
			if !math.IsNaN(v) {
				h.s.Values[max(0, i0)+k] = v
			}
		}
	}
	h.trim(keep)
}

// window returns how many samples of step keep holds, or -1 when the
// history is not trimmed.
func window(step, keep time.Duration) int {
	if keep <= 0 || step <= 0 {
		return -1
	}
	return int(keep / step)
}

// set makes values, starting at start, the history, copied into a buffer
// with room for the window and its slack.
func (h *demandHistory) set(start time.Time, values []float64, keep time.Duration) {
	size := len(values)
	if w := window(h.s.Step, keep); w >= 0 {
		size = max(size, w+max(1, w/historySlack))
	}
	if cap(h.buf) < size || cap(h.buf) > 2*size {
		h.buf = slices.Grow([]float64(nil), size) // the whole size class
	}
	h.buf = h.buf[:cap(h.buf)]
	copy(h.buf, values)
	h.off = 0
	h.s.Start = start
	h.s.Values = h.buf[:len(values):len(values)]
}

// grow appends add gaps to the history. When the buffer has no room after
// the window, it first drops the head that the trim to keep would drop
// anyway and moves the rest to the buffer's beginning.
func (h *demandHistory) grow(add int, keep time.Duration) {
	n := h.s.Len()
	if h.off+n+add > len(h.buf) {
		from := 0
		if w := window(h.s.Step, keep); w >= 0 {
			from = min(n, max(0, n+add-w))
		}
		kept := h.s.Values[from:]
		if len(kept)+add <= len(h.buf) {
			copy(h.buf, kept)
			h.off = 0
			h.s.Start = h.s.Time(from)
			h.s.Values = h.buf[:len(kept):len(kept)]
		} else {
			h.set(h.s.Time(from), kept, keep)
			if len(kept)+add > len(h.buf) { // more new samples than the window
				buf := make([]float64, len(kept)+add)
				copy(buf, kept)
				h.buf, h.s.Values = buf, buf[:len(kept):len(kept)]
			}
		}
		n = h.s.Len()
	}
	v := h.buf[h.off : h.off+n+add : h.off+n+add]
	for k := n; k < len(v); k++ {
		v[k] = math.NaN()
	}
	h.s.Values = v
}

// trim drops the samples older than the last keep, by moving the start of
// the window.
func (h *demandHistory) trim(keep time.Duration) {
	w := window(h.s.Step, keep)
	if w < 0 || h.s.Len() <= w {
		return
	}
	drop := h.s.Len() - w
	h.off += drop
	h.s = h.s.Slice(drop, h.s.Len())
}
