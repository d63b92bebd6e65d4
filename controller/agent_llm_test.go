package controller

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stuurman/stuurman/agents"
	"github.com/stuurman/stuurman/agents/llmtest"
	stuurmanv1 "github.com/stuurman/stuurman/api/v1alpha1"
	"github.com/stuurman/stuurman/forecast"
	"github.com/stuurman/stuurman/metrics"
)

// TestLLMAgentsBuildAndCount builds the openai agent against the scripted
// server (real HTTP through go-openai), makes it fall back on a malformed
// answer, and reads the fallback and the call back from /metrics' view.
func TestLLMAgentsBuildAndCount(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Reply{Raw: "{not json"})
	defer srv.Close()
	env := map[string]string{"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": srv.BaseURL()}
	b := NewLLMAgents(func(k string) string { return env[k] })

	agent, err := b.Build(stuurmanv1.AgentSpec{Name: stuurmanv1.AgentOpenAI,
		Options: map[string]string{"model": "scripted", "maxMASE": "1.5"}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	s := agents.Situation{
		Now:      now,
		Workload: agents.Workload{Kind: "Deployment", Namespace: "shop", Name: "web"},
		State:    agents.WorkloadState{Replicas: 2, Ready: 2, CapacityPerPod: 10},
		Demand:   metrics.Series{Start: now.Add(-3 * time.Minute), Step: time.Minute, Values: []float64{30, 31, 29}},
		Findings: []forecast.Finding{{Kind: forecast.FindingAnomaly, Subject: "Deployment/shop/web", Time: now}},
		LeadTime: 3 * time.Minute,
		Limits:   agents.Limits{MinReplicas: 1, MaxReplicas: 10},
	}
	props, err := agent.Propose(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if len(props) == 0 || props[0].Fallback == "" || props[0].Agent != "heuristic" {
		t.Fatalf("proposals %+v: want the heuristic's, marked as a fallback", props)
	}
	if n := len(srv.Requests()); n == 0 {
		t.Fatal("the model was never asked")
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(b)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			got[key] = m.GetCounter().GetValue()
		}
	}
	if got["stuurman_llm_calls_total"] < 1 || got["stuurman_llm_fallbacks_total{reason=invalid_output}"]+got["stuurman_llm_fallbacks_total{reason=error}"] != 1 {
		t.Errorf("metrics %v: want a call and one fallback", got)
	}
}

func TestLLMAgentsRefuseWhatTheyCannotBuild(t *testing.T) {
	b := NewLLMAgents(func(string) string { return "" })
	if a, err := b.Build(stuurmanv1.AgentSpec{}); err != nil || a.Name() != "heuristic" {
		t.Fatalf("default agent: %v, %v", a, err)
	}
	for _, tc := range []struct {
		spec stuurmanv1.AgentSpec
		want string
	}{
		{stuurmanv1.AgentSpec{Name: stuurmanv1.AgentLangChain}, "agent.options.provider"},
		{stuurmanv1.AgentSpec{Name: stuurmanv1.AgentOpenAI, Options: map[string]string{"provider": "ollama"}}, "only the langchain agent"},
		{stuurmanv1.AgentSpec{Name: stuurmanv1.AgentOpenAI, Options: map[string]string{"maxMASE": "x"}}, "agent.options.maxMASE"},
		{stuurmanv1.AgentSpec{Name: "oracle"}, "unknown agent"},
		{stuurmanv1.AgentSpec{Name: stuurmanv1.AgentOpenAI, Options: map[string]string{"baseURL": "http://elsewhere"}}, "come from the controller's environment"},
	} {
		_, err := b.Build(tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Build(%+v) = %v, want an error containing %q", tc.spec, err, tc.want)
		}
	}
	if _, err := b.Build(stuurmanv1.AgentSpec{Name: "oracle"}); !errors.Is(err, ErrAgentUnavailable) {
		t.Errorf("unknown agent: %v, want ErrAgentUnavailable", err)
	}
}
