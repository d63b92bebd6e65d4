package main

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"
	"sigs.k8s.io/controller-runtime/pkg/log"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/stuurman/stuurman/controller"
	"github.com/stuurman/stuurman/metrics"
)

type controllerFlags struct {
	kubeconfig   string
	prometheus   string
	resources    string
	mgr          controller.ManagerOptions
	logJSON      bool
	logLevel     int
	proposalKeep time.Duration
	staleAfter   int
	interval     time.Duration
	qps          float32
	burst        int
	slack        slackFlags
}

func newControllerCommand() *cobra.Command {
	var f controllerFlags
	cmd := &cobra.Command{
		Use:   "controller (--prometheus-url URL | --resource-metrics metrics-server)",
		Short: "Run the in-cluster controller: steer the workloads of every WorkloadPolicy",
		Long: `controller runs stuurman in a cluster. For every WorkloadPolicy (stuurman.io/v1alpha1)
it forecasts the demand of the policy's workloads from Prometheus, asks the
policy's agent for proposals, gates them through the policy, and — as far as
the policy's mode allows (Off, Recommend, Approve, Auto) — acts: through the
scale subresource, an HPA's minReplicas floor, or a rolling restart. Every
proposal is recorded as an ActionProposal, every action as an Event on the
workload.

Resource metrics (metric.resource cpu or memory) come from Prometheus too,
or, with --resource-metrics=metrics-server, from the resource metrics API
(metrics.k8s.io). metrics-server has only the current usage: the controller
keeps the history itself, from its start, so the forecasts stay in cold
start (and the heuristic agent reactive) until enough has accumulated.
Without --prometheus-url, policies with a PromQL query hold
(MetricsAvailable=False, QueryFailed).

It serves its metrics on --metrics-bind-address (/metrics) and its probes on
--health-probe-bind-address (/healthz, /readyz). With --leader-elect (the
default), only the replica holding the lease acts; the others wait. It stops
on SIGTERM or SIGINT, releasing the lease. See docs/install.md.

With SLACK_BOT_TOKEN set it asks for approval in Slack, for the policies
that set spec.approval.slack, and takes the answers over Socket Mode
(SLACK_APP_TOKEN) or an HTTP interactivity endpoint (SLACK_SIGNING_SECRET).
See docs/slack.md.`,
		Example: `  stuurman controller --prometheus-url http://prometheus.monitoring:9090
  stuurman controller --resource-metrics metrics-server
  stuurman controller --kubeconfig ~/.kube/config --prometheus-url http://localhost:9090 --leader-elect=false`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runController(cmd, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default: in-cluster configuration, else $KUBECONFIG or ~/.kube/config)")
	fl.StringVar(&f.prometheus, "prometheus-url", "", "Prometheus base URL (or Thanos, Mimir) to read demand from (required unless --resource-metrics=metrics-server)")
	fl.StringVar(&f.resources, "resource-metrics", resourcesPrometheus, `where resource metrics (cpu, memory) are read: "prometheus", or "metrics-server" (the metrics.k8s.io API; history accumulates from the controller's start)`)
	fl.StringVar(&f.mgr.MetricsBindAddress, "metrics-bind-address", ":8080", `address of the /metrics endpoint ("0" disables it)`)
	fl.StringVar(&f.mgr.HealthProbeBindAddress, "health-probe-bind-address", ":8081", `address of the /healthz and /readyz endpoints ("0" disables them)`)
	fl.BoolVar(&f.mgr.LeaderElection, "leader-elect", true, "act only while holding the leader lease, so that several replicas can run")
	fl.StringVar(&f.mgr.LeaderElectionNamespace, "leader-election-namespace", "", "namespace of the lease (default: the controller's own namespace)")
	fl.StringVar(&f.mgr.LeaderElectionID, "leader-election-id", "stuurman-controller", "name of the lease")
	fl.DurationVar(&f.interval, "interval", controller.DefaultInterval, "cycle interval of WorkloadPolicies that set none")
	fl.IntVar(&f.staleAfter, "stale-after", 3, "intervals after which the newest demand sample is stale and the controller holds")
	fl.IntVar(&f.mgr.Reconciler.Workers, "workers", controller.DefaultWorkers, "how many WorkloadPolicies are reconciled at once")
	fl.Float32Var(&f.qps, "kube-api-qps", 50, "requests a second the controller may send the Kubernetes API server, on average")
	fl.IntVar(&f.burst, "kube-api-burst", 100, "requests the controller may send the Kubernetes API server in a burst, above --kube-api-qps")
	fl.DurationVar(&f.proposalKeep, "proposal-retention", 24*time.Hour, "how long finished ActionProposals are kept")
	fl.BoolVar(&f.logJSON, "log-json", false, "log in JSON instead of text")
	fl.IntVar(&f.logLevel, "v", 0, "log verbosity (higher logs more)")
	addSlackFlags(fl, &f.slack)
	return cmd
}

func runController(cmd *cobra.Command, f controllerFlags) error {
	switch {
	case f.resources != resourcesPrometheus && f.resources != resourcesMetricsServer:
		return fmt.Errorf("--resource-metrics must be %s or %s, got %q", resourcesPrometheus, resourcesMetricsServer, f.resources)
	case f.prometheus == "" && f.resources == resourcesPrometheus:
		return errors.New("--prometheus-url is required: the controller reads the workloads' demand from Prometheus (for resource metrics alone, --resource-metrics=metrics-server needs none)")
	case f.interval <= 0:
		return fmt.Errorf("--interval must be positive, got %v", f.interval)
	case f.staleAfter < 1:
		return fmt.Errorf("--stale-after must be at least 1, got %d", f.staleAfter)
	case f.proposalKeep <= 0:
		return fmt.Errorf("--proposal-retention must be positive, got %v", f.proposalKeep)
	case f.mgr.Reconciler.Workers < 1:
		return fmt.Errorf("--workers must be at least 1, got %d", f.mgr.Reconciler.Workers)
	case !(f.qps > 0) || math.IsInf(float64(f.qps), 0):
		return fmt.Errorf("--kube-api-qps must be positive, got %v", f.qps)
	case f.burst < 1:
		return fmt.Errorf("--kube-api-burst must be at least 1, got %d", f.burst)
	}
	opts := &slog.HandlerOptions{Level: slog.Level(-f.logLevel)}
	var h slog.Handler = slog.NewTextHandler(cmd.ErrOrStderr(), opts)
	if f.logJSON {
		h = slog.NewJSONHandler(cmd.ErrOrStderr(), opts)
	}
	logger := logr.FromSlogHandler(h)
	log.SetLogger(logger)
	ctx := log.IntoContext(cmd.Context(), logger)

	cfg, err := controllerRESTConfig(f.kubeconfig, f.qps, f.burst)
	if err != nil {
		return err
	}
	source, podMetrics, err := demandSource(cfg, f)
	if err != nil {
		return err
	}
	// LLM agents read their endpoints and keys from the environment (a
	// Secret, see docs/agents.md) and report their use on /metrics.
	llmAgents := controller.NewLLMAgents(os.Getenv)
	if err := ctrlmetrics.Registry.Register(llmAgents); err != nil {
		return fmt.Errorf("register the LLM metrics: %w", err)
	}
	f.mgr.Reconciler = controller.Options{
		Source:            source,
		NewAgent:          llmAgents.Build,
		DefaultInterval:   f.interval,
		StaleAfter:        f.staleAfter,
		ProposalRetention: f.proposalKeep,
		Workers:           f.mgr.Reconciler.Workers,
	}
	mgr, _, err := controller.NewManager(cfg, f.mgr)
	if err != nil {
		return err
	}
	if podMetrics != nil {
		// The source reads targets and pods through the manager's
		// cache, which exists only now; nothing reads demand before
		// Start.
		podMetrics.Client = mgr.GetClient()
	}
	if err := setupSlack(mgr, f.slack, os.Getenv, logger); err != nil {
		return err
	}
	logger.Info("starting the controller", "prometheus", f.prometheus, "resourceMetrics", f.resources, "leaderElection", f.mgr.LeaderElection)
	// The context is cancelled on SIGTERM or SIGINT: the manager stops
	// its controllers, waits for running reconciles and releases the
	// lease.
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("controller: %w", err)
	}
	return nil
}

