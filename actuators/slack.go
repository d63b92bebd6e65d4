package actuators

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// The action IDs of the Approve and Reject buttons, and the block ID of
// the block that holds them.
const (
	SlackActionApprove = "stuurman_approve"
	SlackActionReject  = "stuurman_reject"
	SlackBlockDecision = "stuurman_decision"
)

// ApprovalRequest is what an approval request in Slack shows: one
// ActionProposal and, once it is decided, its outcome. It is a plain value
// built by the controller from the proposal.
type ApprovalRequest struct {
	// Namespace, Name and UID identify the ActionProposal; the buttons
	// carry them.
	Namespace, Name, UID string
	// Kind and Workload name the target, in Namespace.
	Kind, Workload string
	// Action is the action's type (Scale, Restart); From and To the
	// replica counts of a Scale (To nil otherwise).
	Action string
	From   int32
	To     *int32
	// Mode is the policy's mode, Verdict the policy engine's verdict.
	Mode, Verdict string
	// Reason, Agent and Confidence are the agent's.
	Reason     string
	Agent      string
	Confidence float64
	// Evidence are the numbers the agent's reason rests on, formatted.
	Evidence map[string]string
	// Forecast summarises the forecast of the last cycle, e.g. "upper
	// bound 540 over the lead time (holt-winters)"; empty: unknown.
	Forecast string
	// Rules are the policy rules that asked for approval, as
	// "rule: reason".
	Rules []string
	// ExpiresAt is when the proposal expires unless approved.
	ExpiresAt time.Time

	// Outcome, once the proposal left Pending: its phase (Approved,
	// Rejected, Expired, Applied, Failed), who decided, and what happened.
	Phase   string
	By      string
	Message string
}

// SlackMessageRef identifies a posted Slack message.
type SlackMessageRef struct {
	Channel string
	TS      string
}

// ButtonValue is the value an approval request's buttons carry:
// "namespace/name/uid".
func (r ApprovalRequest) ButtonValue() string {
	return r.Namespace + "/" + r.Name + "/" + r.UID
}

// ParseButtonValue splits a button value made by ButtonValue.
func ParseButtonValue(v string) (namespace, name, uid string, err error) {
	parts := strings.Split(v, "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return "", "", "", fmt.Errorf("actuators: slack: malformed button value %q", v)
	}
	return parts[0], parts[1], parts[2], nil
}

// Slack posts approval requests to Slack and updates them with their
// outcome, through slack-go's Web API client. It needs a bot token with
// the scopes chat:write and usergroups:read.
type Slack struct {
	api *slack.Client
}

// NewSlack returns the Slack actuator calling api.
func NewSlack(api *slack.Client) *Slack { return &Slack{api: api} }

// RequestApproval posts req to channel and returns the message.
func (s *Slack) RequestApproval(ctx context.Context, channel string, req ApprovalRequest) (SlackMessageRef, error) {
	ch, ts, err := s.api.PostMessageContext(ctx, channel,
		slack.MsgOptionText(summary(req), false), slack.MsgOptionBlocks(ApprovalBlocks(req)...))
	if err != nil {
		return SlackMessageRef{}, fmt.Errorf("actuators: slack: post the approval request for %s/%s: %w", req.Namespace, req.Name, err)
	}
	return SlackMessageRef{Channel: ch, TS: ts}, nil
}

// ShowOutcome replaces the request's message by one showing req's outcome
// (without buttons) and replies in its thread with what happened.
func (s *Slack) ShowOutcome(ctx context.Context, ref SlackMessageRef, req ApprovalRequest) error {
	if _, _, _, err := s.api.UpdateMessageContext(ctx, ref.Channel, ref.TS,
		slack.MsgOptionText(summary(req), false), slack.MsgOptionBlocks(ApprovalBlocks(req)...)); err != nil {
		return fmt.Errorf("actuators: slack: update the approval request for %s/%s: %w", req.Namespace, req.Name, err)
	}
	if _, _, err := s.api.PostMessageContext(ctx, ref.Channel,
		slack.MsgOptionTS(ref.TS), slack.MsgOptionText(OutcomeText(req), false)); err != nil {
		return fmt.Errorf("actuators: slack: reply to the approval request for %s/%s: %w", req.Namespace, req.Name, err)
	}
	return nil
}

