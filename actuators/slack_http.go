package actuators

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/slack-go/slack"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// DefaultSlackMaxAge is how old a signed Slack request may be.
const DefaultSlackMaxAge = 5 * time.Minute

// SlackHTTPOptions configure SlackInteractions. The zero value of each
// optional field selects the default documented on it.
type SlackHTTPOptions struct {
	// SigningSecret is the Slack app's signing secret. Required.
	SigningSecret string
	// Clock is what request timestamps are compared with. Default: the
	// real clock.
	Clock clock.PassiveClock
	// MaxAge is how far a request's timestamp may be from now, either
	// way. Default DefaultSlackMaxAge (5m), as Slack recommends.
	MaxAge time.Duration
	// MaxBody is the largest request body read. Default 1 MiB.
	MaxBody int64
}

// SlackInteractions is the HTTP interactivity endpoint (the Slack app's
// Request URL): it verifies that Slack sent the request — an HMAC-SHA256
// of "v0:timestamp:body" with the signing secret, compared in constant
// time, and a timestamp within MaxAge — and hands the presses of the
// approval buttons to an ApprovalHandler. It answers 401 to a request it
// cannot verify, 400 to one it cannot read, and 200 otherwise: the
// outcome goes to the user as an ephemeral message.
type SlackInteractions struct {
	h    ApprovalHandler
	tell Teller
	o    SlackHTTPOptions
}

var _ http.Handler = (*SlackInteractions)(nil)

// NewSlackInteractions returns the endpoint handing clicks to h and
// replying through t (nil: no replies).
func NewSlackInteractions(h ApprovalHandler, t Teller, o SlackHTTPOptions) (*SlackInteractions, error) {
	if o.SigningSecret == "" {
		return nil, errors.New("actuators: slack: SlackHTTPOptions.SigningSecret is required")
	}
	if h == nil {
		return nil, errors.New("actuators: slack: an ApprovalHandler is required")
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultSlackMaxAge
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 1 << 20
	}
	return &SlackInteractions{h: h, tell: t, o: o}, nil
}

// Errors of VerifySlackSignature.
var (
	ErrSlackStale     = errors.New("slack request timestamp too old or too new")
	ErrSlackSignature = errors.New("slack request signature invalid")
)

// VerifySlackSignature checks Slack's request signature: header
// X-Slack-Signature must be "v0=" + hex(HMAC-SHA256(secret,
// "v0:" + X-Slack-Request-Timestamp + ":" + body)), compared in constant
// time, and the timestamp within maxAge of now.
func VerifySlackSignature(header http.Header, body []byte, secret string, now time.Time, maxAge time.Duration) error {
	tsHeader := header.Get("X-Slack-Request-Timestamp")
	ts, err := strconv.ParseInt(tsHeader, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: bad timestamp %q", ErrSlackStale, tsHeader)
	}
	if d := now.Sub(time.Unix(ts, 0)).Abs(); d > maxAge {
		return fmt.Errorf("%w: %v from now", ErrSlackStale, d.Round(time.Second))
	}
	got, err := hex.DecodeString(trimPrefix(header.Get("X-Slack-Signature"), "v0="))
	if err != nil || len(got) != sha256.Size {
		return ErrSlackSignature
	}
	if !hmac.Equal(got, SlackSignature(secret, tsHeader, body)) {
		return ErrSlackSignature
	}
	return nil
}

// SlackSignature is HMAC-SHA256(secret, "v0:" + timestamp + ":" + body):
// what Slack sends hex-encoded after "v0=" in X-Slack-Signature.
func SlackSignature(secret, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	io.WriteString(m, "v0:"+timestamp+":")
	m.Write(body)
	return m.Sum(nil)
}

func trimPrefix(s, p string) string {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return ""
}

// ServeHTTP verifies the request and handles its approval buttons.
func (s *SlackInteractions) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := log.FromContext(r.Context()).WithName("slack-http")
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.o.MaxBody))
	if err != nil {
		http.Error(w, "cannot read the body", http.StatusBadRequest)
		return
	}
	if err := VerifySlackSignature(r.Header, body, s.o.SigningSecret, s.o.Clock.Now(), s.o.MaxAge); err != nil {
		log.Info("refused an unverified request", "error", err.Error(), "remote", r.RemoteAddr)
		http.Error(w, "unverified request", http.StatusUnauthorized)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "malformed form", http.StatusBadRequest)
		return
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		http.Error(w, "malformed payload", http.StatusBadRequest)
		return
	}
	switch err := handleClicks(r.Context(), s.h, s.tell, cb); {
	case errors.Is(err, errNotOurs):
		// Acknowledge interactions that are not ours: Slack retries
		// otherwise.
	case err != nil:
		log.Error(err, "handling an approval click")
	}
	w.WriteHeader(http.StatusOK)
}

// SignSlackRequest sets the headers Slack sets on a request with body,
// signed with secret at time now: for tests and tools that play Slack.
func SignSlackRequest(h http.Header, body []byte, secret string, now time.Time) {
	ts := formatUnix(now)
	h.Set("X-Slack-Request-Timestamp", ts)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(SlackSignature(secret, ts, body)))
}
