package forecast

import "math"

var nan = math.NaN()

// Model fits a forecasting model to a history.
//
// y holds one sample per step, oldest first; NaN marks a gap, which a model
// must skip without letting it poison its state (it advances its clock and
// does not correct with a missing value). period is the season length in
// steps (0 or 1: no seasonality).
type Model interface {
	// Name identifies the model in reports, e.g. "seasonal_naive".
	Name() string
	// Fit returns the model's state positioned just after the last sample.
	Fit(y []float64, period int) (State, error)
}

// State is a fitted model that can be advanced one observation at a time.
type State interface {
	// Update absorbs the next observation (NaN: a gap) in O(1).
	Update(y float64)
	// Forecast writes point forecasts for horizons 1..len(dst) into dst
	// and returns it.
	Forecast(dst []float64) []float64
}
