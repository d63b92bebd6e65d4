package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeTrace writes a synthetic per-minute trace: a daily sine around 50
// with Poisson-like noise, a gap and a short outage.
func writeTrace(t *testing.T, days int) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 1))
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	start := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	for i := range days * 1440 {
		if i >= 2000 && i < 2030 {
			continue // missing rows: a gap
		}
		mean := 50 * (1 + 0.6*math.Sin(2*math.Pi*float64(i%1440)/1440))
		v := math.Max(0, math.Round(mean+math.Sqrt(mean)*rng.NormFloat64()))
		if i >= 3000 && i < 3060 {
			v = 0 // an outage
		}
		fmt.Fprintf(&b, "%s,%g\n", start.Add(time.Duration(i)*time.Minute).Format(time.RFC3339), v)
	}
	path := filepath.Join(t.TempDir(), "synthetic.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestEvalForecast(t *testing.T) {
	trace := writeTrace(t, 5)
	dir := t.TempDir()
	out, err := run(t, "eval", "forecast", "--trace", trace, "--out", dir,
		"--train-window", "72h", "--refit-every", "12h", "--horizon", "5m,1h")
	if err != nil {
		t.Fatalf("eval forecast: %v\n%s", err, out)
	}
	for _, want := range []string{"horizon 5 min (5 steps)", "horizon 60 min (60 steps)", "seasonal_naive", "auto", "results: " + filepath.Join(dir, "forecast.json")} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "forecast.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Horizons []struct {
			Minutes float64
			Models  map[string]struct{ MAE, Ratio float64 }
		}
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Horizons) != 2 || got.Horizons[0].Minutes != 5 || got.Horizons[1].Minutes != 60 {
		t.Fatalf("horizons %+v", got.Horizons)
	}
	for _, h := range got.Horizons {
		n, sn, auto := h.Models["naive"], h.Models["seasonal_naive"], h.Models["auto"]
		if !(n.MAE > 0 && sn.MAE > 0 && auto.MAE > 0) {
			t.Fatalf("%g min: naive %+v seasonal naive %+v auto %+v", h.Minutes, n, sn, auto)
		}
		if r := math.Min(n.Ratio, sn.Ratio); r != 1 {
			t.Errorf("%g min: the better baseline's ratio is %g, want 1", h.Minutes, r)
		}
		// On a smooth daily mean with count noise, forecasting the mean
		// beats both baselines.
		if auto.Ratio >= 1 {
			t.Errorf("%g min: auto ratio %.3f, want < 1", h.Minutes, auto.Ratio)
		}
	}
}

func TestEvalForecastFlags(t *testing.T) {
	for _, args := range [][]string{
		{"eval", "forecast", "--out", t.TempDir()},
		{"eval", "forecast", "--trace", "x.csv", "--out", t.TempDir(), "--train-window", "0s"},
		{"eval", "forecast", "--trace", "x.csv", "--out", t.TempDir(), "--horizon", "-5m"},
	} {
		if _, err := run(t, args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
