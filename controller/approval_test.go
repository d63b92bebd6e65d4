package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/stuurman/stuurman/actuators"
	stuurmanv1 "github.com/stuurman/stuurman/api/v1alpha1"
)

// The Slack users of the tests: alice is listed by ID, bob is a member of
// the user group ops, eve is neither.
const (
	slackAlice    = "U0ALICE"
	slackBob      = "U0BOB"
	slackEve      = "U0EVE"
	slackOps      = "S0OPS"
	slackChannel  = "C0APPROVE"
	signingSecret = "test-signing-secret"
)

// slackCall is one Web API call the fake Slack received.
type slackCall struct {
	Method string
	Form   url.Values
}

// fakeSlack is slack-go's slacktest server, with chat.postMessage,
// chat.update and chat.postEphemeral recorded and usergroups.users.list
// answered from groups.
type fakeSlack struct {
	srv *slacktest.Server
	api *slack.Client

	mu     sync.Mutex
	calls  []slackCall
	n      int
	groups map[string][]string
	// groupReads counts usergroups.users.list calls.
	groupReads int
}

func newFakeSlack(t *testing.T, groups map[string][]string) *fakeSlack {
	t.Helper()
	f := &fakeSlack{groups: groups}
	record := func(method string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if err := r.ParseForm(); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			f.mu.Lock()
			f.calls = append(f.calls, slackCall{Method: method, Form: r.PostForm})
			f.n++
			ts := fmt.Sprintf("1772000000.%06d", f.n)
			f.mu.Unlock()
			if method == "chat.update" {
				ts = r.PostForm.Get("ts")
			}
			json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": r.PostForm.Get("channel"), "ts": ts, "message_ts": ts})
		}
	}
	f.srv = slacktest.NewTestServer(func(c slacktest.Customize) {
		for _, m := range []string{"chat.postMessage", "chat.update", "chat.postEphemeral"} {
			c.Handle("/"+m, record(m))
		}
		c.Handle("/usergroups.users.list", func(w http.ResponseWriter, r *http.Request) {
			r.ParseForm()
			f.mu.Lock()
			f.groupReads++
			users := f.groups[r.PostForm.Get("usergroup")]
			f.mu.Unlock()
			json.NewEncoder(w).Encode(map[string]any{"ok": true, "users": users})
		})
	})
	f.srv.Start()
	t.Cleanup(f.srv.Stop)
	f.api = slack.New("xoxb-test", slack.OptionAPIURL(f.srv.GetAPIURL()))
	return f
}

