package forecast_test

import (
	"fmt"
	"math"
	"time"

	"github.com/stuurman/stuurman/forecast"
	"github.com/stuurman/stuurman/metrics"
)

func ExampleSeasonalNaive() {
	// Three days of a 4-step season, with a gap in the last one.
	y := []float64{1, 5, 9, 5, 1, 5, 9, 5, 1, 5, math.NaN(), 5}
	st, err := forecast.SeasonalNaive{}.Fit(y, 4)
	if err != nil {
		panic(err)
	}
	fmt.Println(st.Forecast(make([]float64, 6)))
	// Output: [1 5 9 5 1 5]
}

func ExampleForecaster() {
	y := make([]float64, 24*14) // two weeks of hourly samples, daily season
	for i := range y {
		y[i] = float64(100 + 10*(i%24/6))
	}
	f, err := forecast.NewForecaster(forecast.Config{Horizon: 3})
	if err != nil {
		panic(err)
	}
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	fc, err := f.Forecast(metrics.Series{Start: start, Step: time.Hour, Values: y})
	if err != nil {
		panic(err)
	}
	fmt.Println(fc.Start.Format(time.RFC3339), fc.Model, fc.Period, fc.MASE, fc.Point)
	// Output: 2025-03-15T00:00:00Z seasonal_naive 24 0 [100 100 100]
}
