package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/stuurman/stuurman/actuators"
	stuurmanv1 "github.com/stuurman/stuurman/api/v1alpha1"
)

// The RBAC of human approval: a SubjectAccessReview asks whether a
// Slack approver's Kubernetes user may scale the workload.
//
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// Errors of the approval path that callers branch on.
var (
	// ErrProposalGone: the proposal does not exist, or a different
	// proposal has its name now (its UID differs).
	ErrProposalGone = errors.New("the proposal no longer exists")
	// ErrNotAllowed: the human may not approve or reject the proposal.
	ErrNotAllowed = errors.New("not allowed")
)

// Decision is one human's decision on one proposal.
type Decision struct {
	// Proposal names the ActionProposal.
	Proposal types.NamespacedName
	// UID, when set, must be the proposal's: a button of a deleted
	// proposal does not act on a new one of the same name.
	UID types.UID
	// Approve is true to approve, false to reject.
	Approve bool
	// By is the verified identity of who decided, recorded as the
	// proposal's approvedBy.
	By string
}

// Outcome is what a Decision did.
type Outcome struct {
	// Changed is true when this call made the transition; false when the
	// proposal had already left Pending (or expired) and nothing changed.
	Changed bool
	// Phase is the proposal's phase afterwards.
	Phase stuurmanv1.Phase
	// By is who approved or rejected the proposal, when someone did.
	By string
	// Message says what happened, for the human.
	Message string
}

// Decide moves a Pending proposal to Approved or Rejected, recording who
// and when: the only transition a human makes. It reads the proposal from
// r (the API server, not a cache) and writes its status through c with
// the resourceVersion it read, so of any number of concurrent or repeated
// decisions — a double click, two approvers, a redelivered interaction,
// two controller replicas — exactly one changes the proposal; on a
// conflict it reads again and re-checks the phase, and every other call
// is a no-op whose Outcome says who decided first. An expired proposal
// (phase Expired, or expiresAt passed) does not change.
func Decide(ctx context.Context, c client.Client, r client.Reader, now time.Time, d Decision) (Outcome, error) {
	for attempt := 0; ; attempt++ {
		ap := &stuurmanv1.ActionProposal{}
		if err := r.Get(ctx, d.Proposal, ap); err != nil {
			if apierrors.IsNotFound(err) {
				return Outcome{}, fmt.Errorf("ActionProposal %s: %w", d.Proposal, ErrProposalGone)
			}
			return Outcome{}, fmt.Errorf("get ActionProposal %s: %w", d.Proposal, err)
		}
		if d.UID != "" && ap.UID != d.UID {
			return Outcome{}, fmt.Errorf("ActionProposal %s (uid %s): %w", d.Proposal, d.UID, ErrProposalGone)
		}
		if out, final := settled(ap, now); final {
			return out, nil
		}
		phase, verb := stuurmanv1.PhaseApproved, "approved"
		if !d.Approve {
			phase, verb = stuurmanv1.PhaseRejected, "rejected"
		}
		ap.Status.Phase = phase
		ap.Status.ApprovedBy = d.By
		ap.Status.ApprovedAt = &metav1.Time{Time: now}
		ap.Status.Message = verb + " by " + d.By
		ap.Status.ObservedGeneration = ap.Generation
		err := c.Status().Update(ctx, ap, client.FieldOwner("stuurman"))
		switch {
		case apierrors.IsConflict(err) && attempt < 20:
			continue
		case err != nil:
			return Outcome{}, fmt.Errorf("ActionProposal %s → %s: %w", d.Proposal, phase, err)
		}
		return Outcome{Changed: true, Phase: phase, By: d.By, Message: fmt.Sprintf("You %s %s.", verb, describeProposal(ap))}, nil
	}
}

