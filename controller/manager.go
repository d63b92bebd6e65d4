package controller

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	ctrlcontroller "sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	stuurmanv1 "github.com/stuurman/stuurman/api/v1alpha1"
)

// The RBAC the controller needs (docs/install.md explains each rule).
//
// +kubebuilder:rbac:groups=stuurman.io,resources=workloadpolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups=stuurman.io,resources=workloadpolicies/status,verbs=get;patch
// +kubebuilder:rbac:groups=stuurman.io,resources=actionproposals,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups=stuurman.io,resources=actionproposals/status,verbs=get;update
// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=apps,resources=deployments/scale;statefulsets/scale,verbs=get;update
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=pods/eviction,verbs=create
// +kubebuilder:rbac:groups=metrics.k8s.io,resources=pods,verbs=list
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;create;update

// ManagerOptions configure NewManager. The zero value of each optional
// field selects the default documented on it.
type ManagerOptions struct {
	// MetricsBindAddress serves /metrics. Default ":8080"; "0" disables.
	MetricsBindAddress string
	// HealthProbeBindAddress serves /healthz and /readyz. Default
	// ":8081"; "0" disables.
	HealthProbeBindAddress string
	// LeaderElection makes the manager act only while it holds the lease:
	// standbys wait. Off by default; on in a cluster.
	LeaderElection bool
	// LeaderElectionNamespace holds the lease. Default: the namespace the
	// controller runs in (from its service account).
	LeaderElectionNamespace string
	// LeaderElectionID names the lease. Default "stuurman-controller".
	LeaderElectionID string
	// LeaseDuration, RenewDeadline and RetryPeriod tune leader election.
	// Defaults: controller-runtime's (15s, 10s, 2s).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// SeveralPerProcess lets more than one manager run in one process (as
	// tests of leader election do): controller-runtime otherwise refuses
	// a second controller of the same name.
	SeveralPerProcess bool
	// Reconciler configures the WorkloadPolicy reconciler, and its
	// Workers how many policies are reconciled at once. Its Registerer
	// defaults to the registry /metrics serves, its Events to the
	// manager's recorder, its APIReader to the manager's uncached reader.
	Reconciler Options
}

// NewScheme returns a scheme with the Kubernetes built-in types and the
// stuurman.io types.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := stuurmanv1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// NewManager returns a controller-runtime manager running the
// WorkloadPolicy reconciler, with its metrics and health endpoints and,
// when enabled, leader election. Start it with Start(ctx); it stops when
// ctx is cancelled, releasing the lease.
func NewManager(cfg *rest.Config, o ManagerOptions) (manager.Manager, *Reconciler, error) {
	if o.MetricsBindAddress == "" {
		o.MetricsBindAddress = ":8080"
	}
	if o.HealthProbeBindAddress == "" {
		o.HealthProbeBindAddress = ":8081"
	}
	if o.LeaderElectionID == "" {
		o.LeaderElectionID = "stuurman-controller"
	}
	scheme, err := NewScheme()
	if err != nil {
		return nil, nil, err
	}
	mo := ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       metricsserver.Options{BindAddress: o.MetricsBindAddress},
		HealthProbeBindAddress:        o.HealthProbeBindAddress,
		LeaderElection:                o.LeaderElection,
		LeaderElectionNamespace:       o.LeaderElectionNamespace,
		LeaderElectionID:              o.LeaderElectionID,
		LeaderElectionReleaseOnCancel: true,
		// Targets of any kind are read as unstructured objects: cache
		// them too, so that informers serve every read of the cycle.
		Client:     client.Options{Cache: &client.CacheOptions{Unstructured: true}},
		Controller: config.Controller{SkipNameValidation: &o.SeveralPerProcess},
	}
	for _, d := range []struct {
		v   time.Duration
		dst **time.Duration
	}{{o.LeaseDuration, &mo.LeaseDuration}, {o.RenewDeadline, &mo.RenewDeadline}, {o.RetryPeriod, &mo.RetryPeriod}} {
		if d.v > 0 {
			v := d.v
			*d.dst = &v
		}
	}
	mgr, err := ctrl.NewManager(cfg, mo)
	if err != nil {
		return nil, nil, fmt.Errorf("controller: new manager: %w", err)
	}

	ro := o.Reconciler
	if ro.Registerer == nil {
		ro.Registerer = ctrlmetrics.Registry
	}
	if ro.Events == nil {
		ro.Events = mgr.GetEventRecorder("stuurman")
	}
	if ro.APIReader == nil {
		ro.APIReader = mgr.GetAPIReader()
	}
	r, err := NewReconciler(mgr.GetClient(), ro)
	if err != nil {
		return nil, nil, err
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return nil, nil, err
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, nil, err
	}
	// Ready once the informers have synced.
	if err := mgr.AddReadyzCheck("informers", func(req *http.Request) error {
		if !mgr.GetCache().WaitForCacheSync(req.Context()) {
			return errors.New("informers not synced")
		}
		return nil
	}); err != nil {
		return nil, nil, err
	}
	return mgr, r, nil
}

// SetupWithManager registers the reconciler with mgr: it reconciles
// WorkloadPolicies, Options.Workers at once, and again whenever one of
// their ActionProposals changes (an approval, say).
func (r *Reconciler) SetupWithManager(mgr manager.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("workloadpolicy").
		WithOptions(ctrlcontroller.Options{MaxConcurrentReconciles: r.opts.Workers}).
		// The reconciler's own status writes need no reconcile.
		For(&stuurmanv1.WorkloadPolicy{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&stuurmanv1.ActionProposal{}).
		Complete(r)
}
