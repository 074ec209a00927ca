#!/usr/bin/env bash
# Sets up and runs the demo: installs escape-dlaas, brings the local data lake up
# (real Rucio 41 + PostgreSQL + memcached + daemons + an IAM-like OIDC issuer), and
# starts JupyterLab pointed at it, signed in as the demo user "alice".
# Stop with Ctrl-C: JupyterLab stops, the lake keeps running (the next demo starts in
# seconds) and the command that stops it is printed.
set -euo pipefail
CALLER_DIR=$PWD
cd "$(dirname "$0")/.."
ROOT=$PWD
if ! command -v memcached >/dev/null && [ ! -x /usr/bin/memcached ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq memcached
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
export PATH="$ROOT/.venv/bin:$PATH"
if ! .venv/bin/python -c "import escape_dlaas._version" 2>/dev/null || [ ! -e escape_dlaas/labextension/package.json ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  rm -rf escape_dlaas/labextension
  .venv/bin/python -m pip install -q -e . "jupyterlab==4.*"
  jupyter labextension develop --overwrite . >/dev/null
fi
export ESCAPE_DLAAS_LAKE_DIR="${ESCAPE_DLAAS_LAKE_DIR:-$HOME/.local/share/escape-dlaas/lake}"
escape-dlaas lake up

# Whatever ends JupyterLab (Ctrl-C, File > Shut Down, a crash), say that the lake still runs.
say_the_lake_still_runs() {
  local stop=".venv/bin/escape-dlaas lake down"
  [ "$CALLER_DIR" = "$ROOT" ] || stop="$ROOT/$stop"
  [ "$ESCAPE_DLAAS_LAKE_DIR" = "$HOME/.local/share/escape-dlaas/lake" ] || stop+=" --state-dir $ESCAPE_DLAAS_LAKE_DIR"
  if escape-dlaas lake status >/dev/null 2>&1; then
    printf '\nJupyterLab stopped. The local data lake is STILL RUNNING (so the next demo starts in seconds).\n'
    printf 'To stop it:  %s\n' "$stop"
  fi
}
trap say_the_lake_still_runs EXIT
trap 'exit 130' INT TERM  # after JupyterLab has stopped: run the EXIT trap, then leave

export JUPYTER_CONFIG_PATH="$ESCAPE_DLAAS_LAKE_DIR/jupyter${JUPYTER_CONFIG_PATH:+:$JUPYTER_CONFIG_PATH}"
ARGS=(--ip=127.0.0.1 --port="${DEMO_PORT:-8888}" --no-browser)
[ "$(id -u)" -ne 0 ] || ARGS+=(--allow-root)
# Not exec: the trap above must run when JupyterLab ends.
# The notebook root is a folder of its own: data made available appears there as
# data-lake/<scope>/<dataset>/ (links into the notebook-local storage), never inside Rucio's storage.
NOTEBOOKS="$ESCAPE_DLAAS_LAKE_DIR/notebooks"
mkdir -p "$NOTEBOOKS"
jupyter lab "${ARGS[@]}" --notebook-dir="$NOTEBOOKS" "$@"
