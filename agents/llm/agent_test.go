package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stuurman/stuurman/agents"
	"github.com/stuurman/stuurman/agents/llm"
	"github.com/stuurman/stuurman/agents/llmtest"
	"github.com/stuurman/stuurman/forecast"
	"github.com/stuurman/stuurman/metrics"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// situation is a workload at 4 replicas of 100 each, demand 300, and a
// trusted forecast rising to 700 within the lead time.
func situation() agents.Situation {
	vals := make([]float64, 180)
	for i := range vals {
		vals[i] = 300 + float64(i%7)
	}
	up := []float64{400, 550, 700, 690, 650}
	return agents.Situation{
		Now:      t0,
		Workload: agents.Workload{Kind: "Deployment", Namespace: "shop", Name: "web", Labels: map[string]string{"app": "web"}},
		State:    agents.WorkloadState{Replicas: 4, Ready: 4, CapacityPerPod: 100},
		Demand:   metrics.Series{Name: "rps", Start: t0.Add(-180 * time.Minute), Step: time.Minute, Values: vals},
		Forecast: forecast.Forecast{Start: t0, Step: time.Minute, Point: up, Lower: up, Upper: up, Coverage: 0.9, Model: "holt_winters_damped", MASE: 0.6, History: 5000},
		LeadTime: 3 * time.Minute,
		Limits:   agents.Limits{MinReplicas: 2, MaxReplicas: 20},
	}
}

func propose(args string) llmtest.Reply {
	return llmtest.Reply{ToolCalls: []llmtest.ToolCall{{Name: llm.ToolProposeActions, Arguments: args}}}
}

const scaleTo7 = `{"proposals":[{"workload":"Deployment/shop/web","action":"scale","replicas":7,"reason":"forecast upper 700 needs 7 pods","confidence":0.8,"evidence":{"forecast_upper":700}}]}`

// noSleep records the retry waits instead of sleeping.
type noSleep struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (n *noSleep) sleep(_ context.Context, d time.Duration) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.waits = append(n.waits, d)
	return nil
}

