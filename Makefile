# accessgraph. `make` alone lists the targets; each target has a one-line description
# after "##", which is what `make help` prints.

.DEFAULT_GOAL := help

GO      ?= go
# The Go toolchain (scripts/toolchain.env), exported to every recipe; the go command fetches it
# itself, once per machine. Override on the command line: make GOTOOLCHAIN=go1.28.0 test.
include scripts/toolchain.env
export GOTOOLCHAIN
BIN     := bin/accessctl
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

# The local datastore's tests of what runs on several goroutines: concurrent readers and
# writers, a bulk load's reader, a restart's parallel sorts and changelog workers, a
# changelog encoded in parts, transactions given up while they run.
LOCALSTORE_RACE_TESTS = TestReadYourWritesConcurrent|TestRevisionsFollowCommitOrder|TestBulkLoadFailsInTheSourcesOrder|TestChangelogEncodingIsTheRecordsJSON|TestDamagedChangelogEntryRefusesOpen|TestGivenUpTransactionCommitsNothing|TestLoadedTreesAreSorted

.PHONY: help run run-postgres build test test-browser test-race test-postgres test-local bench lint e2e fuzz memdb-diff proto proto-check

help: ## List the targets
	@awk 'BEGIN { FS = ":.*## " } /^[a-zA-Z0-9_-]+:.*## / { printf "  %-14s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

# RUN_FLAGS are more flags for `make run`'s serve, for example RUN_FLAGS="--addr 127.0.0.1:50052".
RUN_FLAGS ?=

# run builds bin/accessctl and execs it, rather than `go run`: go run exits 1 when
# interrupted, so make reported "Error 1" after a clean shutdown on Ctrl-C.
run: build ## Build bin/accessctl and serve the demo portal on 127.0.0.1:50051 (domain API on 127.0.0.1:50052), kept in .data/demo (delete it to start over); Ctrl-C stops it
	exec $(BIN) serve --demo --data-dir .data/demo $(RUN_FLAGS)

run-postgres: build ## Build bin/accessctl and serve the demo portal durably on a private PostgreSQL (deploy/local-postgres/pg.sh)
	@uri=$$(deploy/local-postgres/pg.sh start) && exec $(BIN) serve --demo --datastore "$$uri" $(RUN_FLAGS)

build: ## Build bin/accessctl
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/accessctl

test: ## Run every test (go test ./...)
	$(GO) test -timeout 20m ./...

# BROWSER is the Chromium `make test-browser` drives (Debian's chromium package).
BROWSER ?= /usr/bin/chromium

test-browser: ## Run the access console's browser tests in headless Chromium (BROWSER, /usr/bin/chromium); screenshots go to ACCESSGRAPH_TEST_ARTIFACTS if set
	@if [ ! -x "$(BROWSER)" ]; then echo "make test-browser: no Chromium at $(BROWSER): install it (apt-get install chromium) or pass BROWSER=/path/to/chromium"; exit 1; fi
	ACCESSGRAPH_TEST_BROWSER="$(BROWSER)" $(GO) test -count=1 -timeout 5m -run 'Browser' ./pkg/console/...

test-race: ## Run the concurrent code's tests (domain, engine, audit log, CLI, domain API, console, key registry, the local datastore's concurrent paths) with the race detector
	$(GO) test -race -timeout 30m ./pkg/access/... ./pkg/engine/... ./pkg/auditlog/... ./pkg/audit/... ./pkg/cli/... ./pkg/api/... ./pkg/console/... ./pkg/principal/...
	$(GO) test -race -timeout 20m -run '$(LOCALSTORE_RACE_TESTS)' ./pkg/localstore/

test-postgres: ## Run the domain, durability, audit-log and as-of suites (and history --datastore) on a private PostgreSQL, then stop it
	@uri=$$(deploy/local-postgres/pg.sh start) || exit 1; \
	ACCESSGRAPH_TEST_POSTGRES="$$uri" $(GO) test -count=1 -timeout 20m ./pkg/access/... ./pkg/engine/... ./pkg/auditlog/... ./pkg/audit/... ./pkg/cli/auditcmd/... && \
	ACCESSGRAPH_TEST_POSTGRES="$$uri" $(GO) test -count=1 -timeout 20m -run 'TestAsOf' ./pkg/refmodel/ -refmodel.asof-worlds=2; \
	status=$$?; deploy/local-postgres/pg.sh stop; exit $$status

