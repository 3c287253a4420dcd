# The two commands a newcomer needs: `make up` and `make test`.
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin

.PHONY: up down up-cluster down-cluster test unit rules k8s e2e e2e-cluster deps vet bench

## up: start Redis, Asterisk and the controller (idempotent; ready when it returns)
up:
	deploy/local/hotline.sh up

## down: stop the local hotline
down:
	deploy/local/hotline.sh down

## up-cluster: Kamailio, two Asterisk nodes with a controller each, Redis with Sentinel, Prometheus
up-cluster:
	deploy/local/cluster.sh up

## down-cluster: stop the local cluster
down-cluster:
	deploy/local/cluster.sh down

## test: every test: vet, unit tests (real Redis, Kamailio, audio tools), Prometheus rules, Kubernetes manifests,
## then end-to-end with sipp: the single-node stack, then the cluster
test: vet unit rules k8s e2e e2e-cluster

deps:
	deploy/local/stack.sh deps

vet:
	go vet ./...
	go vet -tags e2e ./e2e/
	go vet -tags e2ecluster ./e2e/cluster/

unit: deps
	HOTLINE_REQUIRE_REDIS=1 HOTLINE_REQUIRE_AUDIO=1 HOTLINE_REQUIRE_SIPP=1 HOTLINE_REQUIRE_KAMAILIO=1 go test -race -count=1 ./...

## bench: the callback engine under load (10,000 callbacks over a simulated hour) and Go benchmarks, the complaint report of 50,000 work orders,
## then the sipp load benchmark: one node, the two-node cluster and dialplan + app_queue, each to its first failed caller
## (bench/load.sh; BENCH_SYSTEMS=node,cluster,app_queue chooses; not in `make test`). The summary at the end holds
## every system's highest sustained rate and the callback engine's figures.
bench: deps
	@mkdir -p .run/bench && rm -f .run/bench/callbacks.txt && date +%s >.run/bench/started
	set -o pipefail; HOTLINE_BENCH=1 HOTLINE_REQUIRE_REDIS=1 go test -run TestSimulateHour -v -count=1 ./callbacks/ | tee .run/bench/callbacks.txt
	HOTLINE_REQUIRE_REDIS=1 go test -run '^$$' -bench . -benchtime 2000x ./callbacks/
	HOTLINE_BENCH=1 HOTLINE_REQUIRE_REDIS=1 go test -run TestComplaintReportAtScale -v -count=1 ./workorders/
	BENCH_CALLBACKS=.run/bench/callbacks.txt BENCH_STARTED=$$(cat .run/bench/started) bench/load.sh

## rules: promtool checks the Prometheus config and rules and runs their unit tests
rules:
	deploy/prometheus/check.sh

## k8s: builds the Kubernetes manifests (deploy/k8s) with Kustomize and checks every object (own Go module)
k8s:
	cd deploy/k8s/check && go vet ./... && HOTLINE_REQUIRE_PROMTOOL=1 go test -count=1 ./...

e2e: deps
	deploy/local/e2e.sh

e2e-cluster: deps
	deploy/local/e2e-cluster.sh
