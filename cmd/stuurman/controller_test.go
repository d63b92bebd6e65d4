package main

import (
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
		"--leader-elect", "--leader-election-namespace", "--leader-election-id", "--interval", "--stale-after", "--proposal-retention"} {
		if !strings.Contains(out, flag) {
			t.Errorf("help lacks %s", flag)
		}
	}
}
