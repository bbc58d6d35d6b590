#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain, if it is missing:
#   promtool (Debian's prometheus package) and PyYAML, for scripts/check-deploy.py; the same
#   package's prometheus server, which the e2e metrics test starts itself (exemplar storage on);
#   cargo-deny, for the licence, ban and source checks;
#   jsonschema, for check-deploy.py's Compose Specification validation;
#   busybox (Debian), whose wget the compose-mode smoke test runs in place of the images' own.
#   schemathesis and openapi-spec-validator (pinned), for scripts/testing/schemathesis.sh;
#   PostgreSQL's server binaries (Debian package postgresql), which the store conformance tests
#   and the replica end-to-end tests start themselves (never as a system service);
#   Debian's chromium + chromium-driver and Python selenium (pinned), for the web page's browser
#   tests (scripts/testing/browser-test.py);
#   unshare (util-linux) and ip (iproute2), for tests that run in a loopback-only network
#   namespace (scripts/testing/loopback-only.sh).
set -euo pipefail

if ! command -v unshare >/dev/null 2>&1 || ! PATH="$PATH:/usr/sbin:/sbin" command -v ip >/dev/null 2>&1; then
  echo "installing unshare and ip (Debian packages util-linux, iproute2)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends util-linux iproute2 >/dev/null
fi

if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
  echo "installing promtool and prometheus (Debian package prometheus; never started as a service here)"
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

# For scripts/check-k8s.py and scripts/check-scale.py: the Kubernetes schemas (kubernetes-validate
# bundles them; pinned), jsonschema for the Compose Specification, and Debian's nginx binary for
# `nginx -t` — extracted, not installed, so no nginx service is started on the machine.
if ! python3 -c 'import kubernetes_validate, jsonschema' >/dev/null 2>&1 \
   || [ "$(python3 -c 'import importlib.metadata as m; print(m.version("kubernetes-validate"))')" != "1.37.0" ]; then
  echo "installing kubernetes-validate 1.37.0 and jsonschema"
  python3 -m pip install --quiet "kubernetes-validate==1.37.0" jsonschema
fi
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /opt/skein-test-tools/nginx/usr/sbin/nginx ]; then
  echo "extracting Debian's nginx binary into /opt/skein-test-tools/nginx"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  tmp=$(mktemp -d)
  $SUDO apt-get update -qq
  (cd "$tmp" && apt-get download -qq nginx 2>/dev/null)
  $SUDO mkdir -p /opt/skein-test-tools/nginx
  $SUDO dpkg-deb -x "$tmp"/nginx_*.deb /opt/skein-test-tools/nginx
  rm -rf "$tmp"
fi

if ! python3 -c 'import jsonschema' >/dev/null 2>&1; then
  echo "installing jsonschema"
  python3 -m pip install --quiet jsonschema
fi

if ! command -v busybox >/dev/null 2>&1; then
  echo "installing busybox (Debian package)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends busybox >/dev/null
fi

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  echo "installing chromium and chromium-driver (Debian packages)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
fi

# Pinned. Newer releases need a newer certifi than some package indexes carry (4.52 wants
# certifi >= 2026.10.23); 4.38 drives chromium 156 fine.
if [ "$(python3 -c 'import importlib.metadata as m; print(m.version("selenium"))' 2>/dev/null)" != "4.38.0" ]; then
  echo "installing selenium 4.38.0"
  python3 -m pip install --quiet "selenium==4.38.0"
fi

# For scripts/testing/schemathesis.sh: the fuzzer and the OpenAPI validator, pinned.
if [ "$(python3 -c 'import importlib.metadata as m; print(m.version("schemathesis"), m.version("openapi-spec-validator"))' 2>/dev/null)" != "4.32.5 0.9.0" ]; then
  echo "installing schemathesis 4.32.5 and openapi-spec-validator 0.9.0"
  python3 -m pip install --quiet "schemathesis==4.32.5" "openapi-spec-validator==0.9.0"
fi
