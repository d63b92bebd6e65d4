package sim

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/stuurman/stuurman/metrics"
)

// Defaults of Config, applied by Run (see the fields' documentation).
const (
	defaultStartupDelay = 2 * time.Minute
	defaultMinReplicas  = 1
	defaultMaxReplicas  = 10000
	// initialUtilisation sizes the default InitialReplicas.
	initialUtilisation = 0.7
	// maxTicksPerSample bounds the simulation clock's resolution: a trace
	// step and intervals whose gcd is tiny would make Run crawl.
	maxTicksPerSample = 100000
)

// Run replays demand through one independent simulated workload per
// scaler and measures each (see Metrics).
//
// The simulation clock starts at demand.Start and ticks every Δt, the
// greatest common divisor of demand.Step and every scaler's Interval (15 s
// for the HPA on a per-minute trace), until demand.End(). The demand is
// constant within a trace sample. At each tick, in this order:
//
//  1. pods whose startup has finished become ready;
//  2. each scaler whose Interval divides the time since demand.Start gets
//     an Observation holding demand.Until(now) — only the samples complete
//     at now — and its workload's desired and ready counts; its answer is
//     clamped to [MinReplicas, MaxReplicas]. Scaling up creates pods that
//     become ready StartupDelay later; scaling down removes pods at once,
//     not-yet-ready ones first (newest first), then ready ones, as a
//     ReplicaSet does;
//  3. the tick's interval [now, now+Δt) is accounted with the state after
//     the decisions.
//
// Scalers are called in argument order at a tick, but each drives its own
// workload, so the order does not matter. A scaler keeping state (such as
// *HPA) must not be passed twice or shared between concurrent Runs.
//
// Run returns an error naming the field for an invalid cfg or trace, the
// scaler's error wrapped with its name, or ctx's error once it is done.
func Run(ctx context.Context, demand metrics.Series, cfg Config, scalers ...Scaler) (Result, error) {
	if err := validateDemand(demand); err != nil {
		return Result{}, err
	}
	cfg, err := cfg.withDefaults(demand)
	if err != nil {
		return Result{}, err
	}
	tick, err := clockTick(demand.Step, scalers)
	if err != nil {
		return Result{}, err
	}

	n := demand.Len()
	perSample := int64(demand.Step / tick)
	delayTicks := int64((cfg.StartupDelay + tick - 1) / tick)
	lanes := make([]*lane, len(scalers))
	for i, s := range scalers {
		lanes[i] = &lane{
			scaler: s,
			every:  int64(s.Interval() / tick),
			pods:   workload{ready: cfg.InitialReplicas},
			res: ScalerResult{
				Name:  s.Name(),
				Pods:  make([]float64, n),
				Ready: make([]float64, n),
			},
		}
	}

	progressEvery := max(1, n/100)
	k := int64(0) // tick index since demand.Start
	for i, v := range demand.Values {
		if err := ctx.Err(); err != nil {
			return Result{}, fmt.Errorf("sim: at sample %d of %d: %w", i, n, err)
		}
		d := -1 // demanded pods; -1 for a gap
		if !math.IsNaN(v) {
			d = wholeCeil(v / cfg.CapacityPerPod)
		}
		for range perSample {
			now := demand.Start.Add(time.Duration(k) * tick)
			for _, l := range lanes {
				if err := l.step(ctx, demand, cfg, now, k, delayTicks, d); err != nil {
					return Result{}, err
				}
			}
			k++
		}
		for _, l := range lanes {
			l.closeSample(i, perSample)
		}
		if cfg.Progress != nil && ((i+1)%progressEvery == 0 || i+1 == n) {
			cfg.Progress(i+1, n)
		}
	}

	res := Result{Demand: demand, Config: cfg, Tick: tick, Scalers: make([]ScalerResult, len(lanes))}
	for i, l := range lanes {
		res.Scalers[i] = l.result(tick)
	}
	return res, nil
}

// lane is one scaler with its own workload and tallies.
type lane struct {
	scaler Scaler
	every  int64 // Interval in ticks
	pods   workload
	res    ScalerResult

	// Running and ready pod-ticks within the current sample.
	sampleRunning, sampleReady int64
	// Whole-run tallies, in ticks (or pod-ticks) of Δt.
	runningTicks int64   // Σ running
	observed     int64   // non-gap ticks (T / Δt)
	under, over  int64   // ticks with s < d, s > d
	thetaU       float64 // Σ max(d−s,0)/max(d,1)
	thetaO       float64 // Σ max(s−d,0)/max(d,1)
}

