package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/spf13/cobra"

	"github.com/stuurman/stuurman/evals/replay"
	"github.com/stuurman/stuurman/metrics"
	"github.com/stuurman/stuurman/policies"
	"github.com/stuurman/stuurman/report"
)

type recommendFlags struct {
	trace, out, policy string
	opts               replay.Options
	quiet              bool
	prom               promFlags
}

func newRecommendCommand() *cobra.Command {
	var f recommendFlags
	cmd := &cobra.Command{
		Use:   "recommend (--trace FILE | --prometheus URL) --out DIR",
		Short: "Write a dry-run report: what stuurman would do, beside the HPA",
		Long: `recommend replays demand through a simulated workload twice: once scaled by a
faithful Kubernetes HPA v2, once by the stuurman pipeline (forecast →
heuristic agent → policy engine → dry-run recorder). It writes report.md,
report.html and report.json to --out. Nothing is changed anywhere.

With --trace, the demand is a recorded trace (CSV with a header: a time
column — RFC 3339, Unix seconds, "YYYY-MM-DD HH:MM:SS" or offset_seconds —
and a value column); no cluster is needed.

With --prometheus, the workloads are the cluster's Deployments and
StatefulSets in --namespace (all namespaces when empty) whose labels match
--selector, and each one's demand is its history over --window, read from
Prometheus with one batched range query for all of them. The report has a
summary table and one section per workload.` + promHelp,
		Example: `  stuurman recommend --trace examples/nasa_http_1995_per_minute_3w.csv --out out/demo --capacity-per-pod 10
  stuurman recommend --prometheus http://prometheus.monitoring:9090 -n shop -l tier=frontend --capacity-per-pod 40 --out out/shop
  stuurman recommend --prometheus http://prometheus.monitoring:9090 -n shop --metric cpu --out out/shop-cpu`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case f.trace != "" && f.prom.url != "":
				return errors.New("--trace and --prometheus are mutually exclusive: replay a recorded trace or read the cluster's workloads from Prometheus, not both")
			case f.prom.url != "":
				return runRecommendPrometheus(cmd, f)
			case f.trace == "":
				return errors.New(`required flag(s) "trace" not set: give --trace FILE to replay a recorded trace, or --prometheus URL to read the cluster's workloads`)
			}
			for _, name := range promOnlyFlags {
				if cmd.Flags().Changed(name) {
					return fmt.Errorf("--%s applies to --prometheus only", name)
				}
			}
			return runRecommend(cmd, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.trace, "trace", "", "CSV trace to replay (this or --prometheus)")
	fl.StringVar(&f.out, "out", "", "directory to write report.{md,html,json} into (required)")
	fl.StringVar(&f.policy, "policy", "", "YAML policy file (default: the built-in policy, see docs/policy.md)")
	fl.Float64Var(&f.opts.CapacityPerPod, "capacity-per-pod", 10, "demand one pod serves per trace step within its SLO (with --prometheus: in the metric's units; see above)")
	fl.DurationVar(&f.opts.StartupDelay, "startup-delay", 2*time.Minute, "time from a pod's creation until it is ready")
	fl.DurationVar(&f.opts.Interval, "interval", time.Minute, "stuurman's decision interval")
	fl.DurationVar(&f.opts.LeadTime, "lead-time", 0, "how far ahead stuurman provisions (default startup-delay + interval)")
	fl.Float64Var(&f.opts.HPATarget, "hpa-target", 0.7, "target utilisation of the HPA baseline")
	fl.IntVar(&f.opts.MaxReplicas, "max-replicas", 10000, "maxReplicas of the default policy (with --policy, the policy's bounds apply to both scalers)")
	fl.IntVar(&f.opts.Forecast.Period, "season", 0, "season length in trace steps (default: detected)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "do not print progress")
	addPromFlags(fl, &f.prom)
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func runRecommend(cmd *cobra.Command, f recommendFlags) error {
	if !(f.opts.CapacityPerPod > 0) || math.IsInf(f.opts.CapacityPerPod, 0) {
		return fmt.Errorf("--capacity-per-pod must be a positive number, got %v", f.opts.CapacityPerPod)
	}
	for name, d := range map[string]time.Duration{"--startup-delay": f.opts.StartupDelay, "--interval": f.opts.Interval, "--lead-time": f.opts.LeadTime} {
		if d < 0 || (d == 0 && name != "--lead-time") {
			return fmt.Errorf("%s must be positive, got %v", name, d)
		}
	}
	if f.policy != "" {
		p, err := policies.LoadFile(f.policy)
		if err != nil {
			return err
		}
		f.opts.Policy = &p
	}
	demand, err := metrics.ReadCSVFile(f.trace, metrics.CSVOptions{})
	if err != nil {
		return err
	}
	stderr := cmd.ErrOrStderr()
	if !f.quiet {
		f.opts.Progress = progress(stderr, demand.Name)
	}
	start := time.Now()
	rep, err := replay.Run(cmd.Context(), demand, f.opts, start)
	if err != nil {
		return err
	}
	files, err := report.Write(f.out, rep)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "replayed %d samples of %s in %v\n", demand.Len(), demand.Name, time.Since(start).Round(time.Millisecond))
	for _, s := range rep.Sim.Scalers {
		m := s.Metrics
		fmt.Fprintf(out, "  %-9s replica-hours %9.1f  SLO-violation minutes %7.1f  θU %5.1f%%  θO %6.1f%%  τU %5.1f%%  τO %5.1f%%  actions %d\n",
			s.Name, m.ReplicaHours, m.SLOViolationMinutes, m.ThetaU, m.ThetaO, m.TauU, m.TauO, m.Actions)
	}
	fmt.Fprintf(out, "report: %s\n        %s\n        %s\n", files.HTML, files.Markdown, files.JSON)
	return nil
}

// progress prints a line at every tenth of the replay.
func progress(w io.Writer, name string) func(done, total int) {
	last := -1
	return func(done, total int) {
		if total <= 0 {
			return
		}
		if tenth := done * 10 / total; tenth != last {
			last = tenth
			fmt.Fprintf(w, "replaying %s: %3d%%\n", name, tenth*10)
		}
	}
}
