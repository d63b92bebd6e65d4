package forecast

import (
	"math"
	"math/rand/v2"
)

// seasonal returns n samples of base + slope·t + a fixed pattern of the
// given period + Gaussian noise of sd (seeded, reproducible).
func seasonal(n, period int, base, slope, sd float64, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	y := make([]float64, n)
	for t := range y {
		phase := float64(t%period) / float64(period)
		y[t] = base + slope*float64(t) + 10*math.Sin(2*math.Pi*phase) + 4*math.Cos(6*math.Pi*phase)
		if sd > 0 {
			y[t] += sd * rng.NormFloat64()
		}
	}
	return y
}

// withGaps returns a copy of y with NaN at every index in idx.
func withGaps(y []float64, idx ...int) []float64 {
	out := append([]float64(nil), y...)
	for _, i := range idx {
		out[i] = math.NaN()
	}
	return out
}

// forecastN fits m on y and forecasts h steps.
func forecastN(m Model, y []float64, period, h int) ([]float64, error) {
	st, err := m.Fit(y, period)
	if err != nil {
		return nil, err
	}
	return st.Forecast(make([]float64, h)), nil
}

// maxAbsDiff returns max |a[i]-b[i]|.
func maxAbsDiff(a, b []float64) float64 {
	var d float64
	for i := range a {
		d = math.Max(d, math.Abs(a[i]-b[i]))
	}
	return d
}
