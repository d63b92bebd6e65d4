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
// Forecaster ties these together for the pipeline: called once per cycle
// with the history so far, it refits on a schedule (choosing the model by
// backtest) and in between only updates the fitted state with the new
// samples, so a forecast costs O(new samples).
//
// Gaps (NaN) never become zeros: models step over them.
//
// Performance (AMD EPYC, 2 cores, go test -bench . -run XXX ./forecast/):
// HoltWinters.Fit on 20,160 points with period 1440 takes about 17 ms;
// Update plus a 60-step Forecast about 100 ns with no allocation;
// DetectPeriod on 20,160 points up to lag 10,080 about 3 ms; and
// BenchmarkForecasterReplay, one Forecast per minute over 59 days of
// minutes (85,000 calls, daily refits on a 14-day window), about 1.5 s.
package forecast
