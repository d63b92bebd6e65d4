package controller

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/stuurman/stuurman/actuators"
	"github.com/stuurman/stuurman/agents"
	stuurmanv1 "github.com/stuurman/stuurman/api/v1alpha1"
	"github.com/stuurman/stuurman/forecast"
	"github.com/stuurman/stuurman/pipeline"
	"github.com/stuurman/stuurman/policies"
)

// The defaults of a WorkloadPolicy's optional durations.
const (
	DefaultInterval    = time.Minute
	DefaultStep        = time.Minute
	DefaultHistory     = 7 * 24 * time.Hour
	DefaultProposalTTL = 15 * time.Minute
	// DefaultStartup is the pod start-up time the default lead time
	// assumes: lead time = DefaultStartup + interval.
	DefaultStartup = 2 * time.Minute
)

// DefaultWorkers is how many policies the manager reconciles at once
// unless Options.Workers says otherwise.
const DefaultWorkers = 2

// Options configure a Reconciler. The zero value of each optional field
// selects the default documented on it.
type Options struct {
	// Source reads the demand of the policies' targets. Required.
	Source MetricSource
	// Clock is the time the cycles run at. Default: the real clock.
	Clock clock.PassiveClock
	// Events records Events on workloads. Nil: none.
	Events events.EventRecorder
	// APIReader reads what the actuator is about to write, uncached.
	// Default: the client.
	APIReader client.Reader
	// Registerer registers the controller's metrics. Nil: not registered.
	Registerer prometheus.Registerer
	// NewAgent builds a policy's agent. Default BuildHeuristic.
	NewAgent AgentBuilder
	// DefaultInterval is the interval of policies that set none. Default
	// 1m.
	DefaultInterval time.Duration
	// StaleAfter is how many intervals (and at least two steps) the newest
	// demand sample may be old before the controller holds. Default 3.
	StaleAfter int
	// ProposalRetention is how long finished ActionProposals are kept.
	// Default 24h.
	ProposalRetention time.Duration
	// FieldOwner is the field manager of the controller's writes. Default
	// "stuurman".
	FieldOwner string
	// Workers is how many policies SetupWithManager's controller
	// reconciles at once (one policy is never reconciled twice at once).
	// A cycle mostly waits for the API server's answers to its writes: two
	// workers halve the steady-state cycle of 2,000 policies on 2 cores
	// (docs/benchmarks.md). Default DefaultWorkers (2).
	Workers int
}

