package agents

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stuurman/stuurman/forecast"
	"github.com/stuurman/stuurman/metrics"
)

func TestHeuristic(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	hist := func(last float64) metrics.Series {
		return metrics.Series{Start: now.Add(-3 * time.Minute), Step: time.Minute, Values: []float64{10, 20, last}}
	}
	fc := func(upper []float64, mase float64, history int) forecast.Forecast {
		return forecast.Forecast{Start: now, Step: time.Minute, Point: upper, Lower: upper, Upper: upper, MASE: mase, History: history, Model: "m"}
	}
	tests := []struct {
		name     string
		cur      int
		demand   metrics.Series
		fc       forecast.Forecast
		want     Action
		inReason string
	}{
		// upper 450 over the 3-minute lead time at 100/pod: 5 pods; latest 200 / 90 = 3
		{"predictive scale up", 2, hist(200), fc([]float64{300, 450, 400, 9999}, 0.5, 5000), Action{Kind: ActionScale, Replicas: 5}, "scale 2 → 5"},
		// the 4th horizon (9999) is beyond the lead time and must be ignored; scale down to 3 (reactive floor)
		{"reactive floor", 8, hist(250), fc([]float64{100, 100, 100, 9999}, 0.5, 5000), Action{Kind: ActionScale, Replicas: 3}, "reactive floor"},
		{"hold when equal", 5, hist(200), fc([]float64{450, 450, 450}, 0.5, 5000), Action{Kind: ActionHold}, "hold"},
		{"untrusted MASE: reactive only", 8, hist(100), fc([]float64{1000, 1000, 1000}, 3, 5000), Action{Kind: ActionScale, Replicas: 2}, "MASE 3.00 above 1.00"},
		{"untrusted: hold when reactive matches", 2, hist(100), fc([]float64{1000, 1000, 1000}, 3, 5000), Action{Kind: ActionHold}, "hold"},
		{"untrusted NaN MASE: reactive up", 1, hist(450), fc([]float64{100, 100, 100}, math.NaN(), 5000), Action{Kind: ActionScale, Replicas: 5}, "backtest error unknown"},
		{"short history", 8, hist(100), fc([]float64{1000, 1000, 1000}, 0.5, 100), Action{Kind: ActionScale, Replicas: 2}, "fewer than 2880"},
		{"no forecast", 3, hist(100), forecast.Forecast{}, Action{Kind: ActionScale, Replicas: 2}, "no forecast"},
		{"no observation", 3, metrics.Series{Start: now, Step: time.Minute, Values: []float64{math.NaN()}}, fc([]float64{1000}, 0.5, 5000), Action{Kind: ActionHold}, "no demand observed"},
	}
	h, err := NewHeuristic(HeuristicConfig{ReactiveUtilization: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Situation{Now: now, State: WorkloadState{Replicas: tc.cur, CapacityPerPod: 100}, Demand: tc.demand, Forecast: tc.fc, LeadTime: 3 * time.Minute}
			ps, err := h.Propose(context.Background(), s)
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) != 1 {
				t.Fatalf("%d proposals, want 1", len(ps))
			}
			p := ps[0]
			if p.Action != tc.want || p.From != tc.cur || p.Agent != "heuristic" {
				t.Fatalf("proposal %+v, want action %+v from %d", p, tc.want, tc.cur)
			}
			if !strings.Contains(p.Reason, tc.inReason) {
				t.Errorf("reason %q lacks %q", p.Reason, tc.inReason)
			}
			if p.Confidence < 0 || p.Confidence > 1 {
				t.Errorf("confidence %v outside [0,1]", p.Confidence)
			}
		})
	}
}

func TestHeuristicConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		cfg   HeuristicConfig
		field string
	}{
		{HeuristicConfig{ReactiveUtilization: 1.5}, "ReactiveUtilization"},
		{HeuristicConfig{MaxMASE: -1}, "MaxMASE"},
		{HeuristicConfig{MinHistory: -1}, "MinHistory"},
	} {
		if _, err := NewHeuristic(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("NewHeuristic(%+v) = %v, want an error naming %s", tc.cfg, err, tc.field)
		}
	}
}

func TestHeuristicRestartBeforeOOM(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	flat := []float64{300, 300, 300}
	oom := func(subject string, eta, low time.Duration) forecast.Finding {
		return forecast.Finding{Kind: forecast.FindingTrendToThreshold, Subject: subject, Time: now, ETA: eta, ETALow: low, Confidence: 0.9}
	}
	tests := []struct {
		name     string
		finding  forecast.Finding
		pdb      *PDBStatus
		recent   []ActionRecord
		restart  bool
		inReason string
	}{
		{"memory within window", oom("memory of cart (OOM)", 90*time.Minute, 0), nil, nil, true, ""},
		{"low bound within window", oom("memory", 10*time.Hour, 3*time.Hour), nil, nil, true, ""},
		{"too far", oom("memory", 48*time.Hour, 0), nil, nil, false, ""},
		{"disk is not fixed by a restart", oom("disk /var/lib", time.Hour, 0), nil, nil, false, ""},
		{"PDB allows none", oom("memory", time.Hour, 0), &PDBStatus{Name: "cart", DisruptionsAllowed: 0}, nil, false, "allows no disruption"},
		{"restarted recently", oom("memory", time.Hour, 0), nil, []ActionRecord{{Time: now.Add(-30 * time.Minute), Action: Action{Kind: ActionRestart}}}, false, "applied 30m0s ago"},
	}
	h, err := NewHeuristic(HeuristicConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Situation{
				Now: now, State: WorkloadState{Replicas: 4, CapacityPerPod: 100, PDB: tc.pdb},
				Demand:   metrics.Series{Start: now.Add(-3 * time.Minute), Step: time.Minute, Values: flat},
				Forecast: forecast.Forecast{Start: now, Step: time.Minute, Point: flat, Lower: flat, Upper: flat, MASE: 0.5, History: 5000},
				LeadTime: 3 * time.Minute, Findings: []forecast.Finding{tc.finding}, RecentActions: tc.recent,
			}
			ps, err := h.Propose(context.Background(), s)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(ps) == 2 && ps[1].Action.Kind == ActionRestart; got != tc.restart {
				t.Fatalf("restart proposed: %v, want %v (%+v)", got, tc.restart, ps)
			}
			if ps[0].Action.Kind == ActionRestart {
				t.Fatal("the first proposal must be the scale or hold")
			}
			if !strings.Contains(ps[0].Reason, tc.inReason) {
				t.Errorf("reason %q lacks %q", ps[0].Reason, tc.inReason)
			}
		})
	}
}