// The values of --resource-metrics.
const (
	resourcesPrometheus    = "prometheus"
	resourcesMetricsServer = "metrics-server"
)

// demandSource builds the controller's metric source from the flags:
// Prometheus for queries (when --prometheus-url is set), and resource
// metrics from Prometheus or metrics-server. With metrics-server it also
// returns that source, whose Client the caller sets.
func demandSource(cfg *rest.Config, f controllerFlags) (controller.MetricSource, *controller.MetricsServerSource, error) {
	var queries controller.MetricSource
	if f.prometheus != "" {
		api, err := metrics.NewPrometheusClient(f.prometheus, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("--prometheus-url: %w", err)
		}
		prom, err := metrics.NewPrometheus(api, metrics.PrometheusOptions{})
		if err != nil {
			return nil, nil, err
		}
		queries = controller.PrometheusSource{Prometheus: prom}
	}
	switch f.resources {
	case resourcesPrometheus:
		return queries, nil, nil
	case resourcesMetricsServer:
		mc, err := metricsclient.NewForConfig(cfg)
		if err != nil {
			return nil, nil, fmt.Errorf("--resource-metrics=metrics-server: %w", err)
		}
		ms := &controller.MetricsServerSource{PodMetrics: mc.MetricsV1beta1()}
		return controller.SplitSource{Queries: queries, Resources: ms}, ms, nil
	}
	return nil, nil, fmt.Errorf("--resource-metrics must be %s or %s, got %q", resourcesPrometheus, resourcesMetricsServer, f.resources)
}

// controllerRESTConfig returns the configuration of kubeconfig, or, when it
// is empty, the in-cluster configuration or the usual kubeconfig files,
// with the client-side rate limit qps and burst; 0 keeps client-go's
// default, 5 and 10, which would cap the controller's one-minute interval
// at about 300 policies (a cycle writes each policy's status).
func controllerRESTConfig(kubeconfig string, qps float32, burst int) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.UserAgent = "stuurman-controller/" + version
	if qps > 0 {
		cfg.QPS, cfg.Burst = qps, burst
	}
	return cfg, nil
}
