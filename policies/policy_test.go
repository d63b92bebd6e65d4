package policies

import (
	"reflect"
	"strings"
	"testing"
	"time"
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
		ScaleDown: Rules{MaxStepPercent: 25, SelectPolicy: SelectMax, StabilizationWindow: Duration(5 * time.Minute), Cooldown: Duration(90 * time.Second)}}
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
