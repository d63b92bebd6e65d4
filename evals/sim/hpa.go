package sim

import (
	"context"
	"fmt"
	"math"
	"time"
)

// HPAPolicyType is the kind of an HPA scaling policy.
type HPAPolicyType string

// The policy types of autoscaling/v2 HPAScalingPolicy.
const (
	// PodsPolicy allows Value pods of change per Period.
	PodsPolicy HPAPolicyType = "Pods"
	// PercentPolicy allows Value percent of the replicas at the start of
	// the Period of change per Period.
	PercentPolicy HPAPolicyType = "Percent"
)

// HPASelectPolicy chooses among the policies of one direction.
type HPASelectPolicy string

// The values of autoscaling/v2 HPAScalingRules.selectPolicy.
const (
	// MaxChangePolicySelect picks the policy allowing the largest change
	// (the default).
	MaxChangePolicySelect HPASelectPolicy = "Max"
	// MinChangePolicySelect picks the policy allowing the smallest change.
	MinChangePolicySelect HPASelectPolicy = "Min"
	// DisabledPolicySelect turns scaling in this direction off.
	DisabledPolicySelect HPASelectPolicy = "Disabled"
)

// HPAPolicy is one autoscaling/v2 HPAScalingPolicy: at most Value pods (or
// percent) of change per Period.
type HPAPolicy struct {
	// Type is PodsPolicy or PercentPolicy.
	Type HPAPolicyType
	// Value is the amount of change allowed; must be > 0.
	Value int
	// Period is the window the change is counted over; must be in
	// (0, 30m], as the API requires of periodSeconds.
	Period time.Duration
}

// HPARules is one direction of an autoscaling/v2 HPA behavior
// (HPAScalingRules). The zero value selects the Kubernetes defaults of the
// direction.
type HPARules struct {
	// StabilizationWindow is the look-back over recommendations: scale-up
	// takes the lowest and scale-down the highest recommendation of the
	// window. nil selects the default: 0 for ScaleUp, 300 s for ScaleDown
	// (the controller's --horizontal-pod-autoscaler-downscale-stabilization
	// default). Must be in [0, 1h].
	StabilizationWindow *time.Duration
	// SelectPolicy picks among Policies. Default MaxChangePolicySelect.
	SelectPolicy HPASelectPolicy
	// Policies limit the rate of change. Empty selects the default: for
	// ScaleUp {Pods 4 per 15 s, Percent 100 per 15 s}, for ScaleDown
	// {Percent 100 per 15 s}.
	Policies []HPAPolicy
}

// HPAConfig configures the HPA baseline. Its zero value is a default
// Kubernetes HPA with a 70 % utilisation target and a behavior whose every
// field has its documented default.
type HPAConfig struct {
	// TargetUtilization is the target mean utilisation of ready pods as a
	// fraction (0.7 = 70 %). Default 0.7; must be > 0. The API takes a
	// whole percentage (averageUtilization is an int32), so it is rounded
	// to one and must round to at least 1 %.
	TargetUtilization float64
	// Tolerance is the band around a usage ratio of 1 in which the HPA
	// does not scale: |ratio − 1| <= Tolerance. Default 0.1 (the
	// controller's --horizontal-pod-autoscaler-tolerance); must be >= 0.
	// The zero value selects the default; use a tiny value such as 1e-9
	// for none.
	Tolerance float64
	// SyncPeriod is how often the controller reconciles. Default 15 s
	// (--horizontal-pod-autoscaler-sync-period); must be >= 0.
	SyncPeriod time.Duration
	// ScaleUp and ScaleDown are the HPA's behavior (spec.behavior).
	ScaleUp, ScaleDown HPARules
}

// The Kubernetes defaults of HPAConfig.
const (
	defaultHPATarget           = 0.7
	defaultHPATolerance        = 0.1
	defaultHPASyncPeriod       = 15 * time.Second
	defaultHPAScaleDownWindow  = 300 * time.Second
	maxHPAPolicyPeriod         = 30 * time.Minute
	maxHPAStabilizationWindow  = time.Hour
	utilisationRoundingEpsilon = 1e-9
)

