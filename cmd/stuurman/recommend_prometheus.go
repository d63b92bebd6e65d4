package main

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stuurman/stuurman/agents"
	"github.com/stuurman/stuurman/evals/replay"
	"github.com/stuurman/stuurman/forecast"
	"github.com/stuurman/stuurman/metrics"
	"github.com/stuurman/stuurman/policies"
	"github.com/stuurman/stuurman/report"
)

// promHelp ends recommend's long help: how --prometheus reads demand and
// how to choose the capacity per pod.
const promHelp = `

The query: --metric requests (the default) reads the rate of
http_requests_total per second; --metric cpu reads the CPU cores used, from
cAdvisor's container_cpu_usage_seconds_total. Both attribute a pod to its
Deployment or StatefulSet by the pod's name and need the namespace and pod
labels on the metric. --query replaces them with your own PromQL template
(Go text/template) rendered with {{.Namespaces}}, {{.Names}} and {{.Pods}}
(regular expressions ready to put between double quotes; {{.Pods}} captures
the workload's name as $1), {{.RateWindow}} and {{.Step}}; its result must
have one series per workload labelled namespace and, by default, workload
(see --workload-label), e.g.
  sum by (namespace, deployment) (rate(requests_total{namespace=~"{{.Namespaces}}", deployment=~"{{.Names}}"}[{{.RateWindow}}]))
with --workload-label deployment.

Capacity per pod is the demand one ready pod serves while meeting its SLO,
in the query's units (requests per second, or cores); the simulated HPA
keeps pods at --hpa-target of it. Pick it from a load test (the highest
rate at which one pod still meets the SLO), or from what your HPA sees: if
8 pods served 280 req/s at the HPA's 70 % CPU target, one pod at 100 %
serves 280 / 8 / 0.7 = 50 req/s. With --metric cpu and no
--capacity-per-pod, it is derived per workload as the sum of its pod
template's CPU requests, which is 100 % to a CPU-utilisation HPA; a workload
without CPU requests is then skipped.`

// promOnlyFlags are the flags that make sense with --prometheus only.
var promOnlyFlags = []string{"kubeconfig", "namespace", "selector", "metric", "query", "workload-label", "window", "step", "end"}

type promFlags struct {
	url, kubeconfig, namespace, selector string
	metric, query, workloadLabel         string
	window, end                          string
	step                                 time.Duration
}

func addPromFlags(fl *pflag.FlagSet, f *promFlags) {
	fl.StringVar(&f.url, "prometheus", "", "Prometheus base URL to read the cluster's workloads' demand from (this or --trace)")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster config)")
	fl.StringVarP(&f.namespace, "namespace", "n", "", "namespace of the workloads (default: all namespaces)")
	fl.StringVarP(&f.selector, "selector", "l", "", "label selector the Deployments and StatefulSets must match, e.g. tier=frontend")
	fl.StringVar(&f.metric, "metric", "requests", "built-in query: requests (http_requests_total per second) or cpu (cores)")
	fl.StringVar(&f.query, "query", "", "PromQL template replacing --metric's (see above)")
	fl.StringVar(&f.workloadLabel, "workload-label", "workload", "label of --query's result series that holds the workload's name")
	fl.StringVar(&f.window, "window", "14d", "how much history to replay, ending at --end (Prometheus durations: 90m, 2d, 2w)")
	fl.DurationVar(&f.step, "step", time.Minute, "sample spacing of the history")
	fl.StringVar(&f.end, "end", "", "end of the history, RFC 3339 (default: now)")
}

// workload is one discovered Deployment or StatefulSet.
type workload struct {
	kind, namespace, name string
	labels                map[string]string
	replicas              int32
	// cpuRequest is the sum of the pod template's containers' CPU
	// requests in cores; 0 when any container has none.
	cpuRequest float64
}

func (w workload) key() metrics.Workload {
	return metrics.Workload{Namespace: w.namespace, Name: w.name}
}

func (w workload) id() string { return w.kind + " " + w.namespace + "/" + w.name }

