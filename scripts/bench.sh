#!/usr/bin/env bash
# Benchmarks: tracing overhead, pipeline vs an actix hello world, memory, dropped spans,
# analyzer throughput, start-up time, metrics recording per request and scrape size, and
# instructions per request per service. Installs its load tool (Debian's wrk) and valgrind,
# builds release binaries, runs scripts/bench.py and scripts/bench_instructions.py, and writes
# BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# `scripts/bench.sh metrics`: only the metrics-recording benchmark (no load tool, no services).
if [ "${1:-}" = metrics ]; then
  cargo build --release --locked --quiet -p skein-e2e --bin bench-metrics
  exec python3 scripts/bench.py metrics
fi
# The load tool, the instruction counter (valgrind's callgrind) and the sampling profiler come
# from Debian.
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v callgrind_control >/dev/null 2>&1 || missing+=(valgrind)
[ "${1:-}" != perf ] || command -v perf >/dev/null 2>&1 || missing+=(linux-perf)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
cargo build --release --locked --quiet -p skein-controller -p skein-scraper -p skein-analyzer -p skein-scheduler --bins
cargo build --release --locked --quiet -p pkg-tracing --features harness --bin trace-view
cargo build --release --locked --quiet -p skein-e2e --bin bench-hello --bin bench-site --bin bench-metrics --bin bench-floor
# `scripts/bench.sh instructions [--before TARGET/release]`: only the instruction counts
# (callgrind), optionally side by side with an older build's binaries.
if [ "${1:-}" = instructions ]; then
  shift
  exec python3 scripts/bench_instructions.py "$@"
fi
# `scripts/bench.sh perf [on|off|down]`: where the CPU time goes under load, every core sampled.
if [ "${1:-}" = perf ]; then
  shift
  exec python3 scripts/bench_perf.py "$@"
fi
python3 scripts/bench.py "$@"
# The full run ends with the instruction counts (about two minutes), in their own section.
[ $# -gt 0 ] || python3 scripts/bench_instructions.py
