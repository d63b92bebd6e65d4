package controller

import (
	"errors"
	"math"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/stuurman/stuurman/actuators"
	stuurmanv1 "github.com/stuurman/stuurman/api/v1alpha1"
)

// run drives cycles every interval from the clock's time until end,
// playing the Deployment controller after each, and returns the replica
// count after each cycle, by cycle time.
func (h *harness) run(policy, deploy string, end time.Time, interval time.Duration) map[time.Time]int32 {
	h.t.Helper()
	out := map[time.Time]int32{}
	for now := h.clock.Now(); !now.After(end); now = now.Add(interval) {
		h.clock.SetTime(now)
		h.reconcile(policy)
		out[now] = *h.markReady(deploy).Spec.Replicas
	}
	return out
}

func podsFor(demand float64) int32 { return int32(math.Ceil(demand/capacity - 1e-9)) }

// (a) Auto mode on a Deployment with a daily peak coming: the controller
// scales up ahead of the peak and back down after it, within the policy.
func TestAutoScalesAheadOfDailyPeak(t *testing.T) {
	h := newHarness(t, t0.Add(8*time.Hour), Options{})
	h.deployment("web", 1)
	h.policy("web", "web", stuurmanv1.ModeAuto)

	replicas := h.run("web", "web", t0.Add(18*time.Hour), 5*time.Minute)

	// Ahead of the peak: 15 minutes before noon the capacity for the
	// noon demand is there already.
	noon := t0.Add(12 * time.Hour)
	need := podsFor(dailyDemand(noon))
	if got := replicas[noon.Add(-15*time.Minute)]; got < need {
		t.Errorf("at 11:45 the deployment has %d replicas, want at least the %d the noon peak needs", got, need)
	}
	// Never short of capacity while the demand rises: every cycle leaves
	// enough pods for the demand of the next interval.
	for now, n := range replicas {
		if now.Before(noon) && now.After(t0.Add(9*time.Hour)) {
			if d := dailyDemand(now.Add(5 * time.Minute)); float64(n)*capacity < d {
				t.Errorf("at %s: %d replicas serve %.0f, the demand 5 minutes later is %.0f", now.Format("15:04"), n, float64(n)*capacity, d)
			}
		}
	}
	// Back down after the peak.
	if got := replicas[t0.Add(18*time.Hour)]; got > 2 {
		t.Errorf("at 18:00 the deployment has %d replicas, want at most 2 after the peak", got)
	}

	// Every action was recorded as an ActionProposal applied by stuurman,
	// and stayed within the policy.
	var applied int
	for _, ap := range h.proposals() {
		if ap.Status.Phase != stuurmanv1.PhaseApplied {
			if ap.Status.Phase != stuurmanv1.PhaseDenied {
				t.Errorf("proposal %s in phase %s, want Applied or Denied in mode Auto", ap.Name, ap.Status.Phase)
			}
			continue
		}
		applied++
		if ap.Status.ApprovedBy != ActorAuto || ap.Spec.Decision.Verdict != "allow" {
			t.Errorf("proposal %s: approved by %q, verdict %s; want stuurman, allow", ap.Name, ap.Status.ApprovedBy, ap.Spec.Decision.Verdict)
		}
		from, to := ap.Spec.From, *ap.Spec.Action.Replicas
		switch {
		case to < 1 || to > 8:
			t.Errorf("proposal %s: %d replicas outside the policy's [1, 8]", ap.Name, to)
		case to > from && to-from > 4:
			t.Errorf("proposal %s: scale-up %d → %d exceeds maxStep 4", ap.Name, from, to)
		case to < from && from-to > max(1, from/2):
			t.Errorf("proposal %s: scale-down %d → %d exceeds 50 %%", ap.Name, from, to)
		}
	}
	if applied < 2 {
		t.Errorf("%d applied proposals, want at least a scale-up and a scale-down", applied)
	}
	wp := h.getPolicy("web")
	if c := condition(wp, stuurmanv1.ConditionMetricsAvailable); c.Status != metav1.ConditionTrue {
		t.Errorf("MetricsAvailable = %s (%s), want True", c.Status, c.Message)
	}
	if c := condition(wp, stuurmanv1.ConditionActing); c.Status != metav1.ConditionTrue || c.Reason != stuurmanv1.ReasonAutomatic {
		t.Errorf("Acting = %s/%s, want True/Automatic", c.Status, c.Reason)
	}
	if len(wp.Status.Targets) != 1 || wp.Status.Targets[0].ForecastUpper == nil || wp.Status.Targets[0].LastDecision == "" {
		t.Errorf("target summary %+v, want one target with a forecast and a decision", wp.Status.Targets)
	}
	if got := h.source.Queries(); got != len(replicas) {
		t.Errorf("%d metric reads for %d cycles, want one per cycle", got, len(replicas))
	}
	t.Logf("%d cycles, %d applied proposals; replicas at 10:00 %d, 11:00 %d, 11:45 %d, 12:00 %d, 14:00 %d, 18:00 %d",
		len(replicas), applied, replicas[t0.Add(10*time.Hour)], replicas[t0.Add(11*time.Hour)],
		replicas[noon.Add(-15*time.Minute)], replicas[noon], replicas[t0.Add(14*time.Hour)], replicas[t0.Add(18*time.Hour)])
}

