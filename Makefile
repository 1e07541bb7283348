# clvstream developer targets. `make test` is what CI runs (.ci/run).
GO ?= go
PKGS ?= ./...

.PHONY: build demo test test-unit vet deploy-check bench services-up services-down clean

build:
	$(GO) build -o bin/clvstream ./cmd/clvstream

# One-command try-out: in-process Kafka broker and Redis-compatible store,
# synthetic traffic, live summary; Ctrl-C stops it cleanly.
demo:
	$(GO) run ./cmd/clvstream demo

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l cmd internal pkg)" || { echo "gofmt needed:"; gofmt -l cmd internal pkg; exit 1; }

# Unit tests only: no services needed (tests that need Redis or Kafka skip).
test-unit:
	$(GO) test -count=1 $(PKGS)

# Deployment files: the Helm chart with a real helm (scripts/helm.sh builds
# it into .cache/bin on the first run) and docker-compose.yml, without Docker.
deploy-check:
	scripts/helm.sh
	$(GO) test -count=1 ./deployments/composecheck/

# Full suite: starts real Redis and a real Apache Kafka broker (KRaft) from
# scripts/, runs every tier against them, stops them again.
test: vet deploy-check
	@scripts/services.sh up
	@set -a; eval "$$(scripts/services.sh env)"; export CLV_TEST_REQUIRE_SERVICES=1; \
	$(GO) test -count=1 -timeout 40m $(PKGS); rc=$$?; \
	scripts/services.sh down; exit $$rc

# Benchmarks on the real services (README "Benchmarks"): the end-to-end
# benchmark of internal/perf (1,000,000 records for 107,000 customers
# through a plain consumer, a JSON consumer, a naive GET/SET processor and
# clvstream run; flags in BENCH_FLAGS, e.g. make bench BENCH_FLAGS='-events
# 200000 -customers 20000'), then the Go benchmarks. Starts the services
# and stops them at the end.
bench:
	@scripts/services.sh up
	@set -a; eval "$$(scripts/services.sh env)"; \
	$(GO) run ./internal/perf/cmd/clvbench $(BENCH_FLAGS); rc=$$?; \
	$(GO) test -run '^$$' -bench . -benchtime 1x ./...; rc2=$$?; \
	scripts/services.sh down; [ $$rc -eq 0 ] && exit $$rc2; exit $$rc

services-up:
	scripts/services.sh up

services-down:
	scripts/services.sh down

clean:
	rm -rf bin
