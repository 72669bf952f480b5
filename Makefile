# casehub — the two commands that matter: `make dev` and `make test`.
SHELL := /bin/bash
GO ?= go
TEMPORAL := .bin/temporal
TEMPORAL_UI := .bin/temporal-ui
TEMPORAL_SERVER := .bin/temporal-server
TEMPORAL_SQL_TOOL := .bin/temporal-sql-tool
export CASEHUB_TEMPORAL_BIN ?= $(CURDIR)/$(TEMPORAL)

.PHONY: dev test bench tools build vet fmt-check unit clean-data help

help:
	@echo "make dev    run the whole system locally (Temporal dev server + UI, PostgreSQL schema, worker, API)"
	@echo "make test   run every test (vet, gofmt, unit, store, API, integration against a real dev server)"
	@echo "make tools  build the pinned Temporal CLI into $(TEMPORAL)"
	@echo "make test-faults  kill, stop and restart the parts of a running system; check nothing is lost or doubled"
	@echo "make cluster  run casehub on a local Temporal cluster (separate services on PostgreSQL, two workers, two APIs)"
	@echo "make cluster-reset  forget the cluster: drop its databases and .data/cluster"
	@echo "make test-e2e  the end-to-end tests alone (CASEHUB_TEST_CLUSTER=1: against a Temporal cluster)"
	@echo "make test-cluster  the inbound call, case processes and both callback modes end to end on a cluster"
	@echo "make fuzz   run every fuzz target for FUZZTIME each (default $(FUZZTIME))"
	@echo "make histories  record workflow histories for the replay test (workflows/testdata/histories)"
	@echo "make bench  measure casehub against bare Temporal here (BENCH_FLAGS=\"--calls 100 ...\"; on a Temporal cluster: BENCH_FLAGS=\"--cluster --workers 2\"; see .bin/casehub-bench -h)"

## tools: the Temporal CLI pinned in tools/go.mod, built from Go modules (no binary download).
tools: $(TEMPORAL)
$(TEMPORAL): tools/go.mod tools/go.sum
	@mkdir -p .bin
	@echo "building the Temporal CLI pinned in tools/go.mod (a few minutes the first time)..."
	$(GO) build -modfile=tools/go.mod -o $(TEMPORAL).tmp github.com/temporalio/cli/cmd/temporal
	@mv $(TEMPORAL).tmp $(TEMPORAL)

## build: casehub (the one production binary) and casehub-bench (the benchmark, not in the image).
build:
	$(GO) build -o .bin/casehub ./cmd/casehub
	$(GO) build -o .bin/casehub-bench ./cmd/casehub-bench

## temporal-ui: the Temporal Web UI server pinned in tools/go.mod (the release the CLI
## embeds), run on its own by `make dev` so that it can send the codec sign-in cookie.
$(TEMPORAL_UI): tools/go.mod tools/go.sum
	@mkdir -p .bin
	@echo "building the Temporal Web UI server pinned in tools/go.mod (a minute the first time)..."
	$(GO) build -modfile=tools/go.mod -o $(TEMPORAL_UI).tmp github.com/temporalio/ui-server/v2/cmd/server
	@mv $(TEMPORAL_UI).tmp $(TEMPORAL_UI)

## cluster-tools: the Temporal server and its SQL schema tool pinned in tools/go.mod
## (the release the CLI embeds), built from Go modules like the CLI.
.PHONY: cluster-tools cluster cluster-reset test-e2e test-cluster
cluster-tools: $(TEMPORAL_SERVER) $(TEMPORAL_SQL_TOOL) $(TEMPORAL_UI)
$(TEMPORAL_SERVER): tools/go.mod tools/go.sum
	@mkdir -p .bin
	@echo "building the Temporal server pinned in tools/go.mod (a few minutes the first time)..."
	$(GO) build -modfile=tools/go.mod -o $@.tmp go.temporal.io/server/cmd/server
	@mv $@.tmp $@
$(TEMPORAL_SQL_TOOL): tools/go.mod tools/go.sum
	@mkdir -p .bin
	$(GO) build -modfile=tools/go.mod -o $@.tmp go.temporal.io/server/cmd/tools/sql
	@mv $@.tmp $@

