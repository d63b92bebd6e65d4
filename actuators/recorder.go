package actuators

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/stuurman/stuurman/agents"
	"github.com/stuurman/stuurman/policies"
)

// Result is what an actuator did with one decision.
type Result struct {
	Decision policies.Decision `json:"decision"`
	// Applied is true when the workload was changed; a dry run never is.
	Applied bool `json:"applied"`
	// Time is when the actuator handled the decision.
	Time time.Time `json:"time"`
	// Actor is who carried it out or approved it ("dry-run", a user).
	Actor string `json:"actor"`
	// Message says what happened, for humans.
	Message string `json:"message"`
	// Replicas is the workload's replica count afterwards (for a dry run,
	// what it would have been).
	Replicas int `json:"replicas"`
}

// Recorder is the dry-run actuator: it records decisions and has no side
// effects. It is safe for concurrent use.
type Recorder struct {
	mu      sync.Mutex
	keep    func(policies.Decision) bool
	results []Result
	total   int
}

// NewRecorder returns a Recorder that keeps the results whose decision
// satisfies keep (nil: keep all). Every decision is counted either way, so a
// long replay can keep only the decisions worth reading.
func NewRecorder(keep func(policies.Decision) bool) *Recorder {
	return &Recorder{keep: keep}
}

// Apply records d and returns what would have happened. It never fails.
func (r *Recorder) Apply(_ context.Context, d policies.Decision) (Result, error) {
	res := Result{Decision: d, Time: d.Time, Actor: "dry-run", Replicas: d.Proposal.From}
	switch {
	case d.Changes():
		res.Replicas = d.Action.Replicas
		res.Message = "dry run: would " + describe(d)
	case d.Verdict == policies.Deny:
		res.Message = "denied: nothing to do"
	default:
		res.Message = "hold: nothing to do"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total++
	if r.keep == nil || r.keep(d) {
		r.results = append(r.results, res)
	}
	return res, nil
}

// Results returns a copy of the recorded results, oldest first.
func (r *Recorder) Results() []Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Result(nil), r.results...)
}

// Total returns how many decisions Apply has seen, kept or not.
func (r *Recorder) Total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total
}

// Notable reports whether a decision is worth keeping in a report: it
// changes the workload, or it was not allowed. Holds — including proposals
// that stabilisation turned into holds — are only counted.
func Notable(d policies.Decision) bool {
	return d.Changes() || d.Verdict != policies.Allow
}

func describe(d policies.Decision) string {
	switch d.Action.Kind {
	case agents.ActionScale:
		return "scale " + strconv.Itoa(d.Proposal.From) + " → " + strconv.Itoa(d.Action.Replicas)
	default:
		return string(d.Action.Kind)
	}
}
