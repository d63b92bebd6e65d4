package policies

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Policy is what stuurman may do to a workload. The zero value of every
// optional field selects the default documented on it; Defaults applies them
// and Validate checks the result.
// +kubebuilder:object:generate=true
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

// FlapBudget allows at most MaxChanges direction changes within Window. A
// direction change is a pair of consecutive applied scale actions in
// opposite directions, both within the window; the proposed action counts
// as the newest.
// +kubebuilder:object:generate=true
type FlapBudget struct {
	// MaxChanges is the most direction changes allowed, >= 0 (0: never
	// reverse within the window).
	MaxChanges int `json:"maxChanges" yaml:"maxChanges"`
	// Window is how far back changes count. Required, > 0.
	Window Duration `json:"window" yaml:"window"`
}

// RateLimit allows at most MaxActions applied actions within Window; the
// proposed action counts as one.
// +kubebuilder:object:generate=true
type RateLimit struct {
	// MaxActions is the most actions allowed, >= 1.
	MaxActions int `json:"maxActions" yaml:"maxActions"`
	// Window is how far back actions count. Required, > 0.
	Window Duration `json:"window" yaml:"window"`
}

// Freeze is a recurring window: it starts at every time the cron Schedule
// ("0 18 * * 5": Fridays at 18:00) names, in TimeZone (IANA name, default
// UTC), and lasts Duration (elapsed time). Schedule times are wall-clock
// times in TimeZone: a start in an hour a DST change skips is moved forward
// by the gap, and a start in an hour that repeats happens once, at its
// first occurrence.
// +kubebuilder:object:generate=true
type Freeze struct {
	// Name identifies the freeze in decisions. Default "freezes[i]".
	Name     string   `json:"name,omitempty" yaml:"name"`
	Schedule string   `json:"schedule" yaml:"schedule"`
	Duration Duration `json:"duration" yaml:"duration"`
	TimeZone string   `json:"timeZone,omitempty" yaml:"timeZone"`
}

// Protected lists what stuurman must never act on. Entries are shell
// patterns (path.Match): Workloads match "namespace/name", Namespaces match
// the namespace.
// +kubebuilder:object:generate=true
type Protected struct {
	Workloads  []string `json:"workloads,omitempty" yaml:"workloads"`
	Namespaces []string `json:"namespaces,omitempty" yaml:"namespaces"`
}

// RestartRules limit rolling restarts.
// +kubebuilder:object:generate=true
type RestartRules struct {
	// MaxUnavailable is how many pods may be unavailable at once during a
	// restart, as a count ("1") or a percentage of replicas ("25%",
	// rounded down, at least 1). Pods already unready count against it,
	// and it never exceeds what the workload's PodDisruptionBudget allows.
	// Default "1".
	MaxUnavailable string `json:"maxUnavailable,omitempty" yaml:"maxUnavailable"`
	// Cooldown is the least time between two restarts of a workload.
	// 0: none.
	Cooldown Duration `json:"cooldown,omitempty" yaml:"cooldown"`
}

// ApprovalRules say when a decision needs a human's approval.
// +kubebuilder:object:generate=true
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
// variables `proposal`, `workload`, `state`, `decision` and `now` (see
// docs/policy.md), and must return a bool; true means the rule fires and
// Effect applies ("deny" or "require_approval"), with Message as the
// reason. An expression that fails to evaluate denies.
// +kubebuilder:object:generate=true
type CELRule struct {
	// Name identifies the rule in decisions. Required, unique.
	Name string `json:"name" yaml:"name"`
	// Expression is the CEL expression. Required; it must type-check to
	// bool when the policy is loaded.
	Expression string `json:"expression" yaml:"expression"`
	// Effect is EffectDeny or EffectRequireApproval. Required.
	Effect string `json:"effect" yaml:"effect"`
	// Message is the reason recorded when the rule fires. Default: the
	// rule's name and expression.
	Message string `json:"message,omitempty" yaml:"message"`
}

// Effects of a CELRule.
const (
	EffectDeny            = "deny"
	EffectRequireApproval = "require_approval"
)

// Rules limit decisions in one direction.
// +kubebuilder:object:generate=true
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
// It does not modify p: slices are copied.
func (p Policy) Defaults() Policy {
	p = p.clone()
	if p.MinReplicas == 0 {
		p.MinReplicas = 1
	}
	for _, r := range []*Rules{&p.ScaleUp, &p.ScaleDown} {
		if r.SelectPolicy == "" {
			r.SelectPolicy = SelectMax
		}
	}
	for i := range p.Freezes {
		if p.Freezes[i].TimeZone == "" {
			p.Freezes[i].TimeZone = "UTC"
		}
	}
	if p.Restarts.MaxUnavailable == "" {
		p.Restarts.MaxUnavailable = "1"
	}
	return p
}

// clone returns a copy of p that shares no slice or pointer with it.
func (p Policy) clone() Policy {
	if p.FlapBudget != nil {
		f := *p.FlapBudget
		p.FlapBudget = &f
	}
	if p.NamespaceRateLimit != nil {
		r := *p.NamespaceRateLimit
		p.NamespaceRateLimit = &r
	}
	p.Freezes = slices.Clone(p.Freezes)
	p.Protected.Workloads = slices.Clone(p.Protected.Workloads)
	p.Protected.Namespaces = slices.Clone(p.Protected.Namespaces)
	p.Approval.RestartNamespaces = slices.Clone(p.Approval.RestartNamespaces)
	p.Rules = slices.Clone(p.Rules)
	return p
}

// Hash returns a short, stable digest of p (after Defaults), recorded in
// every Decision so a decision can be traced to the exact policy.
func (p Policy) Hash() string {
	b, err := json.Marshal(p.Defaults())
	if err != nil {
		// Policy holds only numbers, strings and slices and pointers of
		// them: Marshal cannot fail.
		panic("policies: hash: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:16]
}

// Duration is a time.Duration written as a Go duration string ("90s",
// "5m") in policy files.
// +kubebuilder:validation:Type=string
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
