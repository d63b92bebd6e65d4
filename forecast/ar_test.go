package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestARRecoversCoefficients(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	a1, a2, c := 0.6, -0.3, 2.0
	y := make([]float64, 20000)
	for t := 2; t < len(y); t++ {
		y[t] = c + a1*y[t-1] + a2*y[t-2] + rng.NormFloat64()
	}
	st, err := AR{Order: 2}.Fit(y, 0)
	if err != nil {
		t.Fatal(err)
	}
	gc, ga := st.(*ARState).Coefficients()
	if math.Abs(ga[0]-a1) > 0.03 || math.Abs(ga[1]-a2) > 0.03 || math.Abs(gc-c) > 0.1 {
		t.Errorf("c=%.3f a=%.3f, want %.1f [%.1f %.1f]", gc, ga, c, a1, a2)
	}
	// The long-run forecast tends to the process mean c/(1-a1-a2).
	fc := st.Forecast(make([]float64, 200))
	if mean := c / (1 - a1 - a2); math.Abs(fc[199]-mean) > 0.2 {
		t.Errorf("forecast at 200 %.3f, want %.3f", fc[199], mean)
	}
}

func TestARGapsDoNotPoison(t *testing.T) {
	y := seasonal(24*10, 24, 50, 0, 1, 6)
	st, err := AR{Order: 3}.Fit(withGaps(y, 10, 11, 100), 24)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		st.Update(nan)
	}
	for _, v := range st.Forecast(make([]float64, 24)) {
		if math.IsNaN(v) || math.Abs(v-50) > 30 {
			t.Fatalf("forecast %v after gaps", v)
		}
	}
	d, err := AR{Order: 2, Difference: true}.Fit(y, 24)
	if err != nil || d == nil {
		t.Fatal(err)
	}
}