// HPA models the Kubernetes HPA v2 controller (pkg/controller/podautoscaler:
// reconcileAutoscaler, normalizeDesiredReplicasWithBehaviors and
// ReplicaCalculator.GetResourceReplicas) for one resource metric with an
// averageUtilization target. At each SyncPeriod it:
//
//  1. records the current replica count as the first recommendation, once
//     (recordInitialRecommendation);
//  2. if the current count is above MaxReplicas or below MinReplicas,
//     proposes that bound; otherwise
//  3. reads the metric: the latest complete demand sample v spread over the
//     ready pods, as the whole percentage the metrics client computes,
//     u = ⌊100 v / (ready × CapacityPerPod)⌋, and the usage ratio
//     r = u / target%. With no complete sample, a gap as the latest
//     sample or no ready pod, the controller has no metric and keeps the
//     current count without recording anything. With no pod starting,
//     or r <= 1, the proposal is the current count when |r − 1| <=
//     Tolerance and ceil(r × ready) otherwise. When pods are starting and
//     r > 1, the starting pods count as 0 % utilisation: the ratio r' is
//     recomputed over all pods; if r' is within the tolerance or on the
//     other side of 1 the proposal is the current count, otherwise
//     ceil(r' × pods), unless that would scale in the opposite direction;
//  4. stabilises the proposal over the recommendations of the windows
//     (scale-up: the lowest within ScaleUp's window, scale-down: the
//     highest within ScaleDown's; the current count bounded by both) and
//     records the unstabilised proposal, reusing the slot of one that is
//     older than both windows;
//  5. limits the rate: the replicas at the start of each policy's Period
//     are the current count minus the pods added plus the pods removed by
//     scale events after now − Period; Pods allows start ± Value,
//     Percent ceil(start × (1 + Value/100)) up or ⌊start × (1 −
//     Value/100)⌋ down; SelectPolicy picks among them; then MaxReplicas and
//     MinReplicas bound the result;
//  6. on a change, records the scale event, reusing the slot of one older
//     than the direction's longest policy period.
//
// Where it differs from the real controller: the metric is the trace, not
// metrics-server's windowed CPU samples; a ready pod's metric is valid as
// soon as it is ready (the controller may still ignore CPU samples taken
// in the first window after readiness during --horizontal-pod-autoscaler-
// cpu-initialization-period); there are no missing, failed or terminating
// pods; one metric only; and it always takes the behavior path — a real
// HPA whose spec.behavior is unset takes the legacy path instead (scale-up
// limit max(2 × current, 4) per sync, scale-down stabilisation only).
//
// An HPA keeps the controller's history, so each Run needs its own. It
// resets its history when Observation.Now goes backwards (a new replay).
type HPA struct {
	cfg       HPAConfig
	targetPct int64
	upWindow  time.Duration
	downWin   time.Duration

	recommendations           []timestampedRecommendation
	scaleUpEvents, downEvents []timestampedScaleEvent
	last                      time.Time
	seen                      bool
}

var _ Scaler = (*HPA)(nil)

type timestampedRecommendation struct {
	recommendation int
	timestamp      time.Time
}

type timestampedScaleEvent struct {
	replicaChange int // pods added (scale-up list) or removed (scale-down list)
	timestamp     time.Time
	outdated      bool
}

