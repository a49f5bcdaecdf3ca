#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: set up .venv (and the Debian
# packages the tests need), start the test beds, lint, check the layer contracts, run pytest.
# Extra arguments go to pytest (e.g. scripts/test.sh -k template).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
for bed in scripts/testbed/*-up.sh; do
  [ -e "$bed" ] && bash "$bed"
done
trap 'for bed in scripts/testbed/*-down.sh; do [ -e "$bed" ] && bash "$bed" || true; done' EXIT
echo "== ruff"; .venv/bin/ruff check .
echo "== import contracts"; .venv/bin/lint-imports --no-cache
echo "== pytest"; .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
