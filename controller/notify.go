package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/stuurman/stuurman/actuators"
	stuurmanv1 "github.com/stuurman/stuurman/api/v1alpha1"
)

// Messenger puts proposals to humans and shows them what became of them:
// actuators.Slack.
type Messenger interface {
	// RequestApproval posts an approval request to channel.
	RequestApproval(ctx context.Context, channel string, req actuators.ApprovalRequest) (actuators.SlackMessageRef, error)
	// ShowOutcome updates a posted request with req's outcome and replies
	// in its thread.
	ShowOutcome(ctx context.Context, ref actuators.SlackMessageRef, req actuators.ApprovalRequest) error
}

var _ Messenger = (*actuators.Slack)(nil)

// NotifierOptions configure a Notifier. The zero value of each optional
// field selects the default documented on it.
type NotifierOptions struct {
	// Messenger posts and updates the requests. Required.
	Messenger Messenger
	// Channel is where requests go when the policy names no channel
	// (spec.approval.slack.channel). Empty: only policies that name one
	// are asked about.
	Channel string
	// Reader reads proposals: the API server, not a cache, so that a
	// request is never posted twice on a stale read. Default: the client.
	Reader client.Reader
	// Clock is the time expiry is judged at. Default: the real clock.
	Clock clock.PassiveClock
	// FieldOwner is the field manager of the status writes. Default
	// "stuurman".
	FieldOwner string
}

// Notifier asks humans in Slack to approve the ActionProposals whose
// decision needs approval (verdict needs_approval, or mode Approve) and
// whose policy sets spec.approval.slack, and shows each request's outcome
// (approved, applied, failed, rejected, expired, and by whom) in the same
// message and its thread. It records the message and the phase it last
// showed in the proposal's status.slack, so a restarted controller neither
// posts twice nor loses the message. It is a level-based reconciler of
// ActionProposals; run it on the leader only (the manager's default).
type Notifier struct {
	c client.Client
	o NotifierOptions
}

var _ reconcile.Reconciler = (*Notifier)(nil)

// NewNotifier returns a Notifier reading policies through c.
func NewNotifier(c client.Client, o NotifierOptions) (*Notifier, error) {
	if o.Messenger == nil {
		return nil, errors.New("controller: NotifierOptions.Messenger is required")
	}
	if o.Reader == nil {
		o.Reader = c
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.FieldOwner == "" {
		o.FieldOwner = "stuurman"
	}
	return &Notifier{c: c, o: o}, nil
}

// SetupWithManager registers the notifier with mgr.
func (n *Notifier) SetupWithManager(mgr manager.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("approval-notifier").
		For(&stuurmanv1.ActionProposal{}).
		Complete(n)
}

// needsApproval reports whether a human is asked about ap: the policy
// engine asked for approval, or the mode asks for every action. In mode
// Recommend nothing is ever applied, so no one is asked.
func needsApproval(ap *stuurmanv1.ActionProposal) bool {
	s := ap.Spec
	return s.Mode != stuurmanv1.ModeRecommend && s.Decision.Verdict != "deny" &&
		(s.Decision.Verdict == "needs_approval" || s.Mode == stuurmanv1.ModeApprove)
}

// Reconcile posts the request of a Pending proposal, or updates it with
// the proposal's new phase.
func (n *Notifier) Reconcile(ctx context.Context, req reconcile.Request) (ctrl.Result, error) {
	log := log.FromContext(ctx).WithValues("proposal", req.NamespacedName.String())
	ap := &stuurmanv1.ActionProposal{}
	if err := n.o.Reader.Get(ctx, req.NamespacedName, ap); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	// The controller writes the first status right after creating the
	// proposal: wait for it.
	if ap.Status.Phase == "" || !needsApproval(ap) {
		return ctrl.Result{}, nil
	}
	phase := ap.Status.Phase
	wp := &stuurmanv1.WorkloadPolicy{}
	if err := n.c.Get(ctx, types.NamespacedName{Namespace: ap.Namespace, Name: ap.Spec.PolicyName}, wp); err != nil {
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, err
		}
		wp = nil
	}

	if msg := ap.Status.Slack; msg != nil {
		if msg.Phase == phase {
			return ctrl.Result{}, nil
		}
		if err := n.o.Messenger.ShowOutcome(ctx, actuators.SlackMessageRef{Channel: msg.Channel, TS: msg.TS}, ApprovalRequestOf(ap, wp)); err != nil {
			return ctrl.Result{}, err
		}
		log.V(1).Info("approval request updated", "phase", string(phase))
		return ctrl.Result{}, n.record(ctx, req.NamespacedName, stuurmanv1.SlackMessage{Channel: msg.Channel, TS: msg.TS, Phase: phase})
	}

	if wp == nil || wp.Spec.Approval == nil || wp.Spec.Approval.Slack == nil {
		return ctrl.Result{}, nil
	}
	if phase != stuurmanv1.PhasePending || !n.o.Clock.Now().Before(ap.Spec.ExpiresAt.Time) {
		return ctrl.Result{}, nil // decided (or expired) before anyone was asked
	}
	channel := wp.Spec.Approval.Slack.Channel
	if channel == "" {
		channel = n.o.Channel
	}
	if channel == "" {
		log.Info("no Slack channel for the approval request: set spec.approval.slack.channel or --slack-channel")
		return ctrl.Result{}, nil
	}
	ref, err := n.o.Messenger.RequestApproval(ctx, channel, ApprovalRequestOf(ap, wp))
	if err != nil {
		return ctrl.Result{}, err
	}
	log.Info("approval requested in Slack", "channel", ref.Channel, "ts", ref.TS)
	return ctrl.Result{}, n.record(ctx, req.NamespacedName, stuurmanv1.SlackMessage{Channel: ref.Channel, TS: ref.TS, Phase: phase})
}

