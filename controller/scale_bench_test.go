package controller

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	stuurmanv1 "github.com/stuurman/stuurman/api/v1alpha1"
	"github.com/stuurman/stuurman/metrics"
)

// TestScale runs the controller over many Deployments, each with its own
// WorkloadPolicy in mode Auto, on the envtest API server, with the
// defaults of a WorkloadPolicy: one week of history at one minute
// (10,080 samples per target), a cycle every minute. It times one full
// cycle over every policy — the first, which fits every forecaster from
// scratch, and the steady-state cycles after it, which only update them —
// and measures the process's memory.
//
// By default it runs 50 Deployments and checks what every cycle did.
// STUURMAN_SCALE=2000 runs 2,000 (about 5 minutes on 2 cores, most of it
// the first cycle); docs/benchmarks.md has the figures.
// STUURMAN_SCALE_WORKERS sets how many reconciles run at once (default
// DefaultWorkers, as the manager runs them), STUURMAN_SCALE_QPS the
// client's rate limit,
// STUURMAN_SCALE_HEAPPROFILE a file for the live heap after the last cycle.
//
// The reconciler reads through a cache-backed client, as in the manager:
// informers serve every read, and only writes reach the API server. The
// demand comes from an in-process generator (scaleSource) that computes
// each target's series for the range asked, as a Prometheus response
// would carry it: the process keeps no copy of the metric data besides
// the controller's own history.
func TestScale(t *testing.T) {
	n, workers, steady := 50, DefaultWorkers, 5
	if s := os.Getenv("STUURMAN_SCALE"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			t.Fatalf("STUURMAN_SCALE=%q: want a positive number of Deployments", s)
		}
		n = v
	}
	if s := os.Getenv("STUURMAN_SCALE_WORKERS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			t.Fatalf("STUURMAN_SCALE_WORKERS=%q: want a positive number", s)
		}
		workers = v
	}
	// The reconciler's client-side rate limit: envtest's 1000 requests a
	// second by default; STUURMAN_SCALE_QPS=5 is client-go's default,
	// which a rest.Config gets when nothing sets its QPS.
	cfg := rest.CopyConfig(restCfg)
	if s := os.Getenv("STUURMAN_SCALE_QPS"); s != "" {
		v, err := strconv.ParseFloat(s, 32)
		if err != nil || !(v > 0) {
			t.Fatalf("STUURMAN_SCALE_QPS=%q: want a positive number of requests a second", s)
		}
		cfg.QPS, cfg.Burst = float32(v), max(1, int(2*v))
	}
	if os.Getenv("STUURMAN_SCALE_HEAPPROFILE") != "" {
		runtime.MemProfileRate = 4096
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Set up (not measured): the namespaces, 100 Deployments to a
	// namespace, each with its policy, all ready.
	start := time.Now()
	src := newScaleSource()
	now := t0.Add(7*24*time.Hour + 9*time.Hour) // a Monday, 09:00, after a week of history
	var keys []types.NamespacedName
	var namespaces []string
	for i := 0; i < n; i += 100 {
		ns := newNamespace(t)
		namespaces = append(namespaces, ns)
		for j := i; j < min(n, i+100); j++ {
			keys = append(keys, types.NamespacedName{Namespace: ns, Name: fmt.Sprintf("svc-%04d", j)})
		}
	}
	parallel(t, keys, 16, func(i int, k types.NamespacedName) error {
		tg := deploymentTarget(k.Namespace, k.Name)
		src.add(tg, i)
		return createScaleTarget(ctx, k, podsFor(src.demand(tg, now)))
	})
	setup := time.Since(start)

	// The manager's clients: reads from informers (unstructured objects
	// too), the actuator's reads uncached; writes timed.
	c, err := cache.New(cfg, cache.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		if err := c.Start(ctx); err != nil {
			t.Error(err)
		}
	}()
	if !c.WaitForCacheSync(ctx) {
		t.Fatal("the cache did not start")
	}
	var writes apiCalls
	ww, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme, Cache: &client.CacheOptions{Reader: c, Unstructured: true}})
	if err != nil {
		t.Fatal(err)
	}
	cached := interceptor.NewClient(ww, writes.funcs())
	// Start the informers the cycle reads, so that the first cycle does
	// not pay for their initial lists.
	dep := &unstructured.UnstructuredList{}
	dep.SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind("DeploymentList"))
	for _, l := range []client.ObjectList{&stuurmanv1.WorkloadPolicyList{}, &stuurmanv1.ActionProposalList{},
		&autoscalingv2.HorizontalPodAutoscalerList{}, &policyv1.PodDisruptionBudgetList{}} {
		if err := cached.List(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	cachedDeployments := 0
	for _, ns := range namespaces {
		if err := cached.List(ctx, dep, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		cachedDeployments += len(dep.Items)
	}
	if cachedDeployments != n {
		t.Fatalf("the cache holds %d of the %d Deployments", cachedDeployments, n)
	}
	dep = nil
	base := measureMemory()

	cs := kubernetes.NewForConfigOrDie(restCfg)
	b := events.NewBroadcaster(&events.EventSinkImpl{Interface: cs.EventsV1()})
	if err := b.StartRecordingToSinkWithContext(ctx); err != nil {
		t.Fatal(err)
	}
	defer b.Shutdown()
	clk := clocktesting.NewFakeClock(now)
	r, err := NewReconciler(cached, Options{
		Source: src, Clock: clk, Events: b.NewRecorder(scheme, "stuurman"),
		APIReader: k8s, Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatal(err)
	}

	type result struct {
		at                    time.Time
		took, source, written time.Duration
		writes                int64
		mem                   memory
	}
	var results []result
	for cycle := 0; cycle <= steady; cycle++ {
		at := now.Add(time.Duration(cycle) * time.Minute)
		clk.SetTime(at)
		src.reset()
		writes.reset()
		began := time.Now()
		parallel(t, keys, workers, func(_ int, k types.NamespacedName) error {
			res, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: k})
			if err == nil && res.RequeueAfter != DefaultInterval {
				err = fmt.Errorf("requeue after %v, want %v", res.RequeueAfter, DefaultInterval)
			}
			return err
		})
		took := time.Since(began)
		results = append(results, result{at: at, took: took, source: src.took(), written: writes.took(), writes: writes.count(), mem: measureMemory()})
		checkScaleCycle(t, r, src, keys, at, cycle == 0)
		// Play the Deployment controller (not measured): the pods the
		// controller asked for are ready before the next cycle.
		markAllReady(t, namespaces)
	}

	if path := os.Getenv("STUURMAN_SCALE_HEAPPROFILE"); path != "" {
		writeHeapProfile(t, path)
	}
	runtime.KeepAlive(r)

	// What the controller did to the workloads, and how well the capacity
	// covers the demand now.
	var scaled, short int
	for _, k := range keys {
		d := &appsv1.Deployment{}
		if err := k8s.Get(ctx, k, d); err != nil {
			t.Fatal(err)
		}
		tg := deploymentTarget(k.Namespace, k.Name)
		if got := *d.Spec.Replicas; got != podsFor(src.demand(tg, now)) {
			scaled++
		}
		if got := *d.Spec.Replicas; got < 1 || got > 8 {
			t.Errorf("%s: %d replicas, outside the policy's [1, 8]", k, got)
		}
		if float64(*d.Spec.Replicas)*capacity < src.demand(tg, clk.Now()) {
			short++
		}
	}
	if short > n/10 {
		t.Errorf("%d of %d Deployments short of capacity for the demand at %s", short, n, clk.Now().Format("15:04"))
	}
	if scaled == 0 {
		t.Error("no Deployment was scaled in mode Auto with the morning's demand rising")
	}

	cold, warm := results[0], results[1:]
	slices.SortFunc(warm, func(a, b result) int { return int(a.took - b.took) })
	med := warm[len(warm)/2]
	mib := func(b uint64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
	t.Logf("%d Deployments and policies in %d namespace(s), %d worker(s), GOMAXPROCS %d, client QPS %v; set-up %v",
		n, (n+99)/100, workers, runtime.GOMAXPROCS(0), cfg.QPS, setup.Round(time.Millisecond))
	t.Logf("first cycle (cold fits): %v (metric source %v, %d API writes %v)", cold.took.Round(time.Millisecond),
		cold.source.Round(time.Millisecond), cold.writes, cold.written.Round(time.Millisecond))
	t.Logf("steady-state cycle: median %v, max %v of %d (metric source %v, %d API writes %v in the median)",
		med.took.Round(time.Millisecond), warm[len(warm)-1].took.Round(time.Millisecond), len(warm),
		med.source.Round(time.Millisecond), med.writes, med.written.Round(time.Millisecond))
	t.Logf("memory before the reconciler (client, informers): heap after GC %s, RSS %s", mib(base.heap), mib(base.rss))
	last := results[len(results)-1].mem
	t.Logf("memory after the first cycle: heap after GC %s, RSS %s", mib(cold.mem.heap), mib(cold.mem.rss))
	t.Logf("memory after %d cycles: heap after GC %s (%.1f KiB a policy over the baseline), RSS %s, peak RSS %s",
		len(results), mib(last.heap), float64(last.heap-min(last.heap, base.heap))/1024/float64(n), mib(last.rss), mib(last.peak))
	t.Logf("%d of %d Deployments scaled; %d short of capacity at %s", scaled, n, short, clk.Now().Format("15:04"))
}

// checkScaleCycle checks what one cycle did: one demand read per policy
// (all of it on the first cycle, the new samples after), and every
// policy's status written for this cycle, with fresh metrics and a
// forecast.
func checkScaleCycle(t *testing.T, r *Reconciler, src *scaleSource, keys []types.NamespacedName, at time.Time, first bool) {
	t.Helper()
	reads, maxSpan := src.stats()
	if reads != len(keys) {
		t.Errorf("%s: %d demand reads for %d policies, want one each", at.Format("15:04"), reads, len(keys))
	}
	if want := 3 * DefaultStep; !first && maxSpan > want {
		t.Errorf("%s: a steady-state read spans %v, want at most %v (the new samples)", at.Format("15:04"), maxSpan, want)
	}
	ours := map[string]bool{}
	for _, k := range keys {
		ours[k.Namespace] = true
	}
	var list stuurmanv1.WorkloadPolicyList
	if err := k8s.List(context.Background(), &list); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, wp := range list.Items {
		if !ours[wp.Namespace] {
			continue
		}
		checked++
		st := wp.Status
		c := condition(&wp, stuurmanv1.ConditionMetricsAvailable)
		switch {
		case st.LastCycleTime == nil || !st.LastCycleTime.Time.Equal(at):
			t.Errorf("%s/%s: last cycle %v, want %s", wp.Namespace, wp.Name, st.LastCycleTime, at.Format(time.RFC3339))
		case c.Status != metav1.ConditionTrue:
			t.Errorf("%s/%s: MetricsAvailable %s/%s (%s)", wp.Namespace, wp.Name, c.Status, c.Reason, c.Message)
		case len(st.Targets) != 1 || st.Targets[0].ForecastUpper == nil || st.Targets[0].Holding != "":
			t.Errorf("%s/%s: targets %+v, want one with a forecast", wp.Namespace, wp.Name, st.Targets)
		case math.IsNaN(mase(t, r, wp.Namespace, wp.Name)):
			t.Errorf("%s/%s: forecast by %q without a backtest (a cold start) after a week of history", wp.Namespace, wp.Name, st.Targets[0].ForecastModel)
		default:
			continue
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	if checked < len(keys) {
		t.Fatalf("%d policies listed, want %d", checked, len(keys))
	}
}

// mase returns the backtest MASE of the last forecast for the policy's
// target of the same name.
func mase(t *testing.T, r *Reconciler, ns, name string) float64 {
	t.Helper()
	var m dto.Metric
	if err := r.Metrics().ForecastMASE.WithLabelValues(ns, name, name).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}

// createScaleTarget creates a ready Deployment with replicas and its
// WorkloadPolicy in mode Auto, with the defaults of the metric's step and
// history, the interval and the lead time.
func createScaleTarget(ctx context.Context, k types.NamespacedName, replicas int32) error {
	labels := map[string]string{"app": k.Name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: k.Name, Namespace: k.Namespace, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.invalid/app:1"}}},
			},
		},
	}
	if err := k8s.Create(ctx, d); err != nil {
		return err
	}
	if err := setReady(ctx, d); err != nil {
		return err
	}
	wp := &stuurmanv1.WorkloadPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: k.Name, Namespace: k.Namespace},
		Spec: stuurmanv1.WorkloadPolicySpec{
			TargetRef:      &stuurmanv1.TargetRef{APIVersion: "apps/v1", Kind: "Deployment", Name: k.Name},
			Metric:         stuurmanv1.MetricSpec{Query: metrics.RequestRateTemplate},
			CapacityPerPod: resource.MustParse("100"),
			Mode:           stuurmanv1.ModeAuto,
			Policy:         testPolicy(),
		},
	}
	return k8s.Create(ctx, wp)
}

