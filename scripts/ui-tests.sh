#!/usr/bin/env bash
# Galata UI tests in Debian's Chromium against a real local lake that this script starts and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export ESCAPE_DLAAS_LAKE_DIR="${ESCAPE_DLAAS_UI_LAKE_DIR:-$(mktemp -d)/lake}"
ports=$(.venv/bin/python -c "from escape_dlaas.lake import Ports, free_ports; p = Ports(*free_ports(4)); print(p.rucio, p.issuer, p.postgres, p.memcached)")
read -r RUCIO ISSUER PG MEMCACHED <<<"$ports"
escape-dlaas lake up --state-dir "$ESCAPE_DLAAS_LAKE_DIR" --rucio-port "$RUCIO" --issuer-port "$ISSUER" --postgres-port "$PG" --memcached-port "$MEMCACHED"
trap 'escape-dlaas lake down --state-dir "$ESCAPE_DLAAS_LAKE_DIR"' EXIT
cd ui-tests
jlpm install --immutable >/dev/null 2>&1 || jlpm install
CI=1 jlpm test