// (c) Recommend mode: ActionProposals and Events, a server-side dry run,
// and no change to the workload.
func TestRecommendChangesNothing(t *testing.T) {
	h := newHarness(t, t0.Add(9*time.Hour), Options{})
	d := h.deployment("api", 1)
	h.policy("api", "api", stuurmanv1.ModeRecommend)

	h.run("api", "api", t0.Add(12*time.Hour), 5*time.Minute)

	after := h.getDeployment("api")
	if *after.Spec.Replicas != 1 || after.Generation != d.Generation {
		t.Errorf("deployment: %d replicas, generation %d; want 1 and %d (unchanged)", *after.Spec.Replicas, after.Generation, d.Generation)
	}
	if _, ok := after.Annotations[actuators.AnnotationLastProposal]; ok {
		t.Errorf("deployment annotated %s in mode Recommend", actuators.AnnotationLastProposal)
	}
	for _, mf := range after.ManagedFields {
		if mf.Manager == "stuurman" {
			t.Errorf("stuurman wrote to the deployment: %s", mf.FieldsV1.Raw)
		}
	}
	aps := h.proposals()
	var pending int
	for _, ap := range aps {
		switch ap.Status.Phase {
		case stuurmanv1.PhasePending:
			pending++
			c := metav1.Condition{}
			for _, x := range ap.Status.Conditions {
				if x.Type == stuurmanv1.ConditionDryRun {
					c = x
				}
			}
			if c.Status != metav1.ConditionTrue {
				t.Errorf("proposal %s: DryRunAccepted = %s (%s), want True", ap.Name, c.Status, c.Message)
			}
			if ap.Spec.Mode != stuurmanv1.ModeRecommend || ap.Spec.Action.Type != stuurmanv1.ActionScale {
				t.Errorf("proposal %s: mode %s, action %s", ap.Name, ap.Spec.Mode, ap.Spec.Action.Type)
			}
		case stuurmanv1.PhaseDenied, stuurmanv1.PhaseExpired:
		default:
			t.Errorf("proposal %s in phase %s in mode Recommend", ap.Name, ap.Status.Phase)
		}
	}
	if pending == 0 {
		t.Fatalf("no Pending proposal among %d", len(aps))
	}
	evs := h.events("Deployment", "api", 1)
	var recommended int
	for _, e := range evs {
		if e.Reason == "ActionRecommended" {
			recommended++
			if e.Related == nil || e.Related.Kind != "ActionProposal" {
				t.Errorf("event %q relates to %v, want the ActionProposal", e.Note, e.Related)
			}
		} else {
			t.Errorf("event %s: %s in mode Recommend", e.Reason, e.Note)
		}
	}
	if recommended == 0 {
		t.Error("no ActionRecommended event on the deployment")
	}
	wp := h.getPolicy("api")
	if c := condition(wp, stuurmanv1.ConditionActing); c.Status != metav1.ConditionFalse || c.Reason != stuurmanv1.ReasonRecommendOnly {
		t.Errorf("Acting = %s/%s, want False/RecommendOnly", c.Status, c.Reason)
	}
}

