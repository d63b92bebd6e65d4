package llmtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// ToolCall is a tool call the scripted model makes.
type ToolCall struct {
	// ID identifies the call; default "call_<request>_<index>".
	ID string
	// Name is the tool's name.
	Name string
	// Arguments is the JSON text of the arguments, sent verbatim (so it
	// may be malformed on purpose).
	Arguments string
}

// Reply is the scripted answer to one request.
type Reply struct {
	// Delay is waited before answering; a request cancelled meanwhile
	// gets no answer.
	Delay time.Duration
	// Status, when not 0 or 200, answers with this HTTP status and an
	// OpenAI-style error body.
	Status int
	// Raw, when not empty, is written as the response body verbatim with
	// status 200 (e.g. malformed JSON).
	Raw string
	// Content is the assistant message's text.
	Content string
	// ToolCalls are the assistant's tool calls.
	ToolCalls []ToolCall
	// PromptTokens and CompletionTokens are reported as usage. Default:
	// the request body's length / 4 and the reply's length / 4, at least 1.
	PromptTokens, CompletionTokens int
}

// Message is one chat message of a recorded request, in either wire format.
type Message struct {
	Role       string     `json:"role"`
	Content    string     `json:"content"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
	ToolCalls  []ToolCall `json:"-"`
}

// Request is a request the server received.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
	// Model is the request's "model" field.
	Model string
	// Messages are the request's chat messages (nil when the body did not
	// parse).
	Messages []Message
	// Tools are the names of the tools the request offered.
	Tools []string
}

// Responder chooses the reply to the n-th request (from 0).
type Responder func(n int, req Request) Reply

// Server is a scripted chat-completions server. It is safe for concurrent
// use.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	respond  Responder
	requests []Request
}

// NewServer starts a server that answers the n-th request with script[n].
// Once the script is exhausted it answers 500 "script exhausted".
func NewServer(script ...Reply) *Server {
	script = append([]Reply(nil), script...)
	return NewResponderServer(func(n int, _ Request) Reply {
		if n < len(script) {
			return script[n]
		}
		return Reply{Status: http.StatusInternalServerError, Content: "llmtest: script exhausted"}
	})
}

// NewResponderServer starts a server that asks respond for every reply.
func NewResponderServer(respond Responder) *Server {
	s := &Server{respond: respond}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// BaseURL returns the OpenAI-compatible API root, e.g. "http://127.0.0.1:1234/v1".
func (s *Server) BaseURL() string { return s.URL + "/v1" }

// Requests returns a copy of the requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	ollama := strings.HasSuffix(r.URL.Path, "/api/chat")
	if ollama {
		parseOllama(&req)
	} else {
		parseOpenAI(&req)
	}
	s.mu.Lock()
	n := len(s.requests)
	s.requests = append(s.requests, req)
	s.mu.Unlock()

	if r.Method != http.MethodPost || !(ollama || strings.HasSuffix(r.URL.Path, "/chat/completions")) {
		http.Error(w, `{"error":{"message":"llmtest: no such endpoint","type":"invalid_request_error"}}`, http.StatusNotFound)
		return
	}
	rep := s.respond(n, req)
	if rep.Delay > 0 {
		t := time.NewTimer(rep.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case rep.Status != 0 && rep.Status != http.StatusOK:
		msg := rep.Content
		if msg == "" {
			msg = http.StatusText(rep.Status)
		}
		w.WriteHeader(rep.Status)
		if ollama {
			_ = json.NewEncoder(w).Encode(map[string]any{"error": msg})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": "server_error", "code": rep.Status}})
		return
	case rep.Raw != "":
		_, _ = io.WriteString(w, rep.Raw)
		return
	}
	prompt, completion := rep.PromptTokens, rep.CompletionTokens
	if prompt == 0 {
		prompt = max(1, len(body)/4)
	}
	if completion == 0 {
		size := len(rep.Content)
		for _, tc := range rep.ToolCalls {
			size += len(tc.Name) + len(tc.Arguments)
		}
		completion = max(1, size/4)
	}
	if ollama {
		_ = json.NewEncoder(w).Encode(ollamaReply(req.Model, rep, prompt, completion))
		return
	}
	_ = json.NewEncoder(w).Encode(openAIReply(n, req.Model, rep, prompt, completion))
}

func openAIReply(n int, model string, rep Reply, prompt, completion int) map[string]any {
	msg := map[string]any{"role": "assistant", "content": rep.Content}
	finish := "stop"
	if len(rep.ToolCalls) > 0 {
		var calls []map[string]any
		for i, tc := range rep.ToolCalls {
			id := tc.ID
			if id == "" {
				id = fmt.Sprintf("call_%d_%d", n, i)
			}
			calls = append(calls, map[string]any{
				"id": id, "type": "function",
				"function": map[string]any{"name": tc.Name, "arguments": tc.Arguments},
			})
		}
		msg["tool_calls"] = calls
		finish = "tool_calls"
	}
	if model == "" {
		model = "scripted"
	}
	return map[string]any{
		"id": fmt.Sprintf("chatcmpl-%d", n), "object": "chat.completion", "created": 1767225600, "model": model,
		"choices": []map[string]any{{"index": 0, "message": msg, "finish_reason": finish}},
		"usage":   map[string]any{"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
	}
}

// ollamaReply writes a tool call as the text protocol {"tool", "arguments"}.
func ollamaReply(model string, rep Reply, prompt, completion int) map[string]any {
	content := rep.Content
	if len(rep.ToolCalls) > 0 {
		tc := rep.ToolCalls[0]
		content = `{"tool":` + quote(tc.Name) + `,"arguments":` + tc.Arguments + `}`
	}
	return map[string]any{
		"model": model, "created_at": "2026-01-01T00:00:00Z",
		"message": map[string]any{"role": "assistant", "content": content},
		"done":    true, "prompt_eval_count": prompt, "eval_count": completion,
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func parseOpenAI(req *Request) {
	var body struct {
		Model    string `json:"model"`
		Messages []struct {
			Role       string          `json:"role"`
			Content    json.RawMessage `json:"content"`
			ToolCallID string          `json:"tool_call_id"`
			ToolCalls  []struct {
				ID       string `json:"id"`
				Function struct {
					Name      string `json:"name"`
					Arguments string `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"messages"`
		Tools []struct {
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		} `json:"tools"`
	}
	if json.Unmarshal(req.Body, &body) != nil {
		return
	}
	req.Model = body.Model
	for _, m := range body.Messages {
		msg := Message{Role: m.Role, Content: contentText(m.Content), ToolCallID: m.ToolCallID}
		for _, tc := range m.ToolCalls {
			msg.ToolCalls = append(msg.ToolCalls, ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
		}
		req.Messages = append(req.Messages, msg)
	}
	for _, t := range body.Tools {
		req.Tools = append(req.Tools, t.Function.Name)
	}
}

// contentText reads a message's content, a string or a list of parts.
func contentText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) == nil {
		var b strings.Builder
		for _, p := range parts {
			b.WriteString(p.Text)
		}
		return b.String()
	}
	return ""
}

func parseOllama(req *Request) {
	var body struct {
		Model    string    `json:"model"`
		Messages []Message `json:"messages"`
	}
	if json.Unmarshal(req.Body, &body) != nil {
		return
	}
	req.Model = body.Model
	req.Messages = body.Messages
}
