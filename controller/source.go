package controller

import (
	"context"
	"fmt"
	"sync"
	"time"

	stuurmanv1 "github.com/stuurman/stuurman/api/v1alpha1"
	"github.com/stuurman/stuurman/metrics"
)

// Target identifies one workload a WorkloadPolicy steers.
type Target struct {
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
}

func (t Target) String() string { return t.Kind + "/" + t.Namespace + "/" + t.Name }

// DemandQuery asks for the demand of all of one policy's targets over
// [Start, End) at Step.
type DemandQuery struct {
	// Metric is the policy's metric: a query template or a resource.
	Metric stuurmanv1.MetricSpec
	// Targets are the policy's targets, all in one namespace, all of one
	// kind.
	Targets []Target
	Start   time.Time
	End     time.Time
	Step    time.Duration
}

// MetricSource reads demand.
type MetricSource interface {
	// Demand returns the demand of q's targets in one batched read: one
	// query per metric for all of them, never one per target. A series
	// holds the samples complete at q.End, at q.Step, NaN for gaps; a
	// target absent from the map has no data. An error means the read
	// failed as a whole, and the controller holds.
	Demand(ctx context.Context, q DemandQuery) (map[Target]metrics.Series, error)
}

// MetricSourceFunc adapts a function to a MetricSource.
type MetricSourceFunc func(ctx context.Context, q DemandQuery) (map[Target]metrics.Series, error)

// Demand calls f.
func (f MetricSourceFunc) Demand(ctx context.Context, q DemandQuery) (map[Target]metrics.Series, error) {
	return f(ctx, q)
}

var (
	_ MetricSource = MetricSourceFunc(nil)
	_ MetricSource = (*ReplaySource)(nil)
)

// ReplaySource is an in-process MetricSource that replays recorded series,
// one per target: a query at time End sees only the samples complete at
// End. It can be told to fail or to stop serving new samples, to exercise
// the controller's holds. It is safe for concurrent use.
type ReplaySource struct {
	mu      sync.Mutex
	series  map[Target]metrics.Series
	err     error
	cutoff  time.Time
	queries int
}

// NewReplaySource returns an empty ReplaySource.
func NewReplaySource() *ReplaySource {
	return &ReplaySource{series: map[Target]metrics.Series{}}
}

// Set makes s the recorded demand of t.
func (r *ReplaySource) Set(t Target, s metrics.Series) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.series[t] = s
}

// Fail makes every read fail with err until Fail(nil).
func (r *ReplaySource) Fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
}

// Cut serves no sample at or after t, as if the metric stopped being
// scraped at t; the zero time serves everything again.
func (r *ReplaySource) Cut(t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cutoff = t
}

// Queries returns how many reads were made.
func (r *ReplaySource) Queries() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.queries
}

// Demand returns the recorded samples of q's targets within [q.Start,
// q.End) that are complete at q.End.
func (r *ReplaySource) Demand(_ context.Context, q DemandQuery) (map[Target]metrics.Series, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queries++
	if r.err != nil {
		return nil, r.err
	}
	end := q.End
	if !r.cutoff.IsZero() && r.cutoff.Before(end) {
		end = r.cutoff
	}
	out := map[Target]metrics.Series{}
	for _, t := range q.Targets {
		s, ok := r.series[t]
		if !ok {
			continue
		}
		if s.Step != q.Step {
			return nil, fmt.Errorf("replay source: %s is recorded at step %v, the query asks for %v", t, s.Step, q.Step)
		}
		s = s.Until(end)
		i := min(max(s.Index(q.Start), 0), s.Len())
		out[t] = s.Slice(i, s.Len()).Clone()
	}
	return out, nil
}