// setReady plays the Deployment controller: every desired pod is ready.
func setReady(ctx context.Context, d *appsv1.Deployment) error {
	n := *d.Spec.Replicas
	d.Status.Replicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas, d.Status.UpdatedReplicas = n, n, n, n
	d.Status.ObservedGeneration = d.Generation
	return k8s.Status().Update(ctx, d)
}

// markAllReady plays the Deployment controller for every Deployment in
// the namespaces.
func markAllReady(t *testing.T, namespaces []string) {
	t.Helper()
	var todo []*appsv1.Deployment
	for _, ns := range namespaces {
		var list appsv1.DeploymentList
		if err := k8s.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		for i := range list.Items {
			d := &list.Items[i]
			if d.Status.ReadyReplicas != *d.Spec.Replicas || d.Status.Replicas != *d.Spec.Replicas {
				todo = append(todo, d)
			}
		}
	}
	parallel(t, todo, 16, func(_ int, d *appsv1.Deployment) error { return setReady(context.Background(), d) })
}

// parallel calls f for every item with at most workers calls at once, and
// fails the test with the errors.
func parallel[T any](t *testing.T, items []T, workers int, f func(i int, item T) error) {
	t.Helper()
	var (
		next atomic.Int64
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for range min(workers, len(items)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(items) {
					return
				}
				if err := f(i, items[i]); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("%v: %w", items[i], err))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d of %d failed; the first: %v", len(errs), len(items), errors.Join(errs[:min(3, len(errs))]...))
	}
}

