package policies

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/stuurman/stuurman/agents"
)

// randomCase draws a policy (every rule configured at random, custom rules
// included), a proposal and a state. from and to are the proposal's counts.
func randomCase(r *rand.Rand, from, to int) (Policy, agents.Proposal, State, time.Time) {
	dur := func(max time.Duration) Duration { return Duration(time.Duration(r.Int64N(int64(max)))) }
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	lo := r.IntN(6)
	pol := Policy{
		MinReplicas: lo, MaxReplicas: max(1, lo) + r.IntN(60),
		ScaleUp: Rules{MaxStep: r.IntN(6), MaxStepPercent: float64(r.IntN(300)), SelectPolicy: pick(SelectMax, SelectMin),
			StabilizationWindow: dur(10 * time.Minute), Cooldown: dur(5 * time.Minute)},
		ScaleDown: Rules{MaxStep: r.IntN(6), MaxStepPercent: float64(r.IntN(101)), SelectPolicy: pick(SelectMax, SelectMin),
			StabilizationWindow: dur(10 * time.Minute), Cooldown: dur(5 * time.Minute)},
		Tolerance:     r.Float64() * 0.3,
		MinConfidence: pick2(r, 0, 0.5*r.Float64()),
		Restarts:      RestartRules{MaxUnavailable: pick("1", "2", "25%", "100%"), Cooldown: dur(time.Hour)},
		Approval:      ApprovalRules{ScaleUpFactor: pick2(r, 0, 1+3*r.Float64()), ScaleDownFactor: pick2(r, 0, 0.01+0.99*r.Float64()), RestartNamespaces: []string{pick("prod*", "x")}},
	}
	if r.IntN(4) == 0 {
		pol.Protected = Protected{Namespaces: []string{pick("kube-*", "none")}, Workloads: []string{pick("*/db", "a/b")}}
	}
	if r.IntN(2) == 0 {
		pol.FlapBudget = &FlapBudget{MaxChanges: r.IntN(3), Window: Duration(time.Minute) + dur(time.Hour)}
	}
	if r.IntN(2) == 0 {
		pol.NamespaceRateLimit = &RateLimit{MaxActions: 1 + r.IntN(5), Window: Duration(time.Minute) + dur(time.Hour)}
	}
	if r.IntN(3) == 0 {
		pol.Freezes = []Freeze{{Schedule: pick("0 18 * * 5", "30 2 * * *", "0 */4 * * *", "@daily"),
			Duration: Duration(time.Minute) + dur(6*time.Hour), TimeZone: pick("UTC", "Europe/Amsterdam", "America/New_York", "Asia/Kolkata")}}
	}
	if r.IntN(2) == 0 {
		pol.Rules = []CELRule{
			{Name: "floor", Expression: `decision.action == "scale" && decision.replicas < state.replicas / 2`, Effect: EffectRequireApproval},
			{Name: "labels", Expression: `workload.labels["tier"] == "critical"`, Effect: pick(EffectDeny, EffectRequireApproval)},
			{Name: "history", Expression: `state.actions.exists(a, a.direction == "up" && now - a.time < duration("10m")) && proposal.confidence < 0.9`, Effect: EffectDeny},
		}
	}

	now := time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.Int64N(int64(48 * time.Hour))))
	kinds := []agents.ActionKind{agents.ActionScale, agents.ActionScale, agents.ActionScale, agents.ActionScale, agents.ActionScale,
		agents.ActionScale, agents.ActionRestart, agents.ActionRestart, agents.ActionHold, "delete"}
	p := agents.Proposal{
		Workload:   agents.Workload{Kind: "Deployment", Namespace: pick("prod", "kube-system", "dev"), Name: pick("web", "db")},
		From:       from,
		Action:     agents.Action{Kind: kinds[r.IntN(len(kinds))], Replicas: to},
		Confidence: []float64{0.6 + 0.4*r.Float64(), 0.6 + 0.4*r.Float64(), 0.6 + 0.4*r.Float64(), r.Float64(), 1, 0, math.NaN(), 1.5, -1}[r.IntN(9)],
		Agent:      pick("heuristic", "llm"),
	}
	st := State{Replicas: from, Ready: max(0, from-r.IntN(3))}
	if r.IntN(10) == 0 {
		st.Replicas = r.IntN(60) // sometimes stale
	}
	if r.IntN(2) == 0 {
		st.Workload = p.Workload
		if r.IntN(2) == 0 {
			st.Workload.Labels = map[string]string{"tier": pick("critical", "batch")}
		}
	}
	if r.IntN(2) == 0 {
		st.PDB = &agents.PDBStatus{Name: "pdb", DisruptionsAllowed: r.IntN(4) - 1}
	}
	for range r.IntN(8) {
		st.Recommendations = append(st.Recommendations, Recommendation{Time: now.Add(-dur(15 * time.Minute).D()), Replicas: r.IntN(80)})
	}
	for range r.IntN(8) {
		a := agents.ActionRecord{Time: now.Add(-dur(2 * time.Hour).D()), From: r.IntN(60), Action: agents.Action{Kind: agents.ActionScale, Replicas: r.IntN(60)}}
		if r.IntN(4) == 0 {
			a.Action = agents.Action{Kind: agents.ActionRestart}
		}
		st.Actions = append(st.Actions, a)
		st.NamespaceActions = append(st.NamespaceActions, a.Time)
	}
	if r.IntN(3) == 0 {
		st.LastScaleUp = now.Add(-dur(time.Hour).D())
	}
	if r.IntN(3) == 0 {
		st.LastRestart = now.Add(-dur(2 * time.Hour).D())
	}
	return pol, p, st, now
}

