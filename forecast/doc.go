// Package forecast is the model stage of the stuurman pipeline: it turns a
// metrics.Series into a Forecast (point forecast, prediction interval, the
// model chosen and its backtest error) and into Findings.
//
// Models implement Model (fit on a history) and State (advance one sample
// in O(1), forecast h steps). The package provides seasonal naive;
// Holt-Winters with damped trend, additive (HoltWinters) and multiplicative
// (HoltWintersMultiplicative), whose smoothing parameters are fitted by
// minimising the one-step-ahead squared error with gonum's optimize
// package; double-seasonal Holt-Winters (DoubleSeasonal, Taylor 2003: day
// and week at once); SeasonalLevel, an MSTL-style decomposition into fixed
// daily (and weekly) profiles and a smoothed level, which forecasts the mean
// of a noisy count rather than its last value; AR(p) by least squares on the
// deseasonalised series; a Huber-robust linear trend (RobustTrend); and
// Combination, the mean of several models' forecasts.
//
// Runs of zeros are handled explicitly: a long run (an outage, see
// MaskOutages) is left out of fits so that it cannot collapse a
// multiplicative season, and states restore the level when demand
// returns; a short run at the same phase every day (a rotation window) is
// a scheduled zero that SeasonalLevel reproduces. Season length comes from configuration or is detected by
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
// Findings come from two families of estimators. AnomalyDetector scores
// every sample online, from the past only, combining the value's rank, the
// seasonal residual, a causal port of the Contextual Anomaly Detector's
// context memory and a range check (70.66 on NAB's 41-file development
// split, standard profile); Score.Finding turns an alarm into a Finding.
// TheilSen fits a robust trend with a confidence interval, and
// TrendToThreshold, MemoryOOM, DiskFill and RestartStorm turn trends into
// Findings with an ETA.
//
// Performance (AMD EPYC, 2 cores, go test -bench . -run XXX ./forecast/):
// HoltWinters.Fit on 20,160 points with period 1440 takes about 17 ms;
// Update plus a 60-step Forecast about 100 ns with no allocation;
// DetectPeriod on 20,160 points up to lag 10,080 about 3 ms. On one week of
// minutes (10,080 points, period 1440; go test -run '^$' -bench Week
// ./forecast/), Fit takes: seasonal naive 0.02 ms, HoltWinters 18 ms,
// HoltWintersMultiplicative 15 ms, DoubleSeasonal 19 ms, SeasonalLevel 19
// ms (multiplicative 24 ms), AR(10) 2.7 ms, RobustTrend 11 ms, the
// combination 47 ms; Update plus a 60-step Forecast takes 80–150 ns for
// every model but AR (2.4 µs) and the combination (0.7 µs), none
// allocating. The whole NASA replay (stuurman recommend, one Forecast a
// minute over 89,280 minutes, daily refits choosing among 9 candidates on a
// 14-day window) takes about 16 s, against about 3 s with the earlier
// 5 candidates.
package forecast
