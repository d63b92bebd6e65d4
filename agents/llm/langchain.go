package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/llms/anthropic"
	"github.com/tmc/langchaingo/llms/ollama"
	"github.com/tmc/langchaingo/llms/openai"
)

// The langchaingo providers LangChainClient supports.
const (
	ProviderOpenAI    = "openai"
	ProviderOllama    = "ollama"
	ProviderAnthropic = "anthropic"
)

// LangChainConfig configures a langchaingo provider. Empty fields are
// filled from the environment by FromEnv, then from the defaults documented
// on each field.
type LangChainConfig struct {
	// Provider is "ollama", "anthropic" or "openai" (any
	// OpenAI-compatible endpoint through langchaingo). Required.
	Provider string
	// Model is the model name. Env per provider: OLLAMA_MODEL,
	// ANTHROPIC_MODEL, OPENAI_MODEL. Default for ollama "llama3.1", for
	// anthropic "claude-3-5-haiku-latest", for openai "gpt-4o-mini".
	Model string
	// BaseURL is the server's root: for ollama "http://host:11434" (env
	// OLLAMA_HOST), for anthropic the API root (env ANTHROPIC_BASE_URL),
	// for openai the API root with /v1 (env OPENAI_BASE_URL). Default: the
	// provider's.
	BaseURL string
	// APIKey for anthropic (env ANTHROPIC_API_KEY) and openai (env
	// OPENAI_API_KEY); ollama needs none.
	APIKey string
	// HTTPClient sends the requests; its transport is wrapped in a
	// RetryTransport. Default: a client with http.DefaultTransport.
	HTTPClient *http.Client
	// Retry tunes retries of 429 and 5xx answers.
	Retry RetryConfig
}

// FromEnv returns c with every empty field that has an environment
// variable for c.Provider filled from getenv.
func (c LangChainConfig) FromEnv(getenv func(string) string) LangChainConfig {
	fill := func(dst *string, key string) {
		if *dst == "" {
			*dst = strings.TrimSpace(getenv(key))
		}
	}
	switch c.Provider {
	case ProviderOllama:
		fill(&c.Model, "OLLAMA_MODEL")
		fill(&c.BaseURL, "OLLAMA_HOST")
	case ProviderAnthropic:
		fill(&c.Model, "ANTHROPIC_MODEL")
		fill(&c.BaseURL, "ANTHROPIC_BASE_URL")
		fill(&c.APIKey, "ANTHROPIC_API_KEY")
	case ProviderOpenAI:
		fill(&c.Model, "OPENAI_MODEL")
		fill(&c.BaseURL, "OPENAI_BASE_URL")
		fill(&c.APIKey, "OPENAI_API_KEY")
	}
	return c
}

// LangChainClient is the Client adapter for langchaingo providers. With
// providers whose langchaingo client has no native tool calling (Ollama's
// native API), it speaks a text protocol: the tool catalogue goes into a
// second system message, the model answers with the JSON object
// {"tool": name, "arguments": {...}}, and tool results come back as tool
// messages. The agent's loop is the same either way.
type LangChainClient struct {
	model     llms.Model
	provider  string
	name      string
	textTools bool
	retry     *RetryTransport
}

var _ Client = (*LangChainClient)(nil)

