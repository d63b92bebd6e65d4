package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stuurman/stuurman/report"
)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

// TestRecommendDemo runs the demo's command on the bundled trace and checks
// the report it writes.
func TestRecommendDemo(t *testing.T) {
	dir := t.TempDir()
	out, err := run(t, "recommend", "--trace", "../../examples/nasa_http_1995_per_minute_3w.csv", "--out", dir, "--capacity-per-pod", "10")
	if err != nil {
		t.Fatalf("recommend: %v\n%s", err, out)
	}
	for _, want := range []string{"replaying nasa_http_1995_per_minute_3w: 100%", "report: " + filepath.Join(dir, "report.html")} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	r, err := report.ReadJSON(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Scalers) != 2 || r.Scalers[0].Name != "hpa" || r.Scalers[1].Name != "stuurman" {
		t.Fatalf("scalers = %+v", r.Scalers)
	}
	for _, s := range r.Scalers {
		if !(s.ReplicaHours > 0) || s.Actions == 0 || !(s.TauO > 0) {
			t.Errorf("%s: implausible metrics %+v", s.Name, s)
		}
	}
	if r.Demand.Samples != 21*1440 || r.Forecast.Model == "" || !(r.Forecast.MASE > 0) {
		t.Errorf("demand %+v forecast %+v", r.Demand, r.Forecast)
	}
	if len(r.Decisions) == 0 || r.DecisionCount != 21*1440 {
		t.Errorf("%d decisions kept of %d", len(r.Decisions), r.DecisionCount)
	}
	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(html, []byte("<svg")) || len(html) > 2<<20 {
		t.Errorf("report.html: %d bytes, svg: %v", len(html), bytes.Contains(html, []byte("<svg")))
	}
}

func TestRecommendBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("timestamp,value\n2026-01-01 00:00:00,1\n2026-01-01 00:01:00,x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pol := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(pol, []byte("maxReplicas: 10\nscaleDown:\n  maxStepPercent: 150\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := "../../examples/nasa_http_1995_per_minute_3w.csv"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"recommend", "--trace", bad, "--out", dir}, bad + `:3: column "value": value "x" is not a number`},
		{[]string{"recommend", "--trace", filepath.Join(dir, "missing.csv"), "--out", dir}, "no such file"},
		{[]string{"recommend", "--trace", good, "--out", dir, "--policy", pol}, pol + ":3: scaleDown.maxStepPercent: must be <= 100"},
		{[]string{"recommend", "--trace", good, "--out", dir, "--capacity-per-pod", "0"}, "--capacity-per-pod must be a positive number"},
		{[]string{"recommend", "--out", dir}, `required flag(s) "trace" not set`},
	} {
		_, err := run(t, append(tc.args, "-q")...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "report.json")); err == nil {
		t.Error("a failed run wrote a report")
	}
}
