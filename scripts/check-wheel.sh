#!/usr/bin/env bash
# Build the wheel and install it into a fresh venv: no node at install time, both
# `jupyter labextension list` and `jupyter server extension list` report escape-dlaas OK.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
.venv/bin/python -m pip wheel -q --no-deps -w "$work/dist" .
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q "$work"/dist/escape_dlaas-*.whl "jupyterlab==4.*"
# Only what the wheel installed counts: no user-level Jupyter config or data.
export JUPYTER_CONFIG_DIR="$work/config" JUPYTER_DATA_DIR="$work/data" NO_COLOR=1
labs=$(PATH="$work/venv/bin:$PATH" "$work/venv/bin/jupyter" labextension list 2>&1)
servers=$(PATH="$work/venv/bin:$PATH" "$work/venv/bin/jupyter" server extension list 2>&1)
echo "$labs" | grep -E "escape-dlaas .*enabled.*OK" || { echo "$labs"; echo "labextension not OK"; exit 1; }
echo "$servers" | grep -E "escape_dlaas .*enabled" || { echo "$servers"; echo "server extension not enabled"; exit 1; }
echo "$servers" | grep -E "escape_dlaas [0-9.]+.*OK" || { echo "$servers"; echo "server extension not OK"; exit 1; }
echo "wheel check passed"
