package actuators

import (
	"context"
	"errors"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// SlackSocket receives the presses of the approval buttons over Slack's
// Socket Mode: a WebSocket the controller opens to Slack with an
// app-level token (scope connections:write), so that no inbound URL is
// needed. Slack authenticates the connection, so its interactions need no
// signature. Every replica of the controller may hold a connection: Slack
// delivers each interaction to one of them, and the proposal's transition
// happens once whichever receives it (and if several do).
type SlackSocket struct {
	client *socketmode.Client
	h      ApprovalHandler
	tell   Teller
}

// NewSlackSocket returns the Socket Mode receiver; api must carry the
// app-level token (slack.OptionAppLevelToken) besides the bot token.
func NewSlackSocket(api *slack.Client, h ApprovalHandler, t Teller) (*SlackSocket, error) {
	if h == nil {
		return nil, errors.New("actuators: slack: an ApprovalHandler is required")
	}
	return &SlackSocket{client: socketmode.New(api), h: h, tell: t}, nil
}

// Run connects to Slack and handles interactions until ctx is done; it
// reconnects when Slack asks it to. Each interaction is acknowledged
// before it is handled, as Slack wants an answer within 3 seconds.
func (s *SlackSocket) Run(ctx context.Context) error {
	log := log.FromContext(ctx).WithName("slack-socket")
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.client.RunContext(ctx) }()
	for {
		select {
		case err := <-done:
			if ctx.Err() != nil {
				return nil
			}
			return err
		case ev := <-s.client.Events:
			switch ev.Type {
			case socketmode.EventTypeConnected:
				log.Info("connected to Slack (Socket Mode)")
			case socketmode.EventTypeConnectionError, socketmode.EventTypeInvalidAuth:
				log.Info("Slack Socket Mode connection problem", "event", string(ev.Type), "data", ev.Data)
			case socketmode.EventTypeInteractive:
				if ev.Request != nil {
					if err := s.client.AckCtx(ctx, ev.Request.EnvelopeID, nil); err != nil {
						log.Error(err, "acknowledging an interaction")
					}
				}
				cb, ok := ev.Data.(slack.InteractionCallback)
				if !ok {
					continue
				}
				if err := handleClicks(ctx, s.h, s.tell, cb); err != nil && !errors.Is(err, errNotOurs) {
					log.Error(err, "handling an approval click")
				}
			}
		}
	}
}
