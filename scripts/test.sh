#!/usr/bin/env bash
# Skein's test command: everything CI checks, in the order that fails fastest.
# Usage: scripts/test.sh            (from anywhere inside the repository)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "test dependencies (promtool, PyYAML, cargo-deny, chromium, selenium, schemathesis)"
bash scripts/install-test-deps.sh

step "formatting"
cargo fmt --all -- --check

step "one opentelemetry version in the tree (two would make instrumentation use a no-op global)"
dupes=$(cargo tree --workspace --all-features --locked -d --depth 0 -e normal --prefix none \
  | grep -E '^(opentelemetry|opentelemetry_sdk|opentelemetry-proto|opentelemetry-otlp) ' || true)
if [ -n "$dupes" ]; then
  echo "duplicate OpenTelemetry crates:"; echo "$dupes"; exit 1
fi

step "cargo deny: bans (duplicate versions), licences, sources"
cargo deny check bans licenses sources

step "Docker stack files (no Docker needed)"
python3 scripts/check-deploy.py

step "alert rules: promtool unit tests (each alert firing and not firing)"
promtool test rules config/prometheus/tests/*.yml

step "scaled stack and Kubernetes manifests (no Docker, no cluster: rendered, schema-validated)"
python3 scripts/check-scale.py
python3 scripts/check-k8s.py

step "clippy"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

step "tests"
cargo test --workspace --all-features --locked

step "OpenAPI: the four documents validated, schemathesis against each real binary (loopback-only network namespace)"
bash scripts/testing/schemathesis.sh

step "smoke.sh in compose mode, without Docker (stand-in docker → curl / BusyBox wget on the local binaries)"
bash scripts/testing/compose-smoke.sh

step "the web page in headless chromium (WebDriver), against the real binaries and trace-view (loopback-only network: it probes the SSRF guard)"
cargo build --locked --quiet --workspace --all-features --bins
scripts/testing/loopback-only.sh python3 scripts/testing/browser-test.py
