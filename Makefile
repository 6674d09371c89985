# sidecar-injector: run `make help` for the targets.

GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
BIN       := bin/sidecar-injector
# Tools (kustomize, envtest's kube-apiserver and etcd) live outside the tree.
CACHE     ?= $(HOME)/.cache/sidecar-injector
export SIDECAR_INJECTOR_CACHE := $(CACHE)

.PHONY: all
all: lint test build ## lint, test and build

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

.PHONY: build
build: ## build bin/sidecar-injector (static, version stamped)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/sidecar-injector

.PHONY: test
test: lint unit e2e ## everything CI runs: lint, unit tests with -race, end-to-end tests

.PHONY: unit
unit: ## unit and golden tests with the race detector
	$(GO) test -race -count=1 ./...

.PHONY: tools
tools: ## install the pinned kustomize, check kpt, build envtest's kube-apiserver + etcd and Helm 3 + 4 (cached)
	hack/install-tools.sh

.PHONY: e2e
e2e: tools ## end-to-end tests with the real kustomize, kpt, Helm 3 and 4, kube-apiserver and etcd
	PATH="$(CACHE)/bin:$$PATH" KUBEBUILDER_ASSETS="$$(hack/install-envtest.sh)" \
		$(GO) test -tags e2e -count=1 -timeout 30m ./e2e/...

.PHONY: update-golden
update-golden: ## rewrite golden files under testdata/ and examples/, and the config schema (review the diff!)
	UPDATE_GOLDEN=1 $(GO) test -count=1 ./...
	PATH="$(CACHE)/bin:$$PATH" UPDATE_GOLDEN=1 $(GO) test -tags e2e -count=1 -run Example ./e2e/...

.PHONY: fuzz
fuzz: ## fuzz the engine, the YAML writer and the webhook path for FUZZTIME (default 60s) per target
	hack/fuzz.sh $${FUZZTIME:-60s}

.PHONY: bench
bench: tools ## benchmarks: Go benchmarks and whole-process comparisons (figures in docs/BENCHMARKS.md)
	PATH="$(CACHE)/bin:$$PATH" hack/bench.sh

STATICCHECK := $(CACHE)/bin/staticcheck-v0.8.2

.PHONY: lint
lint: $(STATICCHECK) ## gofmt, go vet and staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/...
	$(STATICCHECK) ./...
	$(STATICCHECK) -tags e2e ./e2e/...

# staticcheck, pinned and cached like the other tools (about a minute to build).
$(STATICCHECK):
	mkdir -p $(CACHE)/bin
	GOBIN=$(CACHE)/bin GOFLAGS=-mod=mod $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2
	mv $(CACHE)/bin/staticcheck $@

.PHONY: clean
clean: ## remove build output
	rm -rf bin .bench