// callsOf returns the calls of a method so far.
func (f *fakeSlack) callsOf(method string) []slackCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []slackCall
	for _, c := range f.calls {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// ephemeralTo returns the texts told to user so far.
func (f *fakeSlack) ephemeralTo(user string) []string {
	var out []string
	for _, c := range f.callsOf("chat.postEphemeral") {
		if c.Form.Get("user") == user {
			out = append(out, c.Form.Get("text"))
		}
	}
	return out
}

// approvalEnv is one namespace with a Deployment web, its WorkloadPolicy
// (mode Approve, approvers alice and the group ops) and the HTTP
// interactivity endpoint in front of an Approver.
type approvalEnv struct {
	*harness
	slack    *fakeSlack
	recorder *events.FakeRecorder
	approver *Approver
	endpoint *httptest.Server
	wp       *stuurmanv1.WorkloadPolicy
}

func newApprovalEnv(t *testing.T, mutate ...func(*stuurmanv1.SlackApproval)) *approvalEnv {
	t.Helper()
	h := newHarness(t, t0.Add(3*time.Hour), Options{})
	h.deployment("web", 2)
	h.source.Set(deploymentTarget(h.ns, "web"), dailySeries("web").Slice(0, 0)) // no data: cycles hold
	sa := &stuurmanv1.SlackApproval{Channel: slackChannel, Users: []string{slackAlice}, UserGroups: []string{slackOps}}
	for _, m := range mutate {
		m(sa)
	}
	wp := h.policy("web", "web", stuurmanv1.ModeApprove, func(wp *stuurmanv1.WorkloadPolicy) {
		wp.Spec.Approval = &stuurmanv1.ApprovalSpec{Slack: sa}
	})
	fs := newFakeSlack(t, map[string][]string{slackOps: {slackBob}})
	rec := events.NewFakeRecorder(100)
	sl := actuators.NewSlack(fs.api)
	ap := NewApprover(k8s, ApproverOptions{Clock: h.clock, Events: rec, UserGroups: sl})
	handler, err := actuators.NewSlackInteractions(ap, sl, actuators.SlackHTTPOptions{SigningSecret: signingSecret, Clock: h.clock})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return &approvalEnv{harness: h, slack: fs, recorder: rec, approver: ap, endpoint: srv, wp: wp}
}

// pending creates a Pending proposal to scale web 2 → 5 that expires in
// an hour, as the controller would.
func (e *approvalEnv) pending(name string) *stuurmanv1.ActionProposal {
	e.t.Helper()
	ctx := context.Background()
	now := e.clock.Now()
	ap := &stuurmanv1.ActionProposal{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns, Labels: map[string]string{LabelPolicy: "web", LabelTarget: "web"}},
		Spec: stuurmanv1.ActionProposalSpec{
			PolicyName: "web", Target: stuurmanv1.TargetRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			Action: stuurmanv1.Action{Type: stuurmanv1.ActionScale, Replicas: ptr.To[int32](5)}, From: 2, Mode: stuurmanv1.ModeApprove,
			Proposal: stuurmanv1.AgentProposal{
				Action: stuurmanv1.Action{Type: stuurmanv1.ActionScale, Replicas: ptr.To[int32](6)}, Reason: "the noon peak needs 6 pods",
				Evidence: map[string]string{"forecast_upper": "541.2", "capacity_per_pod": "100"}, Confidence: 0.8, Agent: "heuristic",
			},
			Decision: stuurmanv1.PolicyDecision{Verdict: "needs_approval", PolicyHash: e.wp.Spec.Policy.Hash(), DecidedAt: metav1.NewTime(now), Rules: []stuurmanv1.RuleResult{
				{Rule: "bounds", Outcome: "pass", Reason: "within 1..8"},
				{Rule: "scaleUp.maxStep", Outcome: "clamp", Reason: "at most 4 pods at a time"},
				{Rule: "approval.scaleUpAbove", Outcome: "needs_approval", Reason: "scaling above 4 replicas needs a human"},
			}},
			ExpiresAt: metav1.NewTime(now.Add(time.Hour)),
		},
	}
	if err := controllerutil.SetControllerReference(e.wp, ap, scheme); err != nil {
		e.t.Fatal(err)
	}
	if err := k8s.Create(ctx, ap); err != nil {
		e.t.Fatal(err)
	}
	ap.Status = stuurmanv1.ActionProposalStatus{Phase: stuurmanv1.PhasePending, Message: "awaits approval"}
	if err := k8s.Status().Update(ctx, ap); err != nil {
		e.t.Fatal(err)
	}
	return ap
}

func (e *approvalEnv) get(ap *stuurmanv1.ActionProposal) *stuurmanv1.ActionProposal {
	e.t.Helper()
	got := &stuurmanv1.ActionProposal{}
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(ap), got); err != nil {
		e.t.Fatal(err)
	}
	return got
}

// clickPayload is the form body Slack posts for a press of a button.
func clickPayload(user, actionID string, ap *stuurmanv1.ActionProposal) []byte {
	payload := fmt.Sprintf(`{"type":"block_actions","team":{"id":"T0TEAM"},"user":{"id":%q,"username":"u","name":"u"},`+
		`"channel":{"id":%q},"container":{"type":"message","channel_id":%q,"message_ts":"1772000000.000001"},`+
		`"actions":[{"type":"button","action_id":%q,"block_id":%q,"value":%q,"action_ts":"1772000001.000001"}]}`,
		user, slackChannel, slackChannel, actionID, actuators.SlackBlockDecision, ap.Namespace+"/"+ap.Name+"/"+string(ap.UID))
	return []byte(url.Values{"payload": {payload}}.Encode())
}

// post sends body to the endpoint with Slack's headers, signed with
// secret at time at.
func (e *approvalEnv) post(body []byte, secret string, at time.Time) int {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.endpoint.URL, strings.NewReader(string(body)))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	actuators.SignSlackRequest(req.Header, body, secret, at)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func (e *approvalEnv) click(user, actionID string, ap *stuurmanv1.ActionProposal) int {
	return e.post(clickPayload(user, actionID, ap), signingSecret, e.clock.Now())
}

// decisionEvents drains the recorder's Events of approvals and rejections.
func (e *approvalEnv) decisionEvents() []string {
	var out []string
	for {
		select {
		case ev := <-e.recorder.Events:
			if strings.Contains(ev, "ProposalApproved") || strings.Contains(ev, "ProposalRejected") {
				out = append(out, ev)
			}
		default:
			return out
		}
	}
}

