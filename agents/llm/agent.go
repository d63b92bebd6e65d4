package llm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/stuurman/stuurman/agents"
)

// ErrBudgetExhausted means the token budget ran out before the model
// proposed.
var ErrBudgetExhausted = errors.New("token budget exhausted")

// Config tunes an Agent. The zero value of each field selects the default
// documented on it.
type Config struct {
	// Name identifies the agent in proposals, e.g. "openai:gpt-4o-mini".
	// Default "llm".
	Name string
	// MaxRounds bounds the completion requests of one consultation (tool
	// calls and corrections included). Default 6.
	MaxRounds int
	// MaxOutputTokens bounds each completion. Default 1024.
	MaxOutputTokens int
	// TokenBudget bounds the tokens (prompt + completion) of one Propose;
	// the Chain passes its own per-cycle budget to Consult instead.
	// Default 0: no budget.
	TokenBudget int
	// ReplicaFactor: a scale proposal above MaxReplicas × ReplicaFactor is
	// rejected as absurd before the policy engine sees it (between the two
	// the engine clamps). Default 2.
	ReplicaFactor float64
	// MaxCorrections is how many times an invalid answer (a rejected
	// propose_actions call, or text instead of a tool call) is sent back
	// to the model with the reason; the next one ends the consultation
	// with ErrInvalidOutput. Default 1; negative: none.
	MaxCorrections int
	// Now reads the clock for latency; default time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Name == "" {
		c.Name = "llm"
	}
	if c.MaxRounds == 0 {
		c.MaxRounds = 6
	}
	if c.MaxOutputTokens == 0 {
		c.MaxOutputTokens = 1024
	}
	if c.ReplicaFactor == 0 {
		c.ReplicaFactor = 2
	}
	if c.MaxCorrections == 0 {
		c.MaxCorrections = 1
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports an invalid field by name.
func (c Config) Validate() error {
	switch {
	case c.MaxRounds < 0:
		return fmt.Errorf("llm: MaxRounds: must be >= 0, got %d", c.MaxRounds)
	case c.MaxOutputTokens < 0:
		return fmt.Errorf("llm: MaxOutputTokens: must be >= 0, got %d", c.MaxOutputTokens)
	case c.TokenBudget < 0:
		return fmt.Errorf("llm: TokenBudget: must be >= 0, got %d", c.TokenBudget)
	case c.ReplicaFactor != 0 && !(c.ReplicaFactor >= 1):
		return fmt.Errorf("llm: ReplicaFactor: must be >= 1, got %v", c.ReplicaFactor)
	}
	return nil
}

// Agent is an LLM agent: it shows the model the situation as data, lets it
// call read-only tools, and accepts only a propose_actions call whose
// arguments pass Validate. An invalid answer is sent back to the model
// with the reason, so it may correct it (Config.MaxCorrections), all within
// MaxRounds completion requests.
//
// The same Agent serves every provider; a Client adapter carries the
// messages. An Agent is safe for concurrent use.
type Agent struct {
	client Client
	cfg    Config

	mu    sync.Mutex
	stats Stats
}

var _ agents.Agent = (*Agent)(nil)

// New returns an agent that talks to the model through c.
func New(c Client, cfg Config) (*Agent, error) {
	if c == nil {
		return nil, errors.New("llm: client is required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Agent{client: c, cfg: cfg.withDefaults()}, nil
}

// Name returns Config.Name.
func (a *Agent) Name() string { return a.cfg.Name }

// Propose consults the model with Config.TokenBudget; see Consult.
func (a *Agent) Propose(ctx context.Context, s agents.Situation) ([]agents.Proposal, error) {
	r, err := a.Consult(ctx, s, nil, a.cfg.TokenBudget)
	return r.Proposals, err
}

// Result is one consultation's outcome and cost.
type Result struct {
	Proposals []agents.Proposal
	Usage     Usage
	// Calls is the number of completion requests made.
	Calls   int
	Latency time.Duration
}

// Consult runs the conversation for s. baseline, when given, is the default
// agent's proposal, shown to the model as a second opinion. budget > 0
// bounds the tokens spent: once the total passes it and no valid proposal
// has arrived, Consult stops with ErrBudgetExhausted. Errors wrap
// ErrInvalidOutput, ErrBudgetExhausted, the context's error or the
// client's.
func (a *Agent) Consult(ctx context.Context, s agents.Situation, baseline []agents.Proposal, budget int) (Result, error) {
	var res Result
	defer func() { a.record(res) }()
	data, err := dataMessage(s, baseline)
	if err != nil {
		return res, err
	}
	msgs := []Message{
		{Role: RoleSystem, Content: systemPrompt},
		{Role: RoleUser, Content: instruction},
		{Role: RoleUser, Content: data},
	}
	tools := toolSpecs()
	var lastInvalid error
	invalid := 0
	reject := func(err error) error {
		lastInvalid = err
		invalid++
		if invalid > max(a.cfg.MaxCorrections, 0) {
			return fmt.Errorf("llm: %w", err)
		}
		return nil
	}
	for range a.cfg.MaxRounds {
		if budget > 0 && res.Usage.Total() >= budget {
			return res, fmt.Errorf("%w: %d of %d tokens used", ErrBudgetExhausted, res.Usage.Total(), budget)
		}
		start := a.cfg.Now()
		resp, err := a.client.Complete(ctx, Request{Messages: msgs, Tools: tools, MaxTokens: a.cfg.MaxOutputTokens})
		res.Latency += a.cfg.Now().Sub(start)
		res.Calls++
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
				err = fmt.Errorf("%w: %w", ctxErr, err)
			}
			return res, fmt.Errorf("llm: completion: %w", err)
		}
		res.Usage.add(resp.Usage)
		reply := resp.Message
		reply.Role = RoleAssistant
		msgs = append(msgs, reply)
		if len(reply.ToolCalls) == 0 {
			if err := reject(fmt.Errorf("%w: answered in text without calling %s", ErrInvalidOutput, ToolProposeActions)); err != nil {
				return res, err
			}
			msgs = append(msgs, Message{Role: RoleUser, Content: "Answer only by calling " + ToolProposeActions + "."})
			continue
		}
		for _, tc := range reply.ToolCalls {
			if tc.Name == ToolProposeActions {
				props, err := Validate(tc.Arguments, s, a.cfg.ReplicaFactor, a.cfg.Name)
				if err == nil {
					res.Proposals = props
					return res, nil
				}
				if err := reject(err); err != nil {
					return res, err
				}
				msgs = append(msgs, Message{Role: RoleTool, ToolCallID: tc.ID, Name: tc.Name,
					Content: toolResult(nil, fmt.Errorf("rejected: %v; call %s again with valid arguments", err, ToolProposeActions))})
				continue
			}
			t, ok := findTool(tc.Name)
			if !ok {
				msgs = append(msgs, Message{Role: RoleTool, ToolCallID: tc.ID, Name: tc.Name,
					Content: toolResult(nil, fmt.Errorf("unknown tool %q", truncate(tc.Name, 60)))})
				continue
			}
			msgs = append(msgs, Message{Role: RoleTool, ToolCallID: tc.ID, Name: tc.Name, Content: toolResult(t.run(s, tc.Arguments))})
		}
	}
	if lastInvalid != nil {
		return res, fmt.Errorf("llm: no valid proposal in %d rounds: %w", a.cfg.MaxRounds, lastInvalid)
	}
	return res, fmt.Errorf("llm: %w: no proposal in %d rounds", ErrInvalidOutput, a.cfg.MaxRounds)
}

// Key returns a digest of everything the model would be shown for s (the
// data message and every read-only tool's answer) and the agent's name:
// two situations with the same key get the same conversation. Absolute
// times do not enter it (the model sees ages), so a repeated situation in a
// later cycle has the same key.
func (a *Agent) Key(s agents.Situation, baseline []agents.Proposal) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00", a.cfg.Name)
	data, _ := dataMessage(s, baseline)
	fmt.Fprintf(h, "%s\x00", data)
	for _, t := range readTools() {
		if t.spec.Name == ToolReplicas {
			continue // a pure function of capacity, which the data holds
		}
		fmt.Fprintf(h, "%s\x00%s\x00", t.spec.Name, toolResult(t.run(s, "")))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (a *Agent) record(r Result) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stats.Consultations++
	a.stats.Calls += r.Calls
	a.stats.PromptTokens += r.Usage.PromptTokens
	a.stats.CompletionTokens += r.Usage.CompletionTokens
	a.stats.Latency += r.Latency
}

// Stats returns the agent's counters so far.
func (a *Agent) Stats() Stats {
	a.mu.Lock()
	out := a.stats.clone()
	a.mu.Unlock()
	if rc, ok := a.client.(retryCounter); ok {
		out.Retries = rc.Retries()
	}
	return out
}
