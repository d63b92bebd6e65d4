package llm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	openai "github.com/sashabaranov/go-openai"
)

// OpenAIConfig configures an OpenAI-compatible endpoint: OpenAI, Azure
// OpenAI, vLLM, Ollama (/v1), llama.cpp's server, and anything else that
// speaks chat completions with tool calls. Empty fields are filled from the
// environment by FromEnv, then from the defaults documented on each field.
type OpenAIConfig struct {
	// BaseURL is the API root, e.g. "http://localhost:11434/v1" for
	// Ollama, "http://vllm:8000/v1" for vLLM, or the Azure resource's
	// endpoint "https://NAME.openai.azure.com". Env OPENAI_BASE_URL.
	// Default: OpenAI's API.
	BaseURL string
	// APIKey is sent as the bearer token (Azure: the api-key). Env
	// OPENAI_API_KEY. Local servers accept any value, or none.
	APIKey string
	// Model is the model name (Azure: the deployment name). Env
	// OPENAI_MODEL. Default "gpt-4o-mini".
	Model string
	// APIType is "openai" (default) or "azure". Env OPENAI_API_TYPE.
	APIType string
	// APIVersion is Azure's api-version. Env OPENAI_API_VERSION. Default
	// "2024-10-21".
	APIVersion string
	// Organization is sent as OpenAI-Organization when set. Env
	// OPENAI_ORG_ID.
	Organization string
	// HTTPClient sends the requests; its transport is wrapped in a
	// RetryTransport. Default: a client with http.DefaultTransport.
	HTTPClient *http.Client
	// Retry tunes retries of 429 and 5xx answers.
	Retry RetryConfig
}

// FromEnv returns c with every empty field that has an environment
// variable filled from getenv (os.Getenv in production; a map in tests).
func (c OpenAIConfig) FromEnv(getenv func(string) string) OpenAIConfig {
	fill := func(dst *string, key string) {
		if *dst == "" {
			*dst = strings.TrimSpace(getenv(key))
		}
	}
	fill(&c.BaseURL, "OPENAI_BASE_URL")
	fill(&c.APIKey, "OPENAI_API_KEY")
	fill(&c.Model, "OPENAI_MODEL")
	fill(&c.APIType, "OPENAI_API_TYPE")
	fill(&c.APIVersion, "OPENAI_API_VERSION")
	fill(&c.Organization, "OPENAI_ORG_ID")
	return c
}

// Defaults of OpenAIConfig.
const (
	DefaultOpenAIModel = "gpt-4o-mini"
	defaultAzureAPI    = "2024-10-21"
)

// OpenAIClient is the Client adapter for OpenAI-compatible endpoints,
// built on go-openai.
type OpenAIClient struct {
	client *openai.Client
	model  string
	retry  *RetryTransport
}

var _ Client = (*OpenAIClient)(nil)

// NewOpenAIClient returns a client for the endpoint cfg describes. It does
// not read the environment: call cfg.FromEnv first for that.
func NewOpenAIClient(cfg OpenAIConfig) (*OpenAIClient, error) {
	if cfg.Model == "" {
		cfg.Model = DefaultOpenAIModel
	}
	var oc openai.ClientConfig
	switch strings.ToLower(cfg.APIType) {
	case "", "openai":
		oc = openai.DefaultConfig(cfg.APIKey)
		if cfg.BaseURL != "" {
			oc.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
		}
	case "azure":
		if cfg.BaseURL == "" {
			return nil, errors.New("llm: openai: BaseURL: required for Azure (the resource's endpoint)")
		}
		oc = openai.DefaultAzureConfig(cfg.APIKey, strings.TrimRight(cfg.BaseURL, "/"))
		oc.APIVersion = cfg.APIVersion
		if oc.APIVersion == "" {
			oc.APIVersion = defaultAzureAPI
		}
		// The model is the deployment's name, used as is.
		oc.AzureModelMapperFunc = func(model string) string { return model }
	default:
		return nil, fmt.Errorf("llm: openai: APIType: must be \"openai\" or \"azure\", got %q", cfg.APIType)
	}
	oc.OrgID = cfg.Organization
	hc, rt, err := retryingClient(cfg.HTTPClient, cfg.Retry)
	if err != nil {
		return nil, err
	}
	oc.HTTPClient = hc
	return &OpenAIClient{client: openai.NewClientWithConfig(oc), model: cfg.Model, retry: rt}, nil
}

// NewOpenAI returns an Agent for the endpoint cfg describes; see
// NewOpenAIClient. Its name is "openai:<model>" unless acfg.Name is set.
func NewOpenAI(cfg OpenAIConfig, acfg Config) (*Agent, error) {
	c, err := NewOpenAIClient(cfg)
	if err != nil {
		return nil, err
	}
	if acfg.Name == "" {
		acfg.Name = "openai:" + c.model
	}
	return New(c, acfg)
}

// Model returns the model name requests use.
func (c *OpenAIClient) Model() string { return c.model }

// Retries returns how many HTTP requests were resent.
func (c *OpenAIClient) Retries() int { return c.retry.Retries() }

// Complete implements Client.
func (c *OpenAIClient) Complete(ctx context.Context, req Request) (Response, error) {
	creq := openai.ChatCompletionRequest{Model: c.model, MaxTokens: req.MaxTokens}
	for _, m := range req.Messages {
		om := openai.ChatCompletionMessage{Role: string(m.Role), Content: m.Content, ToolCallID: m.ToolCallID}
		for _, tc := range m.ToolCalls {
			om.ToolCalls = append(om.ToolCalls, openai.ToolCall{ID: tc.ID, Type: openai.ToolTypeFunction,
				Function: openai.FunctionCall{Name: tc.Name, Arguments: tc.Arguments}})
		}
		creq.Messages = append(creq.Messages, om)
	}
	for _, t := range req.Tools {
		creq.Tools = append(creq.Tools, openai.Tool{Type: openai.ToolTypeFunction,
			Function: &openai.FunctionDefinition{Name: t.Name, Description: t.Description, Parameters: t.Parameters}})
	}
	resp, err := c.client.CreateChatCompletion(ctx, creq)
	if err != nil {
		return Response{}, err
	}
	if len(resp.Choices) == 0 {
		return Response{}, errors.New("no choices in the response")
	}
	msg := resp.Choices[0].Message
	out := Response{
		Message: Message{Role: RoleAssistant, Content: msg.Content},
		Usage:   Usage{PromptTokens: resp.Usage.PromptTokens, CompletionTokens: resp.Usage.CompletionTokens},
	}
	for _, tc := range msg.ToolCalls {
		out.Message.ToolCalls = append(out.Message.ToolCalls, ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
	}
	return out, nil
}

// retryingClient returns a copy of hc (nil: a new client) whose transport
// retries.
func retryingClient(hc *http.Client, cfg RetryConfig) (*http.Client, *RetryTransport, error) {
	out := &http.Client{}
	if hc != nil {
		*out = *hc
	}
	rt, err := NewRetryTransport(out.Transport, cfg)
	if err != nil {
		return nil, nil, err
	}
	out.Transport = rt
	return out, rt, nil
}
