package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"regexp"
	"strings"
	"unicode"

	"github.com/stuurman/stuurman/agents"
)

// ErrInvalidOutput marks output of the model that stuurman rejected:
// malformed JSON, an unknown workload or action, an out-of-range number, no
// proposal at all. The wrapping error gives the reason.
var ErrInvalidOutput = errors.New("invalid model output")

// Limits of what a proposal may contain; beyond them it is rejected as a
// whole, before the policy engine sees it.
const (
	maxProposals    = 3
	maxReasonLen    = 600
	maxEvidence     = 16
	maxEvidenceKey  = 64
	maxArgumentSize = 16 << 10
)

var evidenceKey = regexp.MustCompile(`^[a-z][a-z0-9_.]*$`)

// Validate decodes the arguments of a propose_actions call strictly and
// checks them against the situation: the workload must be s's (by id), the
// action one of hold, scale and restart, a scale's replicas in
// [0, max(1, s.Limits.MaxReplicas) × replicaFactor], confidence in [0, 1],
// the reason present and printable, the evidence finite numbers with
// snake_case names, at most one proposal per action kind, and not both a
// hold and a scale (a hold beside a restart keeps the count). Unknown
// fields, trailing data and numbers that do not fit their type are
// rejected. The error wraps ErrInvalidOutput and names the first problem.
//
// The returned proposals carry s's workload, s's replica count as From and
// agent as Agent; nothing of the model's reaches them except action,
// reason, evidence and confidence.
func Validate(args string, s agents.Situation, replicaFactor float64, agent string) ([]agents.Proposal, error) {
	bad := func(format string, a ...any) ([]agents.Proposal, error) {
		return nil, fmt.Errorf("%w: %s", ErrInvalidOutput, fmt.Sprintf(format, a...))
	}
	if len(args) > maxArgumentSize {
		return bad("arguments are %d bytes, more than %d", len(args), maxArgumentSize)
	}
	var pa ProposeArgs
	dec := json.NewDecoder(strings.NewReader(args))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pa); err != nil {
		return bad("malformed arguments: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return bad("malformed arguments: data after the JSON object")
	}
	if n := len(pa.Proposals); n == 0 || n > maxProposals {
		return bad("%d proposals, want 1 to %d", n, maxProposals)
	}
	id := WorkloadID(s.Workload)
	limit := math.Floor(float64(max(1, s.Limits.MaxReplicas)) * replicaFactor)
	seen := map[agents.ActionKind]bool{}
	out := make([]agents.Proposal, 0, len(pa.Proposals))
	for i, p := range pa.Proposals {
		at := fmt.Sprintf("proposals[%d]", i)
		if p.Workload != id {
			return bad("%s.workload: unknown workload %q (the only workload is %q)", at, truncate(p.Workload, 80), id)
		}
		switch p.Action {
		case agents.ActionHold, agents.ActionRestart:
			if p.Replicas != 0 && p.Replicas != s.State.Replicas {
				return bad("%s.replicas: %d given for a %s (omit it)", at, p.Replicas, p.Action)
			}
			p.Replicas = 0
		case agents.ActionScale:
			if p.Replicas < 0 {
				return bad("%s.replicas: %d is negative", at, p.Replicas)
			}
			if float64(p.Replicas) > limit {
				return bad("%s.replicas: %d is above %v (%v × maxReplicas %d)", at, p.Replicas, limit, replicaFactor, s.Limits.MaxReplicas)
			}
		default:
			return bad("%s.action: unknown action %q (want hold, scale or restart)", at, truncate(string(p.Action), 40))
		}
		if seen[p.Action] {
			return bad("%s.action: more than one %s proposal", at, p.Action)
		}
		seen[p.Action] = true
		if math.IsNaN(p.Confidence) || p.Confidence < 0 || p.Confidence > 1 {
			return bad("%s.confidence: %v is outside [0, 1]", at, p.Confidence)
		}
		reason := strings.TrimSpace(p.Reason)
		switch {
		case reason == "":
			return bad("%s.reason: empty", at)
		case len(reason) > maxReasonLen:
			return bad("%s.reason: %d bytes, more than %d", at, len(reason), maxReasonLen)
		case strings.IndexFunc(reason, func(r rune) bool { return unicode.IsControl(r) && r != '\n' }) >= 0:
			return bad("%s.reason: contains control characters", at)
		}
		if len(p.Evidence) > maxEvidence {
			return bad("%s.evidence: %d entries, more than %d", at, len(p.Evidence), maxEvidence)
		}
		for k, v := range p.Evidence {
			if len(k) > maxEvidenceKey || !evidenceKey.MatchString(k) {
				return bad("%s.evidence: key %q is not snake_case of at most %d bytes", at, truncate(k, 80), maxEvidenceKey)
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return bad("%s.evidence.%s: %v is not finite", at, k, v)
			}
		}
		out = append(out, agents.Proposal{
			Workload:   cloneWorkload(s.Workload),
			Action:     agents.Action{Kind: p.Action, Replicas: p.Replicas},
			From:       s.State.Replicas,
			Reason:     reason,
			Evidence:   maps.Clone(p.Evidence),
			Confidence: p.Confidence,
			Agent:      agent,
		})
	}
	if seen[agents.ActionHold] && seen[agents.ActionScale] {
		return bad("a hold and a scale contradict each other")
	}
	return out, nil
}

// WorkloadID is the id the model uses for w: Workload.String(), e.g.
// "Deployment/shop/web".
func WorkloadID(w agents.Workload) string { return w.String() }

func cloneWorkload(w agents.Workload) agents.Workload {
	w.Labels = maps.Clone(w.Labels)
	w.Annotations = maps.Clone(w.Annotations)
	return w
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// compactJSON re-encodes raw JSON without insignificant space; raw is
// returned when it does not parse.
func compactJSON(raw string) string {
	var b bytes.Buffer
	if json.Compact(&b, []byte(raw)) != nil {
		return raw
	}
	return b.String()
}
