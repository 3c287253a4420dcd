# The two commands a newcomer needs: `make up` and `make test`.
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin

.PHONY: up down test unit e2e deps vet bench

## up: start Redis, Asterisk and the controller (idempotent; ready when it returns)
up:
	deploy/local/hotline.sh up

## down: stop the local hotline
down:
	deploy/local/hotline.sh down

## test: every test: vet, unit tests (real Redis, real audio tools), then end-to-end with sipp
test: vet unit e2e

deps:
	deploy/local/stack.sh deps

vet:
	go vet ./...
	go vet -tags e2e ./e2e/

unit: deps
	HOTLINE_REQUIRE_REDIS=1 HOTLINE_REQUIRE_AUDIO=1 go test -race -count=1 ./...

e2e: deps
	deploy/local/e2e.sh
