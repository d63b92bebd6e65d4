package report

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/stuurman/stuurman/agents"
	"github.com/stuurman/stuurman/evals/sim"
	"github.com/stuurman/stuurman/forecast"
	"github.com/stuurman/stuurman/metrics"
	"github.com/stuurman/stuurman/policies"
)

var (
	nan = math.NaN()
	t0  = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
)

// smallReport is a hand-built report: 20 one-minute samples with a gap at
// samples 8 and 9, two scalers, a band that starts at sample 3, two
// decisions and one finding, some with NaN evidence.
func smallReport() Report {
	values := []float64{10, 12, 14, 13, 15, 18, 20, 22, nan, nan, 25, 27, 26, 24, 22, 20, 18, 16, 15, 14}
	n := len(values)
	point, lower, upper := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range point {
		if i < 3 {
			point[i], lower[i], upper[i] = nan, nan, nan
			continue
		}
		point[i], lower[i], upper[i] = 20, 15, 25
	}
	pods := func(k float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = k + float64(i%3)
		}
		return out
	}
	dec := []policies.Decision{
		{
			Time: t0.Add(5 * time.Minute),
			Proposal: agents.Proposal{
				Workload:   agents.Workload{Kind: "Deployment", Name: "web"},
				Action:     agents.Action{Kind: agents.ActionScale, Replicas: 9},
				From:       3,
				Reason:     "forecast upper bound 25 needs 9 pods | within lead time",
				Evidence:   map[string]float64{"upper": 25, "mase": nan},
				Confidence: 0.8,
				Agent:      "heuristic",
			},
			Verdict: policies.Allow,
			Action:  agents.Action{Kind: agents.ActionScale, Replicas: 6},
			Rules: []policies.RuleResult{
				{Rule: "action", Outcome: policies.Pass, Reason: "scale from 3 to 9 proposed by heuristic"},
				{Rule: "scaleUp.step", Outcome: policies.Clamp, Reason: "step of +6 clamped to +3"},
			},
			PolicyHash: "abc123",
		},
		{
			Time: t0.Add(12 * time.Minute),
			Proposal: agents.Proposal{
				Workload:   agents.Workload{Kind: "Deployment", Name: "web"},
				Action:     agents.Action{Kind: agents.ActionScale, Replicas: 4},
				From:       6,
				Reason:     "demand falling",
				Confidence: 0.6,
				Agent:      "heuristic",
			},
			Verdict: policies.Deny,
			Action:  agents.Action{Kind: agents.ActionHold},
			Rules: []policies.RuleResult{
				{Rule: "scaleDown.cooldown", Outcome: policies.Block, Reason: "last scaleDown was 2m0s ago, cooldown is 5m0s"},
			},
			PolicyHash: "abc123",
		},
	}
	return Report{
		Title:      "stuurman dry run: <script>alert(1)</script>",
		Source:     "testdata/small.csv",
		Generated:  time.Date(2024, 3, 2, 9, 30, 0, 0, time.UTC),
		Parameters: []Parameter{{Name: "capacity-per-pod", Value: "4"}, {Name: "startup-delay", Value: "2m"}},
		Demand:     metrics.Series{Name: "requests_per_minute", Start: t0, Step: time.Minute, Values: values},
		Sim: sim.Result{Scalers: []sim.ScalerResult{
			{Name: "hpa", Metrics: sim.Metrics{ReplicaHours: 100, SLOViolationMinutes: 30.5, ThetaU: 12.5, ThetaO: 40, TauU: 10, TauO: 80, Actions: 14}, Pods: pods(4), Ready: pods(3)},
			{Name: "stuurman", Metrics: sim.Metrics{ReplicaHours: 93, SLOViolationMinutes: 11.895, ThetaU: 4, ThetaO: nan, TauU: 3, TauO: 90, Actions: 7}, Pods: pods(5), Ready: pods(5)},
		}},
		Band:           Band{Point: point, Lower: lower, Upper: upper, Coverage: 0.9},
		Forecast:       ForecastSummary{Model: "holt_winters_damped", MASE: nan, Period: 1440, MeanMASE: 0.75, Note: "cold start"},
		Decisions:      dec,
		DecisionCount:  17,
		Findings:       []forecast.Finding{{Kind: forecast.FindingAnomaly, Subject: "web", Severity: forecast.SeverityWarning, Time: t0.Add(11 * time.Minute), Evidence: map[string]float64{"observed": 27, "robust_z": nan}, Summary: "demand 27 far above expected 18"}},
		CapacityPerPod: 4,
	}
}

// syntheticReport is a report over n one-minute samples of a daily cycle
// with noise and a few gaps, two scalers and a forecast band.
func syntheticReport(n int) Report {
	rng := rand.New(rand.NewPCG(1, 2))
	values := make([]float64, n)
	point, lower, upper := make([]float64, n), make([]float64, n), make([]float64, n)
	hpa, st := make([]float64, n), make([]float64, n)
	for i := range values {
		day := 2 * math.Pi * float64(i) / 1440
		v := 400 + 300*math.Sin(day) + 40*rng.NormFloat64()
		values[i] = math.Max(0, v)
		point[i] = 400 + 300*math.Sin(day)
		lower[i], upper[i] = point[i]-60, point[i]+60
		hpa[i] = math.Ceil(values[max(0, i-5)] / 70)
		st[i] = math.Ceil(upper[i] / 80)
	}
	for i := 5000; i < 5300; i++ { // an outage of five hours
		values[i] = nan
	}
	for i := 0; i < 20; i++ {
		values[rng.IntN(n)] = nan
	}
	for i := 0; i < 60; i++ {
		point[i], lower[i], upper[i] = nan, nan, nan
	}
	var ds []policies.Decision
	for i := 0; i < 400; i++ {
		ds = append(ds, policies.Decision{
			Time:     t0.Add(time.Duration(i*n/400) * time.Minute),
			Proposal: agents.Proposal{Action: agents.Action{Kind: agents.ActionScale, Replicas: 5 + i%7}, From: 5, Reason: "forecast", Agent: "heuristic"},
			Verdict:  policies.Allow,
			Action:   agents.Action{Kind: agents.ActionScale, Replicas: 5 + i%7},
		})
	}
	return Report{
		Title:  "stuurman dry run: synthetic",
		Source: "synthetic",
		Demand: metrics.Series{Name: "requests_per_minute", Start: t0, Step: time.Minute, Values: values},
		Sim: sim.Result{
			Config: sim.Config{CapacityPerPod: 60},
			Scalers: []sim.ScalerResult{
				{Name: "hpa", Metrics: sim.Metrics{ReplicaHours: 9000, SLOViolationMinutes: 800}, Pods: hpa, Ready: hpa},
				{Name: "stuurman", Metrics: sim.Metrics{ReplicaHours: 8500, SLOViolationMinutes: 300}, Pods: st, Ready: st},
			},
		},
		Band:          Band{Point: point, Lower: lower, Upper: upper, Coverage: 0.9},
		Forecast:      ForecastSummary{Model: "seasonal_naive", MASE: 0.8, Period: 1440, MeanMASE: 0.85},
		Decisions:     ds,
		DecisionCount: n / 5,
	}
}
