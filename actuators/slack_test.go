package actuators

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"
)

func TestVerifySlackSignature(t *testing.T) {
	now := time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC)
	body := []byte("payload=%7B%7D")
	for _, tc := range []struct {
		name   string
		secret string
		at     time.Time
		mutate func(http.Header)
		want   error
	}{
		{name: "valid", secret: "s3cret", at: now},
		{name: "4m59s old", secret: "s3cret", at: now.Add(-4*time.Minute - 59*time.Second)},
		{name: "forged", secret: "other", at: now, want: ErrSlackSignature},
		{name: "stale", secret: "s3cret", at: now.Add(-5*time.Minute - time.Second), want: ErrSlackStale},
		{name: "future", secret: "s3cret", at: now.Add(6 * time.Minute), want: ErrSlackStale},
		{name: "no signature", secret: "s3cret", at: now, mutate: func(h http.Header) { h.Del("X-Slack-Signature") }, want: ErrSlackSignature},
		{name: "no v0", secret: "s3cret", at: now, mutate: func(h http.Header) { h.Set("X-Slack-Signature", h.Get("X-Slack-Signature")[3:]) }, want: ErrSlackSignature},
		{name: "no timestamp", secret: "s3cret", at: now, mutate: func(h http.Header) { h.Del("X-Slack-Request-Timestamp") }, want: ErrSlackStale},
	} {
		h := http.Header{}
		SignSlackRequest(h, body, tc.secret, tc.at)
		if tc.mutate != nil {
			tc.mutate(h)
		}
		err := VerifySlackSignature(h, body, "s3cret", now, DefaultSlackMaxAge)
		if (tc.want == nil) != (err == nil) || tc.want != nil && !strings.Contains(err.Error(), tc.want.Error()) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
	// The signature is Slack's documented example's algorithm:
	// hex(HMAC-SHA256(secret, "v0:" + ts + ":" + body)).
	h := http.Header{}
	SignSlackRequest(h, body, "s3cret", now)
	if !strings.HasPrefix(h.Get("X-Slack-Signature"), "v0=") || len(h.Get("X-Slack-Signature")) != 3+64 {
		t.Errorf("signature %q", h.Get("X-Slack-Signature"))
	}
}

func TestParseButtonValue(t *testing.T) {
	r := ApprovalRequest{Namespace: "shop", Name: "web-web-1a2b3c4d", UID: "0b1c"}
	ns, name, uid, err := ParseButtonValue(r.ButtonValue())
	if err != nil || ns != "shop" || name != "web-web-1a2b3c4d" || uid != "0b1c" {
		t.Errorf("round trip: %q %q %q %v", ns, name, uid, err)
	}
	for _, bad := range []string{"", "shop", "shop/name", "/name/uid", "a/b/c/d"} {
		if _, _, _, err := ParseButtonValue(bad); err == nil {
			t.Errorf("ParseButtonValue(%q): no error", bad)
		}
	}
}

// Socket Mode: the controller connects with the app-level token
// (apps.connections.open on slack-go's slacktest server), acknowledges an
// interactive envelope by its ID, hands the press to the handler and
// tells the user the answer.
func TestSlackSocketHandlesClicks(t *testing.T) {
	upgrader := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	acks := make(chan string, 4)
	ws := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			t.Log("upgrade:", err)
			return
		}
		defer c.Close()
		c.WriteJSON(map[string]any{"type": "hello", "num_connections": 1})
		payload := `{"type":"block_actions","user":{"id":"U0ALICE","name":"alice"},"channel":{"id":"C0APPROVE"},` +
			`"container":{"type":"message","channel_id":"C0APPROVE","message_ts":"1.000001"},` +
			`"actions":[{"type":"button","action_id":"stuurman_approve","block_id":"stuurman_decision","value":"shop/web-1/uid-1"}]}`
		c.WriteMessage(websocket.TextMessage, []byte(`{"envelope_id":"env-1","type":"interactive","accepts_response_payload":false,"payload":`+payload+`}`))
		for {
			_, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			var resp struct {
				EnvelopeID string `json:"envelope_id"`
			}
			if json.Unmarshal(msg, &resp) == nil && resp.EnvelopeID != "" {
				acks <- resp.EnvelopeID
			}
		}
	}))
	defer ws.Close()

	var mu sync.Mutex
	var told []string
	srv := slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/apps.connections.open", func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer xapp-test" {
				http.Error(w, "want the app-level token", http.StatusUnauthorized)
				return
			}
			fmt.Fprintf(w, `{"ok":true,"url":%q}`, "ws"+strings.TrimPrefix(ws.URL, "http"))
		})
		c.Handle("/chat.postEphemeral", func(w http.ResponseWriter, r *http.Request) {
			r.ParseForm()
			mu.Lock()
			told = append(told, r.PostForm.Get("user")+": "+r.PostForm.Get("text"))
			mu.Unlock()
			fmt.Fprint(w, `{"ok":true,"message_ts":"1.2"}`)
		})
	})
	srv.Start()
	defer srv.Stop()
	api := slack.New("xoxb-test", slack.OptionAPIURL(srv.GetAPIURL()), slack.OptionAppLevelToken("xapp-test"))

	clicks := make(chan SlackClick, 4)
	h := ApprovalHandlerFunc(func(_ context.Context, c SlackClick) (string, error) {
		clicks <- c
		return "You approved it.", nil
	})
	sock, err := NewSlackSocket(api, h, NewSlack(api))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sock.Run(ctx) }()

	select {
	case c := <-clicks:
		want := SlackClick{Approve: true, Namespace: "shop", Name: "web-1", UID: "uid-1", User: "U0ALICE", UserName: "alice", Channel: "C0APPROVE", MessageTS: "1.000001"}
		if c != want {
			t.Errorf("click %+v, want %+v", c, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no click within 10s")
	}
	select {
	case id := <-acks:
		if id != "env-1" {
			t.Errorf("acknowledged %q, want env-1", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no acknowledgement within 10s")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(told)
		mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	if len(told) != 1 || told[0] != "U0ALICE: You approved it." {
		t.Errorf("told %q", told)
	}
	mu.Unlock()
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Error("Run did not return after the context was cancelled")
	}
}
