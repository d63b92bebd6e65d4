package report

import (
	"time"

	"github.com/stuurman/stuurman/evals/sim"
	"github.com/stuurman/stuurman/forecast"
	"github.com/stuurman/stuurman/metrics"
	"github.com/stuurman/stuurman/policies"
)

// Report is everything a dry-run report shows. It is a value assembled by
// the caller (cmd/stuurman) from the pipeline's and the simulator's outputs;
// this package only renders it.
type Report struct {
	// Title heads the report, e.g. "stuurman dry run: nasa_http_1995".
	Title string
	// Source names the input (a trace file, a Prometheus query).
	Source string
	// Generated is when the report was made (injected, not read here).
	Generated time.Time
	// Parameters are the run's settings, shown as a table, in order.
	Parameters []Parameter
	// Demand is the replayed demand.
	Demand metrics.Series
	// Sim holds each scaler's metrics and per-sample pods.
	Sim sim.Result
	// Band is stuurman's forecast as it was at each sample, for the plot:
	// the forecast for sample i made LeadTime earlier (NaN where none).
	Band Band
	// Forecast summarises the model in use at the end of the replay.
	Forecast ForecastSummary
	// Decisions are the policy decisions worth reading: every one that
	// changed the workload or was clamped or denied.
	Decisions []policies.Decision
	// DecisionCount is the number of decisions made in all (holds too).
	DecisionCount int
	// Findings the model stage raised during the replay.
	Findings []forecast.Finding
	// CapacityPerPod is the demand one ready pod serves within its SLO, in
	// the demand's units per step; the plots draw each scaler's capacity as
	// Ready × CapacityPerPod. Zero means Sim.Config.CapacityPerPod; when
	// both are zero no capacity is drawn.
	CapacityPerPod float64
	// DecisionRows caps the decisions table of the Markdown and HTML
	// reports (the JSON holds every decision). Zero means 50; negative
	// means no table.
	DecisionRows int
}

// Parameter is one named setting of the run.
type Parameter struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Band is a forecast band aligned with Report.Demand: one entry per sample.
type Band struct {
	Point, Lower, Upper []float64
	// Coverage is the band's nominal central coverage.
	Coverage float64
}

// ForecastSummary describes the forecasting model.
type ForecastSummary struct {
	Model  string  `json:"model"`
	MASE   float64 `json:"mase"`
	Period int     `json:"period"`
	// MeanMASE averages the backtest MASE over every refit of the replay.
	MeanMASE float64 `json:"mean_mase"`
	Note     string  `json:"note,omitempty"`
}