// NewLangChainClient returns a client for the provider cfg describes. It
// does not read the environment: call cfg.FromEnv first for that.
func NewLangChainClient(cfg LangChainConfig) (*LangChainClient, error) {
	hc, rt, err := retryingClient(cfg.HTTPClient, cfg.Retry)
	if err != nil {
		return nil, err
	}
	c := &LangChainClient{provider: cfg.Provider, name: cfg.Model, retry: rt}
	switch cfg.Provider {
	case ProviderOllama:
		if c.name == "" {
			c.name = "llama3.1"
		}
		opts := []ollama.Option{ollama.WithModel(c.name), ollama.WithHTTPClient(hc), ollama.WithFormat("json")}
		if cfg.BaseURL != "" {
			u := cfg.BaseURL
			if !strings.Contains(u, "://") {
				u = "http://" + u
			}
			if _, err := url.Parse(u); err != nil {
				return nil, fmt.Errorf("llm: langchain: BaseURL: %w", err)
			}
			opts = append(opts, ollama.WithServerURL(u))
		}
		c.model, err = ollama.New(opts...)
		c.textTools = true
	case ProviderAnthropic:
		if c.name == "" {
			c.name = "claude-3-5-haiku-latest"
		}
		opts := []anthropic.Option{anthropic.WithModel(c.name), anthropic.WithHTTPClient(hc), anthropic.WithToken(cfg.APIKey)}
		if cfg.BaseURL != "" {
			opts = append(opts, anthropic.WithBaseURL(cfg.BaseURL))
		}
		c.model, err = anthropic.New(opts...)
	case ProviderOpenAI:
		if c.name == "" {
			c.name = DefaultOpenAIModel
		}
		key := cfg.APIKey
		if key == "" {
			// langchaingo insists on a token; local servers ignore it.
			key = "none"
		}
		opts := []openai.Option{openai.WithModel(c.name), openai.WithHTTPClient(hc), openai.WithToken(key)}
		if cfg.BaseURL != "" {
			opts = append(opts, openai.WithBaseURL(cfg.BaseURL))
		}
		c.model, err = openai.New(opts...)
	default:
		return nil, fmt.Errorf("llm: langchain: Provider: must be %q, %q or %q, got %q", ProviderOllama, ProviderAnthropic, ProviderOpenAI, cfg.Provider)
	}
	if err != nil {
		return nil, fmt.Errorf("llm: langchain: %s: %w", cfg.Provider, err)
	}
	return c, nil
}

// NewLangChain returns an Agent for the provider cfg describes; see
// NewLangChainClient. Its name is "langchain/<provider>:<model>" unless
// acfg.Name is set.
func NewLangChain(cfg LangChainConfig, acfg Config) (*Agent, error) {
	c, err := NewLangChainClient(cfg)
	if err != nil {
		return nil, err
	}
	if acfg.Name == "" {
		acfg.Name = "langchain/" + c.provider + ":" + c.name
	}
	return New(c, acfg)
}

// Retries returns how many HTTP requests were resent.
func (c *LangChainClient) Retries() int { return c.retry.Retries() }

// Complete implements Client.
func (c *LangChainClient) Complete(ctx context.Context, req Request) (Response, error) {
	var msgs []llms.MessageContent
	var opts []llms.CallOption
	if req.MaxTokens > 0 {
		opts = append(opts, llms.WithMaxTokens(req.MaxTokens))
	}
	if c.textTools {
		msgs = c.textMessages(req)
	} else {
		msgs = nativeMessages(req.Messages)
		var tools []llms.Tool
		for _, t := range req.Tools {
			tools = append(tools, llms.Tool{Type: "function", Function: &llms.FunctionDefinition{Name: t.Name, Description: t.Description, Parameters: t.Parameters}})
		}
		opts = append(opts, llms.WithTools(tools))
	}
	resp, err := c.model.GenerateContent(ctx, msgs, opts...)
	if err != nil {
		return Response{}, err
	}
	if resp == nil || len(resp.Choices) == 0 {
		return Response{}, errors.New("no choices in the response")
	}
	// Anthropic answers with one choice per content block; take the text
	// of all and every tool call.
	out := Response{Message: Message{Role: RoleAssistant}}
	for _, ch := range resp.Choices {
		out.Message.Content += ch.Content
		for _, tc := range ch.ToolCalls {
			if tc.FunctionCall != nil {
				out.Message.ToolCalls = append(out.Message.ToolCalls, ToolCall{ID: tc.ID, Name: tc.FunctionCall.Name, Arguments: tc.FunctionCall.Arguments})
			}
		}
	}
	out.Usage = usageOf(resp.Choices[0].GenerationInfo)
	if c.textTools && len(out.Message.ToolCalls) == 0 {
		if tc, ok := parseTextToolCall(out.Message.Content); ok {
			tc.ID = fmt.Sprintf("call_%d", len(req.Messages))
			out.Message.ToolCalls = []ToolCall{tc}
		}
	}
	return out, nil
}