func runRecommendPrometheus(cmd *cobra.Command, f recommendFlags) error {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	pf := f.prom
	now := time.Now()

	// Flags first, so that a mistake costs no round trip.
	capFlag := cmd.Flags().Changed("capacity-per-pod")
	if capFlag && (!(f.opts.CapacityPerPod > 0) || math.IsInf(f.opts.CapacityPerPod, 0)) {
		return fmt.Errorf("--capacity-per-pod must be a positive number, got %v", f.opts.CapacityPerPod)
	}
	for name, d := range map[string]time.Duration{"--startup-delay": f.opts.StartupDelay, "--interval": f.opts.Interval, "--lead-time": f.opts.LeadTime} {
		if d < 0 || (d == 0 && name != "--lead-time") {
			return fmt.Errorf("%s must be positive, got %v", name, d)
		}
	}
	if pf.step <= 0 {
		return fmt.Errorf("--step must be positive, got %v", pf.step)
	}
	w, err := model.ParseDuration(pf.window)
	if err != nil || w <= 0 {
		return fmt.Errorf("--window %q: want a positive duration such as 14d or 36h", pf.window)
	}
	window := time.Duration(w)
	if window < 2*pf.step {
		return fmt.Errorf("--window %s holds fewer than two steps of %v", pf.window, pf.step)
	}
	end := now
	if pf.end != "" {
		if end, err = time.Parse(time.RFC3339, pf.end); err != nil {
			return fmt.Errorf("--end %q: want RFC 3339, e.g. 2026-03-02T00:00:00Z", pf.end)
		}
	}
	q := metrics.PrometheusQuery{WorkloadLabel: pf.workloadLabel}
	derive := false
	switch pf.metric {
	case "requests":
		q.Name, q.Template = "requests_per_second", metrics.RequestRateTemplate
	case "cpu":
		q.Name, q.Template = "cpu_cores", metrics.CPUUsageTemplate
		derive = !capFlag
	default:
		return fmt.Errorf("--metric %q: want requests or cpu", pf.metric)
	}
	if pf.query != "" {
		q.Name, q.Template, derive = "demand", pf.query, false
	} else if pf.workloadLabel != "workload" {
		return fmt.Errorf("--workload-label applies to --query only: the built-in queries label their series workload")
	}
	if _, err := q.Render([]metrics.Workload{{Namespace: "ns", Name: "n"}}, time.Minute, pf.step); err != nil {
		return fmt.Errorf("--query: %w", err)
	}
	if !capFlag && !derive {
		return fmt.Errorf("--capacity-per-pod is required with --prometheus (except with --metric cpu, where it is derived from CPU requests): " +
			"give the demand one pod serves within its SLO, in the query's units — see recommend --help")
	}
	sel, err := labels.Parse(pf.selector)
	if err != nil {
		return fmt.Errorf("--selector %q: %w", pf.selector, err)
	}
	if f.policy != "" {
		p, err := policies.LoadFile(f.policy)
		if err != nil {
			return err
		}
		f.opts.Policy = &p
	}
	api, err := metrics.NewPrometheusClient(pf.url, nil)
	if err != nil {
		return fmt.Errorf("--prometheus: %w", err)
	}
	source, err := metrics.NewPrometheus(api, metrics.PrometheusOptions{})
	if err != nil {
		return err
	}

	// Observe: the workloads, then their demand in one batch.
	kube, err := kubeClient(pf.kubeconfig)
	if err != nil {
		return err
	}
	ws, err := discover(ctx, kube, pf.namespace, sel)
	if err != nil {
		return err
	}
	where := "all namespaces"
	if pf.namespace != "" {
		where = "namespace " + pf.namespace
	}
	if len(ws) == 0 {
		return fmt.Errorf("no Deployment or StatefulSet in %s matches the selector %q", where, sel.String())
	}
	var skipped []report.SkippedWorkload
	skip := func(w workload, reason string) {
		skipped = append(skipped, report.SkippedWorkload{Kind: w.kind, Namespace: w.namespace, Name: w.name, Reason: reason})
	}
	// Pods are attributed by name, so a Deployment and a StatefulSet of
	// the same name in one namespace cannot be told apart.
	count := map[metrics.Workload]int{}
	for _, w := range ws {
		count[w.key()]++
	}
	var keys []metrics.Workload
	var replayed []workload
	for _, w := range ws {
		if count[w.key()] > 1 {
			skip(w, "a Deployment and a StatefulSet share this name: their pods cannot be told apart by name")
			continue
		}
		keys = append(keys, w.key())
		replayed = append(replayed, w)
	}
	stderr := cmd.ErrOrStderr()
	start := end.Add(-window)
	var batch metrics.Batch
	if len(keys) > 0 {
		if batch, err = source.Range(ctx, q, keys, start, end, pf.step); err != nil {
			return err
		}
		for _, warning := range batch.Warnings {
			fmt.Fprintf(stderr, "prometheus: warning: %s\n", warning)
		}
	}

	// Replay each workload.
	began := time.Now()
	var covered []report.WorkloadReport
	for _, w := range replayed {
		got := batch.Series[w.key()]
		demand := got.Series
		if got.LastSample.IsZero() {
			skip(w, fmt.Sprintf("no samples of %s in the window", q.Name))
			continue
		}
		o := f.opts
		capSource := "--capacity-per-pod"
		if derive {
			if !(w.cpuRequest > 0) {
				skip(w, "no CPU request on every container of the pod template to derive the capacity per pod from; give --capacity-per-pod")
				continue
			}
			o.CapacityPerPod = w.cpuRequest
			capSource = "the pod template's CPU requests"
		}
		o.Workload = agents.Workload{Kind: w.kind, Namespace: w.namespace, Name: w.name, Labels: w.labels}
		demand.Name = q.Name
		if !f.quiet {
			o.Progress = progress(stderr, w.namespace+"/"+w.name)
		}
		rep, err := replay.Run(ctx, demand, o, now)
		if err != nil {
			return fmt.Errorf("%s: %w", w.id(), err)
		}
		rep.Title = "stuurman dry run: " + w.id()
		rep.Source = fmt.Sprintf("Prometheus %s, %s", pf.url, q.Name)
		rep.Findings = append(rep.Findings, dataFindings(w, got, batch.End)...)
		rep.Parameters = append(rep.Parameters,
			report.Parameter{Name: "replicas in the cluster", Value: strconv.Itoa(int(w.replicas))},
			report.Parameter{Name: "capacity per pod from", Value: capSource})
		covered = append(covered, report.WorkloadReport{Kind: w.kind, Namespace: w.namespace, Name: w.name, Report: rep})
	}

	selector := sel.String()
	if selector == "" {
		selector = "(everything)"
	}
	m := report.Workloads{
		Title:     fmt.Sprintf("stuurman dry run: %d workloads in %s", len(covered), where),
		Source:    fmt.Sprintf("Prometheus %s, %s", pf.url, q.Name),
		Generated: now,
		Parameters: []report.Parameter{
			{Name: "workloads", Value: fmt.Sprintf("Deployments and StatefulSets in %s matching %s: %d found, %d replayed, %d skipped", where, selector, len(ws), len(covered), len(skipped))},
			{Name: "history", Value: fmt.Sprintf("%s to %s at %v", batch.Start.UTC().Format(time.RFC3339), batch.End.UTC().Format(time.RFC3339), pf.step)},
			{Name: "query", Value: batch.Query},
			{Name: "range queries sent", Value: strconv.Itoa(batch.Queries)},
		},
		Workloads: covered,
		Skipped:   skipped,
	}
	if len(batch.Warnings) > 0 {
		m.Parameters = append(m.Parameters, report.Parameter{Name: "Prometheus warnings", Value: strings.Join(batch.Warnings, "; ")})
	}
	files, err := report.WriteWorkloads(f.out, m)
	if err != nil {
		return err
	}

	out := cmd.OutOrStdout()
	queries := "range queries"
	if batch.Queries == 1 {
		queries = "range query"
	}
	fmt.Fprintf(out, "replayed %d of %d workloads (%d %s) in %v\n", len(covered), len(ws), batch.Queries, queries, time.Since(began).Round(time.Millisecond))
	for _, c := range covered {
		fmt.Fprintf(out, "  %s\n", c.Kind+" "+c.Namespace+"/"+c.Name)
		for _, s := range c.Report.Sim.Scalers {
			m := s.Metrics
			fmt.Fprintf(out, "    %-9s replica-hours %9.1f  SLO-violation minutes %7.1f  actions %d\n", s.Name, m.ReplicaHours, m.SLOViolationMinutes, m.Actions)
		}
	}
	for _, s := range skipped {
		fmt.Fprintf(out, "  skipped %s %s/%s: %s\n", s.Kind, s.Namespace, s.Name, s.Reason)
	}
	fmt.Fprintf(out, "report: %s\n        %s\n        %s\n", files.HTML, files.Markdown, files.JSON)
	return nil
}

