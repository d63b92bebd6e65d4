package llm

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// RetryConfig tunes retries of rate-limited (429) and failed (5xx)
// requests. The zero value of each field selects the default documented on
// it.
type RetryConfig struct {
	// MaxAttempts is the most times one request is sent. Default 3; 1
	// disables retries.
	MaxAttempts int
	// BaseDelay is the wait before the first retry; it doubles with each
	// retry (no jitter: one controller per cluster). Default 500ms.
	BaseDelay time.Duration
	// MaxDelay caps each wait, a server's Retry-After included. Default 10s.
	MaxDelay time.Duration
	// Sleep waits d or until ctx is done; default a timer. Tests inject
	// one that records the waits and returns at once.
	Sleep func(ctx context.Context, d time.Duration) error
}

func (c RetryConfig) withDefaults() RetryConfig {
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 3
	}
	if c.BaseDelay == 0 {
		c.BaseDelay = 500 * time.Millisecond
	}
	if c.MaxDelay == 0 {
		c.MaxDelay = 10 * time.Second
	}
	if c.Sleep == nil {
		c.Sleep = sleep
	}
	return c
}

// Validate reports an invalid field by name.
func (c RetryConfig) Validate() error {
	switch {
	case c.MaxAttempts < 0:
		return fmt.Errorf("llm: Retry.MaxAttempts: must be >= 0, got %d", c.MaxAttempts)
	case c.BaseDelay < 0:
		return fmt.Errorf("llm: Retry.BaseDelay: must be >= 0, got %v", c.BaseDelay)
	case c.MaxDelay < 0:
		return fmt.Errorf("llm: Retry.MaxDelay: must be >= 0, got %v", c.MaxDelay)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RetryTransport is an http.RoundTripper that resends a request answered
// with 429 or 5xx, waiting with exponential backoff (or the server's
// Retry-After, capped) in between. The last response is returned as is, so
// the client library reports the failure in its own terms. Both client
// adapters use it, so retries behave the same for every provider.
type RetryTransport struct {
	next    http.RoundTripper
	cfg     RetryConfig
	retries atomic.Int64
}

// NewRetryTransport wraps next (nil: http.DefaultTransport).
func NewRetryTransport(next http.RoundTripper, cfg RetryConfig) (*RetryTransport, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if next == nil {
		next = http.DefaultTransport
	}
	return &RetryTransport{next: next, cfg: cfg.withDefaults()}, nil
}

// Retries returns how many requests were resent so far.
func (t *RetryTransport) Retries() int { return int(t.retries.Load()) }

// RoundTrip implements http.RoundTripper.
func (t *RetryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("llm: read request body: %w", err)
		}
		body = b
	}
	delay := t.cfg.BaseDelay
	for attempt := 1; ; attempt++ {
		r := req.Clone(req.Context())
		if body != nil {
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		}
		resp, err := t.next.RoundTrip(r)
		if err != nil || attempt >= t.cfg.MaxAttempts || !retryable(resp.StatusCode) {
			return resp, err
		}
		wait := min(delay, t.cfg.MaxDelay)
		if ra := retryAfter(resp.Header.Get("Retry-After")); ra > 0 {
			wait = min(ra, t.cfg.MaxDelay)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if err := t.cfg.Sleep(req.Context(), wait); err != nil {
			return nil, err
		}
		t.retries.Add(1)
		delay *= 2
	}
}

func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

// retryAfter reads a Retry-After header given in seconds; 0 otherwise.
func retryAfter(v string) time.Duration {
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}

// retryCounter is implemented by clients that retry, for Stats.
type retryCounter interface{ Retries() int }
