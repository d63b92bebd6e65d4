// Package metrics is the observe stage of the stuurman pipeline.
//
// It provides the Series value — a fixed-step run of float64 samples in which
// NaN marks a missing sample — and the sources that produce it:
//
//   - ReadCSV / ReadCSVFile replay a recorded trace, so that every later stage
//     can run with no cluster and no Prometheus;
//   - Prometheus reads many workloads' history with one batched range query
//     per metric (chunked under Prometheus's per-query point limit) and
//     splits it into one Series per workload.
//
// A Series never invents data: missing samples become NaN gaps, never zeros,
// and a run of zeros in the input stays a run of zeros (a real outage).
package metrics