// settled returns the Outcome of deciding on ap when it is no longer
// Pending (or has expired), and whether it is.
func settled(ap *stuurmanv1.ActionProposal, now time.Time) (Outcome, bool) {
	phase := phaseOf(ap)
	out := Outcome{Phase: phase, By: ap.Status.ApprovedBy}
	at := ""
	if ap.Status.ApprovedAt != nil {
		at = " at " + ap.Status.ApprovedAt.UTC().Format(time.RFC3339)
	}
	what := describeProposal(ap)
	switch phase {
	case stuurmanv1.PhasePending:
		if !now.Before(ap.Spec.ExpiresAt.Time) {
			out.Message = fmt.Sprintf("%s expired at %s: nothing changed.", what, ap.Spec.ExpiresAt.UTC().Format(time.RFC3339))
			return out, true
		}
		return out, false
	case stuurmanv1.PhaseApproved:
		out.Message = fmt.Sprintf("%s was already approved by %s%s; nothing changed.", what, out.By, at)
	case stuurmanv1.PhaseApplied, stuurmanv1.PhaseFailed:
		out.Message = fmt.Sprintf("%s was already approved by %s%s and is %s; nothing changed.", what, out.By, at, lower(phase))
	case stuurmanv1.PhaseRejected:
		out.Message = fmt.Sprintf("%s was already rejected by %s%s; nothing changed.", what, out.By, at)
	case stuurmanv1.PhaseExpired:
		out.Message = fmt.Sprintf("%s expired (%s): nothing changed.", what, ap.Status.Message)
	case stuurmanv1.PhaseDenied:
		out.Message = fmt.Sprintf("%s was denied by the policy: there is nothing to approve.", what)
	default:
		out.Message = fmt.Sprintf("%s is %s: nothing changed.", what, phase)
	}
	return out, true
}

func lower(p stuurmanv1.Phase) string {
	b := []byte(p)
	if len(b) > 0 && b[0] >= 'A' && b[0] <= 'Z' {
		b[0] += 'a' - 'A'
	}
	return string(b)
}

// describeProposal is "the proposal shop/web-web-1a2b3c4d (scale Deployment web 2 → 5)".
func describeProposal(ap *stuurmanv1.ActionProposal) string {
	a := string(ap.Spec.Action.Type)
	if ap.Spec.Action.Replicas != nil {
		a = fmt.Sprintf("%s %d → %d", a, ap.Spec.From, *ap.Spec.Action.Replicas)
	}
	return fmt.Sprintf("the proposal %s/%s (%s %s %s)", ap.Namespace, ap.Name, a, ap.Spec.Target.Kind, ap.Spec.Target.Name)
}

// UserGroups reads the members of Slack user groups.
type UserGroups interface {
	UserGroupMembers(ctx context.Context, group string) ([]string, error)
}

var _ UserGroups = (*actuators.Slack)(nil)

// ApproverOptions configure an Approver. The zero value of each optional
// field selects the default documented on it.
type ApproverOptions struct {
	// Reader reads proposals and policies: the API server, not a cache,
	// so that a retry after a conflict sees the winner's write. Default:
	// the client.
	Reader client.Reader
	// Clock is the time decisions are made at. Default: the real clock.
	Clock clock.PassiveClock
	// Events records an Event on the workload for every decision. Nil:
	// none.
	Events events.EventRecorder
	// UserGroups resolves Slack user groups. Nil: a policy's userGroups
	// match no one.
	UserGroups UserGroups
	// GroupCacheTTL is how long a user group's members are cached.
	// Default 1m.
	GroupCacheTTL time.Duration
}

// Approver authorizes humans' decisions on proposals and makes them
// through Decide. It serves the Slack buttons (HandleSlackClick) and the
// stuurman approve and reject commands (DecideAsKubeUser). It is safe for
// concurrent use.
type Approver struct {
	c client.Client
	o ApproverOptions

	mu     sync.Mutex
	groups map[string]groupMembers
}

type groupMembers struct {
	users   []string
	fetched time.Time
}

var _ actuators.ApprovalHandler = (*Approver)(nil)

