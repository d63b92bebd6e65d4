// Package forecasteval measures the forecast stage on a recorded trace: a
// rolling-origin backtest in which every model is refitted on the trace's
// preceding week only, scored by MAE and MASE at a few horizons beside the
// two simple baselines a forecaster has to beat, naive (the last value) and
// seasonal naive (the value one day earlier).
//
// It is what `stuurman eval forecast` runs. It sits beside evals/replay:
// replay measures the whole pipeline's scaling decisions, this measures
// only the forecasts those decisions are built on.
package forecasteval
