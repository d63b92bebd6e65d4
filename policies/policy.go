package policies

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Policy is what stuurman may do to a workload. The zero value of every
// optional field selects the default documented on it; Defaults applies them
// and Validate checks the result.
type Policy struct {
	// MinReplicas is the lowest replica count stuurman may set. Default 1.
	MinReplicas int `json:"minReplicas,omitempty" yaml:"minReplicas"`
	// MaxReplicas is the highest replica count stuurman may set. Required.
	MaxReplicas int `json:"maxReplicas" yaml:"maxReplicas"`
	// ScaleUp limits decisions that add replicas.
	ScaleUp Rules `json:"scaleUp,omitempty" yaml:"scaleUp"`
	// ScaleDown limits decisions that remove replicas.
	ScaleDown Rules `json:"scaleDown,omitempty" yaml:"scaleDown"`

	// Tolerance is the relative change below which a scale is held, as the
	// HPA's tolerance: |target/current − 1| <= Tolerance holds. 0: none.
	Tolerance float64 `json:"tolerance,omitempty" yaml:"tolerance"`
	// FlapBudget limits direction changes (up after down or down after
	// up) of applied scale actions. Nil: no limit.
	FlapBudget *FlapBudget `json:"flapBudget,omitempty" yaml:"flapBudget"`
	// NamespaceRateLimit limits applied actions per namespace, all
	// workloads together. Nil: no limit.
	NamespaceRateLimit *RateLimit `json:"namespaceRateLimit,omitempty" yaml:"namespaceRateLimit"`
	// Freezes are windows in which no action may be applied (holds pass).
	Freezes []Freeze `json:"freezes,omitempty" yaml:"freezes"`
	// Protected names workloads and namespaces stuurman must never act on.
	Protected Protected `json:"protected,omitempty" yaml:"protected"`
	// Restarts limit rolling restarts.
	Restarts RestartRules `json:"restarts,omitempty" yaml:"restarts"`
	// MinConfidence denies proposals whose Confidence is below it. 0: none.
	MinConfidence float64 `json:"minConfidence,omitempty" yaml:"minConfidence"`
	// Approval says which decisions need a human's approval first.
	Approval ApprovalRules `json:"approval,omitempty" yaml:"approval"`
	// Rules are custom rules in CEL, evaluated after the built-in ones.
	Rules []CELRule `json:"rules,omitempty" yaml:"rules"`
}

// FlapBudget allows at most MaxChanges direction changes within Window.
type FlapBudget struct {
	MaxChanges int      `json:"maxChanges" yaml:"maxChanges"`
	Window     Duration `json:"window" yaml:"window"`
}

// RateLimit allows at most MaxActions applied actions within Window.
type RateLimit struct {
	MaxActions int      `json:"maxActions" yaml:"maxActions"`
	Window     Duration `json:"window" yaml:"window"`
}

// Freeze is a recurring window: it starts at every time the cron Schedule
// ("0 18 * * 5": Fridays at 18:00) names, in TimeZone (IANA name, default
// UTC), and lasts Duration.
type Freeze struct {
	Name     string   `json:"name,omitempty" yaml:"name"`
	Schedule string   `json:"schedule" yaml:"schedule"`
	Duration Duration `json:"duration" yaml:"duration"`
	TimeZone string   `json:"timeZone,omitempty" yaml:"timeZone"`
}

// Protected lists what stuurman must never act on. Entries are shell
// patterns (path.Match): Workloads match "namespace/name", Namespaces match
// the namespace.
type Protected struct {
	Workloads  []string `json:"workloads,omitempty" yaml:"workloads"`
	Namespaces []string `json:"namespaces,omitempty" yaml:"namespaces"`
}

// RestartRules limit rolling restarts.
type RestartRules struct {
	// MaxUnavailable is how many pods a restart may take down at once, as
	// a count ("1") or a percentage of replicas ("25%"); never more than
	// the workload's PodDisruptionBudget allows. Default "1".
	MaxUnavailable string `json:"maxUnavailable,omitempty" yaml:"maxUnavailable"`
	// Cooldown is the least time between two restarts of a workload.
	Cooldown Duration `json:"cooldown,omitempty" yaml:"cooldown"`
}

// ApprovalRules say when a decision needs a human's approval.
type ApprovalRules struct {
	// ScaleUpFactor: a scale-up to more than current × ScaleUpFactor needs
	// approval (e.g. 2). 0: never.
	ScaleUpFactor float64 `json:"scaleUpFactor,omitempty" yaml:"scaleUpFactor"`
	// ScaleDownFactor: a scale-down to less than current × ScaleDownFactor
	// needs approval (e.g. 0.5). 0: never.
	ScaleDownFactor float64 `json:"scaleDownFactor,omitempty" yaml:"scaleDownFactor"`
	// RestartNamespaces: a restart in a namespace matching one of these
	// shell patterns needs approval.
	RestartNamespaces []string `json:"restartNamespaces,omitempty" yaml:"restartNamespaces"`
}

// CELRule is a custom rule: Expression, in CEL, is evaluated over the
// variables `proposal`, `state`, `workload` and `now`, and must return a
// bool; true means the rule fires and Effect applies ("deny" or
// "require_approval"), with Message as the reason.
type CELRule struct {
	Name       string `json:"name" yaml:"name"`
	Expression string `json:"expression" yaml:"expression"`
	Effect     string `json:"effect" yaml:"effect"`
	Message    string `json:"message,omitempty" yaml:"message"`
}

