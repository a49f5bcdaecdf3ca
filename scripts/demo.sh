#!/usr/bin/env bash
# Set up onetui (first run only) and open it on the embedded demo. Arguments go to
# `onetui demo` (e.g. --headless).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh demo
exec .venv/bin/onetui demo "$@"
