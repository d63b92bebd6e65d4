package forecast

import (
	"math"
	"sort"
	"time"
)

// seasonalMemory remembers recent samples by time, to look up the value
// one period (a day) before a given time. Samples must come in increasing
// time order; one that steps back in time clears the memory.
type seasonalMemory struct {
	period time.Duration
	times  []time.Time // ring, oldest at head once full
	values []float64
	head   int
	cap    int
}

func newSeasonalMemory(period time.Duration, capacity int) *seasonalMemory {
	return &seasonalMemory{period: period, cap: capacity,
		times: make([]time.Time, 0, capacity), values: make([]float64, 0, capacity)}
}

func (m *seasonalMemory) at(i int) int { return (m.head + i) % len(m.times) }

// add remembers (t, v).
func (m *seasonalMemory) add(t time.Time, v float64) {
	if n := len(m.times); n > 0 && !t.After(m.times[m.at(n-1)]) {
		m.times, m.values, m.head = m.times[:0], m.values[:0], 0
	}
	if len(m.times) < m.cap {
		m.times = append(m.times, t)
		m.values = append(m.values, v)
		return
	}
	m.times[m.head], m.values[m.head] = t, v
	m.head = (m.head + 1) % m.cap
}

// before returns the value remembered nearest to t − period, if one lies
// within tol of it; NaN otherwise.
func (m *seasonalMemory) before(t time.Time, tol time.Duration) float64 {
	n := len(m.times)
	if n == 0 {
		return math.NaN()
	}
	want := t.Add(-m.period)
	i := sort.Search(n, func(i int) bool { return !m.times[m.at(i)].Before(want) })
	best, bestD := math.NaN(), tol+1
	for _, j := range []int{i - 1, i} {
		if j < 0 || j >= n {
			continue
		}
		d := m.times[m.at(j)].Sub(want)
		if d < 0 {
			d = -d
		}
		if d < bestD {
			best, bestD = m.values[m.at(j)], d
		}
	}
	if bestD > tol {
		return math.NaN()
	}
	return best
}
