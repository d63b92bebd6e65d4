// Package kubetest starts the real components stuurman's tests run against:
// a kube-apiserver and etcd under controller-runtime's envtest, built from
// source into bin/ by `make envtest-bin`. It only serves tests.
//
// A test that needs its own API server calls Start; a package whose tests
// share one starts it in TestMain with Launch:
//
//	func TestMain(m *testing.M) {
//		crds, err := kubetest.CRDDir()
//		…
//		cfg, stop, err := kubetest.Launch(crds)
//		if err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			os.Exit(1)
//		}
//		code := m.Run()
//		_ = stop()
//		os.Exit(code)
//	}
//
// A missing binary is an error that says how to build it, never a skip.
package kubetest

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
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

// CRDDir returns config/crd under the module root: the stuurman.io
// CustomResourceDefinitions that controller-gen writes.
func CRDDir() (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, "config", "crd")
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("kubetest: CRD directory: %w (run `make generate`)", err)
	}
	return dir, nil
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
			return "", fmt.Errorf("kubetest: %s not found in %s (KUBEBUILDER_ASSETS, or bin/ under the module root): this test needs a real API server; run `make envtest-bin` to build kube-apiserver and etcd", b, dir)
		}
	}
	return dir, nil
}

// Launch starts an API server with the given CRD directories installed
// and returns its configuration (an administrator's) and a function that
// stops it. It is for TestMain, which has no testing.TB; a test calls
// Start instead.
func Launch(crdDirs ...string) (*rest.Config, func() error, error) {
	assets, err := AssetsDir()
	if err != nil {
		return nil, nil, err
	}
	env := &envtest.Environment{BinaryAssetsDirectory: assets, CRDDirectoryPaths: crdDirs, ErrorIfCRDPathMissing: len(crdDirs) > 0}
	cfg, err := env.Start()
	if err != nil {
		// Start may have started etcd before the API server failed.
		_ = env.Stop()
		return nil, nil, fmt.Errorf("kubetest: start the API server: %w", err)
	}
	stop := func() error {
		if err := env.Stop(); err != nil {
			return fmt.Errorf("kubetest: stop the API server: %w", err)
		}
		return nil
	}
	return cfg, stop, nil
}

// Start starts an API server with the given CRD directories installed and
// stops it when the test ends.
func Start(t testing.TB, crdDirs ...string) *rest.Config {
	t.Helper()
	cfg, stop, err := Launch(crdDirs...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	})
	return cfg
}

// Kubeconfig writes a kubeconfig file for cfg (as Start or Launch return
// it) into a temporary directory of the test, and returns its path: for
// code under test that takes --kubeconfig.
func Kubeconfig(t testing.TB, cfg *rest.Config) string {
	t.Helper()
	data, err := kubeconfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("kubetest: %v", err)
	}
	return path
}

func kubeconfig(cfg *rest.Config) ([]byte, error) {
	u, err := url.Parse(cfg.Host)
	if err != nil {
		return nil, fmt.Errorf("kubetest: host %q: %w", cfg.Host, err)
	}
	scheme := "https"
	if !rest.IsConfigTransportTLS(*cfg) {
		scheme = "http"
	}
	const name = "kubetest"
	kc := clientcmdapi.NewConfig()
	kc.Clusters[name] = &clientcmdapi.Cluster{
		Server:                   (&url.URL{Scheme: scheme, Host: u.Host, Path: cfg.APIPath}).String(),
		CertificateAuthorityData: cfg.CAData,
	}
	kc.AuthInfos[name] = &clientcmdapi.AuthInfo{
		ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData,
		Token: cfg.BearerToken, Username: cfg.Username, Password: cfg.Password,
	}
	ctx := clientcmdapi.NewContext()
	ctx.Cluster, ctx.AuthInfo = name, name
	kc.Contexts[name] = ctx
	kc.CurrentContext = name
	data, err := clientcmd.Write(*kc)
	if err != nil {
		return nil, fmt.Errorf("kubetest: write kubeconfig: %w", err)
	}
	return data, nil
}
