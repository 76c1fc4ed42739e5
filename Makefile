# The two commands of the README:
#   make run   installs what is missing, starts nats-server and the three services locally, prints the URL
#   make test  installs what is missing (plus Chromium), then runs every test tier
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help setup run test test-unit test-integration test-e2e typecheck clean

help:
	@echo "make run    start nats-server, recorder, media and signaling locally (http://localhost:8080)"
	@echo "make test   install everything needed and run unit, integration and end-to-end tests"

setup:
	@bash scripts/setup.sh run

run: setup
	@node --import tsx scripts/run-local.ts

test:
	@bash scripts/setup.sh test
	@npm run --silent test:unit
	@npm run --silent test:integration
	@npm run --silent test:e2e

test-unit:
	@npm run --silent test:unit

test-integration:
	@npm run --silent test:integration

test-e2e:
	@npm run --silent test:e2e

typecheck:
	@npm run --silent typecheck

clean:
	rm -rf node_modules packages/*/dist services/*/dist e2e/dist packages/*/tsconfig.tsbuildinfo services/*/tsconfig.tsbuildinfo
