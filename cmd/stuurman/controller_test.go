package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestControllerFlagErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing-kubeconfig")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"controller"}, "--prometheus-url is required"},
		{[]string{"controller", "--prometheus-url", "http://127.0.0.1:9", "--interval", "0s"}, "--interval must be positive"},
		{[]string{"controller", "--prometheus-url", "http://127.0.0.1:9", "--stale-after", "0"}, "--stale-after must be at least 1"},
		{[]string{"controller", "--prometheus-url", "http://127.0.0.1:9", "--workers", "0"}, "--workers must be at least 1"},
		{[]string{"controller", "--prometheus-url", "http://127.0.0.1:9", "--kube-api-qps", "0"}, "--kube-api-qps must be positive"},
		{[]string{"controller", "--prometheus-url", "http://127.0.0.1:9", "--kube-api-burst", "0"}, "--kube-api-burst must be at least 1"},
		{[]string{"controller", "--prometheus-url", "http://127.0.0.1:9", "--kubeconfig", missing}, "kubeconfig"},
	} {
		out, err := run(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want it to mention %q\n%s", tc.args, err, tc.want, out)
		}
	}
}

func TestControllerHelpListsFlags(t *testing.T) {
	out, err := run(t, "controller", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, flag := range []string{"--kubeconfig", "--prometheus-url", "--metrics-bind-address", "--health-probe-bind-address",
		"--leader-elect", "--leader-election-namespace", "--leader-election-id", "--interval", "--stale-after", "--proposal-retention",
		"--workers", "--kube-api-qps", "--kube-api-burst"} {
		if !strings.Contains(out, flag) {
			t.Errorf("help lacks %s", flag)
		}
	}
}

func TestControllerRESTConfigRateLimit(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := controllerRESTConfig(kubeconfig, 50, 100)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.QPS != 50 || cfg.Burst != 100 {
		t.Errorf("QPS %v, burst %d; want 50, 100", cfg.QPS, cfg.Burst)
	}
	if cfg, err = controllerRESTConfig(kubeconfig, 0, 0); err != nil || cfg.QPS != 0 || cfg.Burst != 0 {
		t.Errorf("without a rate limit: QPS %v, burst %d, %v; want client-go's defaults (0, 0)", cfg.QPS, cfg.Burst, err)
	}
}
