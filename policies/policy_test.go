package policies

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/stuurman/stuurman/agents"
)

func TestLoadValid(t *testing.T) {
	p, err := Load([]byte(`
minReplicas: 2
maxReplicas: 40
scaleUp:
  maxStep: 4
  maxStepPercent: 100
scaleDown:
  maxStepPercent: 25
  stabilizationWindow: 5m
  cooldown: 90s
`), "policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := Policy{MinReplicas: 2, MaxReplicas: 40,
		ScaleUp:   Rules{MaxStep: 4, MaxStepPercent: 100, SelectPolicy: SelectMax},
		ScaleDown: Rules{MaxStepPercent: 25, SelectPolicy: SelectMax, StabilizationWindow: Duration(5 * time.Minute), Cooldown: Duration(90 * time.Second)},
		Restarts:  RestartRules{MaxUnavailable: "1"}}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("loaded %+v\nwant   %+v", p, want)
	}
}

func TestLoadErrorsNameFileLineAndField(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"invalid values", "minReplicas: 2\nmaxReplicas: 1\nscaleUp:\n  maxStepPercent: -5\nscaleDown:\n  selectPolicy: Median\n",
			[]string{"policy.yaml:2: maxReplicas: must be >= minReplicas (2), got 1",
				"policy.yaml:4: scaleUp.maxStepPercent: must be a finite number >= 0, got -5",
				`policy.yaml:6: scaleDown.selectPolicy: must be "Max" or "Min", got "Median"`}},
		{"missing required", "minReplicas: 2\n", []string{"policy.yaml:1: maxReplicas: must be > 0, got 0"}},
		{"unknown field", "maxReplicas: 3\nscaleUp:\n  maxStepz: 4\n", []string{"policy.yaml:", "line 3: field maxStepz not found"}},
		{"bad duration", "maxReplicas: 3\nscaleDown:\n  cooldown: 2x\n", []string{"policy.yaml:", "line 3", `invalid duration "2x"`}},
		{"wrong type", "maxReplicas: many\n", []string{"policy.yaml:", "line 1", "many"}},
		{"empty", "", []string{"policy.yaml: empty policy"}},
		{"syntax", "maxReplicas: [\n", []string{"policy.yaml:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load([]byte(tc.in), "policy.yaml")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestHashChangesWithPolicy(t *testing.T) {
	a, b := Default(), Default()
	if a.Hash() != b.Hash() {
		t.Fatal("equal policies hash differently")
	}
	b.ScaleDown.Cooldown = Duration(time.Minute)
	if a.Hash() == b.Hash() {
		t.Fatal("different policies hash the same")
	}
	c := a
	c.ScaleUp.SelectPolicy = "" // defaults make it equal again
	if a.Hash() != c.Hash() {
		t.Fatal("hash depends on whether defaults were written out")
	}
}

const fullPolicy = `
minReplicas: 2
maxReplicas: 40
scaleUp: {maxStep: 4, maxStepPercent: 100, cooldown: 1m}
scaleDown: {maxStepPercent: 50, stabilizationWindow: 5m}
tolerance: 0.1
flapBudget: {maxChanges: 2, window: 1h}
namespaceRateLimit: {maxActions: 10, window: 10m}
freezes:
  - name: weekend
    schedule: "0 18 * * 5"
    duration: 64h
    timeZone: Europe/Amsterdam
  - schedule: "@daily"
    duration: 30m
protected:
  workloads: ["prod/db", "*/vault-*"]
  namespaces: ["kube-*"]
restarts:
  maxUnavailable: 25%
  cooldown: 6h
minConfidence: 0.6
approval:
  scaleUpFactor: 2
  scaleDownFactor: 0.5
  restartNamespaces: ["prod*"]
rules:
  - name: critical-floor
    expression: >-
      workload.labels["tier"] == "critical" &&
      decision.action == "scale" && decision.replicas < 3
    effect: deny
    message: critical workloads keep at least 3 replicas
  - name: llm-unsure
    expression: proposal.agent.startsWith("llm") && proposal.confidence < 0.8
    effect: require_approval
`

func TestLoadFullPolicy(t *testing.T) {
	p, err := Load([]byte(fullPolicy), "policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := Policy{MinReplicas: 2, MaxReplicas: 40,
		ScaleUp:            Rules{MaxStep: 4, MaxStepPercent: 100, SelectPolicy: SelectMax, Cooldown: Duration(time.Minute)},
		ScaleDown:          Rules{MaxStepPercent: 50, SelectPolicy: SelectMax, StabilizationWindow: Duration(5 * time.Minute)},
		Tolerance:          0.1,
		FlapBudget:         &FlapBudget{MaxChanges: 2, Window: Duration(time.Hour)},
		NamespaceRateLimit: &RateLimit{MaxActions: 10, Window: Duration(10 * time.Minute)},
		Freezes: []Freeze{{Name: "weekend", Schedule: "0 18 * * 5", Duration: Duration(64 * time.Hour), TimeZone: "Europe/Amsterdam"},
			{Schedule: "@daily", Duration: Duration(30 * time.Minute), TimeZone: "UTC"}},
		Protected:     Protected{Workloads: []string{"prod/db", "*/vault-*"}, Namespaces: []string{"kube-*"}},
		Restarts:      RestartRules{MaxUnavailable: "25%", Cooldown: Duration(6 * time.Hour)},
		MinConfidence: 0.6,
		Approval:      ApprovalRules{ScaleUpFactor: 2, ScaleDownFactor: 0.5, RestartNamespaces: []string{"prod*"}},
		Rules: []CELRule{
			{Name: "critical-floor", Expression: `workload.labels["tier"] == "critical" && decision.action == "scale" && decision.replicas < 3`,
				Effect: EffectDeny, Message: "critical workloads keep at least 3 replicas"},
			{Name: "llm-unsure", Expression: `proposal.agent.startsWith("llm") && proposal.confidence < 0.8`, Effect: EffectRequireApproval},
		},
	}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("loaded %+v\nwant   %+v", p, want)
	}
	if _, err := NewEngine(p); err != nil {
		t.Fatal(err)
	}

	// The same type is the CRD's spec: JSON round-trips it.
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back Policy
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, p) || back.Hash() != p.Hash() {
		t.Fatalf("JSON round trip changed the policy:\n%s\n%+v", b, back)
	}
}