// record writes the message into the proposal's status, retrying
// conflicts with the controller's own status writes.
func (n *Notifier) record(ctx context.Context, key types.NamespacedName, msg stuurmanv1.SlackMessage) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ap := &stuurmanv1.ActionProposal{}
		if err := n.o.Reader.Get(ctx, key, ap); err != nil {
			return err
		}
		ap.Status.Slack = &msg
		return n.c.Status().Update(ctx, ap, client.FieldOwner(n.o.FieldOwner))
	})
	if err != nil {
		return fmt.Errorf("record the Slack message of ActionProposal %s: %w", key, err)
	}
	return nil
}

// ApprovalRequestOf is what an approval request shows of ap; wp (nil if
// gone) adds the last forecast of the target.
func ApprovalRequestOf(ap *stuurmanv1.ActionProposal, wp *stuurmanv1.WorkloadPolicy) actuators.ApprovalRequest {
	s := ap.Spec
	r := actuators.ApprovalRequest{
		Namespace: ap.Namespace, Name: ap.Name, UID: string(ap.UID),
		Kind: s.Target.Kind, Workload: s.Target.Name,
		Action: string(s.Action.Type), From: s.From, To: s.Action.Replicas,
		Mode: string(s.Mode), Verdict: string(s.Decision.Verdict),
		Reason: s.Proposal.Reason, Agent: s.Proposal.Agent, Confidence: s.Proposal.Confidence,
		Evidence: s.Proposal.Evidence, ExpiresAt: s.ExpiresAt.Time,
		Phase: string(phaseOf(ap)), By: ap.Status.ApprovedBy, Message: ap.Status.Message,
	}
	if s.Action.Type != stuurmanv1.ActionScale {
		r.To = nil
	}
	if s.Proposal.Fallback != "" {
		r.Reason += " (fallback: " + s.Proposal.Fallback + ")"
	}
	for _, rr := range s.Decision.Rules {
		if rr.Outcome == "needs_approval" {
			r.Rules = append(r.Rules, rr.Rule+": "+rr.Reason)
		}
	}
	if wp != nil {
		for _, ts := range wp.Status.Targets {
			if ts.Name != s.Target.Name || ts.ForecastUpper == nil {
				continue
			}
			r.Forecast = fmt.Sprintf("upper bound %s over the lead time", ts.ForecastUpper.String())
			if ts.ForecastModel != "" {
				r.Forecast += " (" + strings.TrimSpace(ts.ForecastModel) + ")"
			}
		}
	}
	return r
}
