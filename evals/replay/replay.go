package replay

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/stuurman/stuurman/actuators"
	"github.com/stuurman/stuurman/agents"
	"github.com/stuurman/stuurman/evals/sim"
	"github.com/stuurman/stuurman/forecast"
	"github.com/stuurman/stuurman/metrics"
	"github.com/stuurman/stuurman/pipeline"
	"github.com/stuurman/stuurman/policies"
	"github.com/stuurman/stuurman/report"
)

// Options configure a replay. The zero value of each optional field selects
// the default documented on it.
type Options struct {
	// CapacityPerPod is the demand (trace units per step) one pod serves
	// within its SLO. Required, > 0.
	CapacityPerPod float64
	// StartupDelay is a new pod's time to ready. Default 2m.
	StartupDelay time.Duration
	// Interval is stuurman's decision interval. Default 1m.
	Interval time.Duration
	// LeadTime is how far ahead stuurman provisions. Default StartupDelay
	// + Interval.
	LeadTime time.Duration
	// HPATarget is the HPA baseline's target utilisation. Default 0.7.
	HPATarget float64
	// Policy gates stuurman's proposals. Its replica bounds bound the HPA
	// baseline too, as an HPA's minReplicas and maxReplicas would, so both
	// scalers play by the same limits. Default policies.Default() with
	// MaxReplicas raised to MaxReplicas.
	Policy *policies.Policy
	// MaxReplicas is the default policy's upper bound. Default 10000.
	MaxReplicas int
	// Forecast configures the forecaster; Horizon defaults to the lead
	// time in steps.
	Forecast forecast.Config
	// Agent configures the heuristic agent.
	Agent agents.HeuristicConfig
	// Progress, when set, receives (samples done, total).
	Progress func(done, total int)
	// RecordDecisions keeps every scaler's every recommendation in the
	// result (sim.ScalerResult.Decisions); memory grows with the trace.
	RecordDecisions bool
	// Workload is the workload the proposals and decisions name. Default
	// (an empty Name): kind "Trace", named after the demand series.
	Workload agents.Workload
}

func (o Options) withDefaults(step time.Duration) Options {
	if o.StartupDelay == 0 {
		o.StartupDelay = 2 * time.Minute
	}
	if o.Interval == 0 {
		o.Interval = time.Minute
	}
	if o.LeadTime == 0 {
		o.LeadTime = o.StartupDelay + o.Interval
	}
	if o.HPATarget == 0 {
		o.HPATarget = 0.7
	}
	if o.MaxReplicas == 0 {
		o.MaxReplicas = 10000
	}
	if o.Policy == nil {
		p := policies.Default()
		p.MaxReplicas = o.MaxReplicas
		o.Policy = &p
	}
	if o.Forecast.Horizon == 0 {
		o.Forecast.Horizon = max(1, int(math.Ceil(float64(o.LeadTime)/float64(step))))
	}
	return o
}

