package llm

import "context"

// Client is one chat-completion round trip with a model. The agent's
// design — prompt, tools, schema, validation and loop — lives in Agent; a
// Client only carries messages to a provider and back. Two adapters
// implement it: OpenAIClient (go-openai, any OpenAI-compatible endpoint)
// and LangChainClient (langchaingo providers).
type Client interface {
	Complete(ctx context.Context, req Request) (Response, error)
}

// Role is a chat message's author.
type Role string

// The roles.
const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"
)

// Message is one chat message.
type Message struct {
	Role    Role
	Content string
	// ToolCalls are the calls an assistant message makes.
	ToolCalls []ToolCall
	// ToolCallID and Name identify the call a tool message answers.
	ToolCallID string
	Name       string
}

// ToolCall is the model's request to run a tool.
type ToolCall struct {
	ID   string
	Name string
	// Arguments is the JSON text the model wrote, not yet validated.
	Arguments string
}

// ToolSpec describes a tool to the model.
type ToolSpec struct {
	Name        string
	Description string
	// Parameters is the JSON schema of the arguments.
	Parameters map[string]any
}

// Request is one completion request.
type Request struct {
	Messages []Message
	Tools    []ToolSpec
	// MaxTokens bounds the completion's length; 0: the provider's default.
	MaxTokens int
}

// Response is the model's answer: one assistant message and its cost.
type Response struct {
	Message Message
	Usage   Usage
}

// Usage counts tokens.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

// Total returns prompt plus completion tokens.
func (u Usage) Total() int { return u.PromptTokens + u.CompletionTokens }

func (u *Usage) add(v Usage) {
	u.PromptTokens += v.PromptTokens
	u.CompletionTokens += v.CompletionTokens
}
