# Tally — run `make help` for the targets.
GO        ?= go
DATA      ?= ./data
BIN       ?= bin/tally
FUZZTIME  ?= 20s
export GOFLAGS ?= -buildvcs=false

.DEFAULT_GOAL := help

help: ## Show this help.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-8s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## Build the tally binary into bin/.
	$(GO) build -o $(BIN) ./cmd/tally

run: build ## Start Tally on its embedded defaults (data in ./data) with the demo chain.
	$(BIN) serve --data $(DATA) --demo

test: ## Run the whole test suite.
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

race: ## The concurrent packages' tests under the race detector (slow to build).
	$(GO) test -count=1 -race -short ./ledger/... ./events/... ./api/... ./client/...

bench: build ## Run the benchmarks: Go micro-benchmarks and tally bench.
	$(GO) test -run '^$$' -bench . -benchmem ./...
	$(BIN) bench ledger
	$(BIN) bench proofs

fuzz: ## Run every fuzz target for FUZZTIME each.
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; done

lint: ## gofmt and go vet.
	@test -z "$$(gofmt -l .)" || (gofmt -l . && exit 1)
	$(GO) vet ./...

.PHONY: help build run test race bench fuzz lint
