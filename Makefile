# stuurman — make targets. DATA_DIR points at the evaluation data (see README).
GO       ?= go
DATA_DIR ?= ../shared/data
OUT      ?= out
BIN      := bin/stuurman
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)

# Real components for the tests, built from source through the Go module
# proxy (hack/tools pins their versions): kube-apiserver and etcd for
# controller-runtime's envtest.
K8S_VERSION := v1.37.2
TOOLS_LDFLAGS := -X k8s.io/component-base/version.gitVersion=$(K8S_VERSION) \
	-X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37
ENVTEST_BIN := bin/kube-apiserver bin/etcd
# helm renders the chart in deploy/helm for its test.
HELM_VERSION := v3.22.0

.PHONY: all build test demo bench bench-compare lint eval clean envtest-bin generate manifests policy-markers verify-generated

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/stuurman

## test: lint, then every package's tests against a real API server (envtest)
## and, where present, the evaluation data in DATA_DIR.
test: lint verify-generated envtest-bin bin/helm
	KUBEBUILDER_ASSETS=$(abspath bin) STUURMAN_DATA_DIR=$(abspath $(DATA_DIR)) $(GO) test -count=1 ./...

envtest-bin: $(ENVTEST_BIN)

bin/kube-apiserver: hack/tools/go.mod hack/tools/go.sum hack/tools/kube-apiserver/main.go
	cd hack/tools && $(GO) build -ldflags "$(TOOLS_LDFLAGS)" -o ../../bin/kube-apiserver ./kube-apiserver

bin/helm:
	GOBIN=$(abspath bin) $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

bin/etcd: hack/tools/go.mod hack/tools/go.sum hack/tools/etcd/main.go
	cd hack/tools && $(GO) build -o ../../bin/etcd ./etcd

## demo: a dry-run report on the bundled three weeks of the NASA trace; no cluster, no key.
demo: build
	$(BIN) recommend --trace examples/nasa_http_1995_per_minute_3w.csv --out $(OUT)/demo --capacity-per-pod 10

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

## eval: HPA vs stuurman on the full traces in DATA_DIR (figures in docs/benchmarks.md).
eval: build
	$(BIN) recommend --trace $(DATA_DIR)/traces/nasa_http_1995_per_minute.csv --out $(OUT)/eval/nasa --capacity-per-pod 10
	$(BIN) recommend --trace $(DATA_DIR)/traces/twitter_stream_2021_08_per_minute_relative.csv --out $(OUT)/eval/twitter --capacity-per-pod 500

clean:
	rm -rf bin $(OUT)

## bench-compare: stuurman's Holt-Winters against statsmodels' on the same NASA windows (needs python3 with statsmodels; a few minutes).
bench-compare:
	/usr/bin/python3 bench/statsmodels_compare.py --trace $(DATA_DIR)/traces/nasa_http_1995_per_minute.csv

# Code and manifests generated from the API types (api/v1alpha1, and the
# policy types it embeds) by controller-gen; commit what they write.
CONTROLLER_GEN ?= $(GO) run sigs.k8s.io/controller-tools/cmd/controller-gen@v0.23.0

## generate: the DeepCopy functions of api/v1alpha1 and of the policy types.
generate: policy-markers
	$(CONTROLLER_GEN) object paths="{./api/...,./policies/...}"

## manifests: the CustomResourceDefinitions in config/crd. The policy has
## float fields (allowDangerousTypes).
manifests: policy-markers
	$(CONTROLLER_GEN) crd:allowDangerousTypes=true paths=./api/... output:crd:artifacts:config=config/crd
	cp config/crd/*.yaml deploy/helm/stuurman/crds/

## verify-generated: fail when the committed DeepCopy code or CRDs differ
## from what the API types generate.
verify-generated: generate manifests
	@git diff --exit-code -- api policies config deploy/helm/stuurman/crds || { \
		echo "generated files are out of date: run make generate manifests and commit the result"; exit 1; }

# The CRD embeds policies.Policy: its types need DeepCopy markers, and
# policies.Duration (a duration string in JSON) the schema type string.
policy-markers:
	@grep -q '+kubebuilder:validation:Type=string' policies/policy.go || { 		echo "policies/policy.go: policies.Duration needs the marker +kubebuilder:validation:Type=string"; 		echo "and Policy, Rules, FlapBudget, RateLimit, Freeze, Protected, RestartRules, ApprovalRules, CELRule +kubebuilder:object:generate=true"; exit 1; }
