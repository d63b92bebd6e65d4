package agentsuite

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/stuurman/stuurman/agents"
	"github.com/stuurman/stuurman/agents/llm"
	"github.com/stuurman/stuurman/agents/llmtest"
	"github.com/stuurman/stuurman/policies"
)

// AgentFactory builds the agent under test for one scenario. done, when
// not nil, releases what it started.
type AgentFactory func(ctx context.Context, sc Scenario, s agents.Situation) (a agents.Agent, done func(), err error)

// Score counts passed scenarios.
type Score struct {
	Passed int `json:"passed"`
	Count  int `json:"count"`
}

// Rate returns Passed/Count, or 0 when Count is 0.
func (s Score) Rate() float64 {
	if s.Count == 0 {
		return 0
	}
	return float64(s.Passed) / float64(s.Count)
}

// Report is the outcome of a suite run.
type Report struct {
	Agent      string           `json:"agent"`
	Total      Score            `json:"total"`
	Categories map[string]Score `json:"categories"`
	Scenarios  []Result         `json:"scenarios"`
	// LLM sums the LLM agents' counters over the run; nil for agents
	// without a model.
	LLM *llm.Stats `json:"llm,omitempty"`
}

// Result is one scenario's outcome.
type Result struct {
	Name      string           `json:"name"`
	Category  string           `json:"category"`
	Passed    bool             `json:"passed"`
	Why       string           `json:"why,omitempty"`
	Decisions []DecisionResult `json:"decisions,omitempty"`
}

// DecisionResult summarises one decision.
type DecisionResult struct {
	Proposed agents.Action    `json:"proposed"`
	Agent    string           `json:"agent"`
	Fallback string           `json:"fallback,omitempty"`
	Verdict  policies.Verdict `json:"verdict"`
	Action   agents.Action    `json:"action"`
	// Blocking names the rules that denied or escalated.
	Blocking []string `json:"blocking,omitempty"`
}

// Run runs every scenario: the agent proposes, the scenario's policy
// decides each proposal, and the decisions are checked against the
// acceptable outcomes.
func Run(ctx context.Context, name string, scenarios []Scenario, newAgent AgentFactory) (Report, error) {
	rep := Report{Agent: name, Categories: map[string]Score{}}
	for _, sc := range scenarios {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		res, stats := runOne(ctx, sc, newAgent)
		rep.Scenarios = append(rep.Scenarios, res)
		c := rep.Categories[sc.Category]
		c.Count++
		rep.Total.Count++
		if res.Passed {
			c.Passed++
			rep.Total.Passed++
		}
		rep.Categories[sc.Category] = c
		if stats != nil {
			if rep.LLM == nil {
				rep.LLM = &llm.Stats{}
			}
			addStats(rep.LLM, *stats)
		}
	}
	return rep, nil
}

type statser interface{ Stats() llm.Stats }

func runOne(ctx context.Context, sc Scenario, newAgent AgentFactory) (Result, *llm.Stats) {
	res := Result{Name: sc.Name, Category: sc.Category}
	eng, err := policies.NewEngine(sc.Policy)
	if err != nil {
		res.Why = "policy: " + err.Error()
		return res, nil
	}
	sit := sc.Situation(eng.Limits())
	a, done, err := newAgent(ctx, sc, sit)
	if err != nil {
		res.Why = "agent: " + err.Error()
		return res, nil
	}
	if done != nil {
		defer done()
	}
	props, err := a.Propose(ctx, sit)
	var stats *llm.Stats
	if s, ok := a.(statser); ok {
		st := s.Stats()
		stats = &st
	}
	if err != nil {
		res.Why = "propose: " + err.Error()
		return res, stats
	}
	if len(props) == 0 {
		res.Why = "no proposal"
		return res, stats
	}
	gate := sc.GateState()
	var decisions []policies.Decision
	for _, p := range props {
		d := eng.Decide(p, gate, sit.Now)
		decisions = append(decisions, d)
		dr := DecisionResult{Proposed: p.Action, Agent: p.Agent, Fallback: p.Fallback, Verdict: d.Verdict, Action: d.Action}
		for _, r := range d.Rules {
			if r.Outcome != policies.Pass && r.Outcome != policies.Clamp {
				dr.Blocking = append(dr.Blocking, r.Rule+": "+r.Reason)
			}
		}
		res.Decisions = append(res.Decisions, dr)
	}
	res.Passed, res.Why = check(sc, decisions)
	return res, stats
}

// check applies the scenario's Accept and Require to the decisions.
func check(sc Scenario, ds []policies.Decision) (bool, string) {
	cur := sc.State.Replicas
	for _, d := range ds {
		if !slices.ContainsFunc(sc.Accept, func(o Outcome) bool { return o.matches(d, cur) }) {
			return false, fmt.Sprintf("decision %s is not acceptable (want one of: %s)", describe(d, cur), outcomes(sc.Accept))
		}
	}
	if len(sc.Require) > 0 && !slices.ContainsFunc(ds, func(d policies.Decision) bool {
		return slices.ContainsFunc(sc.Require, func(o Outcome) bool { return o.matches(d, cur) })
	}) {
		var got []string
		for _, d := range ds {
			got = append(got, describe(d, cur))
		}
		return false, fmt.Sprintf("no decision is one of %s (got %s)", outcomes(sc.Require), strings.Join(got, "; "))
	}
	return true, ""
}

