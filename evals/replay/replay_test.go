package replay

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stuurman/stuurman/evals/sim"
	"github.com/stuurman/stuurman/metrics"
)

// synthetic returns days of per-minute demand with a daily cycle and
// noise, and with burst, a 20-minute burst each afternoon.
func synthetic(days int, seed uint64, burst bool) metrics.Series {
	r := rand.New(rand.NewPCG(seed, 1))
	n := days * 1440
	v := make([]float64, n)
	for i := range v {
		phase := 2 * math.Pi * float64(i%1440) / 1440
		v[i] = 100 + 60*math.Sin(phase) + 8*r.NormFloat64()
		if m := i % 1440; burst && m >= 900 && m < 920 {
			v[i] += 80
		}
	}
	return metrics.Series{Name: "synthetic", Start: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), Step: time.Minute, Values: v}
}

func decisionsOf(t *testing.T, r sim.Result, name string) []sim.Decision {
	t.Helper()
	for _, s := range r.Scalers {
		if s.Name == name {
			return s.Decisions
		}
	}
	t.Fatalf("no scaler %q in the result", name)
	return nil
}

// TestNoLookAhead proves that neither scaler sees the future: changing every
// sample from time T on never changes a decision made before T.
func TestNoLookAhead(t *testing.T) {
	base := synthetic(4, 7, true)
	cut := 3*1440 + 600 // T: day 4, 10:00
	changed := base.Clone()
	for i := cut; i < changed.Len(); i++ {
		changed.Values[i] *= 3
	}
	T := base.Time(cut)
	opts := Options{CapacityPerPod: 10, RecordDecisions: true}
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	a, err := Run(context.Background(), base, opts, now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run(context.Background(), changed, opts, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"hpa", "stuurman"} {
		da, db := decisionsOf(t, a.Sim, name), decisionsOf(t, b.Sim, name)
		if len(da) != len(db) || len(da) == 0 {
			t.Fatalf("%s: %d vs %d decisions", name, len(da), len(db))
		}
		before, differAfter := 0, false
		for i := range da {
			// The sample starting at T completes at T+step: decisions up
			// to and including T+step-ε may not depend on it.
			if da[i].Time.Before(T.Add(base.Step)) {
				before++
				if da[i] != db[i] {
					t.Fatalf("%s: decision at %v differs (%d vs %d) although only samples from %v on changed",
						name, da[i].Time, da[i].Replicas, db[i].Replicas, T)
				}
			} else if da[i].Replicas != db[i].Replicas {
				differAfter = true
			}
		}
		if before == 0 || !differAfter {
			t.Fatalf("%s: vacuous test: %d decisions before T, decisions after T differ: %v", name, before, differAfter)
		}
	}
}

func TestRunReportsBothScalers(t *testing.T) {
	r, err := Run(context.Background(), synthetic(5, 3, false), Options{CapacityPerPod: 10}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Sim.Scalers) != 2 || r.Sim.Scalers[0].Name != "hpa" || r.Sim.Scalers[1].Name != "stuurman" {
		t.Fatalf("scalers %+v", r.Sim.Scalers)
	}
	if r.DecisionCount != 5*1440 {
		t.Errorf("decision count %d, want one per minute: %d", r.DecisionCount, 5*1440)
	}
	if len(r.Decisions) == 0 || len(r.Decisions) >= r.DecisionCount {
		t.Errorf("%d notable decisions of %d", len(r.Decisions), r.DecisionCount)
	}
	for _, d := range r.Decisions {
		if d.PolicyHash == "" || len(d.Rules) == 0 || d.Proposal.Reason == "" {
			t.Fatalf("decision without hash, rules or reason: %+v", d)
		}
	}
	if math.IsNaN(r.Forecast.MASE) || r.Forecast.MASE > 1 {
		t.Errorf("forecast MASE %v on a clean daily cycle, want < 1", r.Forecast.MASE)
	}
	// The forecast band must exist once the model is trusted, and hold
	// the demand most of the time.
	in, n := 0, 0
	for i, v := range r.Demand.Values {
		lo, hi := r.Band.Lower[i], r.Band.Upper[i]
		if i < 2*1440 || math.IsNaN(lo) {
			continue
		}
		n++
		if v >= lo && v <= hi {
			in++
		}
	}
	if n < 2*1440 || float64(in)/float64(n) < 0.75 {
		t.Errorf("band holds %d of %d samples", in, n)
	}
	// On a smooth daily cycle stuurman must spend fewer replica-hours than
	// the reactive baseline (which keeps 43 % headroom), keep SLO
	// violations under 0.2 % of the time, and not flap: at most twice the
	// baseline's actions.
	h, s := r.Sim.Scalers[0].Metrics, r.Sim.Scalers[1].Metrics
	if s.ReplicaHours >= h.ReplicaHours || s.SLOViolationMinutes > 0.002*5*1440 || s.Actions > 2*h.Actions {
		t.Errorf("stuurman %+v vs hpa %+v", s, h)
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	if _, err := Run(context.Background(), synthetic(1, 1, false), Options{}, time.Now()); err == nil {
		t.Fatal("no error for a missing capacity per pod")
	}
	if _, err := Run(context.Background(), metrics.Series{Name: "empty", Step: time.Minute}, Options{CapacityPerPod: 1}, time.Now()); err == nil {
		t.Fatal("no error for an empty trace")
	}
}
