package forecasteval

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stuurman/stuurman/forecast"
	"github.com/stuurman/stuurman/metrics"
)

// trace returns days of 10-minute counts with a daily sine and noise.
func trace(days int) metrics.Series {
	rng := rand.New(rand.NewPCG(2, 2))
	n := days * 144
	y := make([]float64, n)
	for i := range y {
		mean := 100 * (1 + 0.5*math.Sin(2*math.Pi*float64(i%144)/144))
		y[i] = math.Round(mean + math.Sqrt(mean)*rng.NormFloat64())
	}
	if n > 300 {
		y[300] = math.NaN()
	}
	return metrics.Series{Name: "synthetic", Start: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Step: 10 * time.Minute, Values: y}
}

func TestRun(t *testing.T) {
	s := trace(6)
	in := s.Clone()
	res, err := Run(context.Background(), s, Options{
		Horizons:    []time.Duration{10 * time.Minute, 25 * time.Minute},
		TrainWindow: 3 * 24 * time.Hour,
		RefitEvery:  12 * time.Hour,
		OriginEvery: 20 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.TrainSteps != 432 || res.RefitSteps != 72 || res.OriginSteps != 2 || res.SeasonSteps != 144 {
		t.Errorf("steps %+v", res)
	}
	if len(res.Horizons) != 2 || res.Horizons[1].Steps != 3 { // 25 min rounds up to 3 steps
		t.Fatalf("horizons %+v", res.Horizons)
	}
	for _, h := range res.Horizons {
		if h.Origins < 200 {
			t.Errorf("%d origins", h.Origins)
		}
		n, sn := h.Models[Naive], h.Models[SeasonalNaive]
		if math.Min(n.Ratio, sn.Ratio) != 1 {
			t.Errorf("baseline ratios %g %g", n.Ratio, sn.Ratio)
		}
		for _, name := range []string{Auto, "seasonal_level", "holt_winters"} {
			if sc := h.Models[name]; !(sc.Ratio < 1) {
				t.Errorf("%d steps: %s ratio %.3f, want < 1", h.Steps, name, sc.Ratio)
			}
		}
		if h.Models["double_seasonal"].Fallbacks == 0 {
			t.Error("a weekly season fitted on three days")
		}
		chosen := 0
		for _, c := range h.Models[Auto].Chosen {
			chosen += c
		}
		if chosen != h.Origins {
			t.Errorf("auto chose %d times for %d origins", chosen, h.Origins)
		}
	}
	for i := range s.Values {
		if a, b := s.Values[i], in.Values[i]; a != b && !(math.IsNaN(a) && math.IsNaN(b)) {
			t.Fatalf("input changed at %d", i)
		}
	}
}

func TestRunErrors(t *testing.T) {
	if _, err := Run(context.Background(), trace(2), Options{}); !errors.Is(err, forecast.ErrTooShort) {
		t.Errorf("two days with a week's window: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, trace(6), Options{TrainWindow: 72 * time.Hour}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