func (o Options) withDefaults() Options {
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.NewAgent == nil {
		o.NewAgent = BuildHeuristic
	}
	if o.DefaultInterval <= 0 {
		o.DefaultInterval = DefaultInterval
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = 3
	}
	if o.ProposalRetention <= 0 {
		o.ProposalRetention = 24 * time.Hour
	}
	if o.FieldOwner == "" {
		o.FieldOwner = "stuurman"
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	return o
}

// Reconciler reconciles WorkloadPolicies: see the package documentation.
type Reconciler struct {
	client  client.Client
	opts    Options
	act     *actuators.Kubernetes
	metrics *Metrics

	mu       sync.Mutex
	policies map[types.NamespacedName]*policyRuntime
	// nsActions are the applied-action logs shared by the pipelines of a
	// namespace (the policy's namespaceRateLimit).
	nsActions map[string]*pipeline.ActionLog
}

var _ reconcile.Reconciler = (*Reconciler)(nil)

// NewReconciler returns a Reconciler reading and writing through c.
func NewReconciler(c client.Client, o Options) (*Reconciler, error) {
	if o.Source == nil {
		return nil, errors.New("controller: Options.Source is required")
	}
	o = o.withDefaults()
	m, err := NewMetrics(o.Registerer)
	if err != nil {
		return nil, fmt.Errorf("controller: register metrics: %w", err)
	}
	act := actuators.NewKubernetes(c, actuators.KubernetesOptions{
		Reader: o.APIReader, Events: o.Events, FieldOwner: o.FieldOwner, Clock: o.Clock,
	})
	return &Reconciler{
		client: c, opts: o, act: act, metrics: m,
		policies: map[types.NamespacedName]*policyRuntime{}, nsActions: map[string]*pipeline.ActionLog{},
	}, nil
}

// Metrics returns the reconciler's metrics.
func (r *Reconciler) Metrics() *Metrics { return r.metrics }

// policyRuntime is what the controller keeps in memory for one policy
// generation: the engine, the agent and one pipeline per target.
type policyRuntime struct {
	uid        types.UID
	generation int64
	cfg        policyConfig
	engine     *policies.Engine
	agent      agents.Agent
	targets    map[Target]*targetRuntime
	// lastCycle is when this process last ran the policy's cycle.
	lastCycle time.Time
}

// policyConfig is a WorkloadPolicy's spec with defaults applied.
type policyConfig struct {
	mode       stuurmanv1.Mode
	interval   time.Duration
	leadTime   time.Duration
	step       time.Duration
	history    time.Duration
	ttl        time.Duration
	capacity   float64
	staleAfter time.Duration
}

// targetRuntime is one target's pipeline and demand history.
type targetRuntime struct {
	pipeline *pipeline.Pipeline
	writer   *proposalWriter
	history  demandHistory
}

func (r *Reconciler) config(wp *stuurmanv1.WorkloadPolicy) (policyConfig, error) {
	s := wp.Spec
	dur := func(d *metav1.Duration, def time.Duration) time.Duration {
		if d == nil || d.Duration == 0 {
			return def
		}
		return d.Duration
	}
	c := policyConfig{
		mode:     s.Mode,
		interval: dur(s.Interval, r.opts.DefaultInterval),
		step:     dur(s.Metric.Step, DefaultStep),
		history:  dur(s.Metric.History, DefaultHistory),
		ttl:      dur(s.ProposalTTL, DefaultProposalTTL),
		capacity: s.CapacityPerPod.AsApproximateFloat64(),
	}
	if c.mode == "" {
		c.mode = stuurmanv1.ModeRecommend
	}
	c.leadTime = dur(s.LeadTime, DefaultStartup+c.interval)
	c.staleAfter = max(time.Duration(r.opts.StaleAfter)*c.interval, 2*c.step)
	switch {
	case s.TargetRef == nil && s.Selector == nil:
		return c, errors.New("spec: one of targetRef and selector is required")
	case s.Metric.Query == "" && s.Metric.Resource == "":
		return c, errors.New("spec.metric: one of query and resource is required")
	case !(c.capacity > 0) || math.IsInf(c.capacity, 0):
		return c, fmt.Errorf("spec.capacityPerPod: must be > 0, got %s", s.CapacityPerPod.String())
	case c.interval < 0 || c.step < 0 || c.history < 0 || c.ttl < 0 || c.leadTime < 0:
		return c, errors.New("spec: durations must not be negative")
	case c.history < 2*c.step:
		return c, fmt.Errorf("spec.metric.history: %v must cover at least two steps of %v", c.history, c.step)
	}
	return c, nil
}

// runtimeFor returns the policy's runtime, building it when the policy is
// new or its spec changed.
func (r *Reconciler) runtimeFor(wp *stuurmanv1.WorkloadPolicy) (*policyRuntime, string, error) {
	key := client.ObjectKeyFromObject(wp)
	r.mu.Lock()
	defer r.mu.Unlock()
	if rt := r.policies[key]; rt != nil && rt.uid == wp.UID && rt.generation == wp.Generation {
		return rt, "", nil
	}
	r.forgetLocked(key)
	cfg, err := r.config(wp)
	if err != nil {
		return nil, stuurmanv1.ReasonInvalidSpec, err
	}
	engine, err := policies.NewEngine(wp.Spec.Policy)
	if err != nil {
		return nil, stuurmanv1.ReasonInvalidSpec, fmt.Errorf("spec.policy: %w", err)
	}
	agent, err := r.opts.NewAgent(wp.Spec.Agent)
	if err != nil {
		reason := stuurmanv1.ReasonInvalidSpec
		if errors.Is(err, ErrAgentUnavailable) {
			reason = stuurmanv1.ReasonAgentUnavailable
		}
		return nil, reason, fmt.Errorf("spec.agent: %w", err)
	}
	rt := &policyRuntime{uid: wp.UID, generation: wp.Generation, cfg: cfg, engine: engine, agent: agent, targets: map[Target]*targetRuntime{}}
	r.policies[key] = rt
	return rt, "", nil
}

// targetRuntime returns t's pipeline, building it on first use.
func (r *Reconciler) targetRuntime(wp *stuurmanv1.WorkloadPolicy, rt *policyRuntime, w workload) (*targetRuntime, error) {
	if tr := rt.targets[w.Target]; tr != nil {
		return tr, nil
	}
	horizon := max(1, int(math.Ceil(float64(rt.cfg.leadTime)/float64(rt.cfg.step))))
	fc, err := forecast.NewForecaster(forecast.Config{Horizon: horizon})
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	log := r.nsActions[wp.Namespace]
	if log == nil {
		log = &pipeline.ActionLog{}
		r.nsActions[wp.Namespace] = log
	}
	r.mu.Unlock()
	wr := &proposalWriter{r: r}
	p, err := pipeline.New(pipeline.Config{
		Workload:       agents.Workload{Kind: w.Target.Kind, Namespace: w.Target.Namespace, Name: w.Target.Name},
		CapacityPerPod: rt.cfg.capacity, LeadTime: rt.cfg.leadTime, NamespaceActions: log,
	}, fc, rt.agent, rt.engine, wr)
	if err != nil {
		return nil, err
	}
	tr := &targetRuntime{pipeline: p, writer: wr}
	rt.targets[w.Target] = tr
	return tr, nil
}

// forget drops what the controller keeps for a policy.
func (r *Reconciler) forget(key types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.forgetLocked(key)
}

func (r *Reconciler) forgetLocked(key types.NamespacedName) {
	if rt := r.policies[key]; rt != nil {
		for t := range rt.targets {
			r.metrics.ForecastMASE.DeleteLabelValues(key.Namespace, key.Name, t.Name)
		}
	}
	delete(r.policies, key)
}

// Reconcile runs the steps the package documentation lists for one
// WorkloadPolicy, and asks to be called again when its next cycle is due.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (ctrl.Result, error) {
	log := log.FromContext(ctx)
	now := r.opts.Clock.Now()

	wp := &stuurmanv1.WorkloadPolicy{}
	if err := r.client.Get(ctx, req.NamespacedName, wp); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if wp.DeletionTimestamp != nil {
		r.forget(req.NamespacedName)
		return ctrl.Result{}, nil
	}
	before := wp.DeepCopy()
	st := &wp.Status

	rt, reason, err := r.runtimeFor(wp)
	if err != nil {
		log.Info("invalid WorkloadPolicy", "reason", reason, "error", err.Error())
		setCondition(st, wp, now, stuurmanv1.ConditionReady, metav1.ConditionFalse, reason, err.Error())
		setCondition(st, wp, now, stuurmanv1.ConditionActing, metav1.ConditionFalse, reason, "the spec is not usable: nothing is done")
		st.ObservedGeneration = wp.Generation
		return ctrl.Result{}, r.patchStatus(ctx, before, wp)
	}
	st.PolicyHash = rt.engine.Policy().Hash()
	cfg := rt.cfg

	if cfg.mode == stuurmanv1.ModeOff {
		setCondition(st, wp, now, stuurmanv1.ConditionReady, metav1.ConditionTrue, stuurmanv1.ReasonModeOff, "mode Off: stuurman does nothing for this policy")
		setCondition(st, wp, now, stuurmanv1.ConditionActing, metav1.ConditionFalse, stuurmanv1.ReasonModeOff, "mode Off")
		st.ObservedGeneration = wp.Generation
		return ctrl.Result{}, r.patchStatus(ctx, before, wp)
	}

	targets, err := r.resolveTargets(ctx, wp)
	if err != nil {
		return ctrl.Result{}, err
	}
	st.TargetCount = int32(len(targets))

	var errs []error
	proposals, err := r.settleProposals(ctx, wp, rt, targets, now)
	if err != nil {
		errs = append(errs, err)
	}

	// The cycle is due an interval after the last one: the one in the
	// status, or the one this process ran (the cache may not show its
	// status write yet).
	last := rt.lastCycle
	if st.LastCycleTime != nil && st.ObservedGeneration == wp.Generation && st.LastCycleTime.After(last) {
		last = st.LastCycleTime.Time
	}
	if !last.IsZero() && now.Before(last.Add(cfg.interval)) {
		wait := last.Add(cfg.interval).Sub(now)
		if err := r.patchStatus(ctx, before, wp); err != nil {
			errs = append(errs, err)
		}
		return ctrl.Result{RequeueAfter: wait}, errors.Join(errs...)
	}

	if len(targets) == 0 {
		setCondition(st, wp, now, stuurmanv1.ConditionReady, metav1.ConditionFalse, stuurmanv1.ReasonNoTargets, "no workload matches the policy's target")
		setCondition(st, wp, now, stuurmanv1.ConditionActing, metav1.ConditionFalse, stuurmanv1.ReasonNoTargets, "no target")
		st.Targets = nil
	} else {
		setCondition(st, wp, now, stuurmanv1.ConditionReady, metav1.ConditionTrue, stuurmanv1.ReasonReconciled,
			fmt.Sprintf("%d target(s), policy %s, agent %s", len(targets), st.PolicyHash, rt.agent.Name()))
		if err := r.cycle(ctx, wp, rt, targets, proposals, now); err != nil {
			errs = append(errs, err)
		}
	}
	rt.lastCycle = now
	st.LastCycleTime = &metav1.Time{Time: now}
	st.ObservedGeneration = wp.Generation
	if err := r.patchStatus(ctx, before, wp); err != nil {
		errs = append(errs, err)
	}
	return ctrl.Result{RequeueAfter: cfg.interval}, errors.Join(errs...)
}

// patchStatus writes wp's status when it changed.
func (r *Reconciler) patchStatus(ctx context.Context, before, wp *stuurmanv1.WorkloadPolicy) error {
	if equalStatus(before.Status, wp.Status) {
		return nil
	}
	if err := r.client.Status().Patch(ctx, wp, client.MergeFrom(before), client.FieldOwner(r.opts.FieldOwner)); err != nil {
		return fmt.Errorf("write status of WorkloadPolicy %s/%s: %w", wp.Namespace, wp.Name, err)
	}
	return nil
}

func equalStatus(a, b stuurmanv1.WorkloadPolicyStatus) bool {
	return equality.Semantic.DeepEqual(a, b)
}

// setCondition sets a condition on a WorkloadPolicy's status; the
// transition time changes only with the status.
func setCondition(st *stuurmanv1.WorkloadPolicyStatus, wp *stuurmanv1.WorkloadPolicy, now time.Time, typ string, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type: typ, Status: status, Reason: reason, Message: msg, ObservedGeneration: wp.Generation,
		LastTransitionTime: metav1.NewTime(now),
	})
}
