#!/usr/bin/env bash
# Lint: ruff, the layer contracts (import-linter) and the type checker (mypy). Needs .venv
# (scripts/setup.sh dev); part of scripts/test.sh and `make lint`.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== ruff"; .venv/bin/ruff check .
echo "== import contracts"; .venv/bin/lint-imports --no-cache
echo "== mypy"; .venv/bin/mypy