// step runs tick k (time now) for the lane; d is the demanded pods of the
// tick's sample, -1 for a gap.
func (l *lane) step(ctx context.Context, demand metrics.Series, cfg Config, now time.Time, k, delayTicks int64, d int) error {
	l.pods.advance(k)
	if k%l.every == 0 {
		current := l.pods.desired()
		want, err := l.scaler.Recommend(ctx, Observation{
			Now:            now,
			Demand:         demand.Until(now),
			Replicas:       current,
			Ready:          l.pods.ready,
			CapacityPerPod: cfg.CapacityPerPod,
			MinReplicas:    cfg.MinReplicas,
			MaxReplicas:    cfg.MaxReplicas,
		})
		if err != nil {
			return fmt.Errorf("sim: scaler %q at %s: %w", l.res.Name, now.Format(time.RFC3339), err)
		}
		want = min(max(want, cfg.MinReplicas), cfg.MaxReplicas)
		if want != current {
			l.res.Metrics.Actions++
			l.pods.scale(want, k+delayTicks)
		}
		if cfg.RecordDecisions {
			l.res.Decisions = append(l.res.Decisions, Decision{Time: now, Replicas: want})
		}
	}

	running, s := l.pods.desired(), l.pods.ready
	l.sampleRunning += int64(running)
	l.sampleReady += int64(s)
	l.runningTicks += int64(running)
	if d < 0 {
		return nil
	}
	l.observed++
	den := float64(max(d, 1))
	switch {
	case s < d:
		l.under++
		l.thetaU += float64(d-s) / den
	case s > d:
		l.over++
		l.thetaO += float64(s-d) / den
	}
	return nil
}

// closeSample stores the means of sample i and resets the sample tallies.
func (l *lane) closeSample(i int, perSample int64) {
	l.res.Pods[i] = float64(l.sampleRunning) / float64(perSample)
	l.res.Ready[i] = float64(l.sampleReady) / float64(perSample)
	l.sampleRunning, l.sampleReady = 0, 0
}

// result turns the tallies into Metrics.
func (l *lane) result(tick time.Duration) ScalerResult {
	r := l.res
	r.Metrics.ReplicaHours = float64(l.runningTicks) * tick.Hours()
	r.Metrics.SLOViolationMinutes = float64(l.under) * tick.Minutes()
	if l.observed > 0 {
		t := float64(l.observed)
		r.Metrics.ThetaU = 100 * l.thetaU / t
		r.Metrics.ThetaO = 100 * l.thetaO / t
		r.Metrics.TauU = 100 * float64(l.under) / t
		r.Metrics.TauO = 100 * float64(l.over) / t
	}
	return r
}

// workload is a Deployment's pods: ready ones and batches still starting.
type workload struct {
	ready int
	// starting holds pods not yet ready in creation order, so readyAt
	// never decreases along the slice.
	starting  []batch
	nStarting int
}

// batch is pods created at one tick that become ready at tick readyAt.
type batch struct {
	readyAt int64
	n       int
}

// desired is the running pods, ready or starting; it always equals the
// desired count because pods are created and removed at once.
func (w *workload) desired() int { return w.ready + w.nStarting }

// advance makes the pods whose startup ends at or before tick k ready.
func (w *workload) advance(k int64) {
	i := 0
	for i < len(w.starting) && w.starting[i].readyAt <= k {
		w.ready += w.starting[i].n
		w.nStarting -= w.starting[i].n
		i++
	}
	if i > 0 {
		w.starting = w.starting[i:]
	}
}

// scale sets the desired count to want; new pods become ready at tick
// readyAt. Scaling down removes starting pods first, newest first, then
// ready ones.
func (w *workload) scale(want int, readyAt int64) {
	cur := w.desired()
	if want > cur {
		w.starting = append(w.starting, batch{readyAt: readyAt, n: want - cur})
		w.nStarting += want - cur
		return
	}
	drop := cur - want
	for drop > 0 && len(w.starting) > 0 {
		last := &w.starting[len(w.starting)-1]
		m := min(drop, last.n)
		last.n -= m
		w.nStarting -= m
		drop -= m
		if last.n == 0 {
			w.starting = w.starting[:len(w.starting)-1]
		}
	}
	w.ready -= drop
}

