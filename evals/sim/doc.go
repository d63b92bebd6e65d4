// Package sim replays a demand trace through a simulated workload with
// several scalers side by side — a faithful Kubernetes HPA v2 baseline and
// the stuurman pipeline — and measures each: replica-hours, SLO-violation
// minutes, the SPEC elasticity metrics and the number of scaling actions.
//
// Scalers see only the past: at decision time t a scaler observes the
// samples complete at t, never a later one.
//
// It sits in the measure stage (evals/): Run takes a metrics.Series and
// any number of Scaler values, each of which gets its own workload; HPA
// (built by NewHPA) is the baseline, a model of the controller's
// reconcile loop with the documented default behavior. Results are plain
// values (Result, ScalerResult, Metrics) for the report stage to render.
//
// Speed: one per-minute week (10 080 samples, 40 320 HPA syncs) takes
// about 10 ms and 176 kB on one core of an AMD EPYC:
//
//	go test -run '^$' -bench BenchmarkRunHPA -benchmem ./evals/sim/
package sim