func wantPhase(t *testing.T, ap *stuurmanv1.ActionProposal, phase stuurmanv1.Phase, by string) {
	t.Helper()
	if ap.Status.Phase != phase || ap.Status.ApprovedBy != by {
		t.Errorf("proposal %s: phase %q approvedBy %q (%s); want %q by %q", ap.Name, ap.Status.Phase, ap.Status.ApprovedBy, ap.Status.Message, phase, by)
	}
}

func wantTold(t *testing.T, told []string, substr string) {
	t.Helper()
	if len(told) == 0 || !strings.Contains(told[len(told)-1], substr) {
		t.Errorf("told %q, want the last to mention %q", told, substr)
	}
}

// A valid, signed Approve from a listed user approves the proposal:
// phase Approved, approvedBy the verified Slack user, approvedAt the
// clock's time, one Event, and an ephemeral confirmation.
func TestApprovalSlackHTTPValid(t *testing.T) {
	e := newApprovalEnv(t)
	ap := e.pending("valid")
	if code := e.click(slackAlice, actuators.SlackActionApprove, ap); code != http.StatusOK {
		t.Fatalf("status %d, want 200", code)
	}
	got := e.get(ap)
	wantPhase(t, got, stuurmanv1.PhaseApproved, "slack:"+slackAlice)
	if got.Status.ApprovedAt == nil || !got.Status.ApprovedAt.Time.Equal(e.clock.Now()) {
		t.Errorf("approvedAt %v, want %v", got.Status.ApprovedAt, e.clock.Now())
	}
	wantTold(t, e.slack.ephemeralTo(slackAlice), "You approved")
	if evs := e.decisionEvents(); len(evs) != 1 || !strings.Contains(evs[0], "approved by slack:"+slackAlice) {
		t.Errorf("events %q, want one naming the approver", evs)
	}

	// A member of the user group ops rejects another proposal.
	ap2 := e.pending("by-group")
	e.click(slackBob, actuators.SlackActionReject, ap2)
	wantPhase(t, e.get(ap2), stuurmanv1.PhaseRejected, "slack:"+slackBob)
	wantTold(t, e.slack.ephemeralTo(slackBob), "You rejected")
}

// A request whose signature is not the signing secret's, or with no
// signature, is refused with 401 and changes nothing.
func TestApprovalSlackHTTPForged(t *testing.T) {
	e := newApprovalEnv(t)
	ap := e.pending("forged")
	body := clickPayload(slackAlice, actuators.SlackActionApprove, ap)
	if code := e.post(body, "not-the-secret", e.clock.Now()); code != http.StatusUnauthorized {
		t.Errorf("forged signature: status %d, want 401", code)
	}
	// A body changed after signing.
	req, _ := http.NewRequest(http.MethodPost, e.endpoint.URL, strings.NewReader(string(clickPayload(slackAlice, actuators.SlackActionApprove, ap))))
	actuators.SignSlackRequest(req.Header, clickPayload(slackEve, actuators.SlackActionApprove, ap), signingSecret, e.clock.Now())
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("tampered body: %v %v, want 401", resp, err)
	}
	unsigned, _ := http.NewRequest(http.MethodPost, e.endpoint.URL, strings.NewReader(string(body)))
	if resp, err := http.DefaultClient.Do(unsigned); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned: %v %v, want 401", resp, err)
	}
	wantPhase(t, e.get(ap), stuurmanv1.PhasePending, "")
	if told := e.slack.callsOf("chat.postEphemeral"); len(told) != 0 {
		t.Errorf("told %v after forged requests", told)
	}
}

// A correctly signed request older than 5 minutes (by the injected clock)
// is refused: a replayed click does nothing.
func TestApprovalSlackHTTPStale(t *testing.T) {
	e := newApprovalEnv(t)
	ap := e.pending("stale")
	body := clickPayload(slackAlice, actuators.SlackActionApprove, ap)
	if code := e.post(body, signingSecret, e.clock.Now().Add(-5*time.Minute-time.Second)); code != http.StatusUnauthorized {
		t.Errorf("stale request: status %d, want 401", code)
	}
	if code := e.post(body, signingSecret, e.clock.Now().Add(6*time.Minute)); code != http.StatusUnauthorized {
		t.Errorf("request from the future: status %d, want 401", code)
	}
	wantPhase(t, e.get(ap), stuurmanv1.PhasePending, "")
	// Within the window it is accepted.
	if code := e.post(body, signingSecret, e.clock.Now().Add(-4*time.Minute)); code != http.StatusOK {
		t.Errorf("4m old request: status %d, want 200", code)
	}
	wantPhase(t, e.get(ap), stuurmanv1.PhaseApproved, "slack:"+slackAlice)
}

