#!/usr/bin/env bash
# Set up onetui (first run only) and open it on the embedded demo. Arguments go to
# `onetui demo` (e.g. --headless). As root on Debian it also starts a live grid (the SGE test
# bed, in the background) and stops what it started on exit; elsewhere it says how to get one.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh demo
exec .venv/bin/onetui demo --grid "$@"