// dataFindings reports on the quality of a workload's data: stale (the
// last sample well before the end) and gappy series.
func dataFindings(w workload, s metrics.WorkloadSeries, end time.Time) []forecast.Finding {
	var out []forecast.Finding
	step := s.Series.Step
	if age := s.Age(end); age > 5*step {
		out = append(out, forecast.Finding{
			Kind: forecast.FindingStaleData, Subject: w.id(), Severity: forecast.SeverityWarning, Time: s.LastSample,
			Evidence: map[string]float64{"age_seconds": age.Seconds()},
			Summary:  fmt.Sprintf("the last sample is %v older than the end of the window", age),
		})
	}
	if n := s.Series.Len(); n > 0 {
		if share := float64(s.Series.Gaps()) / float64(n); share > 0.05 {
			out = append(out, forecast.Finding{
				Kind: forecast.FindingStaleData, Subject: w.id(), Severity: forecast.SeverityInfo, Time: end,
				Evidence: map[string]float64{"gaps": float64(s.Series.Gaps()), "samples": float64(n)},
				Summary:  fmt.Sprintf("%.0f %% of the samples are missing", 100*share),
			})
		}
	}
	return out
}

// kubeClient connects to the cluster of kubeconfig (or the usual
// defaults) with a client that knows apps/v1 and core/v1.
func kubeClient(kubeconfig string) (client.Client, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	return newKubeClient(cfg)
}

