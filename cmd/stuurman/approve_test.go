package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stuurmanv1 "github.com/stuurman/stuurman/api/v1alpha1"
	"github.com/stuurman/stuurman/controller"
	"github.com/stuurman/stuurman/internal/kubetest"
)

// stuurman approve and reject, against a real API server with RBAC: a
// user who may not scale the workload changes nothing; once allowed, the
// approval is recorded as kube:USER, once; a second approve says who
// approved; reject works the same way.
func TestApproveCommand(t *testing.T) {
	crds, err := kubetest.CRDDir()
	if err != nil {
		t.Fatal(err)
	}
	cfg := kubetest.Start(t, crds)
	kc := kubetest.Kubeconfig(t, cfg)
	scheme, err := controller.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const ns = "shop"
	mustCreate(t, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	labels := map[string]string{"app": "web"}
	mustCreate(t, c, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.invalid/app:1"}}}}},
	})
	pending := func(name string) *stuurmanv1.ActionProposal {
		t.Helper()
		now := time.Now()
		ap := &stuurmanv1.ActionProposal{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: stuurmanv1.ActionProposalSpec{
				PolicyName: "web", Target: stuurmanv1.TargetRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
				Action: stuurmanv1.Action{Type: stuurmanv1.ActionScale, Replicas: ptr.To[int32](5)}, From: 2, Mode: stuurmanv1.ModeApprove,
				Proposal:  stuurmanv1.AgentProposal{Action: stuurmanv1.Action{Type: stuurmanv1.ActionScale, Replicas: ptr.To[int32](5)}, Reason: "peak", Confidence: 0.8, Agent: "heuristic"},
				Decision:  stuurmanv1.PolicyDecision{Verdict: "needs_approval", PolicyHash: "h", DecidedAt: metav1.NewTime(now)},
				ExpiresAt: metav1.NewTime(now.Add(time.Hour)),
			},
		}
		mustCreate(t, c, ap)
		ap.Status.Phase = stuurmanv1.PhasePending
		if err := c.Status().Update(ctx, ap); err != nil {
			t.Fatal(err)
		}
		return ap
	}
	get := func(ap *stuurmanv1.ActionProposal) stuurmanv1.ActionProposalStatus {
		t.Helper()
		got := &stuurmanv1.ActionProposal{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(ap), got); err != nil {
			t.Fatal(err)
		}
		return got.Status
	}

	// alice may read and decide on proposals, but not scale web: the
	// access review refuses her.
	grant(t, c, ns, "alice-proposals", "alice", []rbacv1.PolicyRule{
		{APIGroups: []string{"stuurman.io"}, Resources: []string{"actionproposals"}, Verbs: []string{"get"}},
		{APIGroups: []string{"stuurman.io"}, Resources: []string{"actionproposals/status"}, Verbs: []string{"update"}},
		{APIGroups: []string{"events.k8s.io"}, Resources: []string{"events"}, Verbs: []string{"create"}},
	})
	waitAllowed(t, c, ns, "alice", &authorizationv1.ResourceAttributes{Namespace: ns, Verb: "update", Group: "stuurman.io", Resource: "actionproposals", Subresource: "status"})
	ap := pending("web-scale")
	out, err := run(t, "approve", ap.Name, "-n", ns, "--kubeconfig", kc, "--as", "alice")
	if err == nil || !strings.Contains(err.Error(), "not allowed") || !strings.Contains(err.Error(), "alice") {
		t.Fatalf("approve as alice, who may not scale: err %v, want not allowed\n%s", err, out)
	}
	if st := get(ap); st.Phase != stuurmanv1.PhasePending || st.ApprovedBy != "" {
		t.Fatalf("status %+v after a refused approval, want Pending", st)
	}

	// alice may scale web now.
	grant(t, c, ns, "alice-scale", "alice", []rbacv1.PolicyRule{
		{APIGroups: []string{"apps"}, Resources: []string{"deployments/scale"}, Verbs: []string{"get", "update"}},
	})
	waitAllowed(t, c, ns, "alice", &authorizationv1.ResourceAttributes{Namespace: ns, Verb: "update", Group: "apps", Resource: "deployments", Subresource: "scale", Name: "web"})
	out, err = run(t, "approve", ap.Name, "-n", ns, "--kubeconfig", kc, "--as", "alice")
	if err != nil {
		t.Fatalf("approve as alice: %v\n%s", err, out)
	}
	st := get(ap)
	if st.Phase != stuurmanv1.PhaseApproved || st.ApprovedBy != "kube:alice" || st.ApprovedAt == nil {
		t.Fatalf("status %+v, want Approved by kube:alice", st)
	}
	if !strings.Contains(out, "You approved") {
		t.Errorf("output %q", out)
	}
	// The Event names the approver.
	var evs eventsList
	if err := c.List(ctx, &evs.EventList, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if !evs.has("ProposalApproved", "approved by kube:alice") {
		t.Errorf("no ProposalApproved event naming kube:alice: %+v", evs.Items)
	}

	// Again: a no-op that says who approved.
	out, err = run(t, "approve", ap.Name, "-n", ns, "--kubeconfig", kc, "--as", "alice")
	if err != nil || !strings.Contains(out, "already approved by kube:alice") {
		t.Errorf("second approve: %v, %q", err, out)
	}
	if st2 := get(ap); !st2.ApprovedAt.Equal(st.ApprovedAt) {
		t.Errorf("approvedAt changed: %v → %v", st.ApprovedAt, st2.ApprovedAt)
	}

	// The administrator of the test cluster rejects another.
	ap2 := pending("web-scale-2")
	out, err = run(t, "reject", ap2.Name, "-n", ns, "--kubeconfig", kc)
	if err != nil {
		t.Fatalf("reject: %v\n%s", err, out)
	}
	if st := get(ap2); st.Phase != stuurmanv1.PhaseRejected || !strings.HasPrefix(st.ApprovedBy, "kube:") {
		t.Errorf("status %+v, want Rejected by kube:…", st)
	}
	if _, err := run(t, "approve", "missing", "-n", ns, "--kubeconfig", kc); err == nil || !strings.Contains(err.Error(), "no longer exists") {
		t.Errorf("approve a missing proposal: %v", err)
	}
}

func mustCreate(t *testing.T, c client.Client, o client.Object) {
	t.Helper()
	if err := c.Create(context.Background(), o); err != nil {
		t.Fatal(err)
	}
}

func grant(t *testing.T, c client.Client, ns, name, user string, rules []rbacv1.PolicyRule) {
	t.Helper()
	mustCreate(t, c, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Rules: rules})
	mustCreate(t, c, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: user}},
	})
}

