# stuurman — make targets. DATA_DIR points at the evaluation data (see README).
GO       ?= go
DATA_DIR ?= ../shared/data
OUT      ?= out
BIN      := bin/stuurman
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)

.PHONY: all build test demo bench lint eval clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/stuurman

## test: lint, then every package's tests (the evaluation data is read from DATA_DIR when present).
test: lint
	STUURMAN_DATA_DIR=$(abspath $(DATA_DIR)) $(GO) test -count=1 ./...

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
