package forecast

import (
	"fmt"
	"math"
)

// SeasonalNaive forecasts each step with the most recent observed value at
// the same phase of the season:
//
//	ŷ(T+h) = y(T+h-k·m), k = the smallest k ≥ 1 (k ≥ ⌈h/m⌉) with y observed,
//
// where m is the period. With period 0 or 1 it is the naive forecast
// ŷ(T+h) = y(T), the last observed value. A phase never observed falls
// back to the last observed value of any phase. It has no parameters.
type SeasonalNaive struct{}

var _ Model = SeasonalNaive{}

// Name returns "seasonal_naive".
func (SeasonalNaive) Name() string { return "seasonal_naive" }

// Fit returns the state after absorbing y. It returns ErrTooShort when y
// holds no observed (non-NaN) sample. It panics if period < 0.
func (SeasonalNaive) Fit(y []float64, period int) (State, error) {
	if period < 0 {
		panic("forecast: SeasonalNaive: negative period")
	}
	m := max(period, 1)
	s := &seasonalNaiveState{last: make([]float64, m), lastObs: nan}
	for i := range s.last {
		s.last[i] = nan
	}
	for _, v := range y {
		s.Update(v)
	}
	if math.IsNaN(s.lastObs) {
		return nil, fmt.Errorf("seasonal naive on %d samples, none observed: %w", len(y), ErrTooShort)
	}
	return s, nil
}

// seasonalNaiveState keeps the last observed value of each phase in a ring
// indexed by phase; pos is the phase of the next sample.
type seasonalNaiveState struct {
	last    []float64
	pos     int
	lastObs float64
}

// Update stores y at its phase (a NaN keeps the previous value) and moves
// to the next phase.
func (s *seasonalNaiveState) Update(y float64) {
	if !math.IsNaN(y) {
		s.last[s.pos] = y
		s.lastObs = y
	}
	s.pos++
	if s.pos == len(s.last) {
		s.pos = 0
	}
}

// Forecast writes the value stored at each horizon's phase into dst.
func (s *seasonalNaiveState) Forecast(dst []float64) []float64 {
	m := len(s.last)
	p := s.pos
	for h := range dst {
		v := s.last[p]
		if math.IsNaN(v) {
			v = s.lastObs
		}
		dst[h] = v
		p++
		if p == m {
			p = 0
		}
	}
	return dst
}