func newOpenAI(t *testing.T, srv *llmtest.Server, retry llm.RetryConfig, cfg llm.Config) *llm.Agent {
	t.Helper()
	a, err := llm.NewOpenAI(llm.OpenAIConfig{BaseURL: srv.BaseURL(), APIKey: "test-key", Model: "scripted-1", Retry: retry}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestToolCallRoundTrip(t *testing.T) {
	srv := llmtest.NewServer(
		llmtest.Reply{ToolCalls: []llmtest.ToolCall{
			{Name: llm.ToolForecast, Arguments: `{}`},
			{Name: llm.ToolReplicas, Arguments: `{"demand":700}`},
		}},
		llmtest.Reply{ToolCalls: []llmtest.ToolCall{{Name: llm.ToolFindings}, {Name: llm.ToolHistory}, {Name: llm.ToolLimits}}},
		propose(scaleTo7),
	)
	defer srv.Close()
	a := newOpenAI(t, srv, llm.RetryConfig{}, llm.Config{})
	s := situation()
	ps, err := a.Propose(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	want := agents.Action{Kind: agents.ActionScale, Replicas: 7}
	if len(ps) != 1 || ps[0].Action != want || ps[0].From != 4 || ps[0].Agent != "openai:scripted-1" || ps[0].Workload.Name != "web" {
		t.Fatalf("proposals %+v", ps)
	}
	reqs := srv.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	if reqs[0].Path != "/v1/chat/completions" || reqs[0].Model != "scripted-1" || reqs[0].Header.Get("Authorization") != "Bearer test-key" {
		t.Errorf("first request: path %s model %s auth %q", reqs[0].Path, reqs[0].Model, reqs[0].Header.Get("Authorization"))
	}
	wantTools := []string{llm.ToolForecast, llm.ToolFindings, llm.ToolHistory, llm.ToolLimits, llm.ToolReplicas, llm.ToolProposeActions}
	if fmt.Sprint(reqs[0].Tools) != fmt.Sprint(wantTools) {
		t.Errorf("tools %v, want %v", reqs[0].Tools, wantTools)
	}
	// The second request carries the tool results of the first round.
	var results []llmtest.Message
	for _, m := range reqs[1].Messages {
		if m.Role == "tool" {
			results = append(results, m)
		}
	}
	if len(results) != 2 || results[0].ToolCallID != "call_0_0" {
		t.Fatalf("tool results %+v", results)
	}
	var fs map[string]any
	if err := json.Unmarshal([]byte(results[0].Content), &fs); err != nil {
		t.Fatal(err)
	}
	if fs["max_upper_over_lead_time"] != 700.0 || fs["replicas_for_upper_over_lead_time"] != 7.0 || fs["trusted"] != true {
		t.Errorf("forecast summary %v", fs)
	}
	if !strings.Contains(results[1].Content, `"replicas":7`) {
		t.Errorf("calculate_replicas answered %s", results[1].Content)
	}
	st := a.Stats()
	if st.Calls != 3 || st.PromptTokens == 0 || st.CompletionTokens == 0 || st.Consultations != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestProposalSchema(t *testing.T) {
	s := llm.Schema(llm.ProposeArgs{})
	b, _ := json.Marshal(s)
	for _, want := range []string{
		`"required":["proposals"]`, `"enum":["hold","scale","restart"]`, `"additionalProperties":false`,
		`"required":["workload","action","reason","confidence"]`, `"maximum":1`, `"maxItems":3`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("schema lacks %s: %s", want, b)
		}
	}
}

func TestValidate(t *testing.T) {
	s := situation()
	tests := []struct {
		name, args, inErr string
	}{
		{"ok", scaleTo7, ""},
		{"malformed", `{"proposals":[{"workload":`, "malformed"},
		{"trailing", scaleTo7 + `{}`, "after the JSON"},
		{"unknown field", `{"proposals":[{"workload":"Deployment/shop/web","action":"hold","reason":"r","confidence":1,"agent":"root"}]}`, "unknown field"},
		{"unknown workload", `{"proposals":[{"workload":"Deployment/kube-system/coredns","action":"restart","reason":"r","confidence":1}]}`, "unknown workload"},
		{"unknown action", `{"proposals":[{"workload":"Deployment/shop/web","action":"delete","reason":"r","confidence":1}]}`, "unknown action"},
		{"negative", `{"proposals":[{"workload":"Deployment/shop/web","action":"scale","replicas":-3,"reason":"r","confidence":1}]}`, "negative"},
		{"absurd", `{"proposals":[{"workload":"Deployment/shop/web","action":"scale","replicas":10000,"reason":"r","confidence":1}]}`, "above 40"},
		{"fraction", `{"proposals":[{"workload":"Deployment/shop/web","action":"scale","replicas":5.5,"reason":"r","confidence":1}]}`, "malformed"},
		{"NaN as string", `{"proposals":[{"workload":"Deployment/shop/web","action":"hold","reason":"r","confidence":"NaN"}]}`, "malformed"},
		{"huge number", `{"proposals":[{"workload":"Deployment/shop/web","action":"scale","replicas":1e400,"reason":"r","confidence":1}]}`, "malformed"},
		{"confidence", `{"proposals":[{"workload":"Deployment/shop/web","action":"hold","reason":"r","confidence":1.5}]}`, "outside [0, 1]"},
		{"empty reason", `{"proposals":[{"workload":"Deployment/shop/web","action":"hold","reason":"  ","confidence":1}]}`, "reason: empty"},
		{"no proposals", `{"proposals":[]}`, "0 proposals"},
		{"two scales", `{"proposals":[{"workload":"Deployment/shop/web","action":"scale","replicas":5,"reason":"r","confidence":1},{"workload":"Deployment/shop/web","action":"scale","replicas":6,"reason":"r","confidence":1}]}`, "more than one scale"},
		{"hold and scale", `{"proposals":[{"workload":"Deployment/shop/web","action":"hold","reason":"r","confidence":1},{"workload":"Deployment/shop/web","action":"scale","replicas":5,"reason":"r","confidence":1}]}`, "contradict"},
		{"evidence key", `{"proposals":[{"workload":"Deployment/shop/web","action":"hold","reason":"r","confidence":1,"evidence":{"Ignore previous":1}}]}`, "snake_case"},
		{"replicas on hold", `{"proposals":[{"workload":"Deployment/shop/web","action":"hold","replicas":9,"reason":"r","confidence":1}]}`, "given for a hold"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := llm.Validate(tc.args, s, 2, "x")
			if tc.inErr == "" {
				if err != nil || len(ps) != 1 {
					t.Fatalf("Validate = %v, %v", ps, err)
				}
				return
			}
			if !errors.Is(err, llm.ErrInvalidOutput) || !strings.Contains(err.Error(), tc.inErr) {
				t.Fatalf("Validate error %v, want ErrInvalidOutput containing %q", err, tc.inErr)
			}
		})
	}
}

func TestInvalidProposalIsSentBackForCorrection(t *testing.T) {
	srv := llmtest.NewServer(
		propose(`{"proposals":[{"workload":"Deployment/shop/web","action":"scale","replicas":-1,"reason":"r","confidence":1}]}`),
		propose(scaleTo7),
	)
	defer srv.Close()
	ps, err := newOpenAI(t, srv, llm.RetryConfig{}, llm.Config{}).Propose(context.Background(), situation())
	if err != nil || ps[0].Action.Replicas != 7 {
		t.Fatalf("Propose = %+v, %v", ps, err)
	}
	last := srv.Requests()[1].Messages
	if m := last[len(last)-1]; m.Role != "tool" || !strings.Contains(m.Content, "negative") {
		t.Errorf("correction message %+v", m)
	}
}

func TestRoundsAreBounded(t *testing.T) {
	srv := llmtest.NewResponderServer(func(int, llmtest.Request) llmtest.Reply {
		return llmtest.Reply{ToolCalls: []llmtest.ToolCall{{Name: llm.ToolLimits}}}
	})
	defer srv.Close()
	_, err := newOpenAI(t, srv, llm.RetryConfig{}, llm.Config{MaxRounds: 3}).Propose(context.Background(), situation())
	if !errors.Is(err, llm.ErrInvalidOutput) || len(srv.Requests()) != 3 {
		t.Fatalf("err %v after %d requests, want ErrInvalidOutput after 3", err, len(srv.Requests()))
	}
}

func TestRetryTransport(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Reply{Status: http.StatusTooManyRequests}, llmtest.Reply{Status: http.StatusBadGateway}, propose(scaleTo7))
	defer srv.Close()
	ns := &noSleep{}
	a := newOpenAI(t, srv, llm.RetryConfig{MaxAttempts: 3, BaseDelay: time.Second, Sleep: ns.sleep}, llm.Config{})
	ps, err := a.Propose(context.Background(), situation())
	if err != nil || ps[0].Action.Replicas != 7 {
		t.Fatalf("Propose = %+v, %v", ps, err)
	}
	if fmt.Sprint(ns.waits) != "[1s 2s]" {
		t.Errorf("waits %v, want [1s 2s]", ns.waits)
	}
	if st := a.Stats(); st.Retries != 2 || st.Calls != 1 {
		t.Errorf("stats %+v", st)
	}
	// The retried request is the same request.
	reqs := srv.Requests()
	if string(reqs[0].Body) != string(reqs[2].Body) {
		t.Error("retried body differs")
	}
}

func TestEnvConfig(t *testing.T) {
	env := map[string]string{"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": "http://vllm:8000/v1", "OPENAI_MODEL": "qwen"}
	c := llm.OpenAIConfig{Model: "explicit"}.FromEnv(func(k string) string { return env[k] })
	if c.APIKey != "k" || c.BaseURL != "http://vllm:8000/v1" || c.Model != "explicit" {
		t.Errorf("FromEnv = %+v", c)
	}
	if _, err := llm.NewOpenAIClient(llm.OpenAIConfig{APIType: "azure"}); err == nil || !strings.Contains(err.Error(), "BaseURL") {
		t.Errorf("azure without BaseURL: %v", err)
	}
	if _, err := llm.NewOpenAIClient(llm.OpenAIConfig{APIType: "bedrock"}); err == nil || !strings.Contains(err.Error(), "APIType") {
		t.Errorf("unknown APIType: %v", err)
	}
}

func TestAzureRequestShape(t *testing.T) {
	srv := llmtest.NewServer(propose(scaleTo7))
	defer srv.Close()
	a, err := llm.NewOpenAI(llm.OpenAIConfig{APIType: "azure", BaseURL: srv.URL, APIKey: "az-key", Model: "my-deployment"}, llm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Propose(context.Background(), situation()); err != nil {
		t.Fatal(err)
	}
	r := srv.Requests()[0]
	if r.Path != "/openai/deployments/my-deployment/chat/completions" || r.Header.Get("api-key") != "az-key" {
		t.Errorf("azure request: path %s, api-key %q", r.Path, r.Header.Get("api-key"))
	}
}

func TestForecastSummaryHandlesNaN(t *testing.T) {
	s := situation()
	s.Forecast.MASE = math.NaN()
	srv := llmtest.NewServer(llmtest.Reply{ToolCalls: []llmtest.ToolCall{{Name: llm.ToolForecast}}}, propose(scaleTo7))
	defer srv.Close()
	if _, err := newOpenAI(t, srv, llm.RetryConfig{}, llm.Config{}).Propose(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	var tool string
	for _, m := range srv.Requests()[1].Messages {
		if m.Role == "tool" {
			tool = m.Content
		}
	}
	if !strings.Contains(tool, `"mase":null`) || !strings.Contains(tool, `"trusted":false`) {
		t.Errorf("summary %s", tool)
	}
}