func newKubeClient(cfg *rest.Config) (client.Client, error) {
	scheme := runtime.NewScheme()
	if err := appsv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := corev1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return c, nil
}

// discover lists the Deployments and StatefulSets in namespace (all when
// empty) whose labels match sel, sorted by namespace, name and kind.
func discover(ctx context.Context, c client.Client, namespace string, sel labels.Selector) ([]workload, error) {
	opts := []client.ListOption{client.MatchingLabelsSelector{Selector: sel}}
	if namespace != "" {
		opts = append(opts, client.InNamespace(namespace))
	}
	var out []workload
	var deps appsv1.DeploymentList
	if err := c.List(ctx, &deps, opts...); err != nil {
		return nil, fmt.Errorf("list Deployments: %w", err)
	}
	for _, d := range deps.Items {
		out = append(out, workload{kind: "Deployment", namespace: d.Namespace, name: d.Name, labels: d.Labels,
			replicas: ptrOr(d.Spec.Replicas, 1), cpuRequest: cpuRequest(d.Spec.Template.Spec)})
	}
	var sts appsv1.StatefulSetList
	if err := c.List(ctx, &sts, opts...); err != nil {
		return nil, fmt.Errorf("list StatefulSets: %w", err)
	}
	for _, s := range sts.Items {
		out = append(out, workload{kind: "StatefulSet", namespace: s.Namespace, name: s.Name, labels: s.Labels,
			replicas: ptrOr(s.Spec.Replicas, 1), cpuRequest: cpuRequest(s.Spec.Template.Spec)})
	}
	slices.SortFunc(out, func(a, b workload) int {
		return cmp.Or(cmp.Compare(a.namespace, b.namespace), cmp.Compare(a.name, b.name), cmp.Compare(a.kind, b.kind))
	})
	return out, nil
}

// cpuRequest sums the containers' CPU requests in cores; 0 when a
// container has none (the HPA then cannot compute utilisation either).
func cpuRequest(spec corev1.PodSpec) float64 {
	sum := 0.0
	for _, c := range spec.Containers {
		q, ok := c.Resources.Requests[corev1.ResourceCPU]
		if !ok || q.IsZero() {
			return 0
		}
		sum += q.AsApproximateFloat64()
	}
	return sum
}

func ptrOr(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}