// scaleSource is a MetricSource whose targets' demand is generated on
// the fly: target i's demand is a daily peak at its own hour and of its
// own height, lower at weekends, with ±4 % deterministic noise. It keeps
// the reads' count and span, and the time spent generating them.
type scaleSource struct {
	mu      sync.Mutex
	params  map[Target]scaleParams
	reads   int
	maxSpan time.Duration
	spent   time.Duration
}

type scaleParams struct {
	peak     float64 // requests per second at the peak
	peakHour float64
	seed     uint64
}

var _ MetricSource = (*scaleSource)(nil)

func newScaleSource() *scaleSource { return &scaleSource{params: map[Target]scaleParams{}} }

// add gives target t the i-th demand profile: peaks between 150 and 700
// requests per second (2 to 7 pods of 100), between 10:00 and 16:00.
func (s *scaleSource) add(t Target, i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := splitmix(uint64(i) + 1)
	s.params[t] = scaleParams{
		peak:     150 + 550*float64(h%1000)/1000,
		peakHour: 10 + 6*float64(h/1000%1000)/1000,
		seed:     h,
	}
}

func (s *scaleSource) demand(t Target, at time.Time) float64 {
	s.mu.Lock()
	p := s.params[t]
	s.mu.Unlock()
	return p.at(at)
}