// NewHPA validates cfg, applies its defaults and returns an HPA with an
// empty history.
func NewHPA(cfg HPAConfig) (*HPA, error) {
	if math.IsNaN(cfg.TargetUtilization) || cfg.TargetUtilization < 0 || math.IsInf(cfg.TargetUtilization, 0) {
		return nil, fmt.Errorf("sim: HPAConfig.TargetUtilization: must be > 0 and finite, got %v", cfg.TargetUtilization)
	}
	if math.IsNaN(cfg.Tolerance) || cfg.Tolerance < 0 || math.IsInf(cfg.Tolerance, 0) {
		return nil, fmt.Errorf("sim: HPAConfig.Tolerance: must be >= 0 and finite, got %v", cfg.Tolerance)
	}
	if cfg.SyncPeriod < 0 {
		return nil, fmt.Errorf("sim: HPAConfig.SyncPeriod: must be >= 0, got %v", cfg.SyncPeriod)
	}
	if cfg.TargetUtilization == 0 {
		cfg.TargetUtilization = defaultHPATarget
	}
	if cfg.Tolerance == 0 {
		cfg.Tolerance = defaultHPATolerance
	}
	if cfg.SyncPeriod == 0 {
		cfg.SyncPeriod = defaultHPASyncPeriod
	}
	targetPct := int64(math.Round(100 * cfg.TargetUtilization))
	if targetPct < 1 || targetPct > math.MaxInt32 {
		return nil, fmt.Errorf("sim: HPAConfig.TargetUtilization: %v is not a whole percentage in [1 %%, 2^31 %%)", cfg.TargetUtilization)
	}
	up, err := cfg.ScaleUp.withDefaults("ScaleUp", 0, []HPAPolicy{
		{Type: PodsPolicy, Value: 4, Period: 15 * time.Second},
		{Type: PercentPolicy, Value: 100, Period: 15 * time.Second},
	})
	if err != nil {
		return nil, err
	}
	down, err := cfg.ScaleDown.withDefaults("ScaleDown", defaultHPAScaleDownWindow, []HPAPolicy{
		{Type: PercentPolicy, Value: 100, Period: 15 * time.Second},
	})
	if err != nil {
		return nil, err
	}
	cfg.ScaleUp, cfg.ScaleDown = up, down
	return &HPA{
		cfg:       cfg,
		targetPct: targetPct,
		upWindow:  *up.StabilizationWindow,
		downWin:   *down.StabilizationWindow,
	}, nil
}

// withDefaults validates r (named field in errors) and fills its defaults.
func (r HPARules) withDefaults(field string, window time.Duration, policies []HPAPolicy) (HPARules, error) {
	if r.StabilizationWindow != nil {
		w := *r.StabilizationWindow
		if w < 0 || w > maxHPAStabilizationWindow {
			return r, fmt.Errorf("sim: HPAConfig.%s.StabilizationWindow: must be in [0, %v], got %v", field, maxHPAStabilizationWindow, w)
		}
		window = w
	}
	r.StabilizationWindow = &window
	switch r.SelectPolicy {
	case "":
		r.SelectPolicy = MaxChangePolicySelect
	case MaxChangePolicySelect, MinChangePolicySelect, DisabledPolicySelect:
	default:
		return r, fmt.Errorf("sim: HPAConfig.%s.SelectPolicy: must be %q, %q or %q, got %q",
			field, MaxChangePolicySelect, MinChangePolicySelect, DisabledPolicySelect, r.SelectPolicy)
	}
	if len(r.Policies) == 0 {
		r.Policies = policies
	}
	for i, p := range r.Policies {
		if p.Type != PodsPolicy && p.Type != PercentPolicy {
			return r, fmt.Errorf("sim: HPAConfig.%s.Policies[%d].Type: must be %q or %q, got %q", field, i, PodsPolicy, PercentPolicy, p.Type)
		}
		if p.Value <= 0 {
			return r, fmt.Errorf("sim: HPAConfig.%s.Policies[%d].Value: must be > 0, got %d", field, i, p.Value)
		}
		if p.Period <= 0 || p.Period > maxHPAPolicyPeriod {
			return r, fmt.Errorf("sim: HPAConfig.%s.Policies[%d].Period: must be in (0, %v], got %v", field, i, maxHPAPolicyPeriod, p.Period)
		}
	}
	r.Policies = append([]HPAPolicy(nil), r.Policies...)
	return r, nil
}

// Config returns the effective configuration, defaults applied.
func (h *HPA) Config() HPAConfig { return h.cfg }

// Name returns "hpa".
func (h *HPA) Name() string { return "hpa" }

// Interval returns the sync period.
func (h *HPA) Interval() time.Duration { return h.cfg.SyncPeriod }

// Recommend runs one reconcile of the controller (see HPA) and returns the
// new desired replica count. It never fails.
func (h *HPA) Recommend(_ context.Context, obs Observation) (int, error) {
	now := obs.Now
	if h.seen && now.Before(h.last) {
		h.recommendations, h.scaleUpEvents, h.downEvents = nil, nil, nil
	}
	h.seen, h.last = true, now

	minR, maxR := obs.MinReplicas, obs.MaxReplicas
	if minR < 1 {
		minR = 1 // the API's default minReplicas
	}
	if maxR < 1 {
		maxR = math.MaxInt32
	}
	current := obs.Replicas
	if h.recommendations == nil { // recordInitialRecommendation
		h.recommendations = []timestampedRecommendation{{current, now}}
	}

	var desired int
	switch {
	case current == 0:
		return 0, nil // scaling is disabled for a target at zero replicas
	case current > maxR:
		desired = maxR
	case current < minR:
		desired = minR
	default:
		proposal, ok := h.resourceReplicas(obs)
		if !ok {
			return current, nil // no metric: the reconcile fails, nothing recorded
		}
		desired = max(proposal, 0)
		desired = h.stabilize(now, current, desired)
		desired = h.limitRate(now, current, desired, minR, maxR)
	}
	if desired != current {
		h.storeScaleEvent(now, current, desired)
	}
	return desired, nil
}