func TestLoadNewFieldErrorsNameFileLineAndField(t *testing.T) {
	in := `maxReplicas: 10
tolerance: 1.5
flapBudget:
  maxChanges: -1
  window: 0s
namespaceRateLimit:
  maxActions: 0
freezes:
  - name: friday
    schedule: "0 18 * * 8"
    duration: 0s
    timeZone: Mars/Olympus
  - schedule: "@every 1h"
    duration: 1h
protected:
  workloads: ["prod/[db"]
restarts:
  maxUnavailable: 150%
  cooldown: -1m
minConfidence: 2
approval:
  scaleUpFactor: 0.5
  scaleDownFactor: 1.5
  restartNamespaces: ["ok", "["]
rules:
  - name: big
    expression: proposal.replica > 3
    effect: deny
  - name: big
    expression: |
      proposal.replicas + 1
    effect: block
`
	_, err := Load([]byte(in), "policy.yaml")
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{
		"policy.yaml:2: tolerance: must be a number in [0, 1), got 1.5",
		"policy.yaml:4: flapBudget.maxChanges: must be >= 0, got -1",
		"policy.yaml:5: flapBudget.window: must be > 0, got 0s",
		"policy.yaml:7: namespaceRateLimit.maxActions: must be >= 1, got 0",
		"policy.yaml:6: namespaceRateLimit.window: must be > 0, got 0s",
		`policy.yaml:10: freezes[0].schedule: "0 18 * * 8":`,
		"policy.yaml:11: freezes[0].duration: must be > 0, got 0s",
		`policy.yaml:12: freezes[0].timeZone: "Mars/Olympus": unknown time zone`,
		`policy.yaml:13: freezes[1].schedule: "@every 1h": @every has no fixed start times`,
		`policy.yaml:16: protected.workloads[0]: "prod/[db": invalid shell pattern`,
		`policy.yaml:18: restarts.maxUnavailable: "150%": a percentage must be in [1%, 100%]`,
		"policy.yaml:19: restarts.cooldown: must be >= 0, got -1m0s",
		"policy.yaml:20: minConfidence: must be a number in [0, 1], got 2",
		"policy.yaml:22: approval.scaleUpFactor: must be 0 (never) or a number >= 1, got 0.5",
		"policy.yaml:23: approval.scaleDownFactor: must be 0 (never) or a number in (0, 1], got 1.5",
		`policy.yaml:24: approval.restartNamespaces[1]: "[": invalid shell pattern`,
		`policy.yaml:27: rules[0].expression: rule "big" does not compile: 1:9: undefined field 'replica'`,
		`policy.yaml:29: rules[1].name: "big" is already the name of rules[0]`,
		`policy.yaml:30: rules[1].expression: rule "big" must evaluate to bool, not int`,
		`policy.yaml:32: rules[1].effect: must be "deny" or "require_approval", got "block"`,
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not contain\n%s\nerror:\n%v", w, err)
		}
	}
}

