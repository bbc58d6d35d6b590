#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain, if it is missing:
#   promtool (Debian's prometheus package) and PyYAML, for scripts/check-deploy.py.
set -euo pipefail

if ! command -v promtool >/dev/null 2>&1; then
  echo "installing promtool (Debian package prometheus)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

if ! python3 -c 'import yaml' >/dev/null 2>&1; then
  echo "installing PyYAML"
  python3 -m pip install --quiet pyyaml
fi