// Run replays demand through the HPA baseline and the stuurman pipeline and
// returns the report. now stamps the report.
func Run(ctx context.Context, demand metrics.Series, o Options, now time.Time) (report.Report, error) {
	if demand.Len() == 0 {
		return report.Report{}, fmt.Errorf("replay: the trace %q has no samples", demand.Name)
	}
	if !(o.CapacityPerPod > 0) {
		return report.Report{}, fmt.Errorf("replay: CapacityPerPod: must be > 0, got %v", o.CapacityPerPod)
	}
	o = o.withDefaults(demand.Step)

	hpa, err := sim.NewHPA(sim.HPAConfig{TargetUtilization: o.HPATarget})
	if err != nil {
		return report.Report{}, err
	}
	fc, err := forecast.NewForecaster(o.Forecast)
	if err != nil {
		return report.Report{}, err
	}
	agent, err := agents.NewHeuristic(o.Agent)
	if err != nil {
		return report.Report{}, err
	}
	engine, err := policies.NewEngine(*o.Policy)
	if err != nil {
		return report.Report{}, err
	}
	rec := actuators.NewRecorder(actuators.Notable)
	act := simulated{rec}
	wl := o.Workload
	if wl.Name == "" {
		wl = agents.Workload{Kind: "Trace", Name: demand.Name}
	}
	detector, err := forecast.NewAnomalyDetector(forecast.AnomalyConfig{})
	if err != nil {
		return report.Report{}, err
	}
	p, err := pipeline.New(pipeline.Config{Workload: wl, CapacityPerPod: o.CapacityPerPod, LeadTime: o.LeadTime, Detector: detector}, fc, agent, engine, act)
	if err != nil {
		return report.Report{}, err
	}
	st := &Scaler{pipeline: p, interval: o.Interval, leadSteps: o.Forecast.Horizon, band: newBand(demand.Len())}

	res, err := sim.Run(ctx, demand, sim.Config{
		CapacityPerPod:  o.CapacityPerPod,
		StartupDelay:    o.StartupDelay,
		MinReplicas:     max(1, o.Policy.MinReplicas),
		MaxReplicas:     o.Policy.MaxReplicas,
		Progress:        o.Progress,
		RecordDecisions: o.RecordDecisions,
	}, hpa, st)
	if err != nil {
		return report.Report{}, err
	}

	var decisions []policies.Decision
	for _, r := range rec.Results() {
		decisions = append(decisions, r.Decision)
	}
	pol := engine.Policy()
	r := report.Report{
		Title:          "stuurman dry run: " + demand.Name,
		Source:         demand.Labels["source"],
		Generated:      now,
		Demand:         demand,
		CapacityPerPod: o.CapacityPerPod,
		Sim:            res,
		Band:           st.band,
		Forecast: report.ForecastSummary{
			Model: st.last.Model, MASE: st.last.MASE, Period: st.last.Period, Note: st.last.Note,
			MeanMASE: st.maseSum / float64(max(st.maseN, 1)),
		},
		Decisions:     decisions,
		DecisionCount: rec.Total(),
		Findings:      st.findings,
		Parameters: []report.Parameter{
			{Name: "samples", Value: fmt.Sprintf("%d × %v from %s (%d gaps)", demand.Len(), demand.Step, demand.Start.Format(time.RFC3339), demand.Gaps())},
			{Name: "capacity per pod", Value: strconv.FormatFloat(o.CapacityPerPod, 'g', -1, 64)},
			{Name: "pod start-up delay", Value: o.StartupDelay.String()},
			{Name: "stuurman decision interval", Value: o.Interval.String()},
			{Name: "stuurman lead time", Value: o.LeadTime.String()},
			{Name: "forecast coverage", Value: strconv.FormatFloat(st.band.Coverage, 'g', -1, 64)},
			{Name: "HPA target utilisation", Value: strconv.FormatFloat(o.HPATarget, 'g', -1, 64)},
			{Name: "HPA behaviour", Value: "Kubernetes defaults: up 0s window, max(100%, 4 pods)/15s; down 300s window, 100%/15s; tolerance 0.1"},
			{Name: "policy", Value: fmt.Sprintf("replicas [%d, %d], up step %d/%v%%, down step %d/%v%%, down window %v (hash %s)",
				pol.MinReplicas, pol.MaxReplicas, pol.ScaleUp.MaxStep, pol.ScaleUp.MaxStepPercent,
				pol.ScaleDown.MaxStep, pol.ScaleDown.MaxStepPercent, pol.ScaleDown.StabilizationWindow, pol.Hash())},
		},
	}
	if st.maseN == 0 {
		r.Forecast.MeanMASE = math.NaN()
	}
	return r, nil
}

// simulated is the replay's actuator: the simulator carries out every
// decision that changes the workload, so they are reported applied; the
// recorder keeps them for the report.
type simulated struct{ *actuators.Recorder }

func (s simulated) Apply(ctx context.Context, d policies.Decision) (actuators.Result, error) {
	res, err := s.Recorder.Apply(ctx, d)
	res.Applied, res.Actor = d.Changes(), "simulator"
	return res, err
}

// Scaler adapts the pipeline to the simulator: at each decision it runs one
// control cycle on what the simulator lets it observe and returns the
// replica count the decision leaves. It records the forecast band.
type Scaler struct {
	pipeline  *pipeline.Pipeline
	interval  time.Duration
	leadSteps int
	band      report.Band
	last      forecast.Forecast
	maseSum   float64
	maseN     int
	findings  []forecast.Finding
}

var _ sim.Scaler = (*Scaler)(nil)

// Name returns "stuurman".
func (s *Scaler) Name() string { return "stuurman" }

// Interval returns the decision interval.
func (s *Scaler) Interval() time.Duration { return s.interval }

// Recommend runs one control cycle.
func (s *Scaler) Recommend(ctx context.Context, obs sim.Observation) (int, error) {
	out, err := s.pipeline.Cycle(ctx, obs.Now, obs.Demand, agents.WorkloadState{Replicas: obs.Replicas, Ready: obs.Ready})
	if err != nil {
		return obs.Replicas, err
	}
	s.findings = append(s.findings, out.Findings...)
	f := out.Forecast
	if f.Len() > 0 {
		s.last = f
		if !math.IsNaN(f.MASE) {
			s.maseSum += f.MASE
			s.maseN++
		}
		s.band.Coverage = f.Coverage
		h := min(s.leadSteps, f.Len())
		if i := obs.Demand.Len() - 1 + h; i < len(s.band.Point) && h > 0 {
			s.band.Point[i], s.band.Lower[i], s.band.Upper[i] = f.Point[h-1], f.Lower[h-1], f.Upper[h-1]
		}
	}
	target := obs.Replicas
	for _, d := range out.Decisions {
		if d.Changes() && d.Action.Kind == agents.ActionScale {
			target = d.Action.Replicas
		}
	}
	return target, nil
}

func newBand(n int) report.Band {
	b := report.Band{Point: make([]float64, n), Lower: make([]float64, n), Upper: make([]float64, n)}
	for i := range n {
		b.Point[i], b.Lower[i], b.Upper[i] = math.NaN(), math.NaN(), math.NaN()
	}
	return b
}