// A Slack user who is neither listed nor in a listed group is told "not
// allowed" and nothing changes; the group's membership is read from Slack
// once and cached.
func TestApprovalSlackHTTPUnauthorized(t *testing.T) {
	e := newApprovalEnv(t)
	ap := e.pending("unauthorized")
	rv := ap.ResourceVersion
	for range 2 {
		if code := e.click(slackEve, actuators.SlackActionApprove, ap); code != http.StatusOK {
			t.Fatalf("status %d, want 200", code)
		}
	}
	got := e.get(ap)
	wantPhase(t, got, stuurmanv1.PhasePending, "")
	if got.ResourceVersion != rv {
		t.Errorf("resourceVersion %s → %s: the proposal was written", rv, got.ResourceVersion)
	}
	wantTold(t, e.slack.ephemeralTo(slackEve), "not allowed")
	if e.slack.groupReads != 1 {
		t.Errorf("%d usergroups.users.list calls, want 1 (cached)", e.slack.groupReads)
	}
	if evs := e.decisionEvents(); len(evs) != 0 {
		t.Errorf("events %q, want none", evs)
	}
}

// A double click (or a redelivered interaction) approves once; the second
// press is a no-op that says who approved.
func TestApprovalSlackHTTPDoubleClick(t *testing.T) {
	e := newApprovalEnv(t)
	ap := e.pending("double")
	e.click(slackAlice, actuators.SlackActionApprove, ap)
	first := e.get(ap)
	e.clock.Step(2 * time.Second)
	e.click(slackAlice, actuators.SlackActionApprove, ap)
	// The reject button afterwards changes nothing either.
	e.click(slackBob, actuators.SlackActionReject, ap)
	got := e.get(ap)
	wantPhase(t, got, stuurmanv1.PhaseApproved, "slack:"+slackAlice)
	if got.ResourceVersion != first.ResourceVersion || !got.Status.ApprovedAt.Equal(first.Status.ApprovedAt) {
		t.Errorf("the second click wrote the proposal: %s → %s", first.ResourceVersion, got.ResourceVersion)
	}
	wantTold(t, e.slack.ephemeralTo(slackAlice), "already approved by slack:"+slackAlice)
	wantTold(t, e.slack.ephemeralTo(slackBob), "already approved by slack:"+slackAlice)
	if evs := e.decisionEvents(); len(evs) != 1 {
		t.Errorf("%d decision events, want 1: %q", len(evs), evs)
	}
}

// Two approvers pressing at once — here eight presses, Approve and Reject
// by alice and bob, in parallel through the endpoint — make exactly one
// transition; every other press is told who won.
func TestApprovalSlackHTTPConcurrent(t *testing.T) {
	e := newApprovalEnv(t)
	ap := e.pending("concurrent")
	var wg sync.WaitGroup
	for i := range 8 {
		user, action := slackAlice, actuators.SlackActionApprove
		if i%2 == 1 {
			user, action = slackBob, actuators.SlackActionReject
		}
		wg.Go(func() {
			if code := e.click(user, action, ap); code != http.StatusOK {
				t.Errorf("status %d", code)
			}
		})
	}
	wg.Wait()
	got := e.get(ap)
	if got.Status.Phase != stuurmanv1.PhaseApproved && got.Status.Phase != stuurmanv1.PhaseRejected {
		t.Fatalf("phase %s, want Approved or Rejected", got.Status.Phase)
	}
	var won, lost int
	for _, c := range e.slack.callsOf("chat.postEphemeral") {
		switch text := c.Form.Get("text"); {
		case strings.HasPrefix(text, "You "):
			won++
		case strings.Contains(text, "already "+lower(got.Status.Phase)+" by "+got.Status.ApprovedBy):
			lost++
		default:
			t.Errorf("unexpected reply %q", text)
		}
	}
	if won != 1 || lost != 7 {
		t.Errorf("%d winners and %d told who won, want 1 and 7", won, lost)
	}
	if evs := e.decisionEvents(); len(evs) != 1 {
		t.Errorf("%d decision events, want 1: %q", len(evs), evs)
	}
	t.Logf("%s by %s", got.Status.Phase, got.Status.ApprovedBy)
}

