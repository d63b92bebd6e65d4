package llm

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"sync"
	"time"

	"github.com/stuurman/stuurman/agents"
)

// FallbackReason says why the Chain answered with its fallback agent.
type FallbackReason string

// The fallback reasons, recorded in Proposal.Fallback as "<reason>: detail".
const (
	FallbackTimeout FallbackReason = "timeout"
	FallbackError   FallbackReason = "error"
	FallbackBudget  FallbackReason = "budget"
	FallbackInvalid FallbackReason = "invalid_output"
)

// ConsultMode says when the Chain asks the model.
type ConsultMode string

// The consult modes.
const (
	// ConsultAuto asks the model only when there are findings or the
	// fallback agent is unsure: its forecast is not trusted, or it
	// proposes a big change.
	ConsultAuto ConsultMode = "auto"
	// ConsultAlways asks the model every cycle (evals).
	ConsultAlways ConsultMode = "always"
)

// ChainConfig tunes a Chain. The zero value of each field selects the
// default documented on it.
type ChainConfig struct {
	// Consult is when to ask the model. Default ConsultAuto.
	Consult ConsultMode
	// Timeout bounds each consultation, retries included. Default 30s.
	Timeout time.Duration
	// TokenBudget bounds the tokens spent per cycle: all consultations
	// whose Situation.Now is the same instant share it, so a controller
	// cycle over many workloads spends at most this much. Default 50000;
	// negative: no budget.
	TokenBudget int
	// BigChange: the fallback agent is unsure of a scale whose relative
	// change |target/current − 1| is at least BigChange. Default 0.5.
	BigChange float64
	// CacheSize is how many answers are kept, keyed by Agent.Key. Default
	// 256; negative: no cache.
	CacheSize int
	// CacheTTL is how long an answer stays valid, measured on
	// Situation.Now. Default 15m.
	CacheTTL time.Duration
}

func (c ChainConfig) withDefaults() ChainConfig {
	if c.Consult == "" {
		c.Consult = ConsultAuto
	}
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	if c.TokenBudget == 0 {
		c.TokenBudget = 50000
	}
	if c.BigChange == 0 {
		c.BigChange = 0.5
	}
	if c.CacheSize == 0 {
		c.CacheSize = 256
	}
	if c.CacheTTL == 0 {
		c.CacheTTL = 15 * time.Minute
	}
	return c
}

// Validate reports an invalid field by name.
func (c ChainConfig) Validate() error {
	switch {
	case c.Consult != "" && c.Consult != ConsultAuto && c.Consult != ConsultAlways:
		return fmt.Errorf("llm: chain: Consult: must be %q or %q, got %q", ConsultAuto, ConsultAlways, c.Consult)
	case c.Timeout < 0:
		return fmt.Errorf("llm: chain: Timeout: must be >= 0, got %v", c.Timeout)
	case c.BigChange < 0 || math.IsNaN(c.BigChange):
		return fmt.Errorf("llm: chain: BigChange: must be >= 0, got %v", c.BigChange)
	case c.CacheTTL < 0:
		return fmt.Errorf("llm: chain: CacheTTL: must be >= 0, got %v", c.CacheTTL)
	}
	return nil
}

// Chain is the agent the controller runs when an LLM is configured: the
// fallback agent (the heuristic) proposes first; the model is consulted
// when the situation calls for it (see ConsultMode), within a timeout and
// a per-cycle token budget, and with a cache keyed by the situation. On a
// timeout, an error, an exhausted budget or invalid output the Chain
// returns the fallback's proposals with Proposal.Fallback saying why. It
// returns an error only when the fallback agent fails.
//
// A Chain is safe for concurrent use.
type Chain struct {
	llm      *Agent
	fallback agents.Agent
	cfg      ChainConfig

	mu         sync.Mutex
	stats      Stats
	cycle      time.Time
	cycleSpent int
	cache      map[string]cacheEntry
	order      []string // insertion order, for eviction
}

type cacheEntry struct {
	at        time.Time
	proposals []agents.Proposal
}

var _ agents.Agent = (*Chain)(nil)