// waitAllowed waits until the authorizer sees user's new binding.
func waitAllowed(t *testing.T, c client.Client, ns, user string, attrs *authorizationv1.ResourceAttributes) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: user, ResourceAttributes: attrs}}
		if err := c.Create(context.Background(), sar); err != nil {
			t.Fatal(err)
		}
		if sar.Status.Allowed {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s is still not allowed after 10s", user)
}

type eventsList struct{ eventsv1.EventList }

func (l eventsList) has(reason, note string) bool {
	for _, e := range l.Items {
		if e.Reason == reason && strings.Contains(e.Note, note) {
			return true
		}
	}
	return false
}

func TestSlackFlags(t *testing.T) {
	out, err := run(t, "controller", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, flag := range []string{"--slack-transport", "--slack-channel", "--slack-listen-address", "--slack-path"} {
		if !strings.Contains(out, flag) {
			t.Errorf("controller help lacks %s", flag)
		}
	}
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	for _, tc := range []struct {
		f    slackFlags
		env  func(string) string
		want string
	}{
		{slackFlags{transport: "socket"}, env(envSlackBotToken, "xoxb-1"), envSlackAppToken},
		{slackFlags{transport: "http"}, env(envSlackBotToken, "xoxb-1"), envSlackSigningSecret},
		{slackFlags{transport: "carrier-pigeon"}, env(envSlackBotToken, "xoxb-1"), "--slack-transport"},
	} {
		err := setupSlack(nil, tc.f, tc.env, logr.Discard())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err %v, want it to mention %s", tc.f, err, tc.want)
		}
	}
	// Without a bot token Slack is off, and nothing is asked of the manager.
	if err := setupSlack(nil, slackFlags{transport: "socket"}, env(), logr.Discard()); err != nil {
		t.Errorf("without a bot token: %v", err)
	}
}
