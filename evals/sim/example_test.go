package sim_test

import (
	"context"
	"fmt"
	"time"

	"github.com/stuurman/stuurman/evals/sim"
	"github.com/stuurman/stuurman/metrics"
)

// ExampleRun replays a load step (14, then 100 requests per minute for
// 5 minutes, then 14 again) through the default Kubernetes HPA on pods
// that serve 10 each and start in a minute.
func ExampleRun() {
	var values []float64
	for i := range 30 {
		v := 14.0
		if i >= 5 && i < 10 {
			v = 100
		}
		values = append(values, v)
	}
	demand := metrics.Series{
		Name:   "requests_per_minute",
		Start:  time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC),
		Step:   time.Minute,
		Values: values,
	}
	hpa, err := sim.NewHPA(sim.HPAConfig{})
	if err != nil {
		panic(err)
	}
	res, err := sim.Run(context.Background(), demand,
		sim.Config{CapacityPerPod: 10, StartupDelay: time.Minute}, hpa)
	if err != nil {
		panic(err)
	}
	m := res.Scalers[0].Metrics
	fmt.Printf("tick %v, initial %d pods\n", res.Tick, res.Config.InitialReplicas)
	fmt.Printf("replica-hours %.2f, SLO violation %.2f min, actions %d\n", m.ReplicaHours, m.SLOViolationMinutes, m.Actions)
	fmt.Printf("θU %.1f%% θO %.1f%% τU %.1f%% τO %.1f%%\n", m.ThetaU, m.ThetaO, m.TauU, m.TauO)
	// Output:
	// tick 15s, initial 2 pods
	// replica-hours 3.06, SLO violation 2.25 min, actions 4
	// θU 5.7% θO 128.9% τU 7.5% τO 28.3%
}