// Rules limit decisions in one direction.
type Rules struct {
	// MaxStep is the most replicas one decision may add (or remove).
	// 0: no absolute limit.
	MaxStep int `json:"maxStep,omitempty" yaml:"maxStep"`
	// MaxStepPercent is the most replicas one decision may add (or remove)
	// as a percentage of the current count. 0: no relative limit.
	MaxStepPercent float64 `json:"maxStepPercent,omitempty" yaml:"maxStepPercent"`
	// SelectPolicy combines MaxStep and MaxStepPercent when both are set:
	// "Max" (default, as the Kubernetes HPA) allows the larger change,
	// "Min" the smaller.
	SelectPolicy string `json:"selectPolicy,omitempty" yaml:"selectPolicy"`
	// StabilizationWindow: the target is the least extreme recommendation
	// in this window — for scale-up the lowest, for scale-down the highest
	// (the HPA's rule). 0: no stabilisation.
	StabilizationWindow Duration `json:"stabilizationWindow,omitempty" yaml:"stabilizationWindow"`
	// Cooldown is the least time since the last applied action before a
	// decision in this direction may act. 0: none.
	Cooldown Duration `json:"cooldown,omitempty" yaml:"cooldown"`
}

// Select policies for Rules.SelectPolicy.
const (
	SelectMax = "Max"
	SelectMin = "Min"
)

// Default returns the policy used when none is given: 1 to 100 replicas,
// scale-up by up to 100 % or 4 pods at a time without stabilisation,
// scale-down by up to 50 % at a time with a 5-minute stabilisation window.
func Default() Policy {
	return Policy{
		MinReplicas: 1,
		MaxReplicas: 100,
		ScaleUp:     Rules{MaxStep: 4, MaxStepPercent: 100},
		ScaleDown: Rules{
			MaxStepPercent:      50,
			StabilizationWindow: Duration(5 * time.Minute),
		},
	}.Defaults()
}

// Defaults returns p with every unset optional field set to its default.
func (p Policy) Defaults() Policy {
	if p.MinReplicas == 0 {
		p.MinReplicas = 1
	}
	for _, r := range []*Rules{&p.ScaleUp, &p.ScaleDown} {
		if r.SelectPolicy == "" {
			r.SelectPolicy = SelectMax
		}
	}
	return p
}

// FieldError is a validation failure of one field, named by its path in the
// policy file (e.g. "scaleUp.maxStepPercent").
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Validate reports every invalid field of p (after Defaults) as FieldErrors
// joined with errors.Join; nil when p is valid.
func (p Policy) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	if p.MinReplicas < 0 {
		bad("minReplicas", "must be >= 0, got %d", p.MinReplicas)
	}
	if p.MaxReplicas <= 0 {
		bad("maxReplicas", "must be > 0, got %d", p.MaxReplicas)
	} else if p.MaxReplicas < p.MinReplicas {
		bad("maxReplicas", "must be >= minReplicas (%d), got %d", p.MinReplicas, p.MaxReplicas)
	}
	for _, d := range []struct {
		name string
		r    Rules
	}{{"scaleUp", p.ScaleUp}, {"scaleDown", p.ScaleDown}} {
		if d.r.MaxStep < 0 {
			bad(d.name+".maxStep", "must be >= 0, got %d", d.r.MaxStep)
		}
		if d.r.MaxStepPercent < 0 || math.IsNaN(d.r.MaxStepPercent) || math.IsInf(d.r.MaxStepPercent, 0) {
			bad(d.name+".maxStepPercent", "must be a finite number >= 0, got %v", d.r.MaxStepPercent)
		}
		if d.name == "scaleDown" && d.r.MaxStepPercent > 100 {
			bad(d.name+".maxStepPercent", "must be <= 100, got %v", d.r.MaxStepPercent)
		}
		if d.r.SelectPolicy != SelectMax && d.r.SelectPolicy != SelectMin {
			bad(d.name+".selectPolicy", "must be %q or %q, got %q", SelectMax, SelectMin, d.r.SelectPolicy)
		}
		if d.r.StabilizationWindow < 0 {
			bad(d.name+".stabilizationWindow", "must be >= 0, got %v", d.r.StabilizationWindow)
		}
		if d.r.Cooldown < 0 {
			bad(d.name+".cooldown", "must be >= 0, got %v", d.r.Cooldown)
		}
	}
	return errors.Join(errs...)
}

// Hash returns a short, stable digest of p (after Defaults), recorded in
// every Decision so a decision can be traced to the exact policy.
func (p Policy) Hash() string {
	b, err := json.Marshal(p.Defaults())
	if err != nil {
		// Policy holds only numbers and strings: Marshal cannot fail.
		panic("policies: hash: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:16]
}

// Duration is a time.Duration written as a Go duration string ("90s",
// "5m") in policy files.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"5m\": %w", err)
	}
	return d.parse(s)
}

// UnmarshalText reads a duration string.
func (d *Duration) UnmarshalText(b []byte) error { return d.parse(string(b)) }

// UnmarshalYAML reads a duration string, naming its line on error.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if err := d.parse(n.Value); err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	return nil
}

func (d *Duration) parse(s string) error {
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("invalid duration %q (want e.g. \"90s\", \"5m\")", s)
	}
	*d = Duration(v)
	return nil
}