// withDefaults validates c, applies the documented defaults and checks the
// fields that depend on each other.
func (c Config) withDefaults(demand metrics.Series) (Config, error) {
	if !(c.CapacityPerPod > 0) || math.IsInf(c.CapacityPerPod, 0) {
		return c, fmt.Errorf("sim: CapacityPerPod: must be > 0 and finite, got %v", c.CapacityPerPod)
	}
	if c.StartupDelay < 0 {
		return c, fmt.Errorf("sim: StartupDelay: must be >= 0, got %v", c.StartupDelay)
	}
	if c.MinReplicas < 0 {
		return c, fmt.Errorf("sim: MinReplicas: must be >= 0, got %d", c.MinReplicas)
	}
	if c.MaxReplicas < 0 {
		return c, fmt.Errorf("sim: MaxReplicas: must be >= 0, got %d", c.MaxReplicas)
	}
	if c.InitialReplicas < 0 {
		return c, fmt.Errorf("sim: InitialReplicas: must be >= 0, got %d", c.InitialReplicas)
	}

	if c.StartupDelay == 0 {
		c.StartupDelay = defaultStartupDelay
	}
	if c.MinReplicas == 0 {
		c.MinReplicas = defaultMinReplicas
	}
	if c.MaxReplicas == 0 {
		c.MaxReplicas = defaultMaxReplicas
	}
	if c.MinReplicas > c.MaxReplicas {
		return c, fmt.Errorf("sim: MinReplicas: %d exceeds MaxReplicas %d", c.MinReplicas, c.MaxReplicas)
	}
	if c.InitialReplicas == 0 {
		c.InitialReplicas = c.MinReplicas
		for _, v := range demand.Values {
			if !math.IsNaN(v) {
				c.InitialReplicas = wholeCeil(v / (initialUtilisation * c.CapacityPerPod))
				break
			}
		}
		c.InitialReplicas = min(max(c.InitialReplicas, c.MinReplicas), c.MaxReplicas)
	} else if c.InitialReplicas < c.MinReplicas || c.InitialReplicas > c.MaxReplicas {
		return c, fmt.Errorf("sim: InitialReplicas: %d outside [MinReplicas, MaxReplicas] = [%d, %d]",
			c.InitialReplicas, c.MinReplicas, c.MaxReplicas)
	}
	return c, nil
}

// validateDemand checks the trace: a positive step, at least one sample,
// and every sample either a gap (NaN) or finite and >= 0.
func validateDemand(demand metrics.Series) error {
	if demand.Step <= 0 {
		return fmt.Errorf("sim: demand.Step: must be > 0, got %v", demand.Step)
	}
	if demand.Len() == 0 {
		return fmt.Errorf("sim: demand.Values: empty trace")
	}
	for i, v := range demand.Values {
		if math.IsNaN(v) {
			continue
		}
		if v < 0 || math.IsInf(v, 0) {
			return fmt.Errorf("sim: demand.Values[%d]: must be >= 0 and finite (NaN for a gap), got %v", i, v)
		}
	}
	return nil
}

// clockTick returns the simulation clock's step: the gcd of the trace
// step and every scaler's Interval.
func clockTick(step time.Duration, scalers []Scaler) (time.Duration, error) {
	if len(scalers) == 0 {
		return 0, fmt.Errorf("sim: scalers: need at least one")
	}
	tick := step
	for i, s := range scalers {
		if s == nil {
			return 0, fmt.Errorf("sim: scalers[%d]: nil", i)
		}
		iv := s.Interval()
		if iv <= 0 {
			return 0, fmt.Errorf("sim: scalers[%d] (%q): Interval: must be > 0, got %v", i, s.Name(), iv)
		}
		tick = gcd(tick, iv)
	}
	if step/tick > maxTicksPerSample {
		return 0, fmt.Errorf("sim: clock: gcd of demand.Step %v and the scalers' intervals is %v, %d ticks per sample (max %d); align them",
			step, tick, step/tick, maxTicksPerSample)
	}
	return tick, nil
}

func gcd(a, b time.Duration) time.Duration {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// wholeCeil is ceil(x), except that an x within a relative 1e-9 of a whole
// number counts as that number, so that float rounding in a quotient
// (1.1/0.1 = 11.000000000000002) does not add one.
func wholeCeil(x float64) int {
	r := math.Round(x)
	if math.Abs(x-r) <= 1e-9*math.Max(1, math.Abs(x)) {
		return int(r)
	}
	return int(math.Ceil(x))
}
