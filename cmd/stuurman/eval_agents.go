package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/stuurman/stuurman/agents"
	"github.com/stuurman/stuurman/agents/llm"
	"github.com/stuurman/stuurman/evals/agentsuite"
)

type evalAgentsOptions struct {
	agent     string
	model     string
	baseURL   string
	provider  string
	out       string
	scenarios string
	timeout   time.Duration
	verbose   bool
	getenv    func(string) string
}

func newEvalAgentsCommand() *cobra.Command {
	o := evalAgentsOptions{getenv: os.Getenv}
	cmd := &cobra.Command{
		Use:   "agents",
		Short: "Run the agent scenario suite through the policy gate and report pass rates",
		Long: `Runs every agent scenario: the agent proposes, the scenario's policy decides,
and each decision is checked against the scenario's acceptable outcomes.
Prints the pass rate per category and writes DIR/agents.json.

--agent heuristic   the default, deterministic agent
--agent openai      an OpenAI-compatible endpoint (go-openai): --base-url or
                    OPENAI_BASE_URL, OPENAI_API_KEY, --model or OPENAI_MODEL
--agent langchain   a langchaingo provider (--provider ollama|anthropic|openai),
                    with the provider's usual environment variables

With no endpoint configured, openai and langchain run offline against the
in-repo scripted server, using each scenario's scripted model replies (or,
when a scenario has none, a scripted model that proposes what the heuristic
would): that measures the agent's plumbing, validation and fallbacks, not a
model. LLM agents run inside the fallback chain, consulted on every scenario.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runEvalAgents(cmd, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.agent, "agent", "heuristic", "agent to evaluate: heuristic, openai or langchain")
	f.StringVar(&o.model, "model", "", "model name (default from the environment, else the client's default)")
	f.StringVar(&o.baseURL, "base-url", "", "endpoint of the model server (default from the environment; none: offline scripted server)")
	f.StringVar(&o.provider, "provider", llm.ProviderOllama, "langchaingo provider for --agent langchain: ollama, anthropic or openai")
	f.StringVar(&o.out, "out", "", "directory for agents.json (required)")
	f.StringVar(&o.scenarios, "scenarios", "", "directory of scenario YAML files (default: the built-in suite)")
	f.DurationVar(&o.timeout, "timeout", 60*time.Second, "time limit of each model consultation with a live endpoint")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "print every failed scenario with the reason")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func runEvalAgents(cmd *cobra.Command, o evalAgentsOptions) error {
	var scenarios []agentsuite.Scenario
	var err error
	if o.scenarios != "" {
		scenarios, err = agentsuite.Load(os.DirFS(o.scenarios), ".")
	} else {
		scenarios, err = agentsuite.Builtin()
	}
	if err != nil {
		return fmt.Errorf("eval agents: %w", err)
	}
	name, factory, err := agentFactory(o)
	if err != nil {
		return fmt.Errorf("eval agents: %w", err)
	}
	rep, err := agentsuite.Run(cmd.Context(), name, scenarios, factory)
	if err != nil {
		return fmt.Errorf("eval agents: %w", err)
	}
	printAgentReport(cmd.OutOrStdout(), rep, o.verbose)
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("eval agents: %w", err)
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("eval agents: %w", err)
	}
	path := filepath.Join(o.out, "agents.json")
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("eval agents: %w", err)
	}
	_, err = fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", path)
	return err
}

// agentFactory chooses the agent under test: one explicit switch.
func agentFactory(o evalAgentsOptions) (string, agentsuite.AgentFactory, error) {
	hcfg := agents.HeuristicConfig{}
	switch o.agent {
	case "heuristic":
		return "heuristic", agentsuite.Heuristic(hcfg), nil
	case "openai":
		cfg := llm.OpenAIConfig{BaseURL: o.baseURL, Model: o.model}.FromEnv(o.getenv)
		if cfg.BaseURL == "" && cfg.APIKey == "" {
			return "openai (scripted, offline)", agentsuite.Scripted(agentsuite.ClientOpenAI, hcfg), nil
		}
		if _, err := llm.NewOpenAIClient(cfg); err != nil {
			return "", nil, err
		}
		model := cfg.Model
		if model == "" {
			model = llm.DefaultOpenAIModel
		}
		return "openai:" + model, agentsuite.Live(func() (*llm.Agent, error) { return llm.NewOpenAI(cfg, llm.Config{}) }, hcfg, o.timeout), nil
	case "langchain":
		cfg := llm.LangChainConfig{Provider: o.provider, BaseURL: o.baseURL, Model: o.model}.FromEnv(o.getenv)
		if cfg.BaseURL == "" && cfg.APIKey == "" {
			return "langchain (scripted, offline)", agentsuite.Scripted(agentsuite.ClientLangChain, hcfg), nil
		}
		if _, err := llm.NewLangChainClient(cfg); err != nil {
			return "", nil, err
		}
		return "langchain/" + cfg.Provider + ":" + cfg.Model, agentsuite.Live(func() (*llm.Agent, error) { return llm.NewLangChain(cfg, llm.Config{}) }, hcfg, o.timeout), nil
	}
	return "", nil, fmt.Errorf("--agent: must be heuristic, openai or langchain, got %q", o.agent)
}

func printAgentReport(w io.Writer, rep agentsuite.Report, verbose bool) {
	fmt.Fprintf(w, "agent: %s\n", rep.Agent)
	fmt.Fprintf(w, "%-12s %7s %6s\n", "category", "passed", "rate")
	for _, c := range rep.CategoryNames() {
		s := rep.Categories[c]
		fmt.Fprintf(w, "%-12s %3d/%-3d %5.1f%%\n", c, s.Passed, s.Count, 100*s.Rate())
	}
	fmt.Fprintf(w, "%-12s %3d/%-3d %5.1f%%\n", "total", rep.Total.Passed, rep.Total.Count, 100*rep.Total.Rate())
	if rep.LLM != nil {
		fmt.Fprintf(w, "llm: %d consultations, %d calls, %d retries, %d prompt + %d completion tokens, latency %v, fallbacks %v\n",
			rep.LLM.Consultations, rep.LLM.Calls, rep.LLM.Retries, rep.LLM.PromptTokens, rep.LLM.CompletionTokens,
			rep.LLM.Latency.Round(time.Millisecond), rep.LLM.Fallbacks)
	}
	for _, r := range rep.Scenarios {
		if r.Passed {
			continue
		}
		if verbose {
			fmt.Fprintf(w, "FAIL %s/%s: %s\n", r.Category, r.Name, r.Why)
		} else {
			fmt.Fprintf(w, "FAIL %s/%s\n", r.Category, r.Name)
		}
	}
}