func pick2(r *rand.Rand, a, b float64) float64 {
	if r.IntN(2) == 0 {
		return a
	}
	return b
}

// checkProperties asserts what every decision must satisfy, whatever the
// inputs: no panic inside evaluation, the verdict and action agree, a scale
// never leaves the bounds, the input is unchanged and Decide is
// deterministic.
func checkProperties(t *testing.T, pol Policy, p agents.Proposal, st State, now time.Time) {
	t.Helper()
	e, err := NewEngine(pol)
	if err != nil {
		t.Fatalf("policy %+v: %v", pol, err)
	}
	before := deepCopy(st)
	d := e.Decide(p, st, now)
	if !reflect.DeepEqual(before, st) {
		t.Fatal("Decide modified its input state")
	}
	checkDecision(t, e, d)
	switch d.Action.Kind {
	case agents.ActionHold:
	case agents.ActionScale:
		pol := e.Policy()
		if d.Action.Replicas < pol.MinReplicas || d.Action.Replicas > pol.MaxReplicas {
			t.Fatalf("scale to %d outside [%d, %d]: %+v\n%s", d.Action.Replicas, pol.MinReplicas, pol.MaxReplicas, p, describeRules(d))
		}
		if p.Action.Kind != agents.ActionScale || d.Action.Replicas == p.From {
			t.Fatalf("final scale %+v for proposal %+v", d.Action, p)
		}
	case agents.ActionRestart:
		if p.Action.Kind != agents.ActionRestart || d.MaxUnavailable < 1 || d.MaxUnavailable > st.Replicas ||
			(st.PDB != nil && d.MaxUnavailable > st.PDB.DisruptionsAllowed) {
			t.Fatalf("restart with maxUnavailable %d for %+v in %+v", d.MaxUnavailable, p, st)
		}
	default:
		t.Fatalf("final action %+v", d.Action)
	}
	if again := e.Decide(p, st, now); !reflect.DeepEqual(stripNaN(again), stripNaN(d)) {
		t.Fatalf("Decide is not deterministic:\n%+v\n%+v", d, again)
	}
}

// stripNaN makes decisions comparable with DeepEqual (NaN != NaN).
func stripNaN(d Decision) Decision {
	if math.IsNaN(d.Proposal.Confidence) {
		d.Proposal.Confidence = -42
	}
	return d
}

func TestDecideProperties(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 300
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range n {
		from := r.IntN(60)
		to := r.IntN(120) - 10
		pol, p, st, now := randomCase(r, from, to)
		checkProperties(t, pol, p, st, now)
	}
}

func FuzzDecide(f *testing.F) {
	f.Add(uint64(1), 3, 10)
	f.Add(uint64(2), 0, 0)
	f.Add(uint64(3), 100, 1)
	f.Add(uint64(4), math.MaxInt, math.MinInt)
	f.Add(uint64(5), 5, math.MaxInt)
	f.Fuzz(func(t *testing.T, seed uint64, from, to int) {
		pol, p, st, now := randomCase(rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), from, to)
		checkProperties(t, pol, p, st, now)
	})
}
