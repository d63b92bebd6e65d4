package llm_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stuurman/stuurman/agents"
	"github.com/stuurman/stuurman/agents/llm"
	"github.com/stuurman/stuurman/agents/llmtest"
)

func newLangChain(t *testing.T, provider, baseURL string, retry llm.RetryConfig) *llm.Agent {
	t.Helper()
	a, err := llm.NewLangChain(llm.LangChainConfig{Provider: provider, BaseURL: baseURL, Model: "scripted-2", APIKey: "k", Retry: retry}, llm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestLangChainRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		provider, path string
		base           func(*llmtest.Server) string
	}{
		{llm.ProviderOpenAI, "/v1/chat/completions", (*llmtest.Server).BaseURL},
		{llm.ProviderOllama, "/api/chat", func(s *llmtest.Server) string { return s.URL }},
	} {
		t.Run(tc.provider, func(t *testing.T) {
			srv := llmtest.NewServer(
				llmtest.Reply{Status: http.StatusTooManyRequests},
				llmtest.Reply{ToolCalls: []llmtest.ToolCall{{Name: llm.ToolReplicas, Arguments: `{"demand":700}`}}},
				propose(scaleTo7),
			)
			defer srv.Close()
			ns := &noSleep{}
			a := newLangChain(t, tc.provider, tc.base(srv), llm.RetryConfig{Sleep: ns.sleep})
			ps, err := a.Propose(context.Background(), adversarial())
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) != 1 || ps[0].Action != (agents.Action{Kind: agents.ActionScale, Replicas: 7}) || ps[0].Agent != "langchain/"+tc.provider+":scripted-2" {
				t.Fatalf("proposals %+v", ps)
			}
			reqs := srv.Requests()
			if len(reqs) != 3 || reqs[2].Path != tc.path || reqs[2].Model != "scripted-2" || len(ns.waits) != 1 {
				t.Fatalf("%d requests, last path %s model %s, waits %v", len(reqs), reqs[len(reqs)-1].Path, reqs[len(reqs)-1].Model, ns.waits)
			}
			// The tool result reached the model, and the cluster text stayed
			// out of the instructions in this wire format too.
			var sawResult bool
			for _, m := range reqs[2].Messages {
				if m.Role == "tool" && strings.Contains(m.Content, `"replicas":7`) {
					sawResult = true
				}
				if (m.Role == "system" || (m.Role == "user" && !strings.HasPrefix(m.Content, "<situation_data>"))) &&
					strings.Contains(m.Content, injected) {
					t.Errorf("%s message carries cluster text: %q", m.Role, m.Content)
				}
			}
			if !sawResult {
				t.Errorf("no tool result in %+v", reqs[2].Messages)
			}
			if st := a.Stats(); st.PromptTokens == 0 || st.Retries != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestLangChainFallbackThroughChain(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Reply{Raw: "not json at all"})
	defer srv.Close()
	c, err := llm.NewChain(newLangChain(t, llm.ProviderOllama, srv.URL, llm.RetryConfig{MaxAttempts: 1}), heuristic(t), llm.ChainConfig{})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := c.Propose(context.Background(), situation())
	if err != nil {
		t.Fatal(err)
	}
	if ps[0].Agent != "heuristic" || !strings.HasPrefix(ps[0].Fallback, "error: ") {
		t.Fatalf("proposal %+v", ps[0])
	}
}

func TestLangChainConfig(t *testing.T) {
	if _, err := llm.NewLangChainClient(llm.LangChainConfig{Provider: "bedrock"}); err == nil || !strings.Contains(err.Error(), "Provider") {
		t.Errorf("unknown provider: %v", err)
	}
	if _, err := llm.NewLangChainClient(llm.LangChainConfig{Provider: llm.ProviderAnthropic, APIKey: "k"}); err != nil {
		t.Errorf("anthropic: %v", err)
	}
	env := map[string]string{"ANTHROPIC_API_KEY": "a", "OLLAMA_HOST": "gpu:11434", "OPENAI_API_KEY": "o"}
	c := llm.LangChainConfig{Provider: llm.ProviderAnthropic}.FromEnv(func(k string) string { return env[k] })
	if c.APIKey != "a" {
		t.Errorf("anthropic FromEnv %+v", c)
	}
	c = llm.LangChainConfig{Provider: llm.ProviderOllama}.FromEnv(func(k string) string { return env[k] })
	if c.BaseURL != "gpu:11434" || c.APIKey != "" {
		t.Errorf("ollama FromEnv %+v", c)
	}
}