## cluster: casehub on a local Temporal cluster (package cluster; README, "Running on a
## Temporal cluster"). State in PostgreSQL and .data/cluster; Ctrl-C stops it, running it
## again resumes; cluster-reset forgets it.
cluster: cluster-tools build
	.bin/casehub cluster
cluster-reset: build
	.bin/casehub cluster reset

## test-e2e: the end-to-end tests alone; CASEHUB_TEST_CLUSTER=1 runs them on a cluster.
test-e2e: tools
	$(GO) test -count=1 -timeout 30m ./e2e/

## test-cluster: the seeds' main processes end to end on a Temporal cluster of the tests'
## own (fresh databases, free ports): an inbound call, case processes, both callback
## modes, live events through the proxy, and concurrent routing over two workers.
CLUSTER_TESTS := ^(TestInboundCallAcceptedEndedWithPhoneLog|TestAddNewCaseForAContactIdentifiedByPhone|TestAddNewCaseFromAnAcceptedCall|TestCallbackCustomerFirstEndToEnd|TestCallbackAgentFirstEndToEnd|TestAgentStreamDrivesACall|TestManyCallsManyAgentsNoDoubleBooking)$$
test-cluster: $(TEMPORAL_SERVER) $(TEMPORAL_SQL_TOOL)
	CASEHUB_TEST_CLUSTER=1 $(GO) test -count=1 -timeout 20m -run '$(CLUSTER_TESTS)' -v ./e2e/

## dev: everything on embedded defaults; Ctrl-C stops it, running it again resumes.
dev: tools $(TEMPORAL_UI) build
	.bin/casehub dev

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.bin/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

## lint-api: the OpenAPI document against Redocly's recommended rules (errors fail;
## warnings are printed). Node's npx fetches the pinned CLI from the npm registry.
REDOCLY ?= @redocly/cli@2.77.0
.PHONY: lint-api
lint-api:
	@command -v npx >/dev/null || { echo "lint-api needs Node.js (npx) to run $(REDOCLY)"; exit 1; }
	npx --yes $(REDOCLY) lint --format=summary api/openapi.yaml

## test: every test, against real PostgreSQL and a real Temporal dev server.
test: tools vet fmt-check lint-api
	$(GO) test -count=1 -timeout 20m ./...

## test-faults: kill workers, stop PostgreSQL, restart Temporal, stop the CTI simulator,
## deliver duplicates, and check nothing was lost or done twice. The system runs as
## separate processes of the real binary on a PostgreSQL instance and a Temporal dev
## server of the tests' own (faults/harness_test.go); then the same on a Temporal cluster
## with two workers and two API replicas (faults/cluster_test.go). Not part of `make test`.
.PHONY: test-faults
test-faults: tools $(TEMPORAL_SERVER) $(TEMPORAL_SQL_TOOL)
	$(GO) test -tags faults -count=1 -timeout 30m ./faults/

## bench: casehub against bare Temporal on this machine, on a dev server of its own
## (or with BENCH_FLAGS="--cluster" a Temporal cluster of its own; "--workers N" runs
## N casehub workers) and a database of its own; a table on stdout, the results in
## .data/bench-results.json. Not part of `make test`.
BENCH_FLAGS ?=
bench: tools build $(if $(findstring --cluster,$(BENCH_FLAGS)),$(TEMPORAL_SERVER) $(TEMPORAL_SQL_TOOL))
	.bin/casehub-bench $(BENCH_FLAGS)

## fuzz: each fuzz target for FUZZTIME (go test -fuzz takes one target at a time).
## Their seed corpora (testdata/fuzz) run in `make test` as ordinary tests.
FUZZTIME ?= 10s
.PHONY: fuzz histories
FUZZ_TARGETS := ./phone:FuzzNormalize ./cti:FuzzParseEvent ./cti:FuzzVerify \
	./api:FuzzCreateContactBody ./api:FuzzPutQueueBody
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== fuzz $$name in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done

## histories: run representative processes on a real dev server and write their
## histories to workflows/testdata/histories, then replay them.
histories: tools
	$(GO) test -count=1 -tags record -run '^TestRecordHistories$$' -timeout 20m -v ./e2e/
	$(GO) test -count=1 -run '^TestReplayRecordedHistories$$' ./workflows/

clean-data:
	rm -rf .data