func nativeMessages(in []Message) []llms.MessageContent {
	var out []llms.MessageContent
	for _, m := range in {
		switch m.Role {
		case RoleSystem:
			out = append(out, llms.TextParts(llms.ChatMessageTypeSystem, m.Content))
		case RoleUser:
			out = append(out, llms.TextParts(llms.ChatMessageTypeHuman, m.Content))
		case RoleAssistant:
			mc := llms.MessageContent{Role: llms.ChatMessageTypeAI}
			if m.Content != "" {
				mc.Parts = append(mc.Parts, llms.TextPart(m.Content))
			}
			for _, tc := range m.ToolCalls {
				mc.Parts = append(mc.Parts, llms.ToolCall{ID: tc.ID, Type: "function", FunctionCall: &llms.FunctionCall{Name: tc.Name, Arguments: tc.Arguments}})
			}
			out = append(out, mc)
		case RoleTool:
			out = append(out, llms.MessageContent{Role: llms.ChatMessageTypeTool,
				Parts: []llms.ContentPart{llms.ToolCallResponse{ToolCallID: m.ToolCallID, Name: m.Name, Content: m.Content}}})
		}
	}
	return out
}

// textToolProtocol introduces the tool catalogue for models without native
// tool calling. It holds only stuurman's own text.
const textToolProtocol = `You call tools by answering with exactly one JSON object and nothing else:
{"tool": "<tool name>", "arguments": {<arguments matching the tool's parameters>}}
Tool results come back in tool messages, as JSON data. The tools:`

func (c *LangChainClient) textMessages(req Request) []llms.MessageContent {
	var catalogue strings.Builder
	catalogue.WriteString(textToolProtocol)
	for _, t := range req.Tools {
		params, _ := json.Marshal(t.Parameters)
		fmt.Fprintf(&catalogue, "\n- %s: %s\n  parameters: %s", t.Name, t.Description, params)
	}
	var out []llms.MessageContent
	for i, m := range req.Messages {
		switch m.Role {
		case RoleSystem:
			out = append(out, llms.TextParts(llms.ChatMessageTypeSystem, m.Content))
			if i == 0 {
				out = append(out, llms.TextParts(llms.ChatMessageTypeSystem, catalogue.String()))
			}
		case RoleUser:
			out = append(out, llms.TextParts(llms.ChatMessageTypeHuman, m.Content))
		case RoleAssistant:
			text := m.Content
			if len(m.ToolCalls) > 0 {
				tc := m.ToolCalls[0]
				text = `{"tool":` + quoteJSON(tc.Name) + `,"arguments":` + argsOrEmpty(tc.Arguments) + `}`
			}
			out = append(out, llms.TextParts(llms.ChatMessageTypeAI, text))
		case RoleTool:
			out = append(out, llms.TextParts(llms.ChatMessageTypeTool, `{"tool":`+quoteJSON(m.Name)+`,"result":`+m.Content+`}`))
		}
	}
	return out
}

// parseTextToolCall reads {"tool": name, "arguments": {...}}.
func parseTextToolCall(content string) (ToolCall, bool) {
	var v struct {
		Tool      string          `json:"tool"`
		Arguments json.RawMessage `json:"arguments"`
	}
	s := strings.TrimSpace(content)
	s = strings.TrimPrefix(s, "```json")
	s = strings.TrimPrefix(s, "```")
	s = strings.TrimSuffix(strings.TrimSpace(s), "```")
	if json.Unmarshal([]byte(s), &v) != nil || v.Tool == "" {
		return ToolCall{}, false
	}
	args := string(v.Arguments)
	if args == "" || args == "null" {
		args = "{}"
	}
	return ToolCall{Name: v.Tool, Arguments: args}, true
}

func argsOrEmpty(s string) string {
	if !json.Valid([]byte(s)) {
		return quoteJSON(s)
	}
	return s
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// usageOf reads token counts from langchaingo's generation info, which
// names them per provider.
func usageOf(info map[string]any) Usage {
	get := func(keys ...string) int {
		for _, k := range keys {
			switch v := info[k].(type) {
			case int:
				return v
			case int64:
				return int(v)
			case float64:
				return int(v)
			}
		}
		return 0
	}
	return Usage{PromptTokens: get("PromptTokens", "InputTokens"), CompletionTokens: get("CompletionTokens", "OutputTokens")}
}
