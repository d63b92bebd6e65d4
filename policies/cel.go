package policies

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/ext"

	"github.com/stuurman/stuurman/agents"
)

// celCostLimit bounds the work one evaluation of a custom rule may do, in
// CEL's cost units (as Kubernetes' per-expression limit for admission
// rules). An evaluation that exceeds it fails, and the proposal is denied.
//
// CEL's cost units do not count everything: the time a rule takes grows
// with the lists it walks as well as with its cost. So the limit is a tenth
// of Kubernetes' per-expression limit, and the lists are bounded
// (celHistory, celMaxList): the worst rule then takes tens of
// milliseconds (BenchmarkDecideCostLimit).
const celCostLimit = 100_000

// The action lists custom rules see hold the applied actions of the last
// celHistory, at most the newest celMaxList of them.
const (
	celHistory = 24 * time.Hour
	celMaxList = 1000
)

// The types of the variables custom rules see. Field names are the `cel`
// tags; docs/policy.md documents each.
type (
	celProposal struct {
		Action     string             `cel:"action"`
		Replicas   int                `cel:"replicas"`
		From       int                `cel:"from"`
		Confidence float64            `cel:"confidence"`
		Agent      string             `cel:"agent"`
		Reason     string             `cel:"reason"`
		Fallback   string             `cel:"fallback"`
		Evidence   map[string]float64 `cel:"evidence"`
	}
	celWorkload struct {
		Kind      string            `cel:"kind"`
		Namespace string            `cel:"namespace"`
		Name      string            `cel:"name"`
		Labels    map[string]string `cel:"labels"`
	}
	celState struct {
		Replicas              int         `cel:"replicas"`
		Ready                 int         `cel:"ready"`
		HasPDB                bool        `cel:"has_pdb"`
		PDBDisruptionsAllowed int         `cel:"pdb_disruptions_allowed"`
		LastScaleUp           time.Time   `cel:"last_scale_up"`
		LastScaleDown         time.Time   `cel:"last_scale_down"`
		LastRestart           time.Time   `cel:"last_restart"`
		Actions               []celAction `cel:"actions"`
		NamespaceActions      []time.Time `cel:"namespace_actions"`
		ActionsLastHour       int         `cel:"actions_last_hour"`
		RestartsLastDay       int         `cel:"restarts_last_day"`
		NamespaceActionsHour  int         `cel:"namespace_actions_last_hour"`
	}
	celAction struct {
		Time      time.Time `cel:"time"`
		Kind      string    `cel:"kind"`
		From      int       `cel:"from"`
		To        int       `cel:"to"`
		Direction string    `cel:"direction"`
	}
	celDecision struct {
		Action         string `cel:"action"`
		Replicas       int    `cel:"replicas"`
		MaxUnavailable int    `cel:"max_unavailable"`
	}
)

// never is how a time that never happened reaches CEL: the Unix epoch, so
// that `now - state.last_restart` is a valid (large) duration.
var never = time.Unix(0, 0).UTC()

func celTime(t time.Time) time.Time {
	if t.IsZero() {
		return never
	}
	return t
}

// newCELEnv returns the environment every custom rule is compiled in.
func newCELEnv() (*cel.Env, error) {
	return cel.NewEnv(
		ext.NativeTypes(
			reflect.TypeFor[celProposal](), reflect.TypeFor[celWorkload](), reflect.TypeFor[celState](),
			reflect.TypeFor[celAction](), reflect.TypeFor[celDecision](),
			ext.ParseStructTags(true),
		),
		ext.Strings(),
		cel.Variable("proposal", cel.ObjectType("policies.celProposal")),
		cel.Variable("workload", cel.ObjectType("policies.celWorkload")),
		cel.Variable("state", cel.ObjectType("policies.celState")),
		cel.Variable("decision", cel.ObjectType("policies.celDecision")),
		cel.Variable("now", cel.TimestampType),
	)
}

// celRule is a compiled custom rule.
type celRule struct {
	index int
	rule  CELRule
	prg   cel.Program
}

// label names the rule in decisions: "rules.<name>".
func (r celRule) label() string { return "rules." + r.rule.Name }

