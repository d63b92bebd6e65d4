// Command compare fits stuurman's forecasting models on the same backtest
// windows as bench/statsmodels_compare.py and prints, per window and model,
// the fit-and-forecast time and the MASE as JSON lines. It is the Go side
// of `make bench-compare`; run it alone with
//
//	go run ./bench/compare --trace TRACE.csv --origins 20160,30240,64800
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/stuurman/stuurman/forecast"
	"github.com/stuurman/stuurman/metrics"
)

// Row is one model's result on one window.
type Row struct {
	Origin     int     `json:"origin"`
	Model      string  `json:"model"`
	FitSeconds float64 `json:"fit_seconds"`
	MAE        float64 `json:"mae"`
	MASE       float64 `json:"mase"`
}

func main() {
	trace := flag.String("trace", "", "CSV trace (required)")
	originsFlag := flag.String("origins", "20160,30240,64800", "comma-separated forecast origins (sample indices)")
	train := flag.Int("train", 10080, "training window in steps")
	horizon := flag.Int("horizon", 60, "steps forecast from each origin")
	period := flag.Int("period", 1440, "season length in steps")
	flag.Parse()
	if err := run(*trace, *originsFlag, *train, *horizon, *period); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

func run(trace, originsFlag string, train, horizon, period int) error {
	if trace == "" {
		return fmt.Errorf("--trace is required")
	}
	s, err := metrics.ReadCSVFile(trace, metrics.CSVOptions{})
	if err != nil {
		return err
	}
	models := []forecast.Model{
		forecast.HoltWinters{}, // the same ETS(A,Ad,A) statsmodels fits
		forecast.SeasonalLevel{Horizon: horizon, Multiplicative: true},
		forecast.DoubleSeasonal{Horizon: horizon},
	}
	enc := json.NewEncoder(os.Stdout)
	for _, f := range strings.Split(originsFlag, ",") {
		o, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return fmt.Errorf("--origins: %w", err)
		}
		if o < train || o+horizon > s.Len() {
			return fmt.Errorf("origin %d: window outside the trace", o)
		}
		y := s.Values[o-train : o]
		actual := s.Values[o : o+horizon]
		scale := seasonalScale(y, period)
		for _, m := range models {
			p := period
			start := time.Now()
			st, err := m.Fit(y, p)
			if err != nil {
				return fmt.Errorf("origin %d: %s: %w", o, m.Name(), err)
			}
			fc := st.Forecast(make([]float64, horizon))
			el := time.Since(start).Seconds()
			mae := meanAbsErr(actual, fc)
			if err := enc.Encode(Row{Origin: o, Model: m.Name(), FitSeconds: el, MAE: mae, MASE: mae / scale}); err != nil {
				return err
			}
		}
	}
	return nil
}

// seasonalScale is the in-sample seasonal naive MAE, the MASE denominator.
func seasonalScale(y []float64, m int) float64 {
	var sum float64
	n := 0
	for t := m; t < len(y); t++ {
		if d := y[t] - y[t-m]; !math.IsNaN(d) {
			sum += math.Abs(d)
			n++
		}
	}
	return sum / float64(n)
}

func meanAbsErr(a, f []float64) float64 {
	var sum float64
	n := 0
	for i := range a {
		if !math.IsNaN(a[i]) {
			sum += math.Abs(a[i] - f[i])
			n++
		}
	}
	return sum / float64(n)
}
