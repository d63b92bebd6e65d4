package controller

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the controller's own metrics, served on /metrics.
type Metrics struct {
	// Cycles counts control cycles per target by result: "ok" (the
	// pipeline ran), "hold" (no usable demand: nothing proposed), "error".
	Cycles *prometheus.CounterVec
	// Decisions counts the policy engine's decisions by verdict.
	Decisions *prometheus.CounterVec
	// Proposals counts the ActionProposals created, by their first phase.
	Proposals *prometheus.CounterVec
	// ActionsApplied counts actions applied to workloads, by action
	// (scale, restart).
	ActionsApplied *prometheus.CounterVec
	// Holds counts targets held for want of demand data, by reason
	// (StaleMetrics, NoData, QueryFailed).
	Holds *prometheus.CounterVec
	// ForecastMASE is the backtest MASE of each target's last forecast
	// (NaN: not measured).
	ForecastMASE *prometheus.GaugeVec
}

// NewMetrics creates the metrics and registers them with reg (nil: not
// registered, as in tests that read them directly).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		Cycles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "stuurman", Name: "cycles_total",
			Help: "Control cycles run per target, by result (ok, hold, error).",
		}, []string{"result"}),
		Decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "stuurman", Name: "decisions_total",
			Help: "Policy engine decisions, by verdict (allow, deny, needs_approval).",
		}, []string{"verdict"}),
		Proposals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "stuurman", Name: "proposals_created_total",
			Help: "ActionProposals created, by their first phase.",
		}, []string{"phase"}),
		ActionsApplied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "stuurman", Name: "actions_applied_total",
			Help: "Actions applied to workloads, by action (scale, restart).",
		}, []string{"action"}),
		Holds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "stuurman", Name: "metric_holds_total",
			Help: "Targets held for want of usable demand data, by reason.",
		}, []string{"reason"}),
		ForecastMASE: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "stuurman", Name: "forecast_mase",
			Help: "Backtest mean absolute scaled error of the target's last forecast (NaN: not measured).",
		}, []string{"namespace", "policy", "target"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.Cycles, m.Decisions, m.Proposals, m.ActionsApplied, m.Holds, m.ForecastMASE} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
