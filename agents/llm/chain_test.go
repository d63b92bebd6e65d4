package llm_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stuurman/stuurman/agents"
	"github.com/stuurman/stuurman/agents/llm"
	"github.com/stuurman/stuurman/agents/llmtest"
	"github.com/stuurman/stuurman/forecast"
)

func heuristic(t *testing.T) *agents.Heuristic {
	t.Helper()
	h, err := agents.NewHeuristic(agents.HeuristicConfig{MinHistory: 100})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func newChain(t *testing.T, srv *llmtest.Server, retry llm.RetryConfig, cfg llm.ChainConfig) (*llm.Chain, *llm.Agent) {
	t.Helper()
	a := newOpenAI(t, srv, retry, llm.Config{})
	c, err := llm.NewChain(a, heuristic(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, a
}

// The heuristic proposes 4 → 7 for situation(): a big change (75 %), so the
// chain consults the model in ConsultAuto.
func TestChainFallbacks(t *testing.T) {
	bad := `{"proposals":[{"workload":"Deployment/shop/web","action":"scale","replicas":10000,"reason":"r","confidence":1}]}`
	tests := []struct {
		name     string
		script   []llmtest.Reply
		retry    llm.RetryConfig
		cfg      llm.ChainConfig
		reason   llm.FallbackReason // "" : the model's answer stands
		inDetail string
		requests int
	}{
		{"model answers", []llmtest.Reply{propose(scaleTo7)}, llm.RetryConfig{}, llm.ChainConfig{}, "", "", 1},
		{"timeout", []llmtest.Reply{{Delay: 5 * time.Second}}, llm.RetryConfig{}, llm.ChainConfig{Timeout: 50 * time.Millisecond}, llm.FallbackTimeout, "no answer within 50ms", 1},
		{"429 then success", []llmtest.Reply{{Status: http.StatusTooManyRequests}, propose(scaleTo7)}, llm.RetryConfig{MaxAttempts: 3}, llm.ChainConfig{}, "", "", 2},
		{"500 exhausted", []llmtest.Reply{{Status: 500}, {Status: 500}, {Status: 500}}, llm.RetryConfig{MaxAttempts: 3}, llm.ChainConfig{}, llm.FallbackError, "500", 3},
		{"malformed response body", []llmtest.Reply{{Raw: `{"choices":[{"message":{"role":"assistant","content":`}}, llm.RetryConfig{}, llm.ChainConfig{}, llm.FallbackError, "completion", 1},
		{"malformed arguments", []llmtest.Reply{propose(`{"proposals":[`), propose(`{"proposals":[`)}, llm.RetryConfig{}, llm.ChainConfig{}, llm.FallbackInvalid, "malformed", 2},
		{"invalid proposal", []llmtest.Reply{propose(bad), propose(bad)}, llm.RetryConfig{}, llm.ChainConfig{}, llm.FallbackInvalid, "above 40", 2},
		{"text instead of a tool call", []llmtest.Reply{{Content: "scale to 7"}, {Content: "I said 7"}}, llm.RetryConfig{}, llm.ChainConfig{}, llm.FallbackInvalid, "text", 2},
		{"budget exhausted", []llmtest.Reply{{ToolCalls: []llmtest.ToolCall{{Name: llm.ToolForecast}}, PromptTokens: 900, CompletionTokens: 200}, propose(scaleTo7)},
			llm.RetryConfig{}, llm.ChainConfig{TokenBudget: 1000}, llm.FallbackBudget, "1100 of 1000", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := llmtest.NewServer(append(tc.script, llmtest.Reply{Status: 500, Content: "script exhausted"})...)
			defer srv.Close()
			ns := &noSleep{}
			tc.retry.Sleep = ns.sleep
			if tc.retry.MaxAttempts == 0 {
				tc.retry.MaxAttempts = 1
			}
			c, _ := newChain(t, srv, tc.retry, tc.cfg)
			ps, err := c.Propose(context.Background(), situation())
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) != 1 {
				t.Fatalf("%d proposals", len(ps))
			}
			p := ps[0]
			if tc.reason == "" {
				if p.Fallback != "" || p.Agent != "openai:scripted-1" {
					t.Fatalf("proposal %+v, want the model's", p)
				}
			} else {
				if p.Agent != "heuristic" || !strings.HasPrefix(p.Fallback, string(tc.reason)+": ") || !strings.Contains(p.Fallback, tc.inDetail) {
					t.Fatalf("proposal agent %s fallback %q, want heuristic with %s containing %q", p.Agent, p.Fallback, tc.reason, tc.inDetail)
				}
				if p.Action != (agents.Action{Kind: agents.ActionScale, Replicas: 7}) {
					t.Errorf("fallback action %+v", p.Action)
				}
				if got := c.Stats().Fallbacks[tc.reason]; got != 1 {
					t.Errorf("stats fallbacks %v", c.Stats().Fallbacks)
				}
			}
			if n := len(srv.Requests()); n < tc.requests {
				t.Errorf("%d requests, want at least %d", n, tc.requests)
			}
		})
	}
}

func TestChainCacheHitMakesNoCall(t *testing.T) {
	srv := llmtest.NewServer(propose(scaleTo7))
	defer srv.Close()
	c, _ := newChain(t, srv, llm.RetryConfig{MaxAttempts: 1}, llm.ChainConfig{})
	s := situation()
	first, err := c.Propose(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	// The next cycle, same situation: answered from the cache.
	s.Now = s.Now.Add(time.Minute)
	s.Demand.Start = s.Demand.Start.Add(time.Minute)
	s.Forecast.Start = s.Forecast.Start.Add(time.Minute)
	second, err := c.Propose(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if len(srv.Requests()) != 1 {
		t.Fatalf("%d requests, want 1 (cache hit)", len(srv.Requests()))
	}
	if second[0].Action != first[0].Action || second[0].Agent != first[0].Agent || second[0].Fallback != "" {
		t.Errorf("cached %+v, first %+v", second[0], first[0])
	}
	if st := c.Stats(); st.CacheHits != 1 || st.Consultations != 1 {
		t.Errorf("stats %+v", st)
	}
	// Past the TTL the model is asked again (and the script is exhausted).
	s.Now = s.Now.Add(time.Hour)
	ps, _ := c.Propose(context.Background(), s)
	if len(srv.Requests()) != 2 || ps[0].Fallback == "" {
		t.Errorf("after TTL: %d requests, fallback %q", len(srv.Requests()), ps[0].Fallback)
	}
}

func TestChainConsultsOnlyWhenUnsure(t *testing.T) {
	srv := llmtest.NewServer(propose(`{"proposals":[{"workload":"Deployment/shop/web","action":"hold","reason":"steady","confidence":0.9}]}`))
	defer srv.Close()
	c, _ := newChain(t, srv, llm.RetryConfig{MaxAttempts: 1}, llm.ChainConfig{})
	s := situation()
	flat := []float64{390, 390, 390}
	s.Forecast.Point, s.Forecast.Lower, s.Forecast.Upper = flat, flat, flat // 4 pods: hold, trusted
	ps, err := c.Propose(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if len(srv.Requests()) != 0 || ps[0].Agent != "heuristic" || ps[0].Fallback != "" || c.Stats().Skipped != 1 {
		t.Fatalf("sure heuristic: %d requests, proposal %+v", len(srv.Requests()), ps[0])
	}
	// A finding calls for the model.
	s.Findings = []forecast.Finding{{Kind: forecast.FindingAnomaly, Subject: "web", Severity: forecast.SeverityWarning, Time: t0}}
	ps, err = c.Propose(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if len(srv.Requests()) != 1 || ps[0].Agent != "openai:scripted-1" {
		t.Fatalf("with a finding: %d requests, proposal %+v", len(srv.Requests()), ps[0])
	}
}

func TestChainBudgetIsPerCycle(t *testing.T) {
	srv := llmtest.NewResponderServer(func(int, llmtest.Request) llmtest.Reply {
		r := propose(scaleTo7)
		r.PromptTokens, r.CompletionTokens = 600, 100
		return r
	})
	defer srv.Close()
	c, _ := newChain(t, srv, llm.RetryConfig{MaxAttempts: 1}, llm.ChainConfig{TokenBudget: 1000, CacheSize: -1})
	s := situation()
	// The budget is checked before every request, so the second
	// consultation starts with 300 tokens left and overshoots; the third
	// may not start.
	for i, want := range []string{"", "", "budget: "} {
		ps, err := c.Propose(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(ps[0].Fallback, want) || (want == "") != (ps[0].Fallback == "") {
			t.Fatalf("call %d: fallback %q, want prefix %q", i, ps[0].Fallback, want)
		}
	}
	if len(srv.Requests()) != 2 {
		t.Errorf("%d requests: the exhausted cycle must not call", len(srv.Requests()))
	}
	s.Now = s.Now.Add(time.Minute) // next cycle, fresh budget
	if ps, _ := c.Propose(context.Background(), s); ps[0].Fallback != "" {
		t.Errorf("next cycle fell back: %q", ps[0].Fallback)
	}
}

func TestChainCallerCancellationIsAnError(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Reply{Delay: 5 * time.Second})
	defer srv.Close()
	c, _ := newChain(t, srv, llm.RetryConfig{MaxAttempts: 1}, llm.ChainConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := c.Propose(ctx, situation()); err == nil {
		t.Fatal("want an error when the caller's context ends")
	}
}
