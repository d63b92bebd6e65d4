// Package llm provides the LLM agents of the propose stage: an Agent that
// lets a model look at a Situation through read-only tools and propose
// typed actions through one propose_actions tool, and a Chain that makes
// it safe to run in a control loop.
//
// One agent design serves every provider: the prompt, the tools, the
// proposal schema (generated from ProposeArgs), the validation and the
// bounded tool-call loop live in Agent; two thin Client adapters carry the
// messages — OpenAIClient (go-openai: OpenAI, Azure OpenAI, vLLM, Ollama's
// /v1, llama.cpp's server) and LangChainClient (langchaingo: Ollama's
// native API, Anthropic, and OpenAI-compatible endpoints).
//
// What the model returns is data to validate, never trusted: Validate
// rejects unknown workloads and actions, out-of-range numbers and malformed
// JSON, and the policy engine (package policies) decides on whatever
// passes. Text from the cluster (names, labels, annotations, finding
// summaries) reaches the model only as JSON inside a delimited data
// message, never in the instructions.
//
// The Chain consults the model only when it matters (findings, or the
// heuristic unsure), bounds each consultation with a timeout, a per-cycle
// token budget and retries with backoff (RetryTransport), caches answers by
// the situation's digest, and falls back to the heuristic agent — recording
// why in Proposal.Fallback — whenever the model cannot give a valid answer:
//
//	model, err := llm.NewOpenAI(llm.OpenAIConfig{}.FromEnv(os.Getenv), llm.Config{})
//	…
//	heuristic, err := agents.NewHeuristic(agents.HeuristicConfig{})
//	…
//	agent, err := llm.NewChain(model, heuristic, llm.ChainConfig{})
//	…
//	proposals, err := agent.Propose(ctx, situation) // then policies.Engine.Decide
package llm
