package main

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stuurman/stuurman/internal/kubetest"
	"github.com/stuurman/stuurman/metrics"
	"github.com/stuurman/stuurman/metrics/promtest"
	"github.com/stuurman/stuurman/report"
)

// startCluster starts a real API server and returns a client and a
// kubeconfig file for it.
func startCluster(t *testing.T) (client.Client, string) {
	t.Helper()
	cfg := kubetest.Start(t)
	c, err := newKubeClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, kubetest.Kubeconfig(t, cfg)
}

func podTemplate(app, cpu string) corev1.PodTemplateSpec {
	c := corev1.Container{Name: "app", Image: "registry.invalid/app:1"}
	if cpu != "" {
		c.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}
	}
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{c}},
	}
}

func deployment(ns, name, tier, cpu string) *appsv1.Deployment {
	replicas := int32(2)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"tier": tier}},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: podTemplate(name, cpu),
		},
	}
}

// counter is a pod's counter growing at perSecond·(1 + ½·sin(day)) from
// from to to at one sample a minute.
func counter(name, ns, pod string, perSecond float64, from, to time.Time) metrics.Series {
	n := int(to.Sub(from)/time.Minute) + 1
	v := make([]float64, n)
	for i := 1; i < n; i++ {
		day := 2 * math.Pi * float64(from.Add(time.Duration(i)*time.Minute).Unix()%86400) / 86400
		v[i] = v[i-1] + 60*perSecond*(1+0.5*math.Sin(day))
	}
	lbl := map[string]string{"namespace": ns, "pod": pod}
	if strings.HasPrefix(name, "container_") {
		lbl["container"] = "app"
	}
	return metrics.Series{Name: name, Labels: lbl, Start: from, Step: time.Minute, Values: v}
}

