#!/usr/bin/env bash
# Galata UI tests in Debian's Chromium against a real local lake that this script starts,
# then stops and deletes (ESCAPE_DLAAS_UI_LAKE_DIR=DIR keeps a lake there between runs).
# Arguments are passed to Playwright (e.g. tests/data-lake.spec.ts runs that spec only).
# JupyterLab and the lake listen on free ports (ESCAPE_DLAAS_UI_PORT=N picks JupyterLab's).
# ESCAPE_DLAAS_UPDATE_DOCS_SCREENSHOTS=1 rewrites docs/screenshots; otherwise nothing
# tracked is written (results go to ui-tests/test-results, git-ignored), and the temporary
# files of Galata, Chromium and yarn go to one directory deleted at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

read -r RUCIO ISSUER PG MEMCACHED UI <<<"$(python -c "from escape_dlaas.lake import free_ports; print(*free_ports(5))")"
export ESCAPE_DLAAS_UI_PORT="${ESCAPE_DLAAS_UI_PORT:-$UI}"
port_flags=(--rucio-port "$RUCIO" --issuer-port "$ISSUER" --postgres-port "$PG" --memcached-port "$MEMCACHED")

work=$(mktemp -d -t escape-dlaas-ui-XXXXXX)
if [ -n "${ESCAPE_DLAAS_UI_LAKE_DIR:-}" ]; then
  export ESCAPE_DLAAS_LAKE_DIR="$ESCAPE_DLAAS_UI_LAKE_DIR"
  # A kept lake keeps its ports (a warm start); a new one gets free ports.
  [ ! -e "$ESCAPE_DLAAS_LAKE_DIR/lake.json" ] || port_flags=()
else
  export ESCAPE_DLAAS_LAKE_DIR="$work/lake"
fi

hub_pid=""
cleanup() {
  # The real JupyterHub (tests/hub.spec.ts): SIGTERM stops it, its proxy and the users' servers.
  if [ -n "$hub_pid" ]; then kill "$hub_pid" 2>/dev/null || true; wait "$hub_pid" 2>/dev/null || true; fi
  if [ "$ESCAPE_DLAAS_LAKE_DIR" = "$work/lake" ]; then
    # reset = down, then delete the state (and PostgreSQL's data, kept outside a root-only temp dir)
    escape-dlaas lake reset --state-dir "$ESCAPE_DLAAS_LAKE_DIR" >/dev/null || true
  else
    escape-dlaas lake down --state-dir "$ESCAPE_DLAAS_LAKE_DIR" >/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# --events: the broker and hermes, for tests/events.spec.ts (a few seconds more, in parallel)
escape-dlaas lake up --state-dir "$ESCAPE_DLAAS_LAKE_DIR" --events "${port_flags[@]}"
# Galata's server and workspace dirs, Chromium's profiles, yarn's cache files: all in $work.
export TMPDIR="$work/tmp"
mkdir -p "$TMPDIR"
# A real JupyterHub in front of the lake (tests/hub.spec.ts signs in through it), on a free port.
HUB_PORT=$(python -c "from escape_dlaas.lake import free_ports; print(*free_ports(1))")
export ESCAPE_DLAAS_UI_HUB_URL="http://127.0.0.1:$HUB_PORT"
python -m escape_dlaas.lake.hub --state-dir "$ESCAPE_DLAAS_LAKE_DIR" --port "$HUB_PORT" >"$work/hub.out" 2>&1 &
hub_pid=$!
cd ui-tests
jlpm install --immutable >/dev/null 2>&1 || jlpm install
echo "JupyterLab for the UI tests on port $ESCAPE_DLAAS_UI_PORT"
CI=1 jlpm test "$@"  # e.g. tests/one.spec.ts to run one spec