// NewChain returns a chain that consults model and falls back to fallback.
func NewChain(model *Agent, fallback agents.Agent, cfg ChainConfig) (*Chain, error) {
	if model == nil || fallback == nil {
		return nil, errors.New("llm: chain: model and fallback agents are required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Chain{llm: model, fallback: fallback, cfg: cfg.withDefaults(), cache: map[string]cacheEntry{}}, nil
}

// Name returns the model agent's name.
func (c *Chain) Name() string { return c.llm.Name() }

// Propose implements agents.Agent.
func (c *Chain) Propose(ctx context.Context, s agents.Situation) ([]agents.Proposal, error) {
	base, err := c.fallback.Propose(ctx, s)
	if err != nil {
		return nil, fmt.Errorf("llm: chain: fallback agent %s: %w", c.fallback.Name(), err)
	}
	if c.cfg.Consult == ConsultAuto && !c.unsure(s, base) {
		c.count(func(st *Stats) { st.Skipped++ })
		return base, nil
	}
	key := c.llm.Key(s, base)
	if props, ok := c.cached(key, s.Now); ok {
		return props, nil
	}
	budget, ok := c.budget(s.Now)
	if !ok {
		return c.fall(base, FallbackBudget, fmt.Sprintf("the cycle's %d tokens are spent", c.cfg.TokenBudget)), nil
	}
	cctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	res, err := c.llm.Consult(cctx, s, base, budget)
	cancel()
	c.spend(s.Now, res.Usage.Total())
	if err != nil {
		if ctx.Err() != nil {
			// The caller gave up, not the model: say so.
			return nil, fmt.Errorf("llm: chain: %w", ctx.Err())
		}
		reason := FallbackError
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			reason = FallbackTimeout
			err = fmt.Errorf("no answer within %v", c.cfg.Timeout)
		case errors.Is(err, ErrBudgetExhausted):
			reason = FallbackBudget
		case errors.Is(err, ErrInvalidOutput):
			reason = FallbackInvalid
		}
		return c.fall(base, reason, truncate(err.Error(), 300)), nil
	}
	c.store(key, s.Now, res.Proposals)
	return res.Proposals, nil
}

// unsure reports whether the situation calls for the model.
func (c *Chain) unsure(s agents.Situation, base []agents.Proposal) bool {
	if len(s.Findings) > 0 {
		return true
	}
	for _, p := range base {
		if t, ok := p.Evidence["trusted"]; ok && t == 0 {
			return true
		}
		if p.Action.Kind == agents.ActionScale && p.From > 0 &&
			math.Abs(float64(p.Action.Replicas)/float64(p.From)-1) >= c.cfg.BigChange {
			return true
		}
		if p.Action.Kind == agents.ActionScale && p.From == 0 {
			return true
		}
	}
	return false
}

func (c *Chain) fall(base []agents.Proposal, reason FallbackReason, detail string) []agents.Proposal {
	c.count(func(st *Stats) {
		if st.Fallbacks == nil {
			st.Fallbacks = map[FallbackReason]int{}
		}
		st.Fallbacks[reason]++
	})
	out := make([]agents.Proposal, len(base))
	for i, p := range base {
		p.Fallback = string(reason) + ": " + detail
		out[i] = p
	}
	return out
}

func (c *Chain) count(f func(*Stats)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(&c.stats)
}

// budget returns the tokens left in the cycle at now, and false when none
// are.
func (c *Chain) budget(now time.Time) (int, bool) {
	if c.cfg.TokenBudget < 0 {
		return 0, true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !now.Equal(c.cycle) {
		c.cycle, c.cycleSpent = now, 0
	}
	left := c.cfg.TokenBudget - c.cycleSpent
	return left, left > 0
}

func (c *Chain) spend(now time.Time, tokens int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Equal(c.cycle) {
		c.cycleSpent += tokens
	}
}

func (c *Chain) cached(key string, now time.Time) ([]agents.Proposal, bool) {
	if c.cfg.CacheSize < 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.cache[key]
	if !ok || now.Sub(e.at) >= c.cfg.CacheTTL || now.Before(e.at) {
		return nil, false
	}
	c.stats.CacheHits++
	return cloneProposals(e.proposals), true
}

func (c *Chain) store(key string, now time.Time, props []agents.Proposal) {
	if c.cfg.CacheSize < 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.cache[key]; !ok {
		c.order = append(c.order, key)
	}
	c.cache[key] = cacheEntry{at: now, proposals: cloneProposals(props)}
	for len(c.order) > c.cfg.CacheSize {
		delete(c.cache, c.order[0])
		c.order = c.order[1:]
	}
}

// Stats returns the model agent's counters with the chain's own.
func (c *Chain) Stats() Stats {
	out := c.llm.Stats()
	c.mu.Lock()
	defer c.mu.Unlock()
	out.Skipped = c.stats.Skipped
	out.CacheHits = c.stats.CacheHits
	out.Fallbacks = maps.Clone(c.stats.Fallbacks)
	return out
}

func cloneProposals(ps []agents.Proposal) []agents.Proposal {
	out := make([]agents.Proposal, len(ps))
	for i, p := range ps {
		p.Workload = cloneWorkload(p.Workload)
		p.Evidence = maps.Clone(p.Evidence)
		out[i] = p
	}
	return out
}