// resourceReplicas is ReplicaCalculator.GetResourceReplicas for ready pods
// sharing the latest complete demand sample and starting pods that report
// no usable metric (unready). ok is false when there is no metric.
func (h *HPA) resourceReplicas(obs Observation) (replicas int, ok bool) {
	n := obs.Demand.Len()
	if n == 0 || obs.Ready <= 0 || !(obs.CapacityPerPod > 0) {
		return 0, false
	}
	v := obs.Demand.Values[n-1]
	if math.IsNaN(v) {
		return 0, false
	}
	current, ready := obs.Replicas, obs.Ready
	unready := max(current-ready, 0)

	usageRatio := h.usageRatio(v, ready, obs.CapacityPerPod)
	scaleUpWithUnready := unready > 0 && usageRatio > 1.0
	if !scaleUpWithUnready {
		if h.withinTolerance(usageRatio) {
			return current, true
		}
		return int(math.Ceil(usageRatio * float64(ready))), true
	}

	// On a scale-up, unready pods count as using 0 % of their request;
	// re-run the calculation over all pods.
	pods := ready + unready
	newUsageRatio := h.usageRatio(v, pods, obs.CapacityPerPod)
	if h.withinTolerance(newUsageRatio) || (usageRatio < 1.0 && newUsageRatio > 1.0) || (usageRatio > 1.0 && newUsageRatio < 1.0) {
		// Too small a change, or the direction would reverse.
		return current, true
	}
	newReplicas := int(math.Ceil(newUsageRatio * float64(pods)))
	if (newUsageRatio < 1.0 && newReplicas > current) || (newUsageRatio > 1.0 && newReplicas < current) {
		// The count of pods considered would reverse the direction.
		return current, true
	}
	return newReplicas, true
}

// usageRatio is metricsclient.GetResourceUtilizationRatio: the pods'
// total usage v over their total request pods × capacity, as a whole
// percentage (truncated, as the controller's integer division does; a
// quotient within 1e-9 below a whole percent counts as that percent, so
// float rounding does not lose one), divided by the target percentage.
func (h *HPA) usageRatio(v float64, pods int, capacity float64) float64 {
	pct := math.Floor(100*v/(float64(pods)*capacity) + utilisationRoundingEpsilon)
	pct = math.Min(pct, math.MaxInt32) // int32 in the controller
	return float64(int64(pct)) / float64(h.targetPct)
}

// withinTolerance is Tolerances.isWithin for equal up and down tolerances.
func (h *HPA) withinTolerance(ratio float64) bool {
	return 1.0-h.cfg.Tolerance <= ratio && ratio <= 1.0+h.cfg.Tolerance
}

// stabilize is stabilizeRecommendationWithBehaviors.
func (h *HPA) stabilize(now time.Time, current, desired int) int {
	upCutoff := now.Add(-h.upWindow)
	downCutoff := now.Add(-h.downWin)
	upRecommendation, downRecommendation := desired, desired
	foundOldSample, oldSampleIndex := false, 0
	for i, rec := range h.recommendations {
		if rec.timestamp.After(upCutoff) {
			upRecommendation = min(rec.recommendation, upRecommendation)
		}
		if rec.timestamp.After(downCutoff) {
			downRecommendation = max(rec.recommendation, downRecommendation)
		}
		if rec.timestamp.Before(upCutoff) && rec.timestamp.Before(downCutoff) {
			foundOldSample, oldSampleIndex = true, i
		}
	}

	recommendation := current
	if recommendation < upRecommendation {
		recommendation = upRecommendation
	}
	if recommendation > downRecommendation {
		recommendation = downRecommendation
	}

	rec := timestampedRecommendation{desired, now}
	if foundOldSample {
		h.recommendations[oldSampleIndex] = rec
	} else {
		h.recommendations = append(h.recommendations, rec)
	}
	return recommendation
}

