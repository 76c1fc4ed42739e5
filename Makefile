# The two commands of the README:
#   make run   installs what is missing, starts nats-server and the three services locally, prints the URL
#   make test  installs what is missing (plus Chromium), then runs every test tier
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help setup run test test-unit test-integration test-e2e typecheck lint format clean

help:
	@echo "make run    start nats-server, recorder(s), media and signaling locally (http://localhost:8080); RECORDERS=N for N recorders"
	@echo "make test   install everything needed and run unit, integration and end-to-end tests"

setup:
	@bash scripts/setup.sh run

run: setup
	@node --import tsx scripts/run-local.ts

# lint and the format check first: a finding fails the run before any test starts
test:
	@bash scripts/setup.sh test
	@npm run --silent lint
	@npm run --silent format:check
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

# ESLint (type-aware: needs the build's dist/*.d.ts, `npm run build`) and the Prettier check, as make test runs them
lint:
	@npm run --silent lint
	@npm run --silent format:check

# rewrites the files Prettier would change
format:
	@npm run --silent format

clean:
	rm -rf node_modules packages/*/dist services/*/dist e2e/dist packages/*/*.tsbuildinfo services/*/*.tsbuildinfo

# --- deployment (deploy/README.md) ---
.PHONY: compose-test k8s-validate nats-config

# writes the NATS authorization (users, permissions) generated from packages/contracts/src/nats-permissions.ts
# into deploy/nats/nats.conf (compose) and deploy/k8s/base/nats/configmap.yaml
nats-config:
	@node --conditions=development --import tsx scripts/nats-auth-config.ts

# builds the images, starts docker-compose.yml, records from Chromium on the host, scales recorders to 3;
# starts ../shared/tools/container-engine (Podman) where no Docker daemon answers
compose-test:
	@bash scripts/setup.sh test
	@node --conditions=development --import tsx --test --test-reporter=spec deploy/compose-test/*.test.ts
	@node --conditions=development --import tsx scripts/compose-test.ts

# renders deploy/k8s/overlays/*, validates every object against the Kubernetes API schemas and the
# cross-references (selectors, ports, secrets, each service's config.ts variables); then the checker's own tests
k8s-validate:
	@[ -d node_modules/kubernetes-models ] || npm ci --no-audit --no-fund
	@npx tsc -p deploy/tsconfig.json
	@node --conditions=development --import tsx scripts/k8s-validate.ts
	@node --conditions=development --import tsx --test --test-reporter=spec deploy/tools/*.test.ts

# --- benchmark (bench/README.md): prints figures, never fails on them ---
.PHONY: bench
# the seed's GStreamer and FFmpeg commands and our recorder's pipelines on the same replayed RTP (CPU, peak RSS),
# then start/stop latency through the real recorder service over NATS; writes bench/results/latest.md.
# BENCH_SECONDS (30), BENCH_RUNS (10), BENCH_RECORD_SECONDS (3), BENCH_REPEAT (1), BENCH_ABLATIONS (0|1), BENCH_ONLY (ids), BENCH_RESULT (latest.md)
bench:
	@node --conditions=development --import tsx bench/main.ts

# --- load test (loadtest/README.md): many WebRTC publishers through the whole stack, every file checked ---
.PHONY: load
# LOAD_PUBLISHER (replay|chromium), LOAD_MODE (fixed|find-capacity), LOAD_PUBLISHERS (4), LOAD_SECONDS (20), LOAD_RAMP_SECONDS (4),
# LOAD_STEP (4), LOAD_STEP_SECONDS (30), LOAD_MAX_PUBLISHERS (200), LOAD_CODEC (h264|vp8|vp9; av1 with chromium), LOAD_AUDIO (aac|opus), LOAD_RESOLUTION (640x360),
# LOAD_KBPS (500), LOAD_LOSS, LOAD_JITTER_MS, LOAD_REORDER, LOAD_BANDWIDTH_KBPS, LOAD_CHAOS (kill-recorder@15,...), LOAD_SLO_*,
# LOAD_URL (a running stack; unset: a local one), LOAD_TOKEN, LOAD_RECORDERS (2), LOAD_ENGINE (gstreamer|ffmpeg), LOAD_RESULT (latest)
load:
	@bash scripts/setup.sh test
	@node --conditions=development --import tsx loadtest/main.ts
