package controller

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/stuurman/stuurman/actuators"
	stuurmanv1 "github.com/stuurman/stuurman/api/v1alpha1"
)

func (e *approvalEnv) notifier() *Notifier {
	e.t.Helper()
	n, err := NewNotifier(k8s, NotifierOptions{Messenger: actuators.NewSlack(e.slack.api), Clock: e.clock})
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *approvalEnv) notify(n *Notifier, ap *stuurmanv1.ActionProposal) {
	e.t.Helper()
	if _, err := n.Reconcile(context.Background(), reconcile.Request{NamespacedName: client.ObjectKeyFromObject(ap)}); err != nil {
		e.t.Fatal(err)
	}
}

// blocksOf decodes a call's blocks.
func blocksOf(t *testing.T, c slackCall) slack.Blocks {
	t.Helper()
	var b slack.Blocks
	if err := json.Unmarshal([]byte(c.Form.Get("blocks")), &b); err != nil {
		t.Fatalf("blocks of %s: %v\n%s", c.Method, err, c.Form.Get("blocks"))
	}
	return b
}

// buttons returns the action IDs and values of the blocks' buttons.
func buttons(b slack.Blocks) map[string]string {
	out := map[string]string{}
	for _, bl := range b.BlockSet {
		if ab, ok := bl.(*slack.ActionBlock); ok {
			for _, el := range ab.Elements.ElementSet {
				if btn, ok := el.(*slack.ButtonBlockElement); ok {
					out[btn.ActionID] = btn.Value
				}
			}
		}
	}
	return out
}

// The approval request is posted once with the right blocks, recorded on
// the proposal, not posted again by a restarted notifier, and updated in
// place — with a thread reply each time — as the proposal is approved in
// Slack and then applied by the controller.
func TestNotifySlackRequestAndOutcome(t *testing.T) {
	e := newApprovalEnv(t)
	ap := e.pending("notify")
	n := e.notifier()
	e.notify(n, ap)

	posts := e.slack.callsOf("chat.postMessage")
	if len(posts) != 1 {
		t.Fatalf("%d messages posted, want 1", len(posts))
	}
	post := posts[0]
	if post.Form.Get("channel") != slackChannel {
		t.Errorf("posted to %q, want %q", post.Form.Get("channel"), slackChannel)
	}
	raw := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(post.Form.Get("blocks"))
	for _, want := range []string{
		"Deployment " + e.ns + "/web", "Scale 2 → 5 replicas", // the workload and the action
		"the noon peak needs 6 pods", "forecast_upper", "541.2", "heuristic", // why
		"approval.scaleUpAbove: scaling above 4 replicas needs a human", // the rule that asked
		"<!date^" + itoa(ap.Spec.ExpiresAt.Unix()),                      // when it expires
		"kubectl get actionproposal notify -n " + e.ns,                  // how to see it
	} {
		if !strings.Contains(raw, want) {
			t.Errorf("blocks lack %q:\n%s", want, raw)
		}
	}
	if strings.Contains(raw, "scaleUp.maxStep") {
		t.Errorf("blocks list a rule that did not ask for approval:\n%s", raw)
	}
	value := e.ns + "/notify/" + string(ap.UID)
	if got := buttons(blocksOf(t, post)); got[actuators.SlackActionApprove] != value || got[actuators.SlackActionReject] != value {
		t.Errorf("buttons %v, want approve and reject carrying %q", got, value)
	}
	got := e.get(ap)
	if got.Status.Slack == nil || got.Status.Slack.Channel != slackChannel || got.Status.Slack.TS == "" || got.Status.Slack.Phase != stuurmanv1.PhasePending {
		t.Fatalf("status.slack %+v, want the posted message", got.Status.Slack)
	}
	ts := got.Status.Slack.TS

	// A restarted controller (a new notifier) neither posts nor updates.
	e.notify(e.notifier(), ap)
	e.notify(n, ap)
	if len(e.slack.callsOf("chat.postMessage")) != 1 || len(e.slack.callsOf("chat.update")) != 0 {
		t.Fatalf("posted %d, updated %d after a restart; want 1, 0", len(e.slack.callsOf("chat.postMessage")), len(e.slack.callsOf("chat.update")))
	}

	// Approved in Slack: the message shows it, without buttons, and the
	// thread says so.
	e.click(slackAlice, actuators.SlackActionApprove, ap)
	e.notify(n, ap)
	updates := e.slack.callsOf("chat.update")
	if len(updates) != 1 || updates[0].Form.Get("ts") != ts || updates[0].Form.Get("channel") != slackChannel {
		t.Fatalf("updates %+v, want one of message %s", updates, ts)
	}
	if b := blocksOf(t, updates[0]); len(buttons(b)) != 0 || !strings.Contains(updates[0].Form.Get("blocks"), "Approved by slack:"+slackAlice) {
		t.Errorf("updated blocks keep buttons or lack the approver:\n%s", updates[0].Form.Get("blocks"))
	}
	replies := threadReplies(e.slack, ts)
	if len(replies) != 1 || !strings.Contains(replies[0], "Approved by slack:"+slackAlice) {
		t.Errorf("thread replies %q", replies)
	}

	// The controller applies it; the message shows the outcome.
	e.reconcile("web")
	if got := e.get(ap); got.Status.Phase != stuurmanv1.PhaseApplied {
		t.Fatalf("phase %s (%s), want Applied", got.Status.Phase, got.Status.Message)
	}
	if d := e.getDeployment("web"); *d.Spec.Replicas != 5 {
		t.Errorf("web has %d replicas, want 5", *d.Spec.Replicas)
	}
	e.notify(n, ap)
	e.notify(n, ap)
	updates = e.slack.callsOf("chat.update")
	if len(updates) != 2 || !strings.Contains(updates[1].Form.Get("blocks"), "Applied") {
		t.Fatalf("%d updates, want 2, the last showing Applied", len(updates))
	}
	replies = threadReplies(e.slack, ts)
	if len(replies) != 2 || !strings.Contains(replies[1], "Applied (approved by slack:"+slackAlice+")") {
		t.Errorf("thread replies %q", replies)
	}
	if got := e.get(ap); got.Status.Slack.Phase != stuurmanv1.PhaseApplied || got.Status.Slack.TS != ts {
		t.Errorf("status.slack %+v", got.Status.Slack)
	}
}

