package forecast

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// DefaultAROrder is the order AR uses when Order is 0.
const DefaultAROrder = 10

// AR is an autoregressive model fitted by least squares, on the
// deseasonalised series when there is a season:
//
//	x(t) = y(t) - P(t)          (P: the smoothed seasonal profile, 0 without a season)
//	x(t) = c + a₁·x(t-1) + … + a_p·x(t-p) + ε(t)
//	ŷ(T+h|T) = x̂(T+h) + P(T+h), x̂ by the recursion with future ε = 0
//
// With Difference set the AR is fitted to the first differences of x
// (an ARIMA(p,1,0) with drift c), which follows level shifts but forgets
// the mean. P is estimated as SeasonalLevel does (seasonalProfile, ±m/96
// phases of smoothing). The coefficients solve the least-squares problem
// over the rows whose p lags and target are all observed, by QR
// factorisation (gonum/mat). Outages are masked before fitting.
//
// Update is O(p) and allocation-free: a gap is replaced in the lag buffer by
// its one-step prediction (the conditional mean), so it does not poison the
// state. Forecast is O(h·p) and does not allocate.
type AR struct {
	// Order is p; 0 means DefaultAROrder.
	Order int
	// Difference fits the AR to first differences.
	Difference bool
}

var _ Model = AR{}

// Name returns "ar" or "ari" (differenced).
func (m AR) Name() string {
	if m.Difference {
		return "ari"
	}
	return "ar"
}

// Fit returns an *ARState positioned after the last sample of y. It returns
// an error wrapping ErrTooShort when fewer than 3·(p+1) complete rows exist
// (or, with a season, y is shorter than one period), and an error when the
// least-squares problem is singular. It panics if period < 0.
func (m AR) Fit(y []float64, period int) (State, error) {
	if period < 0 {
		panic("forecast: AR: negative period")
	}
	p := m.Order
	if p <= 0 {
		p = DefaultAROrder
	}
	z, _ := MaskOutages(y, DefaultOutageRun)
	prof := []float64{0}
	if period > 1 {
		if len(z) < period {
			return nil, fmt.Errorf("ar with period %d: %d samples: %w", period, len(z), ErrTooShort)
		}
		prof = seasonalProfile(z, period, period/slSmoothDivisor, false)
	}
	x := make([]float64, len(z))
	for t, v := range z {
		x[t] = v - prof[t%len(prof)]
	}
	series := x
	if m.Difference {
		series = make([]float64, len(x))
		series[0] = nan
		for t := 1; t < len(x); t++ {
			series[t] = x[t] - x[t-1]
		}
	}
	var rows []int
	for t := p; t < len(series); t++ {
		ok := !math.IsNaN(series[t])
		for k := 1; ok && k <= p; k++ {
			ok = !math.IsNaN(series[t-k])
		}
		if ok {
			rows = append(rows, t)
		}
	}
	if len(rows) < 3*(p+1) {
		return nil, fmt.Errorf("%s(%d): %d complete rows, need %d: %w", m.Name(), p, len(rows), 3*(p+1), ErrTooShort)
	}
	A := mat.NewDense(len(rows), p+1, nil)
	b := mat.NewVecDense(len(rows), nil)
	for i, t := range rows {
		A.Set(i, 0, 1)
		for k := 1; k <= p; k++ {
			A.Set(i, k, series[t-k])
		}
		b.SetVec(i, series[t])
	}
	var qr mat.QR
	qr.Factorize(A)
	var coef mat.VecDense
	if err := qr.SolveVecTo(&coef, false, b); err != nil {
		return nil, fmt.Errorf("%s(%d): least squares: %w", m.Name(), p, err)
	}
	st := &ARState{
		c: coef.AtVec(0), a: make([]float64, p), lags: make([]float64, p),
		scratch: make([]float64, p), prof: prof, diff: m.Difference, last: nan,
	}
	for k := range p {
		st.a[k] = coef.AtVec(k + 1)
	}
	mean := meanObserved(series)
	for k := range st.lags {
		st.lags[k] = mean
	}
	for _, v := range z {
		st.Update(v)
	}
	return st, nil
}

// ARState is a fitted AR. Update is O(p) and allocation-free.
type ARState struct {
	c    float64
	a    []float64 // a[k] multiplies the lag k+1
	lags []float64 // ring buffer of the modelled series; head is the newest
	head int
	// scratch is Forecast's lag buffer.
	scratch []float64
	prof    []float64
	pos     int
	diff    bool
	last    float64 // the last deseasonalised level (differenced model)
}

var _ State = (*ARState)(nil)

// Coefficients returns c and a₁..a_p (a copy).
func (st *ARState) Coefficients() (c float64, a []float64) {
	return st.c, append([]float64(nil), st.a...)
}

// predict returns the one-step prediction of the modelled series from the
// lags in ring (newest at head).
func (st *ARState) predict(ring []float64, head int) float64 {
	v := st.c
	p := len(ring)
	for k, ak := range st.a {
		v += ak * ring[(head-k+p)%p]
	}
	return v
}

func (st *ARState) push(v float64) {
	st.head++
	if st.head == len(st.lags) {
		st.head = 0
	}
	st.lags[st.head] = v
}

// Update absorbs the next observation (NaN: a gap).
func (st *ARState) Update(y float64) {
	x := y - st.prof[st.pos]
	st.pos++
	if st.pos == len(st.prof) {
		st.pos = 0
	}
	pred := st.predict(st.lags, st.head)
	switch {
	case !st.diff:
		if math.IsNaN(x) {
			x = pred
		}
		st.push(x)
	case math.IsNaN(x):
		st.push(pred)
		if !math.IsNaN(st.last) {
			st.last += pred
		}
	case math.IsNaN(st.last):
		st.last = x
	default:
		st.push(x - st.last)
		st.last = x
	}
}

// Forecast writes the recursive forecasts into dst and returns it.
func (st *ARState) Forecast(dst []float64) []float64 {
	p := len(st.lags)
	copy(st.scratch, st.lags)
	head := st.head
	level := st.last
	pos := st.pos
	for h := range dst {
		v := st.predict(st.scratch, head)
		head++
		if head == p {
			head = 0
		}
		st.scratch[head] = v
		if st.diff {
			level += v
			v = level
		}
		dst[h] = v + st.prof[pos]
		pos++
		if pos == len(st.prof) {
			pos = 0
		}
	}
	return dst
}