// Tell sends text to user in channel, visible to that user only.
func (s *Slack) Tell(ctx context.Context, channel, user, text string) error {
	if _, err := s.api.PostEphemeralContext(ctx, channel, user, slack.MsgOptionText(text, false)); err != nil {
		return fmt.Errorf("actuators: slack: tell %s: %w", user, err)
	}
	return nil
}

// UserGroupMembers returns the Slack user IDs of a user group's members.
func (s *Slack) UserGroupMembers(ctx context.Context, group string) ([]string, error) {
	users, err := s.api.GetUserGroupMembersContext(ctx, group)
	if err != nil {
		return nil, fmt.Errorf("actuators: slack: members of user group %s: %w", group, err)
	}
	return users, nil
}

// describeAction is "scale Deployment shop/web 2 → 5" or "restart …".
func describeAction(r ApprovalRequest) string {
	w := fmt.Sprintf("%s %s/%s", r.Kind, r.Namespace, r.Workload)
	if r.To != nil {
		return fmt.Sprintf("%s %s %d → %d", strings.ToLower(r.Action), w, r.From, *r.To)
	}
	return strings.ToLower(r.Action) + " " + w
}

// summary is the message's plain text: what notifications show.
func summary(r ApprovalRequest) string {
	if r.Phase == "" || r.Phase == "Pending" {
		return "stuurman asks for approval to " + describeAction(r)
	}
	return fmt.Sprintf("stuurman: %s — %s", describeAction(r), strings.ToLower(r.Phase))
}

// OutcomeText says what became of the request, for the thread reply.
func OutcomeText(r ApprovalRequest) string {
	by := ""
	if r.By != "" {
		by = " by " + r.By
	}
	msg := ""
	if r.Message != "" {
		msg = ": " + r.Message
	}
	switch r.Phase {
	case "Approved":
		return "Approved" + by + ". The controller applies it next."
	case "Applied":
		return "Applied (approved" + by + ")" + msg
	case "Failed":
		return "Failed (approved" + by + ")" + msg
	case "Rejected":
		return "Rejected" + by + ". Nothing changes."
	case "Expired":
		return "Expired" + msg + ". Nothing changes; the buttons do nothing now."
	}
	return r.Phase + by + msg
}

// slackDate formats t for Slack: the reader's local time, with t in UTC
// as the fallback.
func slackDate(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", t.Unix(), t.UTC().Format(time.RFC3339))
}

// escape escapes the characters Slack's mrkdwn gives a meaning.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

// ApprovalBlocks is the Block Kit message of an approval request: the
// workload, the action, why, the rules that asked for approval, when it
// expires, how to see the proposal with kubectl and — while it is
// Pending — Approve and Reject buttons; once decided, the outcome instead
// of the buttons.
func ApprovalBlocks(r ApprovalRequest) []slack.Block {
	pending := r.Phase == "" || r.Phase == "Pending"
	title := "Approval needed: " + describeAction(r)
	if !pending {
		title = r.Phase + ": " + describeAction(r)
	}
	if len(title) > 150 { // Slack's limit for a header
		title = title[:147] + "..."
	}
	action := r.Action
	if r.To != nil {
		action = fmt.Sprintf("%s %d → %d replicas", r.Action, r.From, *r.To)
	}
	blocks := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, title, false, false)),
		slack.NewSectionBlock(nil, []*slack.TextBlockObject{
			mrkdwn("*Workload*\n" + escape(fmt.Sprintf("%s %s/%s", r.Kind, r.Namespace, r.Workload))),
			mrkdwn("*Action*\n" + escape(action)),
			mrkdwn("*Expires*\n" + slackDate(r.ExpiresAt)),
			mrkdwn("*Policy verdict*\n" + escape(fmt.Sprintf("%s (mode %s)", r.Verdict, r.Mode))),
		}, nil),
	}

	why := "*Why*\n" + escape(r.Reason)
	if r.Agent != "" {
		why += fmt.Sprintf("\n_agent %s, confidence %.2f_", escape(r.Agent), r.Confidence)
	}
	if r.Forecast != "" {
		why += "\nForecast: " + escape(r.Forecast)
	}
	if len(r.Evidence) > 0 {
		var ev []string
		for _, k := range slices.Sorted(maps.Keys(r.Evidence)) {
			ev = append(ev, fmt.Sprintf("`%s` %s", escape(k), escape(r.Evidence[k])))
		}
		why += "\nEvidence: " + strings.Join(ev, ", ")
	}
	blocks = append(blocks, slack.NewSectionBlock(mrkdwn(truncateText(why, 3000)), nil, nil))

	rules := "*Asked for approval by*\n"
	if len(r.Rules) == 0 {
		rules += "mode Approve: every action waits for a human"
	}
	for _, rule := range r.Rules {
		rules += "• " + escape(rule) + "\n"
	}
	blocks = append(blocks, slack.NewSectionBlock(mrkdwn(truncateText(strings.TrimRight(rules, "\n"), 3000)), nil, nil))

	if pending {
		approve := slack.NewButtonBlockElement(SlackActionApprove, r.ButtonValue(), slack.NewTextBlockObject(slack.PlainTextType, "Approve", false, false))
		approve.Style = slack.StylePrimary
		reject := slack.NewButtonBlockElement(SlackActionReject, r.ButtonValue(), slack.NewTextBlockObject(slack.PlainTextType, "Reject", false, false))
		reject.Style = slack.StyleDanger
		blocks = append(blocks, slack.NewActionBlock(SlackBlockDecision, approve, reject))
	} else {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(escape(OutcomeText(r))), nil, nil))
	}
	blocks = append(blocks, slack.NewContextBlock("",
		mrkdwn(fmt.Sprintf("`kubectl get actionproposal %s -n %s -o yaml`", escape(r.Name), escape(r.Namespace)))))
	return blocks
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