test-local: ## Run the domain suite, the differential test and the expiry-reaper tests on the local datastore
	ACCESSGRAPH_TEST_DATASTORE=local $(GO) test -count=1 -timeout 20m ./pkg/access/... ./pkg/refmodel/...
	ACCESSGRAPH_TEST_DATASTORE=local $(GO) test -count=1 -timeout 10m -run 'TestLateReaper|TestLongScans' ./pkg/engine/

bench: ## Benchmark at medium scale (~1M relationships): the local datastore and a private PostgreSQL side by side, each against a SQL baseline on the same data (docs/performance.md)
	@uri=$$(deploy/local-postgres/pg.sh start) || exit 1; \
	$(GO) run ./cmd/accessctl bench --scale medium --datastore file:.data/bench --datastore "$$uri" --sql-baseline "$$uri" --json-file bench.json; \
	status=$$?; deploy/local-postgres/pg.sh stop; exit $$status

# FUZZTIME is how long `make fuzz` runs each fuzz target.
FUZZTIME ?= 15s

fuzz: ## Run every fuzz target (found by grep, one per go test -fuzz) for FUZZTIME (15s) each
	@targets=$$(grep -rl --exclude-dir=.git --include='*_test.go' '^func Fuzz' . | sort | while read -r file; do \
		sed -n "s|^func \(Fuzz[A-Za-z0-9_]*\)([a-z]* \*testing\.F).*|./$$(dirname "$${file#./}") \1|p" "$$file"; done); \
	if [ -z "$$targets" ]; then echo "no fuzz targets found"; exit 1; fi; \
	declared=$$(grep -rh --exclude-dir=.git --include='*_test.go' '^func Fuzz' . | wc -l); \
	if [ "$$(echo "$$targets" | wc -l)" -ne "$$declared" ]; then \
		echo "make fuzz: $$declared 'func Fuzz' lines but these targets:"; echo "$$targets"; exit 1; fi; \
	echo "$$targets" | while read -r pkg name; do \
		echo "== $$name ($$pkg, $(FUZZTIME))"; \
		$(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) "$$pkg" || exit 1; \
	done

lint: ## Check formatting (gofmt -l must print nothing) and run go vet
	@unformatted=$$(gofmt -l .); \
	if [ -n "$$unformatted" ]; then echo "gofmt -l: these files need gofmt -w:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

# BUF runs buf at the version the generated code was made with (buf.gen.yaml pins the plugins).
BUF ?= $(GO) run github.com/bufbuild/buf/cmd/buf@v1.75.0

proto: ## Regenerate the domain API's code (pkg/api/gen) and OpenAPI document (pkg/api/openapi.json) from proto/
	$(BUF) generate
	$(GO) test ./pkg/api -run '^TestOpenAPIDocumentMatchesTheServices$$' -update

proto-check: ## Fail when pkg/api/gen or pkg/api/openapi.json is stale (regenerates, then git diff)
	@$(MAKE) --no-print-directory proto >/dev/null
	@git diff --exit-code --stat -- pkg/api/gen pkg/api/openapi.json || { echo "make proto-check: generated code is stale: run make proto and commit"; exit 1; }

e2e: ## End-to-end: build, serve --demo on a free port, run examples/walkthrough.sh, stop
	scripts/e2e.sh

# SPICEDB_CANDIDATE is the SpiceDB version `make memdb-diff` compares with the pinned one.
SPICEDB_CANDIDATE ?=

memdb-diff: ## Diff SpiceDB's upstream memdb (pkg/localstore's origin): go.mod's version vs SPICEDB_CANDIDATE=vX.Y.Z
	@SPICEDB_CANDIDATE="$(SPICEDB_CANDIDATE)" scripts/memdb-diff.sh