// NewApprover returns an Approver writing through c. c also sends the
// access reviews and maps workload kinds to resources.
func NewApprover(c client.Client, o ApproverOptions) *Approver {
	if o.Reader == nil {
		o.Reader = c
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.GroupCacheTTL <= 0 {
		o.GroupCacheTTL = time.Minute
	}
	return &Approver{c: c, o: o, groups: map[string]groupMembers{}}
}

// HandleSlackClick decides on a press of an approval request's button:
// the Slack user must be one of the policy's approvers (spec.approval.slack:
// users, or a member of userGroups) and, when the policy maps Slack users
// to Kubernetes users, be mapped to one who may update the workload's
// scale subresource. The reply says what happened; a refusal changes
// nothing.
func (a *Approver) HandleSlackClick(ctx context.Context, click actuators.SlackClick) (string, error) {
	log := log.FromContext(ctx).WithValues("proposal", click.Namespace+"/"+click.Name, "slackUser", click.User)
	key := types.NamespacedName{Namespace: click.Namespace, Name: click.Name}
	ap := &stuurmanv1.ActionProposal{}
	if err := a.o.Reader.Get(ctx, key, ap); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Sprintf("The proposal %s no longer exists: nothing changed.", key), nil
		}
		return "", fmt.Errorf("get ActionProposal %s: %w", key, err)
	}
	if click.UID != "" && string(ap.UID) != click.UID {
		return fmt.Sprintf("The proposal %s no longer exists (another has its name now): nothing changed.", key), nil
	}
	wp := &stuurmanv1.WorkloadPolicy{}
	if err := a.o.Reader.Get(ctx, types.NamespacedName{Namespace: ap.Namespace, Name: ap.Spec.PolicyName}, wp); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Sprintf("The policy %s/%s of the proposal no longer exists: nothing changed.", ap.Namespace, ap.Spec.PolicyName), nil
		}
		return "", fmt.Errorf("get WorkloadPolicy %s/%s: %w", ap.Namespace, ap.Spec.PolicyName, err)
	}
	by, why, err := a.authorizeSlack(ctx, wp, ap, click.User)
	if err != nil {
		return "", err
	}
	if why != "" {
		log.Info("refused a Slack approver", "why", why)
		return fmt.Sprintf("You are not allowed to approve or reject %s: %s. Nothing changed.", describeProposal(ap), why), nil
	}
	out, err := a.decide(ctx, Decision{Proposal: key, UID: ap.UID, Approve: click.Approve, By: by})
	if errors.Is(err, ErrProposalGone) {
		return fmt.Sprintf("The proposal %s no longer exists: nothing changed.", key), nil
	}
	return out.Message, err
}

// authorizeSlack returns the verified identity of the Slack user, or why
// the user may not decide.
func (a *Approver) authorizeSlack(ctx context.Context, wp *stuurmanv1.WorkloadPolicy, ap *stuurmanv1.ActionProposal, user string) (by, why string, err error) {
	var spec *stuurmanv1.SlackApproval
	if wp.Spec.Approval != nil {
		spec = wp.Spec.Approval.Slack
	}
	if spec == nil || user == "" {
		return "", "the policy names no Slack approvers", nil
	}
	ok := slices.Contains(spec.Users, user)
	for _, g := range spec.UserGroups {
		if ok {
			break
		}
		members, err := a.groupMembers(ctx, g)
		if err != nil {
			return "", "", err
		}
		ok = slices.Contains(members, user)
	}
	if !ok {
		return "", "you are not one of the policy's approvers", nil
	}
	by = "slack:" + user
	if len(spec.KubernetesUsers) == 0 {
		return by, "", nil
	}
	kubeUser := spec.KubernetesUsers[user]
	if kubeUser == "" {
		return "", "no Kubernetes user is mapped to your Slack user", nil
	}
	allowed, reason, err := a.mayScale(ctx, KubeSubject{User: kubeUser}, ap)
	if err != nil {
		return "", "", err
	}
	if !allowed {
		return "", fmt.Sprintf("Kubernetes user %s may not scale %s %s/%s (%s)", kubeUser, ap.Spec.Target.Kind, ap.Namespace, ap.Spec.Target.Name, reason), nil
	}
	return fmt.Sprintf("%s (k8s: %s)", by, kubeUser), "", nil
}

// groupMembers returns a Slack user group's members, cached for
// GroupCacheTTL.
func (a *Approver) groupMembers(ctx context.Context, group string) ([]string, error) {
	if a.o.UserGroups == nil {
		return nil, nil
	}
	now := a.o.Clock.Now()
	a.mu.Lock()
	g, ok := a.groups[group]
	a.mu.Unlock()
	if ok && now.Sub(g.fetched) < a.o.GroupCacheTTL {
		return g.users, nil
	}
	users, err := a.o.UserGroups.UserGroupMembers(ctx, group)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.groups[group] = groupMembers{users: users, fetched: now}
	a.mu.Unlock()
	return users, nil
}

// KubeSubject is a Kubernetes user an access review asks about.
type KubeSubject struct {
	// User and Groups name the user (a SubjectAccessReview).
	User   string
	Groups []string
	// Self asks about the client's own user instead (a
	// SelfSubjectAccessReview, which every authenticated user may send);
	// User then only names it in approvedBy.
	Self bool
}

