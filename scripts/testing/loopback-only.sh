#!/usr/bin/env bash
# Runs a command in a network namespace whose only interface is loopback: a test that probes
# the scraper's SSRF guard (or generates URLs) cannot reach any other address, even if the
# guard breaks. Everything the test needs (services, trace-view, stand-in sites, a browser)
# runs inside on 127.0.0.1. As root (CI) a plain `unshare -n`; otherwise a user namespace
# maps the caller to root first. No namespace, no test: never run such a test unconfined.
# Usage: scripts/testing/loopback-only.sh COMMAND [ARG...]
set -euo pipefail
if [ "$(id -u)" = 0 ]; then
  flags=(-n)
else
  flags=(-r -n)
fi
# Cargo, should the command build anything, must not try the network it no longer has.
exec unshare "${flags[@]}" env CARGO_NET_OFFLINE=true PATH="$PATH:/usr/sbin:/sbin" sh -c 'ip link set lo up && exec "$@"' loopback-only "$@"