// An expired request's message says so, and its buttons are gone.
func TestNotifySlackExpired(t *testing.T) {
	e := newApprovalEnv(t)
	ap := e.pending("expire")
	n := e.notifier()
	e.notify(n, ap)
	e.clock.Step(time.Hour)
	e.reconcile("web")
	e.notify(n, ap)
	updates := e.slack.callsOf("chat.update")
	if len(updates) != 1 {
		t.Fatalf("%d updates, want 1", len(updates))
	}
	if b := blocksOf(t, updates[0]); len(buttons(b)) != 0 || !strings.Contains(updates[0].Form.Get("blocks"), "Expired") {
		t.Errorf("expired message:\n%s", updates[0].Form.Get("blocks"))
	}
	if r := threadReplies(e.slack, updates[0].Form.Get("ts")); len(r) != 1 || !strings.Contains(r[0], "the buttons do nothing now") {
		t.Errorf("thread replies %q", r)
	}
}

// Proposals the policy does not ask a human about — and policies without
// spec.approval.slack — get no message.
func TestNotifySlackOnlyWhenAsked(t *testing.T) {
	e := newApprovalEnv(t)
	ap := e.pending("auto-allowed")
	ap.Spec.Decision.Verdict = "allow"
	ap.Spec.Mode = stuurmanv1.ModeAuto
	if err := k8s.Update(context.Background(), ap); err != nil {
		t.Fatal(err)
	}
	n := e.notifier()
	e.notify(n, ap)

	wp := e.getPolicy("web")
	wp.Spec.Approval = nil
	if err := k8s.Update(context.Background(), wp); err != nil {
		t.Fatal(err)
	}
	e.notify(n, e.pending("no-approvers"))
	if posts := e.slack.callsOf("chat.postMessage"); len(posts) != 0 {
		t.Errorf("posted %d messages, want none", len(posts))
	}
}

func threadReplies(f *fakeSlack, ts string) []string {
	var out []string
	for _, c := range f.callsOf("chat.postMessage") {
		if c.Form.Get("thread_ts") == ts {
			out = append(out, c.Form.Get("text"))
		}
	}
	return out
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
