package controller

import (
	"errors"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stuurman/stuurman/agents"
	"github.com/stuurman/stuurman/agents/llm"
	stuurmanv1 "github.com/stuurman/stuurman/api/v1alpha1"
)

// LLMAgents is an AgentBuilder that also builds the LLM agents: for agent
// "openai" or "langchain" a chain that consults the model when the
// heuristic is unsure or there are findings, and falls back to the
// heuristic on any timeout, error, exhausted budget or invalid answer.
//
// Endpoints and keys come from the controller's environment (a Secret
// mounted as variables; see docs/agents.md), never from the
// WorkloadPolicy: its options may only pick the model and, for langchain,
// the provider. A policy author who could set the endpoint could send the
// controller's key anywhere. LLMAgents is a prometheus.Collector exporting the
// chains' calls, tokens, latency, retries and fallbacks.
type LLMAgents struct {
	getenv func(string) string

	mu     sync.Mutex
	chains []*llm.Chain
}

var _ prometheus.Collector = (*LLMAgents)(nil)

// NewLLMAgents returns a builder reading its endpoints from getenv
// (os.Getenv in production).
func NewLLMAgents(getenv func(string) string) *LLMAgents {
	return &LLMAgents{getenv: getenv}
}

// Build implements AgentBuilder.
func (a *LLMAgents) Build(spec stuurmanv1.AgentSpec) (agents.Agent, error) {
	heuristicOpts := map[string]string{}
	var model, provider string
	for k, v := range spec.Options {
		switch k {
		case "model":
			model = v
		case "baseURL", "apiKey":
			return nil, fmt.Errorf("agent.options.%s: endpoints and keys come from the controller's environment, not from a WorkloadPolicy", k)
		case "provider":
			provider = v
		default:
			heuristicOpts[k] = v
		}
	}
	if spec.Name == "" || spec.Name == stuurmanv1.AgentHeuristic {
		return BuildHeuristic(spec)
	}
	hcfg, err := HeuristicConfig(heuristicOpts)
	if err != nil {
		return nil, err
	}
	heuristic, err := agents.NewHeuristic(hcfg)
	if err != nil {
		return nil, err
	}
	var m *llm.Agent
	switch spec.Name {
	case stuurmanv1.AgentOpenAI:
		if provider != "" {
			return nil, errors.New("agent.options.provider: only the langchain agent takes a provider")
		}
		cfg := llm.OpenAIConfig{Model: model}.FromEnv(a.getenv)
		m, err = llm.NewOpenAI(cfg, llm.Config{})
	case stuurmanv1.AgentLangChain:
		if provider == "" {
			return nil, fmt.Errorf("agent.options.provider: the langchain agent needs one (ollama, anthropic or openai): %w", ErrAgentUnavailable)
		}
		cfg := llm.LangChainConfig{Provider: provider, Model: model}.FromEnv(a.getenv)
		m, err = llm.NewLangChain(cfg, llm.Config{})
	default:
		return nil, fmt.Errorf("agent %q: unknown agent (heuristic, openai or langchain): %w", spec.Name, ErrAgentUnavailable)
	}
	if err != nil {
		return nil, fmt.Errorf("agent %s: %w: %w", spec.Name, ErrAgentUnavailable, err)
	}
	chain, err := llm.NewChain(m, heuristic, llm.ChainConfig{})
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.chains = append(a.chains, chain)
	a.mu.Unlock()
	return chain, nil
}

var (
	llmCallsDesc = prometheus.NewDesc("stuurman_llm_calls_total",
		"Completion requests sent to LLM agents (retries not included).", nil, nil)
	llmRetriesDesc = prometheus.NewDesc("stuurman_llm_retries_total",
		"HTTP requests to LLM endpoints repeated after a 429 or 5xx.", nil, nil)
	llmTokensDesc = prometheus.NewDesc("stuurman_llm_tokens_total",
		"Tokens used by LLM agents, as the provider reported them.", []string{"kind"}, nil)
	llmLatencyDesc = prometheus.NewDesc("stuurman_llm_latency_seconds_total",
		"Time spent waiting for LLM completions.", nil, nil)
	llmSkippedDesc = prometheus.NewDesc("stuurman_llm_skipped_total",
		"Cycles an LLM agent answered with the heuristic alone, the model not being needed.", nil, nil)
	llmCacheDesc = prometheus.NewDesc("stuurman_llm_cache_hits_total",
		"Cycles an LLM agent answered from its cache.", nil, nil)
	llmFallbacksDesc = prometheus.NewDesc("stuurman_llm_fallbacks_total",
		"Cycles an LLM agent fell back to the heuristic, by reason.", []string{"reason"}, nil)
)

// Describe implements prometheus.Collector.
func (a *LLMAgents) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{llmCallsDesc, llmRetriesDesc, llmTokensDesc, llmLatencyDesc, llmSkippedDesc, llmCacheDesc, llmFallbacksDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: the sums over every chain built
// so far (chains of replaced policy generations included, so the counters
// never go down).
func (a *LLMAgents) Collect(ch chan<- prometheus.Metric) {
	var sum llm.Stats
	fallbacks := map[llm.FallbackReason]int{}
	a.mu.Lock()
	for _, c := range a.chains {
		s := c.Stats()
		sum.Calls += s.Calls
		sum.Retries += s.Retries
		sum.PromptTokens += s.PromptTokens
		sum.CompletionTokens += s.CompletionTokens
		sum.Latency += s.Latency
		sum.Skipped += s.Skipped
		sum.CacheHits += s.CacheHits
		for r, n := range s.Fallbacks {
			fallbacks[r] += n
		}
	}
	a.mu.Unlock()
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	counter(llmCallsDesc, float64(sum.Calls))
	counter(llmRetriesDesc, float64(sum.Retries))
	counter(llmTokensDesc, float64(sum.PromptTokens), "prompt")
	counter(llmTokensDesc, float64(sum.CompletionTokens), "completion")
	counter(llmLatencyDesc, sum.Latency.Seconds())
	counter(llmSkippedDesc, float64(sum.Skipped))
	counter(llmCacheDesc, float64(sum.CacheHits))
	for r, n := range fallbacks {
		counter(llmFallbacksDesc, float64(n), string(r))
	}
}