func TestLineOf(t *testing.T) {
	src := "a: 1\nlist:\n  - x: 1\n    y: 2\n  - x: 3\nflow: [p, q]\n"
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	root := n.Content[0]
	for path, want := range map[string]int{
		"a": 1, "list": 2, "list[0]": 3, "list[0].y": 4, "list[1].x": 5, "list[1].z": 5, "list[7].x": 2,
		"flow[1]": 6, "missing": 1, "a.b": 1, "list[x]": 2,
	} {
		if got := lineOf(root, path); got != want {
			t.Errorf("lineOf(%q) = %d, want %d", path, got, want)
		}
	}
}

func TestDefaultsDoNotModifyTheCaller(t *testing.T) {
	p := Policy{MaxReplicas: 3, Freezes: []Freeze{{Schedule: "@daily", Duration: Duration(time.Hour)}}}
	d := p.Defaults()
	if p.Freezes[0].TimeZone != "" || d.Freezes[0].TimeZone != "UTC" || d.Restarts.MaxUnavailable != "1" {
		t.Fatalf("caller %+v, defaults %+v", p.Freezes, d)
	}
}

// The YAML examples in docs/policy.md load (a rules-only example under a
// minimal policy).
func TestDocsExamplesLoad(t *testing.T) {
	b, err := os.ReadFile("../docs/policy.md")
	if err != nil {
		t.Skip("docs not found:", err)
	}
	blocks := strings.Split(string(b), "```yaml\n")[1:]
	if len(blocks) < 2 {
		t.Fatalf("found %d YAML examples", len(blocks))
	}
	for i, blk := range blocks {
		src, _, _ := strings.Cut(blk, "```")
		if !strings.Contains(src, "maxReplicas:") {
			src = "maxReplicas: 10\n" + src
		}
		p, err := Load([]byte(src), fmt.Sprintf("example %d", i))
		if err != nil {
			t.Errorf("docs example %d: %v", i, err)
			continue
		}
		e, err := NewEngine(p)
		if err != nil {
			t.Errorf("docs example %d: %v", i, err)
			continue
		}
		// Each example decides without an evaluation error on a plain
		// workload.
		w := agents.Workload{Kind: "Deployment", Namespace: "shop", Name: "web", Labels: map[string]string{"tier": "web"}}
		for _, prop := range []agents.Proposal{
			{Workload: w, From: 4, Confidence: 0.9, Agent: "llm", Action: agents.Action{Kind: agents.ActionScale, Replicas: 5}},
			{Workload: w, From: 4, Confidence: 0.9, Agent: "llm", Action: agents.Action{Kind: agents.ActionRestart}},
		} {
			d := e.Decide(prop, State{Workload: w, Replicas: 4, Ready: 4}, t0)
			for _, r := range d.Rules {
				if strings.Contains(r.Reason, "could not be evaluated") || r.Rule == "engine" {
					t.Errorf("docs example %d: %s: %s", i, r.Rule, r.Reason)
				}
			}
		}
	}
}
