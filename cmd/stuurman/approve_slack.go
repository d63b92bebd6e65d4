package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	"github.com/slack-go/slack"
	"github.com/spf13/pflag"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/stuurman/stuurman/actuators"
	"github.com/stuurman/stuurman/controller"
)

// The environment variables that hold the Slack app's secrets (from a
// Secret: never flags, which every process on the node can read).
const (
	envSlackBotToken      = "SLACK_BOT_TOKEN"
	envSlackAppToken      = "SLACK_APP_TOKEN"
	envSlackSigningSecret = "SLACK_SIGNING_SECRET"
)

// slackFlags configure the controller's Slack approval.
type slackFlags struct {
	transport string
	channel   string
	listen    string
	path      string
}

func addSlackFlags(fl *pflag.FlagSet, f *slackFlags) {
	fl.StringVar(&f.transport, "slack-transport", "socket", `how Slack's button presses reach the controller: "socket" (Socket Mode, needs `+envSlackAppToken+`) or "http" (an interactivity Request URL, needs `+envSlackSigningSecret+`); Slack approval is on when `+envSlackBotToken+` is set`)
	fl.StringVar(&f.channel, "slack-channel", "", "ID of the Slack channel approval requests go to when a WorkloadPolicy names none")
	fl.StringVar(&f.listen, "slack-listen-address", ":8082", `address of the Slack interactivity endpoint (--slack-transport=http)`)
	fl.StringVar(&f.path, "slack-path", "/slack/interactions", `path of the Slack interactivity endpoint (--slack-transport=http)`)
}

// setupSlack adds Slack approval to mgr when a bot token is set: the
// notifier (leader only) and the transport of the buttons (every
// replica).
func setupSlack(mgr manager.Manager, f slackFlags, getenv func(string) string, logger logr.Logger) error {
	bot := getenv(envSlackBotToken)
	if bot == "" {
		logger.Info("Slack approval off: " + envSlackBotToken + " is not set")
		return nil
	}
	var opts []slack.Option
	switch f.transport {
	case "socket":
		app := getenv(envSlackAppToken)
		if app == "" {
			return errors.New("--slack-transport=socket needs an app-level token (scope connections:write) in " + envSlackAppToken)
		}
		opts = append(opts, slack.OptionAppLevelToken(app))
	case "http":
		if getenv(envSlackSigningSecret) == "" {
			return errors.New("--slack-transport=http needs the app's signing secret in " + envSlackSigningSecret)
		}
	default:
		return fmt.Errorf(`--slack-transport must be "socket" or "http", got %q`, f.transport)
	}
	api := slack.New(bot, opts...)
	sl := actuators.NewSlack(api)
	approver := controller.NewApprover(mgr.GetClient(), controller.ApproverOptions{
		Reader: mgr.GetAPIReader(), Events: mgr.GetEventRecorder("stuurman"), UserGroups: sl,
	})
	notifier, err := controller.NewNotifier(mgr.GetClient(), controller.NotifierOptions{
		Messenger: sl, Channel: f.channel, Reader: mgr.GetAPIReader(),
	})
	if err != nil {
		return err
	}
	if err := notifier.SetupWithManager(mgr); err != nil {
		return err
	}

	var run everyReplica
	switch f.transport {
	case "socket":
		sock, err := actuators.NewSlackSocket(api, approver, sl)
		if err != nil {
			return err
		}
		run = sock.Run
	case "http":
		h, err := actuators.NewSlackInteractions(approver, sl, actuators.SlackHTTPOptions{SigningSecret: getenv(envSlackSigningSecret)})
		if err != nil {
			return err
		}
		mux := http.NewServeMux()
		mux.Handle(f.path, h)
		run = func(ctx context.Context) error { return serveHTTP(ctx, f.listen, mux) }
	}
	logger.Info("Slack approval on", "transport", f.transport, "channel", f.channel)
	return mgr.Add(run)
}

// everyReplica is a manager runnable that runs on every replica, not only
// on the leader: any replica may receive a button press, and the
// proposal's transition happens once whichever does.
type everyReplica func(context.Context) error

func (f everyReplica) Start(ctx context.Context) error { return f(ctx) }

// NeedLeaderElection is false: see everyReplica.
func (everyReplica) NeedLeaderElection() bool { return false }

// serveHTTP serves h on addr until ctx is done.
func serveHTTP(ctx context.Context, addr string, h http.Handler) error {
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return fmt.Errorf("slack interactivity endpoint: %w", err)
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdown)
	}
}
