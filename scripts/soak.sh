#!/usr/bin/env bash
# Soak: 100 000 pipeline requests (or the count given) at a sustainable rate, with tracing on;
# reports errors, p99 and each service's RSS before and after, into BENCHMARKS.md.
# Usage: scripts/soak.sh [REQUESTS]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
fi
cargo build --release --locked --quiet -p skein-controller -p skein-scraper -p skein-analyzer -p skein-scheduler --bins
cargo build --release --locked --quiet -p pkg-tracing --features harness --bin trace-view
cargo build --release --locked --quiet -p skein-e2e --bin bench-site
exec python3 scripts/bench.py soak "${1:-100000}"
