package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/stuurman/stuurman/evals/forecasteval"
	"github.com/stuurman/stuurman/metrics"
)

type evalForecastFlags struct {
	trace, out string
	horizons   []time.Duration
	opts       forecasteval.Options
}

func newEvalForecastCommand() *cobra.Command {
	var f evalForecastFlags
	cmd := &cobra.Command{
		Use:   "forecast --trace FILE --out DIR",
		Short: "Backtest the forecasters on a trace: MAE and MASE per model beside naive and seasonal naive",
		Long: `forecast runs a rolling-origin backtest on a recorded trace (the CSV layouts
recommend reads). Every --refit-every (default a day) each model is refitted on
the --train-window (default a week) just before; in between its state absorbs
one sample at a time, and at every origin (default every step) it forecasts.
The models are scored by MAE and MASE at each --horizon (default 5m, 15m, 1h,
converted to steps of the trace) beside naive (the last value) and seasonal
naive (the value one --season earlier, default a day). "auto" is the
automatic choice the controller makes (the Forecaster, one per horizon, with
the same window and refit spacing). ratio is a model's MAE divided by the
better baseline's MAE: below 1 beats both.

It prints a table and writes DIR/forecast.json.`,
		Example: `  stuurman eval forecast --trace ../shared/data/traces/nasa_http_1995_per_minute.csv --out out/forecast/nasa`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runEvalForecast(cmd, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.trace, "trace", "", "CSV trace to evaluate on (required)")
	fl.StringVar(&f.out, "out", "", "directory to write forecast.json into (required)")
	fl.DurationSliceVar(&f.opts.Horizons, "horizon", nil, "horizons to score (default 5m,15m,1h)")
	fl.DurationVar(&f.opts.TrainWindow, "train-window", 7*24*time.Hour, "history each fit sees")
	fl.DurationVar(&f.opts.RefitEvery, "refit-every", 24*time.Hour, "spacing of refits")
	fl.DurationVar(&f.opts.OriginEvery, "origin-every", 0, "spacing of forecast origins (default: the trace step)")
	fl.DurationVar(&f.opts.Season, "season", 24*time.Hour, "season of the seasonal naive baseline and the models")
	_ = cmd.MarkFlagRequired("trace")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func runEvalForecast(cmd *cobra.Command, f evalForecastFlags) error {
	for name, d := range map[string]time.Duration{"--train-window": f.opts.TrainWindow, "--refit-every": f.opts.RefitEvery, "--season": f.opts.Season} {
		if d <= 0 {
			return fmt.Errorf("%s must be positive, got %v", name, d)
		}
	}
	if f.opts.OriginEvery < 0 {
		return fmt.Errorf("--origin-every must not be negative, got %v", f.opts.OriginEvery)
	}
	for _, h := range f.opts.Horizons {
		if h <= 0 {
			return fmt.Errorf("--horizon must be positive, got %v", h)
		}
	}
	s, err := metrics.ReadCSVFile(f.trace, metrics.CSVOptions{})
	if err != nil {
		return err
	}
	res, err := forecasteval.Run(cmd.Context(), s, f.opts)
	if err != nil {
		return err
	}
	writeForecastTable(cmd.OutOrStdout(), res)
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(f.out, "forecast.json")
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "results: %s\n", path)
	return nil
}

// writeForecastTable prints one block per horizon: each model's MAE, MASE
// and ratio to the better baseline.
func writeForecastTable(w io.Writer, r forecasteval.Result) {
	fmt.Fprintf(w, "%s: %d samples (%d gaps), step %gs; refit every %d steps on the preceding %d, an origin every %d, season %d; %.1fs\n",
		r.Trace, r.Samples, r.Gaps, r.Step, r.RefitSteps, r.TrainSteps, r.OriginSteps, r.SeasonSteps, r.Elapsed)
	for _, h := range r.Horizons {
		fmt.Fprintf(w, "\nhorizon %g min (%d steps), %d origins\n", h.Minutes, h.Steps, h.Origins)
		fmt.Fprintf(w, "  %-22s %10s %8s %7s\n", "model", "MAE", "MASE", "ratio")
		for _, name := range h.ModelNames() {
			sc, ok := h.Models[name]
			if !ok {
				continue
			}
			extra := ""
			if sc.Fallbacks > 0 {
				extra = fmt.Sprintf("  (%d refits fell back to seasonal naive)", sc.Fallbacks)
			}
			fmt.Fprintf(w, "  %-22s %10.3f %8.3f %7.3f%s\n", name, sc.MAE, sc.MASE, sc.Ratio, extra)
		}
	}
}
