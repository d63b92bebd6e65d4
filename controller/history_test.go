package controller

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stuurman/stuurman/metrics"
)

// mergeCopy is the plain form of demandHistory.merge, on fresh copies: h
// extended by s (s's observed samples replace h's), trimmed to keep.
func mergeCopy(h, s metrics.Series, keep time.Duration) metrics.Series {
	out := h.Clone()
	if s.Len() > 0 {
		if h.Len() == 0 || h.Step != s.Step || s.Start.Sub(h.Start)%h.Step != 0 {
			out = s.Clone()
		} else {
			if i := out.Index(s.Start); i < 0 {
				out.Values = append(slices.Repeat([]float64{math.NaN()}, -i), out.Values...)
				out.Start = s.Start
			}
			for k, v := range s.Values {
				i := out.Index(s.Time(k))
				for i >= out.Len() {
					out.Values = append(out.Values, math.NaN())
				}
				if !math.IsNaN(v) {
					out.Values[i] = v
				}
			}
		}
	}
	if n := window(out.Step, keep); n >= 0 && out.Len() > n {
		out = out.Slice(out.Len()-n, out.Len())
	}
	return out
}

func equalHistory(a, b metrics.Series) bool {
	return a.Start.Equal(b.Start) && a.Step == b.Step && a.Len() == b.Len() &&
		slices.EqualFunc(a.Values, b.Values, func(x, y float64) bool { return x == y || math.IsNaN(x) && math.IsNaN(y) })
}

// TestDemandHistoryMerge checks the in-place history against merging
// fresh copies, over random reads: steady ones that overlap the end, late
// revisions, gaps, reads starting before the history, a step change.
func TestDemandHistoryMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	for run := range 50 {
		step := time.Minute
		keep := time.Duration(20+rng.IntN(200)) * step
		var h demandHistory
		var want metrics.Series
		end := t0
		for cycle := range 300 {
			var s metrics.Series
			switch r := rng.IntN(20); {
			case r == 0: // nothing read
			case r == 1 && cycle > 0: // another step: start over
				step = []time.Duration{time.Minute, 30 * time.Second}[rng.IntN(2)]
				keep = time.Duration(20+rng.IntN(200)) * step
				fallthrough
			default:
				end = end.Add(time.Duration(rng.IntN(4)) * step)
				if rng.IntN(10) == 0 {
					end = end.Add(time.Duration(rng.IntN(400)) * step) // a long gap
				}
				back := 1 + rng.IntN(3)
				if rng.IntN(15) == 0 {
					back = rng.IntN(600) // a read before the history
				}
				start := end.Add(-time.Duration(back) * step)
				s = metrics.Series{Name: "demand", Start: start, Step: step, Values: make([]float64, back)}
				for i := range s.Values {
					s.Values[i] = float64(rng.IntN(1000))
					if rng.IntN(8) == 0 {
						s.Values[i] = math.NaN()
					}
				}
			}
			want = mergeCopy(want, s, keep)
			before := slices.Clone(s.Values)
			h.merge(s, keep)
			if !slices.EqualFunc(before, s.Values, func(x, y float64) bool { return x == y || math.IsNaN(x) && math.IsNaN(y) }) {
				t.Fatalf("run %d, cycle %d: merge modified its argument", run, cycle)
			}
			if got := h.series(); !equalHistory(got, want) {
				t.Fatalf("run %d, cycle %d: history %v +%d, want %v +%d", run, cycle, got.Start, got.Len(), want.Start, want.Len())
			}
		}
	}
}

// TestDemandHistorySteadyAllocs checks that a steady-state merge (one new
// sample a cycle, a week at one minute) allocates nothing.
func TestDemandHistorySteadyAllocs(t *testing.T) {
	keep := DefaultHistory
	n := int(keep / time.Minute)
	start := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	full := metrics.Series{Start: start, Step: time.Minute, Values: make([]float64, n)}
	var h demandHistory
	h.merge(full, keep)
	end := full.End()
	s := metrics.Series{Step: time.Minute, Values: make([]float64, 3)}
	allocs := testing.AllocsPerRun(2*n, func() {
		end = end.Add(time.Minute)
		s.Start = end.Add(-3 * time.Minute)
		h.merge(s, keep)
	})
	if allocs != 0 {
		t.Errorf("%v allocations a steady merge, want 0", allocs)
	}
	if size := cap(h.buf) * 8; size > 80<<10 {
		t.Errorf("a buffer of %d bytes for a week's 10,080 samples, more than their size class (80 KiB)", size)
	}
	if got := h.series(); got.Len() != n || !got.End().Equal(end) {
		t.Errorf("history %v +%d, want %d samples up to %v", got.Start, got.Len(), n, end)
	}
}