// (d) The metric source fails, then goes stale, mid-run: the controller
// holds (no proposal, no scale-down although demand falls) and says why
// in MetricsAvailable; it resumes when data is back.
func TestHoldsOnFailingOrStaleMetrics(t *testing.T) {
	h := newHarness(t, t0.Add(11*time.Hour), Options{})
	h.deployment("shop", 1)
	h.policy("shop", "shop", stuurmanv1.ModeAuto)
	h.run("shop", "shop", t0.Add(12*time.Hour), 5*time.Minute)
	high := *h.getDeployment("shop").Spec.Replicas
	if high < 5 {
		t.Fatalf("at the peak the deployment has %d replicas, want at least 5 before the test can start", high)
	}
	n := len(h.proposals())

	expect := func(reason string) {
		t.Helper()
		wp := h.getPolicy("shop")
		c := condition(wp, stuurmanv1.ConditionMetricsAvailable)
		if c.Status != metav1.ConditionFalse || c.Reason != reason {
			t.Errorf("%s: MetricsAvailable = %s/%s (%s), want False/%s", h.clock.Now().Format("15:04"), c.Status, c.Reason, c.Message, reason)
		}
		if a := condition(wp, stuurmanv1.ConditionActing); a.Status != metav1.ConditionFalse || a.Reason != stuurmanv1.ReasonHolding {
			t.Errorf("Acting = %s/%s, want False/Holding", a.Status, a.Reason)
		}
		if got := *h.getDeployment("shop").Spec.Replicas; got != high {
			t.Errorf("%s: %d replicas while holding, want %d", h.clock.Now().Format("15:04"), got, high)
		}
		if got := len(h.proposals()); got != n {
			t.Errorf("%d proposals while holding, want %d", got, n)
		}
	}

	// Prometheus down for an hour, over the fall of the demand.
	h.source.Fail(errors.New("connection refused"))
	h.clock.SetTime(t0.Add(12*time.Hour + 5*time.Minute))
	h.run("shop", "shop", t0.Add(13*time.Hour), 5*time.Minute)
	expect(stuurmanv1.ReasonQueryFailed)

	// Back, but the metric stopped being scraped at 12:05: the newest
	// sample grows old, and the controller holds again.
	h.source.Fail(nil)
	h.source.Cut(t0.Add(12*time.Hour + 5*time.Minute))
	h.clock.SetTime(t0.Add(13*time.Hour + 5*time.Minute))
	h.run("shop", "shop", t0.Add(15*time.Hour), 5*time.Minute)
	expect(stuurmanv1.ReasonStaleMetrics)
	wp := h.getPolicy("shop")
	if ts := wp.Status.Targets; len(ts) != 1 || ts[0].Holding == "" || ts[0].LastSampleTime == nil {
		t.Errorf("target summary %+v, want the hold and the last sample's time", ts)
	}

	// Data again: the controller resumes, and scales down.
	h.source.Cut(time.Time{})
	h.clock.SetTime(t0.Add(15*time.Hour + 5*time.Minute))
	h.run("shop", "shop", t0.Add(16*time.Hour), 5*time.Minute)
	if c := condition(h.getPolicy("shop"), stuurmanv1.ConditionMetricsAvailable); c.Status != metav1.ConditionTrue {
		t.Errorf("after recovery MetricsAvailable = %s/%s, want True", c.Status, c.Reason)
	}
	if got := *h.getDeployment("shop").Spec.Replicas; got >= high {
		t.Errorf("after recovery %d replicas, want fewer than %d", got, high)
	}

	// A target that never had data: NoData.
	h.deployment("empty", 2)
	h.source.Set(deploymentTarget(h.ns, "empty"), dailySeries("x").Slice(0, 0))
	h.policy("empty", "empty", stuurmanv1.ModeAuto)
	h.reconcile("empty")
	if c := condition(h.getPolicy("empty"), stuurmanv1.ConditionMetricsAvailable); c.Status != metav1.ConditionFalse || c.Reason != stuurmanv1.ReasonNoData {
		t.Errorf("no data: MetricsAvailable = %s/%s, want False/NoData", c.Status, c.Reason)
	}
	if got := *h.getDeployment("empty").Spec.Replicas; got != 2 {
		t.Errorf("no data: %d replicas, want 2", got)
	}
}