// compileRules compiles and type-checks every rule, returning FieldErrors
// (rules[i].name, rules[i].expression, rules[i].effect) for those that
// cannot be used.
func compileRules(rules []CELRule) ([]celRule, []error) {
	env, err := newCELEnv()
	if err != nil {
		return nil, []error{fmt.Errorf("policies: CEL environment: %w", err)}
	}
	var (
		out   []celRule
		errs  []error
		names = map[string]int{}
	)
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	for i, r := range rules {
		at := fmt.Sprintf("rules[%d]", i)
		switch j, dup := names[r.Name]; {
		case strings.TrimSpace(r.Name) == "":
			bad(at+".name", "required")
		case dup:
			bad(at+".name", "%q is already the name of rules[%d]", r.Name, j)
		default:
			names[r.Name] = i
		}
		if r.Effect != EffectDeny && r.Effect != EffectRequireApproval {
			bad(at+".effect", "must be %q or %q, got %q", EffectDeny, EffectRequireApproval, r.Effect)
		}
		if strings.TrimSpace(r.Expression) == "" {
			bad(at+".expression", "required")
			continue
		}
		ast, iss := env.Compile(r.Expression)
		if iss.Err() != nil {
			var msgs []string
			for _, e := range iss.Errors() {
				msgs = append(msgs, fmt.Sprintf("%d:%d: %s", e.Location.Line(), e.Location.Column()+1, e.Message))
			}
			bad(at+".expression", "rule %q does not compile: %s", r.Name, strings.Join(msgs, "; "))
			continue
		}
		if t := ast.OutputType(); !t.IsExactType(cel.BoolType) {
			bad(at+".expression", "rule %q must evaluate to bool, not %s", r.Name, t)
			continue
		}
		prg, err := env.Program(ast, cel.CostLimit(celCostLimit))
		if err != nil {
			bad(at+".expression", "rule %q: %v", r.Name, err)
			continue
		}
		out = append(out, celRule{index: i, rule: r, prg: prg})
	}
	return out, errs
}

// eval evaluates the rule over vars. A panic inside CEL is an error.
func (r celRule) eval(vars map[string]any) (fired bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			fired, err = false, fmt.Errorf("panic: %v", p)
		}
	}()
	out, _, err := r.prg.Eval(vars)
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("result %v is not a bool", out)
	}
	return b, nil
}

// celVars builds the variables custom rules see.
func celVars(p agents.Proposal, w agents.Workload, st State, final agents.Action, maxUnavail int, now time.Time) map[string]any {
	ev := make(map[string]float64, len(p.Evidence))
	for k, v := range p.Evidence {
		ev[k] = v
	}
	labels := make(map[string]string, len(w.Labels))
	for k, v := range w.Labels {
		labels[k] = v
	}
	s := celState{
		Replicas: st.Replicas, Ready: st.Ready,
		LastScaleUp:   celTime(st.last(upward)),
		LastScaleDown: celTime(st.last(down)),
		LastRestart:   celTime(st.last(restart)),
		Actions:       []celAction{},
	}
	after := st.Replicas
	if final.Kind == agents.ActionScale {
		after = final.Replicas
	}
	if st.PDB != nil {
		s.HasPDB, s.PDBDisruptionsAllowed = true, st.PDB.DisruptionsAllowed
	}
	acts := slices.Clone(st.Actions)
	slices.SortStableFunc(acts, func(a, b agents.ActionRecord) int { return a.Time.Compare(b.Time) })
	for _, a := range acts {
		c := celAction{Time: celTime(a.Time), Kind: string(a.Action.Kind), From: a.From, To: a.From}
		switch classify(a) {
		case upward:
			c.To, c.Direction = a.Action.Replicas, "up"
		case down:
			c.To, c.Direction = a.Action.Replicas, "down"
		}
		age := now.Sub(a.Time)
		if age >= 0 && age < celHistory {
			s.Actions = append(s.Actions, c)
		}
		if age >= 0 && age < time.Hour && classify(a) != other {
			s.ActionsLastHour++
		}
		if age >= 0 && age < 24*time.Hour && classify(a) == restart {
			s.RestartsLastDay++
		}
	}
	s.NamespaceActions = make([]time.Time, 0, len(st.NamespaceActions))
	for _, t := range slices.SortedFunc(slices.Values(st.NamespaceActions), time.Time.Compare) {
		age := now.Sub(t)
		if age >= 0 && age < celHistory {
			s.NamespaceActions = append(s.NamespaceActions, t)
		}
		if age >= 0 && age < time.Hour {
			s.NamespaceActionsHour++
		}
	}
	s.Actions = s.Actions[max(0, len(s.Actions)-celMaxList):]
	s.NamespaceActions = s.NamespaceActions[max(0, len(s.NamespaceActions)-celMaxList):]
	return map[string]any{
		"proposal": celProposal{
			Action: string(p.Action.Kind), Replicas: p.Action.Replicas, From: p.From, Confidence: p.Confidence,
			Agent: p.Agent, Reason: p.Reason, Fallback: p.Fallback, Evidence: ev,
		},
		"workload": celWorkload{Kind: w.Kind, Namespace: w.Namespace, Name: w.Name, Labels: labels},
		"state":    s,
		"decision": celDecision{Action: string(final.Kind), Replicas: after, MaxUnavailable: maxUnavail},
		"now":      now,
	}
}
