# accessgraph. `make` alone lists the targets; each target has a one-line description
# after "##", which is what `make help` prints.

.DEFAULT_GOAL := help

GO      ?= go
BIN     := bin/accessctl
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: help run build test test-race lint e2e

help: ## List the targets
	@awk 'BEGIN { FS = ":.*## " } /^[a-zA-Z0-9_-]+:.*## / { printf "  %-10s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

run: ## Serve the demo portal on 127.0.0.1:50051 (memory datastore, not durable); Ctrl-C stops it
	$(GO) run ./cmd/accessctl serve --demo

build: ## Build bin/accessctl
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/accessctl

test: ## Run every test (go test ./...)
	$(GO) test -timeout 20m ./...

test-race: ## Run every test with the race detector
	$(GO) test -race -timeout 30m ./...

lint: ## Check formatting (gofmt -l must print nothing) and run go vet
	@unformatted=$$(gofmt -l .); \
	if [ -n "$$unformatted" ]; then echo "gofmt -l: these files need gofmt -w:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

e2e: ## End-to-end: build, serve --demo on a free port, run examples/walkthrough.sh, stop
	scripts/e2e.sh
