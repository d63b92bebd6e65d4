package forecast

import (
	"testing"
)

// benchWeek is one week of minutes of the synthetic Poisson-like day.
func benchWeek() []float64 {
	y, _ := poissonDay(10080+1440, 1440, 50, 9)
	return y
}

// BenchmarkFitWeek fits each model on 10,080 points (a week of minutes,
// daily season); BenchmarkUpdateWeek times one Update plus a 60-step
// Forecast on the fitted state. Reproduce with
//
//	go test -run '^$' -bench 'Week' -benchmem ./forecast/
func benchModels() []Model {
	return []Model{
		SeasonalNaive{},
		HoltWinters{},
		HoltWintersMultiplicative{},
		DoubleSeasonal{Horizon: 15},
		SeasonalLevel{Horizon: 15},
		SeasonalLevel{Horizon: 15, Multiplicative: true},
		AR{},
		RobustTrend{},
		Combination{Models: []Model{HoltWinters{}, SeasonalLevel{Horizon: 15, Multiplicative: true}}},
	}
}

func BenchmarkFitWeek(b *testing.B) {
	y := benchWeek()[:10080]
	for _, m := range benchModels() {
		b.Run(m.Name(), func(b *testing.B) {
			for b.Loop() {
				if _, err := m.Fit(y, 1440); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkUpdateWeek(b *testing.B) {
	y := benchWeek()
	for _, m := range benchModels() {
		b.Run(m.Name(), func(b *testing.B) {
			st, err := m.Fit(y[:10080], 1440)
			if err != nil {
				b.Fatal(err)
			}
			dst := make([]float64, 60)
			tail := y[10080:]
			i := 0
			for b.Loop() {
				st.Update(tail[i])
				st.Forecast(dst)
				if i++; i == len(tail) {
					i = 0
				}
			}
		})
	}
}
