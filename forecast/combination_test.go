package forecast

import (
	"strings"
	"testing"
)

func TestCombinationAverages(t *testing.T) {
	y := seasonal(24*10, 24, 100, 0, 0, 7)
	st, err := Combination{Models: []Model{SeasonalNaive{}, HoltWinters{}}}.Fit(y, 24)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := SeasonalNaive{}.Fit(y, 24)
	b, _ := HoltWinters{}.Fit(y, 24)
	fa, fb := a.Forecast(make([]float64, 5)), b.Forecast(make([]float64, 5))
	got := st.Forecast(make([]float64, 5))
	for h := range got {
		if want := (fa[h] + fb[h]) / 2; got[h] != want {
			t.Errorf("h=%d: %g, want %g", h+1, got[h], want)
		}
	}
	// A member that cannot fit (a weekly season in five days) is left out.
	st, err = Combination{Models: []Model{SeasonalNaive{}, DoubleSeasonal{}}}.Fit(y[:24*5], 24)
	if err != nil || len(st.(*CombinationState).Members()) != 1 {
		t.Errorf("err %v", err)
	}
	if n := (Combination{Models: []Model{SeasonalNaive{}, HoltWinters{}}}).Name(); !strings.Contains(n, "+") {
		t.Errorf("name %q", n)
	}
}