// mayScale asks the API server whether s may update the scale subresource
// of ap's workload in ap's namespace.
func (a *Approver) mayScale(ctx context.Context, s KubeSubject, ap *stuurmanv1.ActionProposal) (bool, string, error) {
	gvk := schema.FromAPIVersionAndKind(ap.Spec.Target.APIVersion, ap.Spec.Target.Kind)
	m, err := a.c.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return false, "", fmt.Errorf("resource of %s: %w", gvk, err)
	}
	attrs := &authorizationv1.ResourceAttributes{
		Namespace: ap.Namespace, Verb: "update", Group: gvk.Group, Version: gvk.Version,
		Resource: m.Resource.Resource, Subresource: "scale", Name: ap.Spec.Target.Name,
	}
	if s.Self {
		r := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: attrs}}
		if err := a.c.Create(ctx, r); err != nil {
			return false, "", fmt.Errorf("self subject access review: %w", err)
		}
		return r.Status.Allowed && !r.Status.Denied, r.Status.Reason, nil
	}
	r := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{ResourceAttributes: attrs, User: s.User, Groups: s.Groups}}
	if err := a.c.Create(ctx, r); err != nil {
		return false, "", fmt.Errorf("subject access review for %s: %w", s.User, err)
	}
	return r.Status.Allowed && !r.Status.Denied, r.Status.Reason, nil
}

// DecideAsKubeUser approves or rejects a proposal for a Kubernetes user:
// the path of stuurman approve and reject. The user must be allowed to
// update the workload's scale subresource (otherwise the error wraps
// ErrNotAllowed and nothing changes); the proposal then moves through
// Decide, approved by "kube:<user>".
func (a *Approver) DecideAsKubeUser(ctx context.Context, s KubeSubject, key types.NamespacedName, approve bool) (Outcome, error) {
	ap := &stuurmanv1.ActionProposal{}
	if err := a.o.Reader.Get(ctx, key, ap); err != nil {
		if apierrors.IsNotFound(err) {
			return Outcome{}, fmt.Errorf("ActionProposal %s: %w", key, ErrProposalGone)
		}
		return Outcome{}, fmt.Errorf("get ActionProposal %s: %w", key, err)
	}
	allowed, reason, err := a.mayScale(ctx, s, ap)
	if err != nil {
		return Outcome{}, err
	}
	if !allowed {
		return Outcome{Phase: phaseOf(ap)}, fmt.Errorf("Kubernetes user %s may not update the scale of %s %s/%s (%s): %w",
			s.User, ap.Spec.Target.Kind, ap.Namespace, ap.Spec.Target.Name, reason, ErrNotAllowed)
	}
	return a.decide(ctx, Decision{Proposal: key, UID: ap.UID, Approve: approve, By: "kube:" + s.User})
}

// decide runs Decide and, when it changed the proposal, records an Event
// on the workload naming who decided.
func (a *Approver) decide(ctx context.Context, d Decision) (Outcome, error) {
	out, err := Decide(ctx, a.c, a.o.Reader, a.o.Clock.Now(), d)
	if err != nil || !out.Changed {
		return out, err
	}
	log.FromContext(ctx).Info("proposal decided", "proposal", d.Proposal.String(), "phase", string(out.Phase), "by", d.By)
	if a.o.Events == nil {
		return out, nil
	}
	ap := &stuurmanv1.ActionProposal{}
	if err := a.o.Reader.Get(ctx, d.Proposal, ap); err != nil {
		return out, nil // the decision stands; the Event is lost
	}
	reason, action, verb := "ProposalApproved", "Approve", "approved"
	if !d.Approve {
		reason, action, verb = "ProposalRejected", "Reject", "rejected"
	}
	a.o.Events.Eventf(a.workloadRef(ctx, ap), ap, corev1.EventTypeNormal, reason, action,
		"stuurman %s: %s by %s", ap.Name, verb, d.By)
	return out, nil
}

// workloadRef is ap's workload as an Event's regarding object: its
// metadata from the API server, or, if that cannot be read, its name.
func (a *Approver) workloadRef(ctx context.Context, ap *stuurmanv1.ActionProposal) *metav1.PartialObjectMetadata {
	t := ap.Spec.Target
	obj := &metav1.PartialObjectMetadata{}
	obj.SetGroupVersionKind(schema.FromAPIVersionAndKind(t.APIVersion, t.Kind))
	if err := a.o.Reader.Get(ctx, types.NamespacedName{Namespace: ap.Namespace, Name: t.Name}, obj); err != nil {
		obj.SetNamespace(ap.Namespace)
		obj.SetName(t.Name)
	}
	obj.SetGroupVersionKind(schema.FromAPIVersionAndKind(t.APIVersion, t.Kind))
	return obj
}
