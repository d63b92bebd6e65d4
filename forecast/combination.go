package forecast

import (
	"errors"
	"fmt"
	"strings"
)

// Combination forecasts the equally weighted mean of its members'
// forecasts. Averaging models whose errors are not perfectly correlated
// (e.g. Holt-Winters, which follows the last values closely, and
// SeasonalLevel, which smooths them away) usually beats each of them.
//
// Fit fits every member with the same period; members that fail are left
// out, and it returns an error (joining theirs) only when all fail. Update
// is the members' Updates; Forecast allocates only on its first call with a
// longer dst than before.
type Combination struct {
	Models []Model
}

var _ Model = Combination{}

// Name returns "combination(a+b+...)".
func (c Combination) Name() string {
	names := make([]string, len(c.Models))
	for i, m := range c.Models {
		names[i] = m.Name()
	}
	return "combination(" + strings.Join(names, "+") + ")"
}

// Fit fits the members on y. It panics if there are none.
func (c Combination) Fit(y []float64, period int) (State, error) {
	if len(c.Models) == 0 {
		panic("forecast: Combination: no models")
	}
	st := &CombinationState{}
	var errs []error
	for _, m := range c.Models {
		s, err := m.Fit(y, period)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		st.members = append(st.members, s)
		st.names = append(st.names, m.Name())
	}
	if len(st.members) == 0 {
		return nil, fmt.Errorf("%s: %w", c.Name(), errors.Join(errs...))
	}
	return st, nil
}

// CombinationState is a fitted Combination.
type CombinationState struct {
	members []State
	names   []string
	buf     []float64
}

var _ State = (*CombinationState)(nil)

// Members returns the names of the members that were fitted.
func (st *CombinationState) Members() []string { return append([]string(nil), st.names...) }

// Update updates every member.
func (st *CombinationState) Update(y float64) {
	for _, m := range st.members {
		m.Update(y)
	}
}

// Forecast writes the mean of the members' forecasts into dst.
func (st *CombinationState) Forecast(dst []float64) []float64 {
	if cap(st.buf) < len(dst) {
		st.buf = make([]float64, len(dst))
	}
	buf := st.buf[:len(dst)]
	clear(dst)
	for _, m := range st.members {
		m.Forecast(buf)
		for h, v := range buf {
			dst[h] += v
		}
	}
	k := float64(len(st.members))
	for h := range dst {
		dst[h] /= k
	}
	return dst
}