func (p scaleParams) at(t time.Time) float64 {
	day := t.Truncate(24 * time.Hour)
	h := float64(t.Sub(day)) / float64(time.Hour)
	d := math.Abs(h - p.peakHour)
	d = min(d, 24-d)
	v := p.peak * (0.25 + 0.75*math.Exp(-d*d/(2*2.5*2.5)))
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		v *= 0.7
	}
	noise := float64(splitmix(p.seed^uint64(t.Unix()/60))%2001)/1000 - 1
	return v * (1 + 0.04*noise)
}

func (s *scaleSource) Demand(_ context.Context, q DemandQuery) (map[Target]metrics.Series, error) {
	began := time.Now()
	start, end := q.Start.Truncate(q.Step), q.End.Truncate(q.Step)
	out := make(map[Target]metrics.Series, len(q.Targets))
	for _, t := range q.Targets {
		s.mu.Lock()
		p, ok := s.params[t]
		s.mu.Unlock()
		if !ok {
			continue
		}
		v := make([]float64, int(end.Sub(start)/q.Step))
		for i := range v {
			// The sample of [t, t+step) is the demand at its end.
			v[i] = p.at(start.Add(time.Duration(i+1) * q.Step))
		}
		out[t] = metrics.Series{Name: "demand", Start: start, Step: q.Step, Values: v}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	s.maxSpan = max(s.maxSpan, end.Sub(start))
	s.spent += time.Since(began)
	return out, nil
}

func (s *scaleSource) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads, s.maxSpan, s.spent = 0, 0, 0
}

