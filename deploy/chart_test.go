package deploy

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stuurman/stuurman/internal/kubetest"
)

const (
	release   = "st"
	namespace = "stuurman-system"
)

func helm(t *testing.T, root string, args ...string) []byte {
	t.Helper()
	bin := filepath.Join(root, "bin", "helm")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s is missing: run `make bin/helm` (or make test)", bin)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

func render(t *testing.T, root string, values ...string) []*unstructured.Unstructured {
	t.Helper()
	args := []string{"template", release, "deploy/helm/stuurman", "--namespace", namespace, "--include-crds"}
	for _, v := range values {
		args = append(args, "--set", v)
	}
	out := helm(t, root, args...)
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(out), 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("decode the rendered chart: %v", err)
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
	return objs
}

// TestChartAppliesToAPIServer renders the chart and applies every object to
// a real API server: CRDs first, then the rest, each validated by the
// server.
func TestChartAppliesToAPIServer(t *testing.T) {
	root, err := kubetest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if out := helm(t, root, "lint", "--strict", "deploy/helm/stuurman"); !bytes.Contains(out, []byte("0 chart(s) failed")) {
		t.Fatalf("helm lint:\n%s", out)
	}
	objs := render(t, root)
	kinds := map[string]int{}
	for _, o := range objs {
		kinds[o.GetKind()]++
	}
	for kind, n := range map[string]int{"CustomResourceDefinition": 2, "Deployment": 1, "ServiceAccount": 1, "ClusterRole": 1,
		"ClusterRoleBinding": 1, "Role": 1, "RoleBinding": 1, "Service": 1} {
		if kinds[kind] != n {
			t.Errorf("rendered %d %s, want %d (all: %v)", kinds[kind], kind, n, kinds)
		}
	}

	cfg := kubetest.Start(t)
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metaName(namespace)}); err != nil {
		t.Fatal(err)
	}
	slices.SortStableFunc(objs, func(a, b *unstructured.Unstructured) int {
		return boolInt(b.GetKind() == "CustomResourceDefinition") - boolInt(a.GetKind() == "CustomResourceDefinition")
	})
	for _, o := range objs {
		if err := c.Create(ctx, o); err != nil {
			t.Fatalf("apply %s %s: %v", o.GetKind(), o.GetName(), err)
		}
		if o.GetKind() == "CustomResourceDefinition" {
			waitEstablished(t, c, o.GetName())
		}
	}

	// The Deployment the server accepted is hardened and probed.
	var d appsv1.Deployment
	if err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: release + "-stuurman"}, &d); err != nil {
		t.Fatal(err)
	}
	pod := d.Spec.Template.Spec
	if psc := pod.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("pod security context %+v: want a non-root user", psc)
	}
	ctr := pod.Containers[0]
	sc := ctr.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("container security context %+v: want read-only root, no privilege escalation, all capabilities dropped", sc)
	}
	if ctr.LivenessProbe == nil || ctr.LivenessProbe.HTTPGet.Path != "/healthz" || ctr.ReadinessProbe == nil || ctr.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("probes: liveness %+v readiness %+v", ctr.LivenessProbe, ctr.ReadinessProbe)
	}
	if !slices.Contains(ctr.Args, "--leader-elect=true") || !slices.Contains(ctr.Args, "--leader-election-namespace="+namespace) {
		t.Errorf("args %v: want leader election in the release namespace", ctr.Args)
	}
}

// TestChartRBACMatchesController checks that the chart grants exactly the
// verbs the controller declares in its RBAC markers, no more, no fewer:
// cluster-wide everything but leases, and leases in the release namespace.
func TestChartRBACMatchesController(t *testing.T) {
	root, err := kubetest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	want := markerRules(t, filepath.Join(root, "controller"))
	var cluster, leases []string
	for _, o := range render(t, root) {
		switch o.GetKind() {
		case "ClusterRole":
			var r rbacv1.ClusterRole
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &r); err != nil {
				t.Fatal(err)
			}
			cluster = append(cluster, expand(r.Rules)...)
		case "Role":
			var r rbacv1.Role
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &r); err != nil {
				t.Fatal(err)
			}
			if r.Namespace != namespace {
				t.Errorf("role %s in namespace %q, want %q", r.Name, r.Namespace, namespace)
			}
			leases = append(leases, expand(r.Rules)...)
		}
	}
	got := append(slices.Clone(cluster), leases...)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("chart grants\n  %s\ncontroller declares\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	for _, r := range cluster {
		if strings.Contains(r, "leases") {
			t.Errorf("cluster-wide lease rule %s: leases belong in the release namespace's Role", r)
		}
	}
	for _, r := range leases {
		if !strings.Contains(r, "/leases/") {
			t.Errorf("namespaced role grants %s: only leases belong there", r)
		}
	}
}

// TestChartCRDsAreGenerated checks the chart ships the CRDs controller-gen
// wrote to config/crd, byte for byte.
func TestChartCRDsAreGenerated(t *testing.T) {
	root, err := kubetest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	gen, _ := filepath.Glob(filepath.Join(root, "config", "crd", "*.yaml"))
	if len(gen) == 0 {
		t.Fatal("no CRDs in config/crd")
	}
	for _, g := range gen {
		a, _ := os.ReadFile(g)
		b, err := os.ReadFile(filepath.Join(root, "deploy", "helm", "stuurman", "crds", filepath.Base(g)))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("deploy/helm/stuurman/crds/%s differs from config/crd (run make manifests): %v", filepath.Base(g), err)
		}
	}
}

var rbacMarker = regexp.MustCompile(`^// \+kubebuilder:rbac:groups=([^,]*),resources=([^,]+),verbs=(\S+)`)

// markerRules reads the +kubebuilder:rbac markers of the Go files in dir as
// "group/resource/verb" strings, sorted.
func markerRules(t *testing.T, dir string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			m := rbacMarker.FindStringSubmatch(strings.TrimSpace(sc.Text()))
			if m == nil {
				continue
			}
			group := strings.Trim(m[1], `"`)
			out = append(out, expand([]rbacv1.PolicyRule{{APIGroups: []string{group},
				Resources: strings.Split(m[2], ";"), Verbs: strings.Split(m[3], ";")}})...)
		}
		fh.Close()
	}
	if len(out) == 0 {
		t.Fatalf("no RBAC markers in %s", dir)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func expand(rules []rbacv1.PolicyRule) []string {
	var out []string
	for _, r := range rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					out = append(out, g+"/"+res+"/"+v)
				}
			}
		}
	}
	return out
}

func waitEstablished(t *testing.T, c client.Client, name string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var crd apiextensionsv1.CustomResourceDefinition
		if err := c.Get(context.Background(), types.NamespacedName{Name: name}, &crd); err == nil {
			for _, cond := range crd.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					return
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("CRD %s not established within 30s", name)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func metaName(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name} }
