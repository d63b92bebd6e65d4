package controller

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	stuurmanv1 "github.com/stuurman/stuurman/api/v1alpha1"
)

// (g) Two managers with leader election against one API server: only the
// leader acts; when it stops, the standby takes over.
func TestOnlyTheLeaderActs(t *testing.T) {
	h := newHarness(t, t0.Add(10*time.Hour), Options{})
	h.deployment("web", 1)
	clk := clocktesting.NewFakeClock(h.clock.Now())

	start := func() (manager.Manager, *Reconciler, func() error) {
		t.Helper()
		mgr, r, err := NewManager(restCfg, ManagerOptions{
			MetricsBindAddress: "0", HealthProbeBindAddress: "0", SeveralPerProcess: true,
			LeaderElection: true, LeaderElectionNamespace: h.ns, LeaderElectionID: "stuurman-test",
			LeaseDuration: 2 * time.Second, RenewDeadline: 1500 * time.Millisecond, RetryPeriod: 200 * time.Millisecond,
			Reconciler: Options{Source: h.source, Clock: clk, Registerer: prometheus.NewRegistry()},
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		var runErr error
		go func() { runErr = mgr.Start(ctx); close(done) }()
		stop := func() error { cancel(); <-done; return runErr }
		t.Cleanup(func() { _ = stop() })
		return mgr, r, stop
	}
	elected := func(mgr manager.Manager, within time.Duration) bool {
		select {
		case <-mgr.Elected():
			return true
		case <-time.After(within):
			return false
		}
	}
	cycles := func(r *Reconciler) float64 {
		var n float64
		for _, result := range []string{"ok", "hold", "error"} {
			var m dto.Metric
			if err := r.Metrics().Cycles.WithLabelValues(result).Write(&m); err != nil {
				t.Fatal(err)
			}
			n += m.GetCounter().GetValue()
		}
		return n
	}

	mgrA, rA, stopA := start()
	if !elected(mgrA, 10*time.Second) {
		t.Fatal("the first manager was not elected")
	}
	mgrB, rB, _ := start()
	h.policy("web", "web", stuurmanv1.ModeAuto)

	// The leader runs the first cycle and scales; the standby does nothing.
	deadline := time.Now().Add(15 * time.Second)
	for cycles(rA) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if cycles(rA) == 0 {
		t.Fatal("the leader ran no cycle")
	}
	if elected(mgrB, 500*time.Millisecond) || cycles(rB) != 0 {
		t.Fatalf("the standby was elected or ran %v cycles while the leader held the lease", cycles(rB))
	}
	if got := *h.getDeployment("web").Spec.Replicas; got == 1 {
		t.Errorf("the leader's cycle left 1 replica; want a scale-up at 10:00")
	}

	// The leader stops (and releases the lease); the standby takes over
	// and, the next cycle being due, runs it when it lists the policy.
	clk.Step(5 * time.Minute)
	if err := stopA(); err != nil {
		t.Fatalf("leader stopped with %v", err)
	}
	ranA := cycles(rA)
	if !elected(mgrB, 15*time.Second) {
		t.Fatal("the standby was not elected after the leader stopped")
	}
	deadline = time.Now().Add(15 * time.Second)
	for cycles(rB) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if cycles(rB) == 0 {
		t.Error("the new leader ran no cycle")
	}
	if cycles(rA) != ranA {
		t.Errorf("the stopped manager ran %v more cycles", cycles(rA)-ranA)
	}
}