// SlackClick is one press of an approval request's button, as Slack
// reported it (after the transport verified that Slack sent it).
type SlackClick struct {
	// Approve is true for the Approve button, false for Reject.
	Approve bool
	// Namespace, Name and UID identify the ActionProposal.
	Namespace, Name, UID string
	// User is the Slack user ID of who pressed, UserName their handle.
	User, UserName string
	// Channel and MessageTS locate the message, for the reply.
	Channel, MessageTS string
}

// ApprovalHandler decides on a click: it checks who clicked and makes the
// proposal's transition, and returns what to tell the user. An error is a
// failure to decide (the API server unreachable), not a refusal.
type ApprovalHandler interface {
	HandleSlackClick(ctx context.Context, c SlackClick) (reply string, err error)
}

// ApprovalHandlerFunc adapts a function to ApprovalHandler.
type ApprovalHandlerFunc func(ctx context.Context, c SlackClick) (string, error)

// HandleSlackClick calls f.
func (f ApprovalHandlerFunc) HandleSlackClick(ctx context.Context, c SlackClick) (string, error) {
	return f(ctx, c)
}

var _ ApprovalHandler = ApprovalHandlerFunc(nil)

// Teller sends a message visible to one user only.
type Teller interface {
	Tell(ctx context.Context, channel, user, text string) error
}

var _ Teller = (*Slack)(nil)

// errNotOurs marks interactions that are not stuurman's buttons.
var errNotOurs = errors.New("not a stuurman approval button")

// clicks returns the stuurman button presses of an interaction callback.
func clicks(cb slack.InteractionCallback) ([]SlackClick, error) {
	if cb.Type != slack.InteractionTypeBlockActions {
		return nil, errNotOurs
	}
	var out []SlackClick
	for _, a := range cb.ActionCallback.BlockActions {
		if a == nil || (a.ActionID != SlackActionApprove && a.ActionID != SlackActionReject) {
			continue
		}
		ns, name, uid, err := ParseButtonValue(a.Value)
		if err != nil {
			return nil, err
		}
		ch := cb.Channel.ID
		if ch == "" {
			ch = cb.Container.ChannelID
		}
		ts := cb.Container.MessageTs
		if ts == "" {
			ts = cb.Message.Timestamp
		}
		out = append(out, SlackClick{
			Approve: a.ActionID == SlackActionApprove, Namespace: ns, Name: name, UID: uid,
			User: cb.User.ID, UserName: cb.User.Name, Channel: ch, MessageTS: ts,
		})
	}
	if len(out) == 0 {
		return nil, errNotOurs
	}
	return out, nil
}

// handleClicks decides on each click of cb and tells the user the answer.
func handleClicks(ctx context.Context, h ApprovalHandler, t Teller, cb slack.InteractionCallback) error {
	cs, err := clicks(cb)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range cs {
		reply, err := h.HandleSlackClick(ctx, c)
		if err != nil {
			errs = append(errs, err)
			reply = "stuurman could not record your decision (" + err.Error() + "); try again."
		}
		if t != nil && reply != "" && c.Channel != "" && c.User != "" {
			if err := t.Tell(ctx, c.Channel, c.User, reply); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// formatUnix is the decimal Unix time of t.
func formatUnix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
