package controller

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/stuurman/stuurman/agents"
	stuurmanv1 "github.com/stuurman/stuurman/api/v1alpha1"
	"github.com/stuurman/stuurman/policies"
)

// cycle runs one control cycle for every target of wp: one batched demand
// read, then one pipeline cycle per target whose demand is usable. It
// writes the targets' summaries and the MetricsAvailable and Acting
// conditions into wp.Status.
func (r *Reconciler) cycle(ctx context.Context, wp *stuurmanv1.WorkloadPolicy, rt *policyRuntime, targets []workload, proposals []*stuurmanv1.ActionProposal, now time.Time) error {
	log := log.FromContext(ctx)
	cfg := rt.cfg
	st := &wp.Status

	// Read from where the oldest history ends (two steps back, for late
	// samples), or the whole history window for a new target.
	start := now.Add(-cfg.history)
	if len(targets) > 0 {
		from := now
		for _, w := range targets {
			tr, err := r.targetRuntime(wp, rt, w)
			if err != nil {
				return err
			}
			if tr.history.Len() == 0 {
				from = start
				break
			}
			from = minTime(from, tr.history.End().Add(-2*cfg.step))
		}
		start = maxTime(start, from)
	}
	q := DemandQuery{Metric: wp.Spec.Metric, Start: start.Truncate(cfg.step), End: now, Step: cfg.step}
	for _, w := range targets {
		q.Targets = append(q.Targets, w.Target)
	}
	series, qerr := r.opts.Source.Demand(ctx, q)
	if qerr != nil {
		log.Info("demand read failed: holding", "error", qerr.Error())
	}

	prev := map[string]stuurmanv1.TargetStatus{}
	for _, ts := range st.Targets {
		prev[ts.Name] = ts
	}
	held := map[string][]string{} // reason → "name: why"
	var errs []error
	st.Targets = st.Targets[:0]
	for _, w := range targets {
		tr := rt.targets[w.Target]
		old := prev[w.Target.Name]
		ts := stuurmanv1.TargetStatus{
			Name: w.Target.Name, Replicas: int32(w.State.Replicas), ReadyReplicas: int32(w.State.Ready), HPA: w.HPA,
			LastDecision: old.LastDecision, LastProposal: old.LastProposal,
			ForecastUpper: old.ForecastUpper, ForecastModel: old.ForecastModel,
		}
		hold := func(reason, why string) {
			ts.Holding = reason + ": " + why
			held[reason] = append(held[reason], w.Target.Name+": "+why)
			r.metrics.Holds.WithLabelValues(reason).Inc()
			r.metrics.Cycles.WithLabelValues("hold").Inc()
		}
		if qerr != nil {
			hold(stuurmanv1.ReasonQueryFailed, qerr.Error())
			st.Targets = append(st.Targets, ts)
			continue
		}
		tr.history.merge(series[w.Target], cfg.history)
		hist := tr.history.series()
		if hist.Step > 0 {
			hist = hist.Until(now)
		}
		_, last := hist.Last()
		if last < 0 {
			hold(stuurmanv1.ReasonNoData, "no demand sample")
			st.Targets = append(st.Targets, ts)
			continue
		}
		lastEnd := hist.Time(last).Add(hist.Step)
		ts.LastSampleTime = &metav1.Time{Time: lastEnd}
		if age := now.Sub(lastEnd); age > cfg.staleAfter {
			hold(stuurmanv1.ReasonStaleMetrics, fmt.Sprintf("newest sample %v old, more than %v", age, cfg.staleAfter))
			st.Targets = append(st.Targets, ts)
			continue
		}

		tr.writer.begin(wp, rt, w, now, proposals)
		out, err := tr.pipeline.Cycle(ctx, now, hist, w.State)
		proposals = tr.writer.proposals
		lastProposal := tr.writer.last
		tr.writer.end()
		if err != nil {
			r.metrics.Cycles.WithLabelValues("error").Inc()
			errs = append(errs, fmt.Errorf("%s: %w", w.Target, err))
			ts.Holding = "Error: " + err.Error()
		} else {
			r.metrics.Cycles.WithLabelValues("ok").Inc()
		}
		horizon := max(1, int(math.Ceil(float64(cfg.leadTime)/float64(cfg.step))))
		if f := out.Forecast; f.Len() > 0 {
			if u := f.MaxUpper(horizon); !math.IsNaN(u) && !math.IsInf(u, 0) {
				ts.ForecastUpper = resource.NewMilliQuantity(int64(math.Round(u*1000)), resource.DecimalSI)
			}
			ts.ForecastModel = f.Model
			r.metrics.ForecastMASE.WithLabelValues(wp.Namespace, wp.Name, w.Target.Name).Set(f.MASE)
		}
		var ds []string
		for _, d := range out.Decisions {
			r.metrics.Decisions.WithLabelValues(string(d.Verdict)).Inc()
			ds = append(ds, describeDecision(d))
		}
		if len(ds) > 0 {
			ts.LastDecision = strings.Join(ds, "; ")
		}
		if lastProposal != "" {
			ts.LastProposal = lastProposal
		}
		st.Targets = append(st.Targets, ts)
	}
	if len(st.Targets) == 0 {
		st.Targets = nil
	}

	switch {
	case len(held) > 0:
		reason := ""
		for _, rs := range []string{stuurmanv1.ReasonQueryFailed, stuurmanv1.ReasonNoData, stuurmanv1.ReasonStaleMetrics} {
			if len(held[rs]) > 0 {
				reason = rs
				break
			}
		}
		var why []string
		for _, ws := range held {
			why = append(why, ws...)
		}
		sort.Strings(why)
		msg := "holding, nothing is proposed: " + strings.Join(why, "; ")
		setCondition(st, wp, now, stuurmanv1.ConditionMetricsAvailable, metav1.ConditionFalse, reason, truncate(msg, 1024))
		setCondition(st, wp, now, stuurmanv1.ConditionActing, metav1.ConditionFalse, stuurmanv1.ReasonHolding, "holding for want of demand data")
	default:
		setCondition(st, wp, now, stuurmanv1.ConditionMetricsAvailable, metav1.ConditionTrue, stuurmanv1.ReasonFresh,
			fmt.Sprintf("demand of %d target(s) is fresh", len(targets)))
		switch cfg.mode {
		case stuurmanv1.ModeRecommend:
			setCondition(st, wp, now, stuurmanv1.ConditionActing, metav1.ConditionFalse, stuurmanv1.ReasonRecommendOnly, "mode Recommend: proposals are recorded, no workload is changed")
		case stuurmanv1.ModeApprove:
			setCondition(st, wp, now, stuurmanv1.ConditionActing, metav1.ConditionTrue, stuurmanv1.ReasonAwaitingApproval, "mode Approve: proposals are applied once approved")
		default:
			setCondition(st, wp, now, stuurmanv1.ConditionActing, metav1.ConditionTrue, stuurmanv1.ReasonAutomatic, "mode Auto: allowed actions are applied")
		}
	}
	return errors.Join(errs...)
}

// describeDecision summarises d: "allow: scale 2 → 5".
func describeDecision(d policies.Decision) string {
	a := d.Action
	if d.Verdict == policies.Deny {
		a = d.Proposal.Action
	}
	switch a.Kind {
	case agents.ActionScale:
		return fmt.Sprintf("%s: scale %d → %d", d.Verdict, d.Proposal.From, a.Replicas)
	case agents.ActionHold:
		return fmt.Sprintf("%s: hold at %d", d.Verdict, d.Proposal.From)
	}
	return fmt.Sprintf("%s: %s", d.Verdict, a.Kind)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n-3], "") + "..."
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
