package llm

import (
	"maps"
	"time"
)

// Stats counts what the LLM agents did, for the controller to export
// (calls, tokens, latency) and for evals to report. All counters only grow.
type Stats struct {
	// Consultations is the number of conversations with the model.
	Consultations int `json:"consultations"`
	// Calls is the number of completion requests, retries not included.
	Calls int `json:"calls"`
	// Retries is the number of HTTP requests repeated after a 429 or 5xx.
	Retries int `json:"retries"`
	// PromptTokens and CompletionTokens are as the provider reported them.
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	// Latency is the total time spent waiting for completions.
	Latency time.Duration `json:"latency_ns"`

	// Skipped counts cycles the Chain answered with the fallback agent
	// alone because nothing called for the model (no findings, the
	// fallback sure of itself).
	Skipped int `json:"skipped"`
	// CacheHits counts cycles answered from the Chain's cache.
	CacheHits int `json:"cache_hits"`
	// Fallbacks counts cycles the Chain fell back, by FallbackReason.
	Fallbacks map[FallbackReason]int `json:"fallbacks,omitempty"`
}

func (s Stats) clone() Stats {
	s.Fallbacks = maps.Clone(s.Fallbacks)
	return s
}
