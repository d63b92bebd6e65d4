// Package metrics is the observe stage of the stuurman pipeline.
//
// It provides the Series value — a fixed-step run of float64 samples in which
// NaN marks a missing sample — and the sources that produce it. The first
// source is CSV replay (ReadCSV), which turns a recorded trace into a Series
// so that every later stage can run with no cluster and no Prometheus.
//
// A Series never invents data: missing rows become NaN gaps, never zeros, and
// a run of zeros in the input stays a run of zeros (a real outage).
package metrics
