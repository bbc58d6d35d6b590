#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain, if it is missing:
#   promtool (Debian's prometheus package) and PyYAML, for scripts/check-deploy.py;
#   cargo-deny, for the licence, ban and source checks;
#   PostgreSQL's server binaries (Debian package postgresql), which the store conformance tests
#   and the replica end-to-end tests start themselves (never as a system service).
set -euo pipefail

if ! command -v promtool >/dev/null 2>&1; then
  echo "installing promtool (Debian package prometheus)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "installing PostgreSQL server binaries (Debian package postgresql)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi

if ! command -v cargo-deny >/dev/null 2>&1; then
  echo "installing cargo-deny from crates.io (a few minutes, once per machine)"
  cargo install cargo-deny --locked --quiet --version 0.20.2
fi

if ! python3 -c 'import yaml' >/dev/null 2>&1; then
  echo "installing PyYAML"
  python3 -m pip install --quiet pyyaml
fi
