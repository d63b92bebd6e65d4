// Package forecast is the model stage of the stuurman pipeline: it turns a
// metrics.Series into a Forecast (point forecast, prediction interval, the
// model chosen and its backtest error) and into Findings.
//
// Models implement Model (fit on a history) and State (advance one sample
// in O(1), forecast h steps). The package provides seasonal naive and
// additive Holt-Winters with damped trend, whose smoothing parameters are
// fitted by minimising the one-step-ahead squared error with gonum's
// optimize package. Season length comes from configuration or is detected by
// autocorrelation (DetectPeriod). Backtest runs a rolling-origin evaluation
// and yields MASE per horizon and the error quantiles that become the
// prediction interval.
//
// Gaps (NaN) never become zeros: models step over them.
package forecast
