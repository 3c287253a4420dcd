# The two commands a newcomer needs: `make up` and `make test`.
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin

.PHONY: up down test unit rules k8s e2e deps vet bench

## up: start Redis, Asterisk and the controller (idempotent; ready when it returns)
up:
	deploy/local/hotline.sh up

## down: stop the local hotline
down:
	deploy/local/hotline.sh down

## test: every test: vet, unit tests (real Redis, real audio tools), Prometheus rules, Kubernetes manifests, then end-to-end with sipp
test: vet unit rules k8s e2e

deps:
	deploy/local/stack.sh deps

vet:
	go vet ./...
	go vet -tags e2e ./e2e/

unit: deps
	HOTLINE_REQUIRE_REDIS=1 HOTLINE_REQUIRE_AUDIO=1 HOTLINE_REQUIRE_SIPP=1 go test -race -count=1 ./...

## bench: the callback engine under load (10,000 callbacks over a simulated hour) and Go benchmarks, the complaint report of 50,000 work orders,
## then the sipp load benchmark: the controller against dialplan + app_queue (bench/load.sh; not in `make test`)
bench: deps
	HOTLINE_BENCH=1 HOTLINE_REQUIRE_REDIS=1 go test -run TestSimulateHour -v -count=1 ./callbacks/
	HOTLINE_REQUIRE_REDIS=1 go test -run '^$$' -bench . -benchtime 2000x ./callbacks/
	HOTLINE_BENCH=1 HOTLINE_REQUIRE_REDIS=1 go test -run TestComplaintReportAtScale -v -count=1 ./workorders/
	bench/load.sh

## rules: promtool checks the Prometheus config and rules and runs their unit tests
rules:
	deploy/prometheus/check.sh

## k8s: builds the Kubernetes manifests (deploy/k8s) with Kustomize and checks every object (own Go module)
k8s:
	cd deploy/k8s/check && go vet ./... && HOTLINE_REQUIRE_PROMTOOL=1 go test -count=1 ./...

e2e: deps
	deploy/local/e2e.sh
