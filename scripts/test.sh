#!/usr/bin/env bash
# The README's test command: set up a virtual environment with the test extras, lint (ruff, and
# import-linter's layer and no-cycle contracts in pyproject.toml), then run the whole suite.
# Extra arguments go to pytest (e.g. scripts/test.sh -k sources -x).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
if [[ ! -x .venv/bin/python ]]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
.venv/bin/ruff check .
.venv/bin/lint-imports --no-cache
exec .venv/bin/python -m pytest "$@"
