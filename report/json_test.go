package report

import (
	"encoding/json"
	"math"
	"os"
	"reflect"
	"sort"
	"testing"
)

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func wantKeys(t *testing.T, what string, m map[string]any, want ...string) {
	t.Helper()
	sort.Strings(want)
	if got := keys(m); !reflect.DeepEqual(got, want) {
		t.Errorf("%s keys = %v, want %v", what, got, want)
	}
}

func TestJSONShapeAndValues(t *testing.T) {
	r := smallReport()
	files, err := Write(t.TempDir(), r)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(files.JSON)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("report.json is not valid JSON: %v", err)
	}
	wantKeys(t, "top level", m, "title", "source", "generated", "parameters", "capacity_per_pod", "demand",
		"scalers", "forecast", "decisions", "decision_count", "findings", "comparison")

	scalers := m["scalers"].([]any)
	if len(scalers) != 2 {
		t.Fatalf("scalers: %d, want 2", len(scalers))
	}
	for _, s := range scalers {
		wantKeys(t, "scaler", s.(map[string]any), "name", "replica_hours", "slo_violation_minutes",
			"theta_u", "theta_o", "tau_u", "tau_o", "actions")
	}
	wantScaler := map[string]any{"name": "stuurman", "replica_hours": 93.0, "slo_violation_minutes": 11.895,
		"theta_u": 4.0, "theta_o": nil, "tau_u": 3.0, "tau_o": 90.0, "actions": 7.0}
	if !reflect.DeepEqual(scalers[1], wantScaler) {
		t.Errorf("scalers[1] = %v, want %v", scalers[1], wantScaler)
	}
	wantForecast := map[string]any{"model": "holt_winters_damped", "mase": nil, "period": 1440.0,
		"mean_mase": 0.75, "note": "cold start", "coverage": 0.9}
	if !reflect.DeepEqual(m["forecast"], wantForecast) {
		t.Errorf("forecast = %v, want %v", m["forecast"], wantForecast)
	}
	wantKeys(t, "comparison", m["comparison"].(map[string]any), "baseline", "candidate", "replica_hours_ratio",
		"replica_hours_reduction_percent", "slo_violation_minutes_ratio", "slo_violation_minutes_reduction_percent", "actions_ratio")
	wantKeys(t, "demand", m["demand"].(map[string]any), "name", "start", "step_seconds", "samples", "gaps")
	params := m["parameters"].([]any)
	if want := map[string]any{"name": "capacity-per-pod", "value": "4"}; !reflect.DeepEqual(params[0], want) {
		t.Errorf("parameters[0] = %v, want %v", params[0], want)
	}
	d0 := m["decisions"].([]any)[0].(map[string]any)
	wantKeys(t, "decision", d0, "time", "proposal", "verdict", "action", "rules", "policy_hash")
	ev := d0["proposal"].(map[string]any)["evidence"].(map[string]any)
	if v, ok := ev["mase"]; !ok || v != nil {
		t.Errorf("decision evidence mase = %v (present %v), want null", v, ok)
	}

	got, err := ReadJSON(files.JSON)
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != r.Title || got.Source != r.Source || !got.Generated.Equal(r.Generated) {
		t.Errorf("title/source/generated = %q %q %v", got.Title, got.Source, got.Generated)
	}
	if !reflect.DeepEqual(got.Parameters, r.Parameters) {
		t.Errorf("parameters = %v", got.Parameters)
	}
	if got.DecisionCount != 17 || len(got.Decisions) != 2 || len(got.Findings) != 1 {
		t.Errorf("decision_count %d, %d decisions, %d findings", got.DecisionCount, len(got.Decisions), len(got.Findings))
	}
	if got.Demand.Samples != 20 || got.Demand.Gaps != 2 || got.Demand.StepSeconds != 60 {
		t.Errorf("demand = %+v", got.Demand)
	}
	if got.CapacityPerPod != 4 {
		t.Errorf("capacity_per_pod = %v", got.CapacityPerPod)
	}
	if h := got.Scalers[0]; h.Name != "hpa" || h.ReplicaHours != 100 || h.SLOViolationMinutes != 30.5 || h.Actions != 14 {
		t.Errorf("scalers[0] = %+v", h)
	}
	if !math.IsNaN(float64(got.Scalers[1].ThetaO)) || !math.IsNaN(float64(got.Forecast.MASE)) {
		t.Errorf("null did not decode to NaN: theta_o %v, mase %v", got.Scalers[1].ThetaO, got.Forecast.MASE)
	}
	c := got.Comparison
	if c == nil {
		t.Fatal("comparison is null")
	}
	near := func(a Float, b float64) bool { return math.Abs(float64(a)-b) < 1e-9 }
	if c.Baseline != "hpa" || c.Candidate != "stuurman" || !near(c.ReplicaHoursRatio, 0.93) ||
		!near(c.SLOViolationMinutesReductionPercent, 61) || !near(c.ReplicaHoursReductionPercent, 7) ||
		!near(c.SLOViolationMinutesRatio, 0.39) || !near(c.ActionsRatio, 0.5) {
		t.Errorf("comparison = %+v", *c)
	}

	// The second decision has no NaN: it must round-trip exactly.
	d1 := got.Decisions[1].PolicyDecision()
	want := r.Decisions[1]
	if !d1.Time.Equal(want.Time) {
		t.Errorf("decision time %v, want %v", d1.Time, want.Time)
	}
	d1.Time = want.Time
	if !reflect.DeepEqual(d1, want) {
		t.Errorf("decision round trip:\n got %+v\nwant %+v", d1, want)
	}
	d0d := got.Decisions[0].PolicyDecision()
	if !math.IsNaN(d0d.Proposal.Evidence["mase"]) || d0d.Proposal.Evidence["upper"] != 25 || d0d.Action.Replicas != 6 {
		t.Errorf("decision 0 = %+v", d0d)
	}
	f := got.Findings[0].ForecastFinding()
	if f.Kind != "anomaly" || f.Severity != r.Findings[0].Severity || !math.IsNaN(f.Evidence["robust_z"]) || f.Evidence["observed"] != 27 {
		t.Errorf("finding = %+v", f)
	}
}

func TestJSONEmptyReport(t *testing.T) {
	b, err := JSON(Report{})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"parameters", "scalers", "decisions", "findings"} {
		if _, ok := m[k].([]any); !ok {
			t.Errorf("%s = %v, want []", k, m[k])
		}
	}
	if m["comparison"] != nil {
		t.Errorf("comparison = %v, want null", m["comparison"])
	}
}

func TestFloatNull(t *testing.T) {
	type doc struct {
		A, B, C Float
		M       map[string]Float
	}
	in := doc{A: Float(math.NaN()), B: Float(math.Inf(1)), C: 1.5, M: map[string]Float{"x": Float(math.Inf(-1)), "y": 2}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"A":null,"B":null,"C":1.5,"M":{"x":null,"y":2}}`; string(b) != want {
		t.Errorf("marshal = %s, want %s", b, want)
	}
	var out doc
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(float64(out.A)) || !math.IsNaN(float64(out.B)) || out.C != 1.5 ||
		!math.IsNaN(float64(out.M["x"])) || out.M["y"] != 2 {
		t.Errorf("unmarshal = %+v", out)
	}
	if err := json.Unmarshal([]byte(`{"A":"x"}`), &out); err == nil {
		t.Error("a string decoded as a Float")
	}
}
