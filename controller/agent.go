package controller

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/stuurman/stuurman/agents"
	stuurmanv1 "github.com/stuurman/stuurman/api/v1alpha1"
)

// ErrAgentUnavailable is wrapped by the errors of an AgentBuilder asked for
// an agent it cannot build (an LLM agent without an endpoint).
var ErrAgentUnavailable = errors.New("agent unavailable")

// AgentBuilder builds the agent a WorkloadPolicy names.
type AgentBuilder func(spec stuurmanv1.AgentSpec) (agents.Agent, error)

// BuildHeuristic is the default AgentBuilder: it builds the heuristic agent
// with spec.Options, and refuses the LLM agents, which need an endpoint the
// controller is configured with.
func BuildHeuristic(spec stuurmanv1.AgentSpec) (agents.Agent, error) {
	switch spec.Name {
	case "", stuurmanv1.AgentHeuristic:
	default:
		return nil, fmt.Errorf("agent %q: this controller has no LLM endpoint configured: %w", spec.Name, ErrAgentUnavailable)
	}
	cfg, err := HeuristicConfig(spec.Options)
	if err != nil {
		return nil, err
	}
	return agents.NewHeuristic(cfg)
}

// HeuristicConfig parses the heuristic agent's options; errors name the
// option.
func HeuristicConfig(opts map[string]string) (agents.HeuristicConfig, error) {
	var cfg agents.HeuristicConfig
	for k, v := range opts {
		var err error
		switch k {
		case "reactiveUtilization":
			cfg.ReactiveUtilization, err = strconv.ParseFloat(v, 64)
		case "maxMASE":
			cfg.MaxMASE, err = strconv.ParseFloat(v, 64)
		case "scaleDownTolerance":
			cfg.ScaleDownTolerance, err = strconv.ParseFloat(v, 64)
		case "minHistory":
			cfg.MinHistory, err = strconv.Atoi(v)
		case "restartWithin":
			cfg.RestartWithin, err = time.ParseDuration(v)
		default:
			return cfg, fmt.Errorf("agent.options.%s: unknown option of the heuristic agent", k)
		}
		if err != nil {
			return cfg, fmt.Errorf("agent.options.%s: %q: %w", k, v, err)
		}
	}
	return cfg, cfg.Validate()
}
