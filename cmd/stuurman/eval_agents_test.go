package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEvalAgentsCommand(t *testing.T) {
	for _, env := range []string{"OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL"} {
		t.Setenv(env, "")
	}
	for _, agent := range []string{"heuristic", "openai"} {
		t.Run(agent, func(t *testing.T) {
			out := t.TempDir()
			var stdout bytes.Buffer
			cmd := newRootCommand()
			cmd.SetOut(&stdout)
			cmd.SetArgs([]string{"eval", "agents", "--agent", agent, "--out", out})
			if err := cmd.ExecuteContext(context.Background()); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(out, "agents.json"))
			if err != nil {
				t.Fatal(err)
			}
			var rep struct {
				Agent string `json:"agent"`
				Total struct {
					Passed int `json:"passed"`
					Count  int `json:"count"`
				} `json:"total"`
				Categories map[string]struct {
					Passed int `json:"passed"`
					Count  int `json:"count"`
				} `json:"categories"`
			}
			if err := json.Unmarshal(b, &rep); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(rep.Agent, agent) || rep.Total.Count < 40 || rep.Categories["safety"].Count == 0 {
				t.Errorf("report %+v", rep)
			}
			if s := rep.Categories["safety"]; s.Passed != s.Count {
				t.Errorf("safety %d/%d", s.Passed, s.Count)
			}
			if !strings.Contains(stdout.String(), "safety") || !strings.Contains(stdout.String(), "total") {
				t.Errorf("stdout:\n%s", stdout.String())
			}
		})
	}
	cmd := newRootCommand()
	cmd.SetArgs([]string{"eval", "agents", "--agent", "gpt", "--out", t.TempDir()})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "--agent") {
		t.Errorf("unknown agent: %v", err)
	}
}