// TestRecommendPrometheus runs recommend --prometheus against a real API
// server holding three Deployments (two match the selector) and a
// StatefulSet in another namespace, and a real Prometheus holding their
// pods' request and CPU counters.
func TestRecommendPrometheus(t *testing.T) {
	kube, kubeconfig := startCluster(t)
	ctx := context.Background()
	for _, ns := range []string{"shop", "ops"} {
		if err := kube.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	replicas := int32(2)
	for _, obj := range []client.Object{
		deployment("shop", "web", "frontend", "250m"),
		deployment("shop", "api", "frontend", ""),
		deployment("shop", "batch", "backend", "1"),
		&appsv1.StatefulSet{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ops", Name: "cache", Labels: map[string]string{"tier": "frontend"}},
			Spec: appsv1.StatefulSetSpec{
				Replicas: &replicas,
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "cache"}},
				Template: podTemplate("cache", "1"),
			},
		},
	} {
		if err := kube.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}

	end := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
	from := end.Add(-48*time.Hour - 10*time.Minute)
	var history []metrics.Series
	for _, p := range []struct {
		ns, pod  string
		rps, cpu float64
	}{
		{"shop", "web-5b4d8c7f9b-x2kqz", 20, 0.2},
		{"shop", "web-5b4d8c7f9b-q8wzt", 20, 0.2},
		{"shop", "api-7c9f8d6b5-mm4xp", 10, 0.1},
		{"shop", "batch-6d8f7c9b4-zz2kq", 30, 0.5},
		{"ops", "cache-0", 5, 0.5},
		{"ops", "cache-1", 5, 0.5},
	} {
		history = append(history,
			counter("http_requests_total", p.ns, p.pod, p.rps, from, end),
			counter("container_cpu_usage_seconds_total", p.ns, p.pod, p.cpu, from, end))
	}
	srv := promtest.Start(t, promtest.Options{History: history})
	common := []string{"recommend", "--prometheus", srv.URL, "--kubeconfig", kubeconfig, "--selector", "tier=frontend",
		"--window", "2d", "--end", end.Format(time.RFC3339), "-q"}

	// Request rates in one namespace: exactly the two selected Deployments.
	dir := t.TempDir()
	out, err := run(t, append(common, "-n", "shop", "--capacity-per-pod", "5", "--out", dir)...)
	if err != nil {
		t.Fatalf("recommend: %v\n%s", err, out)
	}
	for _, want := range []string{"replayed 2 of 2 workloads (1 range query)", "Deployment shop/api", "Deployment shop/web", "report: " + filepath.Join(dir, "report.html")} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	r, err := report.ReadWorkloadsJSON(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(r); !slices.Equal(got, []string{"Deployment shop/api", "Deployment shop/web"}) || len(r.Skipped) != 0 {
		t.Fatalf("workloads %v, skipped %v", got, r.Skipped)
	}
	if r.Summary.Workloads != 2 || len(r.Summary.Scalers) != 2 || r.Summary.Comparison == nil {
		t.Errorf("summary %+v", r.Summary)
	}
	for _, w := range r.Workloads {
		if w.Demand.Samples != 48*60 || w.Demand.Gaps != 0 || w.Demand.Name != "requests_per_second" || !w.Demand.Start.Equal(end.Add(-48*time.Hour)) {
			t.Errorf("%s: demand %+v", w.Name, w.Demand)
		}
		if len(w.Scalers) != 2 || !(w.Scalers[0].ReplicaHours > 0) || !(w.Scalers[1].ReplicaHours > 0) || w.CapacityPerPod != 5 {
			t.Errorf("%s: scalers %+v capacity %v", w.Name, w.Scalers, w.CapacityPerPod)
		}
		if len(w.Decisions) == 0 || w.DecisionCount == 0 {
			t.Errorf("%s: %d decisions of %d", w.Name, len(w.Decisions), w.DecisionCount)
		}
		for _, d := range w.Decisions {
			if wl := d.Proposal.Workload; wl.Kind != "Deployment" || wl.Namespace != "shop" || wl.Name != w.Name {
				t.Fatalf("%s: a decision names %+v", w.Name, wl)
			}
		}
	}
	// web serves 40 req/s on average at 5 per pod: about 8 pods, 16 pod-days.
	if web := r.Workloads[1]; web.Scalers[0].ReplicaHours < 300 || web.Scalers[0].ReplicaHours > 700 {
		t.Errorf("web: HPA replica-hours %v, want about 8 pods × 48 h", web.Scalers[0].ReplicaHours)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Summary", "| Deployment shop/web |", "## Deployment shop/api", "## Deployment shop/web"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if strings.Contains(string(md), "batch") || strings.Contains(string(html), "shop/batch") {
		t.Error("the report mentions the unselected Deployment batch")
	}
	if !strings.Contains(string(html), `<a href="#w2">Deployment shop/web</a>`) || strings.Count(string(html), "<svg") < 4 {
		t.Error("report.html lacks the summary links or the plots")
	}

	// CPU in all namespaces, capacity from CPU requests: the StatefulSet
	// too, and api skipped for want of a CPU request.
	dir2 := t.TempDir()
	if out, err := run(t, append(common, "--metric", "cpu", "--out", dir2)...); err != nil {
		t.Fatalf("recommend --metric cpu: %v\n%s", err, out)
	}
	r, err = report.ReadWorkloadsJSON(filepath.Join(dir2, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(r); !slices.Equal(got, []string{"StatefulSet ops/cache", "Deployment shop/web"}) {
		t.Fatalf("workloads %v", got)
	}
	if len(r.Skipped) != 1 || r.Skipped[0].Name != "api" || !strings.Contains(r.Skipped[0].Reason, "CPU request") {
		t.Errorf("skipped %+v", r.Skipped)
	}
	if r.Workloads[0].CapacityPerPod != 1 || r.Workloads[1].CapacityPerPod != 0.25 || r.Workloads[0].Demand.Name != "cpu_cores" {
		t.Errorf("capacities %v, %v; demand %q", r.Workloads[0].CapacityPerPod, r.Workloads[1].CapacityPerPod, r.Workloads[0].Demand.Name)
	}

	// Mistakes, and Prometheus gone: clear errors, no report.
	dir3 := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--trace", "x.csv", "--capacity-per-pod", "5"}, "--trace and --prometheus are mutually exclusive"},
		{[]string{"--capacity-per-pod", "5", "-n", "nowhere"}, `no Deployment or StatefulSet in namespace nowhere matches the selector "tier=frontend"`},
		{nil, "--capacity-per-pod is required with --prometheus"},
		{[]string{"--capacity-per-pod", "5", "--window", "2 days"}, `--window "2 days"`},
		{[]string{"--capacity-per-pod", "5", "--query", "rate({{.Nope}}"}, "--query: prometheus: PrometheusQuery.Template"},
	} {
		_, err := run(t, append(append(common, "--out", dir3), tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.want)
		}
	}
	srv.Stop()
	_, err = run(t, append(common, "--capacity-per-pod", "5", "--out", dir3)...)
	if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "http_requests_total") {
		t.Errorf("Prometheus stopped: err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir3, "report.json")); err == nil {
		t.Error("a failed run wrote a report")
	}
}

func ids(r report.JSONWorkloads) []string {
	var out []string
	for _, w := range r.Workloads {
		out = append(out, w.Kind+" "+w.Namespace+"/"+w.Name)
	}
	return out
}