func (s *scaleSource) stats() (int, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads, s.maxSpan
}

func (s *scaleSource) took() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spent
}

// splitmix is SplitMix64's finaliser: a deterministic hash for noise.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// apiCalls counts and times a client's writes.
type apiCalls struct {
	n     atomic.Int64
	spent atomic.Int64 // nanoseconds
}

func (a *apiCalls) reset()              { a.n.Store(0); a.spent.Store(0) }
func (a *apiCalls) count() int64        { return a.n.Load() }
func (a *apiCalls) took() time.Duration { return time.Duration(a.spent.Load()) }

func (a *apiCalls) timed(f func() error) error {
	began := time.Now()
	err := f()
	a.n.Add(1)
	a.spent.Add(int64(time.Since(began)))
	return err
}

func (a *apiCalls) funcs() interceptor.Funcs {
	return interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			return a.timed(func() error { return c.Create(ctx, obj, opts...) })
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			return a.timed(func() error { return c.Update(ctx, obj, opts...) })
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, p client.Patch, opts ...client.PatchOption) error {
			return a.timed(func() error { return c.Patch(ctx, obj, p, opts...) })
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			return a.timed(func() error { return c.Delete(ctx, obj, opts...) })
		},
		SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
			return a.timed(func() error { return c.SubResource(sub).Update(ctx, obj, opts...) })
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
			return a.timed(func() error { return c.SubResource(sub).Patch(ctx, obj, p, opts...) })
		},
	}
}

// writeHeapProfile writes the in-use heap to path, for go tool pprof.
func writeHeapProfile(t *testing.T, path string) {
	t.Helper()
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(pprof.WriteHeapProfile(f), f.Close()); err != nil {
		t.Fatal(err)
	}
}

// memory is the process's memory: the Go heap after a collection, and
// the resident set now and at its peak (VmRSS and VmHWM of
// /proc/self/status).
type memory struct {
	heap, rss, peak uint64
}

func measureMemory() memory {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := memory{heap: ms.HeapAlloc}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			continue
		}
		switch name {
		case "VmRSS":
			m.rss = kb << 10
		case "VmHWM":
			m.peak = kb << 10
		}
	}
	return m
}
