package forecast

import "errors"

// ErrTooShort reports a history too short for the model or the evaluation
// asked of it: Holt-Winters needs at least two full seasons after any leading
// gap, seasonal naive at least one observed sample, and Backtest a training
// part plus an evaluation tail. Callers branch on it with errors.Is and fall
// back to a simpler model.
var ErrTooShort = errors.New("forecast: history too short")
