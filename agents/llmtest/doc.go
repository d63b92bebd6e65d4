// Package llmtest provides a scripted, OpenAI-compatible chat-completions
// server for tests and offline evals of the LLM agents (agents/llm).
//
// The server speaks real HTTP, so tests exercise the real client libraries
// (go-openai, and langchaingo's OpenAI and Ollama clients) end to end. It
// answers from a script of Replies, one per request, records every request
// it received, and can be slow, fail with any HTTP status (429, 500…), or
// answer with malformed JSON.
//
//	srv := llmtest.NewServer(
//		llmtest.Reply{Status: 429},
//		llmtest.Reply{ToolCalls: []llmtest.ToolCall{{Name: "propose_actions", Arguments: `{"proposals":[…]}`}}},
//	)
//	defer srv.Close()
//	// point the client at srv.URL + "/v1"
//
// Paths served: POST /v1/chat/completions (and /chat/completions, and the
// Azure form /openai/deployments/{name}/chat/completions) in the OpenAI wire
// format, and POST /api/chat in the Ollama wire format, where a scripted tool
// call is written as the JSON text {"tool": name, "arguments": {...}} — the
// protocol the agents use with models that have no native tool calling.
package llmtest