func (o Outcome) matches(d policies.Decision, cur int) bool {
	if o.Verdict != "" && d.Verdict != o.Verdict {
		return false
	}
	if o.Action != "" && d.Action.Kind != o.Action {
		return false
	}
	return o.Replicas.contains(resulting(d, cur))
}

// resulting is the replica count a decision leads to.
func resulting(d policies.Decision, cur int) int {
	if d.Action.Kind == agents.ActionScale {
		return d.Action.Replicas
	}
	return cur
}

func describe(d policies.Decision, cur int) string {
	return fmt.Sprintf("{verdict %s, action %s, replicas %d, proposed %s by %s}", d.Verdict, d.Action.Kind, resulting(d, cur),
		describeAction(d.Proposal.Action), d.Proposal.Agent)
}

func describeAction(a agents.Action) string {
	if a.Kind == agents.ActionScale {
		return fmt.Sprintf("scale to %d", a.Replicas)
	}
	return string(a.Kind)
}

func outcomes(os []Outcome) string {
	var s []string
	for _, o := range os {
		s = append(s, "{"+o.String()+"}")
	}
	return strings.Join(s, " ")
}

func addStats(dst *llm.Stats, s llm.Stats) {
	dst.Consultations += s.Consultations
	dst.Calls += s.Calls
	dst.Retries += s.Retries
	dst.PromptTokens += s.PromptTokens
	dst.CompletionTokens += s.CompletionTokens
	dst.Latency += s.Latency
	dst.Skipped += s.Skipped
	dst.CacheHits += s.CacheHits
	for k, v := range s.Fallbacks {
		if dst.Fallbacks == nil {
			dst.Fallbacks = map[llm.FallbackReason]int{}
		}
		dst.Fallbacks[k] += v
	}
}

// Heuristic returns a factory of the default agent.
func Heuristic(cfg agents.HeuristicConfig) AgentFactory {
	return func(context.Context, Scenario, agents.Situation) (agents.Agent, func(), error) {
		h, err := agents.NewHeuristic(cfg)
		return h, nil, err
	}
}

// Client kinds for Scripted.
const (
	ClientOpenAI    = "openai"
	ClientLangChain = "langchain"
)

// Scripted returns a factory that runs, per scenario, the in-repo
// scripted server with the scenario's Script and an LLM agent of the given
// client kind against it (ClientOpenAI through go-openai; ClientLangChain
// through langchaingo's Ollama client), inside a Chain that always
// consults the model and falls back to the heuristic agent — the agent
// stuurman runs in production, minus the cache and the consult policy.
// Retries do not sleep.
func Scripted(client string, hcfg agents.HeuristicConfig) AgentFactory {
	return func(ctx context.Context, sc Scenario, s agents.Situation) (agents.Agent, func(), error) {
		h, err := agents.NewHeuristic(hcfg)
		if err != nil {
			return nil, nil, err
		}
		baseline, err := h.Propose(ctx, s)
		if err != nil {
			return nil, nil, err
		}
		script, err := sc.Script(baseline)
		if err != nil {
			return nil, nil, err
		}
		srv := llmtest.NewServer(script...)
		retry := llm.RetryConfig{Sleep: func(context.Context, time.Duration) error { return nil }}
		var model *llm.Agent
		switch client {
		case ClientOpenAI:
			model, err = llm.NewOpenAI(llm.OpenAIConfig{BaseURL: srv.BaseURL(), APIKey: "offline", Model: "scripted", Retry: retry}, llm.Config{})
		case ClientLangChain:
			model, err = llm.NewLangChain(llm.LangChainConfig{Provider: llm.ProviderOllama, BaseURL: srv.URL, Model: "scripted", Retry: retry}, llm.Config{})
		default:
			err = fmt.Errorf("agentsuite: unknown client %q", client)
		}
		if err != nil {
			srv.Close()
			return nil, nil, err
		}
		c, err := llm.NewChain(model, h, llm.ChainConfig{Consult: llm.ConsultAlways, Timeout: 5 * time.Second})
		if err != nil {
			srv.Close()
			return nil, nil, err
		}
		return c, srv.Close, nil
	}
}

// Live returns a factory for a real model: newModel builds the LLM agent
// (one per scenario, so that no cache or budget carries over), run inside
// a Chain that always consults it and falls back to the heuristic agent.
func Live(newModel func() (*llm.Agent, error), hcfg agents.HeuristicConfig, timeout time.Duration) AgentFactory {
	return func(context.Context, Scenario, agents.Situation) (agents.Agent, func(), error) {
		h, err := agents.NewHeuristic(hcfg)
		if err != nil {
			return nil, nil, err
		}
		m, err := newModel()
		if err != nil {
			return nil, nil, err
		}
		c, err := llm.NewChain(m, h, llm.ChainConfig{Consult: llm.ConsultAlways, Timeout: timeout, TokenBudget: -1})
		return c, nil, err
	}
}

// CategoryNames returns the report's category names, sorted.
func (r Report) CategoryNames() []string {
	return slices.Sorted(maps.Keys(r.Categories))
}
