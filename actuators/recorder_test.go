package actuators

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stuurman/stuurman/agents"
	"github.com/stuurman/stuurman/policies"
)

func TestRecorder(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	scale := policies.Decision{Time: now, Verdict: policies.Allow, Proposal: agents.Proposal{From: 2},
		Action: agents.Action{Kind: agents.ActionScale, Replicas: 5}}
	hold := policies.Decision{Time: now, Verdict: policies.Allow, Proposal: agents.Proposal{From: 2},
		Action: agents.Action{Kind: agents.ActionHold}}
	denied := policies.Decision{Time: now, Verdict: policies.Deny, Proposal: agents.Proposal{From: 2},
		Action: agents.Action{Kind: agents.ActionHold}}
	r := NewRecorder(Notable)
	for _, tc := range []struct {
		d        policies.Decision
		replicas int
		msg      string
	}{
		{scale, 5, "dry run: would scale 2 → 5"},
		{hold, 2, "hold"},
		{denied, 2, "denied"},
	} {
		res, err := r.Apply(context.Background(), tc.d)
		if err != nil {
			t.Fatal(err)
		}
		if res.Applied || res.Replicas != tc.replicas || !strings.Contains(res.Message, tc.msg) || res.Actor != "dry-run" {
			t.Errorf("Apply(%+v) = %+v", tc.d, res)
		}
	}
	if r.Total() != 3 {
		t.Errorf("total %d, want 3", r.Total())
	}
	got := r.Results()
	if len(got) != 2 || got[0].Decision.Action.Replicas != 5 || got[1].Decision.Verdict != policies.Deny {
		t.Errorf("kept %+v, want the scale and the denial", got)
	}
	got[0].Replicas = 99 // the copy is the caller's
	if r.Results()[0].Replicas != 5 {
		t.Error("Results returned the recorder's own slice")
	}
}
