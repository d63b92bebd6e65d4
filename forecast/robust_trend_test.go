package forecast

import (
	"math"
	"testing"
)

func TestRobustTrendIgnoresOutliers(t *testing.T) {
	y := make([]float64, 500)
	for i := range y {
		y[i] = 10 + 0.5*float64(i) + 0.1*math.Sin(float64(i))
		if i%25 == 0 {
			y[i] += 500 // 4 % wild spikes
		}
	}
	a, b := HuberLine(y)
	if math.Abs(b-0.5) > 0.005 || math.Abs(a-10) > 0.5 {
		t.Errorf("a=%.3f b=%.4f, want 10 and 0.5", a, b)
	}
	st, err := RobustTrend{}.Fit(y, 0)
	if err != nil {
		t.Fatal(err)
	}
	st.Update(nan)
	if fc := st.Forecast(make([]float64, 1)); math.Abs(fc[0]-(10+0.5*501)) > 1 {
		t.Errorf("forecast %.2f, want %.2f", fc[0], 10+0.5*501)
	}
	// Ordinary least squares is pulled up by the spikes; Huber is not.
	w := make([]float64, len(y))
	for i := range w {
		w[i] = 1
	}
	oa, _ := weightedLine(y, w)
	if oa < a+5 {
		t.Errorf("OLS intercept %.2f not pulled above Huber's %.2f", oa, a)
	}
}
