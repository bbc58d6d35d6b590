#!/usr/bin/env bash
# Benchmarks: tracing overhead, pipeline vs an actix hello world, memory, dropped spans,
# analyzer throughput, start-up time, metrics recording per request and scrape size. Installs
# its load tool (Debian's wrk), builds release binaries, runs scripts/bench.py, and writes
# BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# `scripts/bench.sh metrics`: only the metrics-recording benchmark (no load tool, no services).
if [ "${1:-}" = metrics ]; then
  cargo build --release --locked --quiet -p skein-e2e --bin bench-metrics
  exec python3 scripts/bench.py metrics
fi
if ! command -v wrk >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
fi
cargo build --release --locked --quiet -p skein-controller -p skein-scraper -p skein-analyzer -p skein-scheduler --bins
cargo build --release --locked --quiet -p pkg-tracing --features harness --bin trace-view
cargo build --release --locked --quiet -p skein-e2e --bin bench-hello --bin bench-site --bin bench-metrics --bin bench-floor
exec python3 scripts/bench.py "$@"
