// Package kubetest starts the real components stuurman's tests run against:
// a kube-apiserver and etcd under controller-runtime's envtest, built from
// source into bin/ by `make envtest-bin`. It only serves tests.
package kubetest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// ModuleRoot returns the directory of the go.mod above the working
// directory (a test's working directory is its package's).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("kubetest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// AssetsDir returns KUBEBUILDER_ASSETS, or bin/ under the module root,
// after checking that kube-apiserver and etcd are there. It never lets a
// test skip silently: a missing binary is an error that says how to build
// it.
func AssetsDir() (string, error) {
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		root, err := ModuleRoot()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(root, "bin")
	}
	for _, b := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return "", fmt.Errorf("kubetest: %s not found in %s (KUBEBUILDER_ASSETS, or bin/ under the module root): run `make envtest-bin`", b, dir)
		}
	}
	return dir, nil
}

// Start starts an API server with the given CRD directories installed and
// stops it when the test ends.
func Start(t testing.TB, crdDirs ...string) *rest.Config {
	t.Helper()
	assets, err := AssetsDir()
	if err != nil {
		t.Fatal(err)
	}
	env := &envtest.Environment{BinaryAssetsDirectory: assets, CRDDirectoryPaths: crdDirs, ErrorIfCRDPathMissing: len(crdDirs) > 0}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("kubetest: start the API server: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("kubetest: stop the API server: %v", err)
		}
	})
	return cfg
}
