package forecast

import (
	"errors"
	"math"
	"slices"
	"testing"
)

func TestSeasonalNaive(t *testing.T) {
	tests := []struct {
		name   string
		y      []float64
		period int
		h      int
		want   []float64
	}{
		{"naive", []float64{1, 2, 3}, 0, 3, []float64{3, 3, 3}},
		{"period 1 is naive", []float64{1, 2, 3}, 1, 2, []float64{3, 3}},
		{"naive skips trailing gap", []float64{1, 2, nan, nan}, 0, 2, []float64{2, 2}},
		{"seasonal", []float64{1, 2, 3, 4, 5, 6}, 3, 4, []float64{4, 5, 6, 4}},
		{"phase not aligned", []float64{1, 2, 3, 4, 5}, 3, 3, []float64{3, 4, 5}},
		{"gap keeps older value at phase", []float64{1, 2, 3, 4, nan, 6}, 3, 3, []float64{4, 2, 6}},
		{"unseen phase falls back to last observed", []float64{nan, 2, 3, nan, nan, nan}, 3, 3, []float64{3, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.y)
			got, err := forecastN(SeasonalNaive{}, tt.y, tt.period, tt.h)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if !slices.EqualFunc(in, tt.y, func(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }) {
				t.Errorf("input modified")
			}
		})
	}
}

func TestSeasonalNaiveUpdateGap(t *testing.T) {
	st, err := SeasonalNaive{}.Fit([]float64{1, 2, 3, 4}, 2)
	if err != nil {
		t.Fatal(err)
	}
	st.Update(nan) // phase 0 keeps 3
	st.Update(7)   // phase 1 becomes 7
	if got := st.Forecast(make([]float64, 2)); !slices.Equal(got, []float64{3, 7}) {
		t.Errorf("got %v, want [3 7]", got)
	}
}

func TestSeasonalNaivePureSeasonExact(t *testing.T) {
	y := seasonal(24*10, 24, 100, 0, 0, 1)
	got, err := forecastN(SeasonalNaive{}, y, 24, 48)
	if err != nil {
		t.Fatal(err)
	}
	want := seasonal(24*12, 24, 100, 0, 0, 1)[24*10:]
	if d := maxAbsDiff(got, want); d > 1e-6 {
		t.Errorf("max error %g, want <= 1e-6", d)
	}
}

func TestSeasonalNaiveNoObservation(t *testing.T) {
	_, err := SeasonalNaive{}.Fit([]float64{nan, nan}, 0)
	if !errors.Is(err, ErrTooShort) {
		t.Errorf("err = %v, want ErrTooShort", err)
	}
}
