package controller

import (
	"context"
	"fmt"

	stuurmanv1 "github.com/stuurman/stuurman/api/v1alpha1"
	"github.com/stuurman/stuurman/metrics"
)

// MemoryUsageTemplate is the demand in bytes: cAdvisor's working set summed
// over each workload's containers, attributed to workloads by pod name as
// the templates of package metrics are.
const MemoryUsageTemplate = `sum by (namespace, workload) (
  label_replace(
    container_memory_working_set_bytes{namespace=~"{{.Namespaces}}", pod=~"{{.Pods}}", container!="", container!="POD"},
    "workload", "$1", "pod", "{{.Pods}}"
  )
)`

// PrometheusSource is the MetricSource that reads a policy's metric from
// Prometheus (or Thanos, Mimir): one range query per cycle for all the
// policy's targets.
type PrometheusSource struct {
	Prometheus *metrics.Prometheus
}

var _ MetricSource = PrometheusSource{}

// Demand renders the policy's query (or the template of its resource
// metric) for q's targets and reads it over q's range.
func (s PrometheusSource) Demand(ctx context.Context, q DemandQuery) (map[Target]metrics.Series, error) {
	pq := metrics.PrometheusQuery{Name: "demand", Template: q.Metric.Query, WorkloadLabel: q.Metric.WorkloadLabel}
	switch q.Metric.Resource {
	case "":
	case stuurmanv1.ResourceCPU:
		pq = metrics.PrometheusQuery{Name: "cpu", Template: metrics.CPUUsageTemplate}
	case stuurmanv1.ResourceMemory:
		pq = metrics.PrometheusQuery{Name: "memory", Template: MemoryUsageTemplate}
	default:
		return nil, fmt.Errorf("metric.resource %q: want cpu or memory", q.Metric.Resource)
	}
	ws := make([]metrics.Workload, len(q.Targets))
	for i, t := range q.Targets {
		ws[i] = metrics.Workload{Namespace: t.Namespace, Name: t.Name}
	}
	b, err := s.Prometheus.Range(ctx, pq, ws, q.Start, q.End, q.Step)
	if err != nil {
		return nil, err
	}
	out := make(map[Target]metrics.Series, len(q.Targets))
	for _, t := range q.Targets {
		if ws, ok := b.Series[metrics.Workload{Namespace: t.Namespace, Name: t.Name}]; ok {
			out[t] = ws.Series
		}
	}
	return out, nil
}
