# DB Concierge — build, generate, test and demo. `make help` lists the targets.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

CONTROLLER_TOOLS_VERSION := v0.23.0
BIN := $(CURDIR)/bin
CONTROLLER_GEN := $(BIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
GO_BUILD_FLAGS := -trimpath
# Integration tests start real servers; on a 2-core machine they run one package at a time.
INTEGRATION_FLAGS ?= -count=1 -p 1 -timeout 40m

.PHONY: help
help: ## List the targets.
	@awk -F':.*## ' '/^[a-z-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# A release tag (vMAJOR.MINOR.PATCH) when HEAD is one; otherwise "dev", and --version shows the
# revision Go records from the checkout.
VERSION ?= $(shell git describe --tags --match 'v[0-9]*' --exact-match 2>/dev/null || echo dev)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)
VERSION_LDFLAGS := -X github.com/stillwaters/db-concierge/internal/version.version=$(VERSION) \
	-X github.com/stillwaters/db-concierge/internal/version.revision=$(REVISION)
PREFIX ?= /usr/local

.PHONY: build
build: ## Build bin/db-concierge-operator and the CLI, bin/bootstrap-mysql-schema.
	go build $(GO_BUILD_FLAGS) -ldflags "$(VERSION_LDFLAGS)" -o $(BIN)/db-concierge-operator ./cmd/operator
	go build $(GO_BUILD_FLAGS) -ldflags "$(VERSION_LDFLAGS)" -o $(BIN)/bootstrap-mysql-schema ./cmd/bootstrap-mysql-schema

.PHONY: install
install: build ## Install the CLI into $(PREFIX)/bin, also as the kubectl plugin kubectl-concierge.
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BIN)/bootstrap-mysql-schema $(DESTDIR)$(PREFIX)/bin/bootstrap-mysql-schema
	ln -sf bootstrap-mysql-schema $(DESTDIR)$(PREFIX)/bin/kubectl-concierge

$(CONTROLLER_GEN):
	GOBIN=$(BIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)
	mv $(BIN)/controller-gen $@

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Regenerate deepcopy code and the CRD YAML from api/.
	$(CONTROLLER_GEN) object paths=./api/...
	hack/generate-crds.sh $(CONTROLLER_GEN)
	go run ./hack/gen-api-docs charts/db-concierge/crds docs/api.md

.PHONY: verify
verify: deps $(CONTROLLER_GEN) ## Fail if generated files, go.mod or the test binaries' version are stale, or golangci-lint or shellcheck complain.
	hack/verify.sh $(CONTROLLER_GEN)

.PHONY: lint
lint: ## Run golangci-lint (.golangci.yml; built once per version from hack/lint-tools) over every package, test code included.
	hack/golangci-lint.sh run ./...

.PHONY: deps
deps: ## Install the Debian packages the tests and the demo run (as root), or say which are missing.
	hack/ensure-packages.sh

.PHONY: kube-assets
kube-assets: ## Build (once per version) the kube-apiserver, etcd and kubectl that tests use.
	hack/kube-assets.sh >/dev/null

.PHONY: test-unit
test-unit: ## Unit tests: fast, no servers.
	go test -count=1 ./...

.PHONY: test-integration
test-integration: deps ## Integration tests against a real API server and a real MariaDB (and the MySQL engine against MariaDB alone).
	KUBEBUILDER_ASSETS="$$(hack/kube-assets.sh)" go test -tags integration $(INTEGRATION_FLAGS) ./test/... ./internal/mysql/

.PHONY: test
test: verify test-unit test-integration ## Everything CI runs: generated-code check, unit and integration tests.

BENCH_FLAGS ?=

# README's figures are rendered from the report in bench/; BENCH_FLAGS come last, so
# BENCH_FLAGS="-out DIR -readme=" runs elsewhere and leaves both alone.
.PHONY: bench
bench: deps ## Benchmark the operator against the baselines; writes bench/report.md and README's figures (BENCH_FLAGS="-n 10000" for the large run).
	KUBEBUILDER_ASSETS="$$(hack/kube-assets.sh)" go run ./test/bench -out bench -readme README.md $(BENCH_FLAGS)

.PHONY: bench-readme
bench-readme: ## Render README's benchmark figures again from bench/report.json, running nothing.
	go run ./test/bench -out bench -readme README.md -readme-only

CHAOS_MODE ?= full
CHAOS_FLAGS ?= -count=1 -p 1 -timeout 90m -v

.PHONY: chaos
chaos: deps ## 200 AppDatabases on MariaDB and on Galera while servers, operators and the API server are killed (CHAOS_SEED=n repeats, CHAOS_REPORT=file.md keeps the figures).
	CHAOS_MODE=$(CHAOS_MODE) KUBEBUILDER_ASSETS="$$(hack/kube-assets.sh)" go test -tags integration $(CHAOS_FLAGS) -run '^TestChaos$$' ./test/chaos

.PHONY: demo
demo: deps ## Start a local API server and MariaDB, run the operator, provision a database end to end.
	KUBEBUILDER_ASSETS="$$(hack/kube-assets.sh)" go run ./hack/demo

# make release VERSION=v0.2.0: a release is built from a commit; RELEASE_FLAGS=-allow-dirty tries
# one out from a checkout with changes.
RELEASE_FLAGS ?=

.PHONY: release
release: ## Build release VERSION into dist/: multi-arch OCI image, CLI archives, krew manifest, chart, manifests, SBOMs, checksums.
	@[[ $(VERSION) == v* ]] || { echo "make release needs VERSION=vMAJOR.MINOR.PATCH" >&2; exit 2; }
	cd hack/release && go run . -version $(VERSION) -src $(CURDIR) -out $(CURDIR)/dist $(RELEASE_FLAGS)

.PHONY: clean
clean: ## Remove build output (the cached test binaries outside the checkout stay).
	rm -rf $(BIN) dist