// After expiry the buttons do nothing: a Pending proposal past expiresAt
// (not yet marked by the controller) and an Expired one stay as they are,
// and the user is told it expired.
func TestApprovalSlackHTTPExpired(t *testing.T) {
	e := newApprovalEnv(t)
	ap := e.pending("expired")
	e.clock.Step(time.Hour)
	e.click(slackAlice, actuators.SlackActionApprove, ap)
	wantPhase(t, e.get(ap), stuurmanv1.PhasePending, "")
	wantTold(t, e.slack.ephemeralTo(slackAlice), "expired")

	// The controller marks it Expired; the button still does nothing.
	e.reconcile("web")
	if got := e.get(ap); got.Status.Phase != stuurmanv1.PhaseExpired {
		t.Fatalf("phase %s after the reconcile, want Expired", got.Status.Phase)
	}
	e.click(slackAlice, actuators.SlackActionApprove, ap)
	wantPhase(t, e.get(ap), stuurmanv1.PhaseExpired, "")
	wantTold(t, e.slack.ephemeralTo(slackAlice), "expired")
	if evs := e.decisionEvents(); len(evs) != 0 {
		t.Errorf("events %q, want none", evs)
	}
}

// A button of a deleted proposal does not act on a new proposal of the
// same name: the UID in the button must match.
func TestApprovalSlackHTTPReplacedProposal(t *testing.T) {
	e := newApprovalEnv(t)
	old := e.pending("same-name")
	if err := k8s.Delete(context.Background(), old); err != nil {
		t.Fatal(err)
	}
	e.pending("same-name")
	e.click(slackAlice, actuators.SlackActionApprove, old)
	wantPhase(t, e.get(old), stuurmanv1.PhasePending, "")
	wantTold(t, e.slack.ephemeralTo(slackAlice), "no longer exists")
}

// With kubernetesUsers set, a listed Slack user must map to a Kubernetes
// user who may update the workload's scale subresource (a
// SubjectAccessReview); the recorded identity names both.
func TestApprovalSlackHTTPSubjectAccessReview(t *testing.T) {
	e := newApprovalEnv(t, func(sa *stuurmanv1.SlackApproval) {
		sa.KubernetesUsers = map[string]string{slackAlice: "alice", slackBob: "bob"}
	})
	ap := e.pending("sar")
	e.click(slackAlice, actuators.SlackActionApprove, ap)
	wantPhase(t, e.get(ap), stuurmanv1.PhasePending, "")
	wantTold(t, e.slack.ephemeralTo(slackAlice), "Kubernetes user alice may not scale")

	grantScale(t, e.ns, "alice")
	// The RBAC authorizer sees the new binding through its informers.
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, _, err := e.approver.mayScale(context.Background(), KubeSubject{User: "alice"}, ap)
		if err != nil {
			t.Fatal(err)
		}
		if ok || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.click(slackAlice, actuators.SlackActionApprove, ap)
	got := e.get(ap)
	wantPhase(t, got, stuurmanv1.PhaseApproved, "slack:"+slackAlice+" (k8s: alice)")
	if evs := e.decisionEvents(); len(evs) != 1 || !strings.Contains(evs[0], "(k8s: alice)") {
		t.Errorf("events %q, want one naming slack and k8s users", evs)
	}
}

// grantScale lets user update Deployments' scale in ns.
func grantScale(t *testing.T, ns, user string) {
	t.Helper()
	ctx := context.Background()
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "scale-" + user, Namespace: ns},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"apps"}, Resources: []string{"deployments/scale"}, Verbs: []string{"get", "update"}}},
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "scale-" + user, Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: user}},
	}
	for _, o := range []client.Object{role, binding} {
		if err := k8s.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
}

// Decide itself, without Slack: many concurrent decisions make one
// transition, and the losers' outcomes name the winner.
func TestApprovalDecideConcurrent(t *testing.T) {
	e := newApprovalEnv(t)
	ap := e.pending("decide")
	var mu sync.Mutex
	var changed []Outcome
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			out, err := Decide(context.Background(), k8s, k8s, e.clock.Now(), Decision{
				Proposal: client.ObjectKeyFromObject(ap), UID: ap.UID, Approve: i%3 != 0, By: fmt.Sprintf("kube:user%d", i),
			})
			if err != nil {
				t.Error(err)
				return
			}
			if out.Changed {
				mu.Lock()
				changed = append(changed, out)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(changed) != 1 {
		t.Fatalf("%d transitions, want 1: %+v", len(changed), changed)
	}
	got := e.get(ap)
	if got.Status.Phase != changed[0].Phase || got.Status.ApprovedBy != changed[0].By {
		t.Errorf("proposal %s by %s, the winner said %s by %s", got.Status.Phase, got.Status.ApprovedBy, changed[0].Phase, changed[0].By)
	}
}