// limitRate is convertDesiredReplicasWithBehaviorRate.
func (h *HPA) limitRate(now time.Time, current, desired, minR, maxR int) int {
	if desired > current {
		scaleUpLimit := max(h.scaleUpLimit(now, current), current)
		return min(desired, maxR, scaleUpLimit)
	}
	if desired < current {
		scaleDownLimit := min(h.scaleDownLimit(now, current), current)
		return max(desired, minR, scaleDownLimit)
	}
	return desired
}

// scaleUpLimit is calculateScaleUpLimitWithScalingRules.
func (h *HPA) scaleUpLimit(now time.Time, current int) int {
	rules := h.cfg.ScaleUp
	if rules.SelectPolicy == DisabledPolicySelect {
		return current
	}
	pick, result := maxInt, math.MinInt32
	if rules.SelectPolicy == MinChangePolicySelect {
		pick, result = minInt, math.MaxInt32
	}
	for _, p := range rules.Policies {
		added := replicasChangePerPeriod(now, p.Period, h.scaleUpEvents)
		deleted := replicasChangePerPeriod(now, p.Period, h.downEvents)
		start := current - added + deleted
		var proposed int
		switch p.Type {
		case PodsPolicy:
			proposed = start + p.Value
		case PercentPolicy:
			proposed = int(math.Ceil(float64(start) * (1 + float64(p.Value)/100)))
		}
		result = pick(result, proposed)
	}
	return result
}

// scaleDownLimit is calculateScaleDownLimitWithBehaviors.
func (h *HPA) scaleDownLimit(now time.Time, current int) int {
	rules := h.cfg.ScaleDown
	if rules.SelectPolicy == DisabledPolicySelect {
		return current
	}
	pick, result := minInt, math.MaxInt32
	if rules.SelectPolicy == MinChangePolicySelect {
		pick, result = maxInt, math.MinInt32
	}
	for _, p := range rules.Policies {
		added := replicasChangePerPeriod(now, p.Period, h.scaleUpEvents)
		deleted := replicasChangePerPeriod(now, p.Period, h.downEvents)
		start := current - added + deleted
		var proposed int
		switch p.Type {
		case PodsPolicy:
			proposed = start - p.Value
		case PercentPolicy:
			proposed = int(float64(start) * (1 - float64(p.Value)/100))
		}
		result = pick(result, proposed)
	}
	return result
}

// replicasChangePerPeriod is getReplicasChangePerPeriod: the change of the
// events strictly after now − period.
func replicasChangePerPeriod(now time.Time, period time.Duration, events []timestampedScaleEvent) int {
	cutoff := now.Add(-period)
	n := 0
	for _, e := range events {
		if e.timestamp.After(cutoff) {
			n += e.replicaChange
		}
	}
	return n
}

// storeScaleEvent records a scale event, reusing the slot of an event
// older than the direction's longest policy period (the controller's
// storeScaleEvent and markScaleEventsOutdated).
func (h *HPA) storeScaleEvent(now time.Time, prev, next int) {
	events, rules, change := &h.downEvents, h.cfg.ScaleDown, prev-next
	if next > prev {
		events, rules, change = &h.scaleUpEvents, h.cfg.ScaleUp, next-prev
	}
	var longest time.Duration
	for _, p := range rules.Policies {
		longest = max(longest, p.Period)
	}
	cutoff := now.Add(-longest)
	foundOldSample, oldSampleIndex := false, 0
	for i := range *events {
		if (*events)[i].timestamp.Before(cutoff) {
			(*events)[i].outdated = true
		}
		if (*events)[i].outdated {
			foundOldSample, oldSampleIndex = true, i
		}
	}
	ev := timestampedScaleEvent{replicaChange: change, timestamp: now}
	if foundOldSample {
		(*events)[oldSampleIndex] = ev
	} else {
		*events = append(*events, ev)
	}
}

// minInt and maxInt are the controller's min and max as values (the
// built-ins cannot be passed as functions).
func minInt(a, b int) int { return min(a, b) }

func maxInt(a, b int) int { return max(a, b) }
