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
labs=$(PATH="$work/venv/bin:$PATH" "$work/venv/bin/jupyter" labextension list 2>&1)
servers=$(PATH="$work/venv/bin:$PATH" "$work/venv/bin/jupyter" server extension list 2>&1)
echo "$labs" | grep -E "escape-dlaas .*enabled.*OK" || { echo "$labs"; echo "labextension not OK"; exit 1; }
echo "$servers" | grep -E "escape_dlaas .*enabled" || { echo "$servers"; echo "server extension not enabled"; exit 1; }
echo "$servers" | grep -A1 -E "escape_dlaas .*enabled" | grep -q "OK" || { echo "$servers"; echo "server extension not OK"; exit 1; }
echo "wheel check passed"
