package policies

import (
	"errors"
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"
)

// FieldError is a validation failure of one field, named by its path in the
// policy file (e.g. "scaleUp.maxStepPercent", "freezes[0].schedule").
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Validate reports every invalid field of p (after Defaults) as FieldErrors
// joined with errors.Join; nil when p is valid. CEL rules are compiled and
// type-checked.
func (p Policy) Validate() error {
	_, err := p.validate()
	return err
}

// validate is Validate, also returning the compiled custom rules.
func (p Policy) validate() ([]celRule, error) {
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
		if !finite(d.r.MaxStepPercent) || d.r.MaxStepPercent < 0 {
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

	if !finite(p.Tolerance) || p.Tolerance < 0 || p.Tolerance >= 1 {
		bad("tolerance", "must be a number in [0, 1), got %v", p.Tolerance)
	}
	if f := p.FlapBudget; f != nil {
		if f.MaxChanges < 0 {
			bad("flapBudget.maxChanges", "must be >= 0, got %d", f.MaxChanges)
		}
		if f.Window <= 0 {
			bad("flapBudget.window", "must be > 0, got %v", f.Window)
		}
	}
	if r := p.NamespaceRateLimit; r != nil {
		if r.MaxActions < 1 {
			bad("namespaceRateLimit.maxActions", "must be >= 1, got %d (to forbid every action, list the namespace in protected.namespaces)", r.MaxActions)
		}
		if r.Window <= 0 {
			bad("namespaceRateLimit.window", "must be > 0, got %v", r.Window)
		}
	}
	for i, f := range p.Freezes {
		at := fmt.Sprintf("freezes[%d]", i)
		if _, err := parseSchedule(f.Schedule); err != nil {
			bad(at+".schedule", "%v", err)
		}
		if f.Duration <= 0 {
			bad(at+".duration", "must be > 0, got %v", f.Duration)
		}
		if _, err := loadZone(f.TimeZone); err != nil {
			bad(at+".timeZone", "%v", err)
		}
	}
	for _, l := range []struct {
		field    string
		patterns []string
	}{
		{"protected.workloads", p.Protected.Workloads},
		{"protected.namespaces", p.Protected.Namespaces},
		{"approval.restartNamespaces", p.Approval.RestartNamespaces},
	} {
		for i, pat := range l.patterns {
			if err := checkPattern(pat); err != nil {
				bad(fmt.Sprintf("%s[%d]", l.field, i), "%v", err)
			}
		}
	}
	if _, err := parseMaxUnavailable(p.Restarts.MaxUnavailable); err != nil {
		bad("restarts.maxUnavailable", "%v", err)
	}
	if p.Restarts.Cooldown < 0 {
		bad("restarts.cooldown", "must be >= 0, got %v", p.Restarts.Cooldown)
	}
	if !finite(p.MinConfidence) || p.MinConfidence < 0 || p.MinConfidence > 1 {
		bad("minConfidence", "must be a number in [0, 1], got %v", p.MinConfidence)
	}
	if f := p.Approval.ScaleUpFactor; !finite(f) || (f != 0 && f < 1) {
		bad("approval.scaleUpFactor", "must be 0 (never) or a number >= 1, got %v", f)
	}
	if f := p.Approval.ScaleDownFactor; !finite(f) || f < 0 || f > 1 {
		bad("approval.scaleDownFactor", "must be 0 (never) or a number in (0, 1], got %v", f)
	}
	var rules []celRule
	if len(p.Rules) > 0 {
		var ruleErrs []error
		rules, ruleErrs = compileRules(p.Rules)
		errs = append(errs, ruleErrs...)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return rules, nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// checkPattern reports whether pat is a valid shell pattern for
// path.Match.
func checkPattern(pat string) error {
	if pat == "" {
		return errors.New("empty pattern")
	}
	if _, err := path.Match(pat, ""); err != nil {
		return fmt.Errorf("%q: invalid shell pattern", pat)
	}
	return nil
}

// maxUnavailable is a parsed restarts.maxUnavailable: a count, or a
// percentage of replicas.
type maxUnavailable struct {
	n       int
	percent bool
}

// of returns how many of replicas pods may be unavailable: a percentage is
// rounded down but is at least 1, so it never freezes a small workload.
func (m maxUnavailable) of(replicas int) int {
	if !m.percent {
		return m.n
	}
	// ⌊replicas × n / 100⌋ without overflow.
	return max(1, replicas/100*m.n+replicas%100*m.n/100)
}

func (m maxUnavailable) String() string {
	if m.percent {
		return strconv.Itoa(m.n) + "%"
	}
	return strconv.Itoa(m.n)
}

func parseMaxUnavailable(s string) (maxUnavailable, error) {
	t := strings.TrimSpace(s)
	pct := strings.HasSuffix(t, "%")
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(t, "%")))
	switch {
	case err != nil:
		return maxUnavailable{}, fmt.Errorf("%q: want a count such as \"1\" or a percentage such as \"25%%\"", s)
	case pct && (n < 1 || n > 100):
		return maxUnavailable{}, fmt.Errorf("%q: a percentage must be in [1%%, 100%%]", s)
	case !pct && n < 1:
		return maxUnavailable{}, fmt.Errorf("%q: a count must be >= 1", s)
	}
	return maxUnavailable{n: n, percent: pct}, nil
}
