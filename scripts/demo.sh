#!/usr/bin/env bash
# The README's main-job command: install into a virtual environment and run `misinfo demo`
# (serve the demo sites, crawl, analyse, index, search). Arguments go to `misinfo demo`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
if [[ ! -x .venv/bin/python ]]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
exec .venv/bin/misinfo demo "$@"
