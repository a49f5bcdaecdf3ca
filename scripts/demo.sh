#!/usr/bin/env bash
# Set up onetui (first run only) and open it on the embedded demo. Arguments go to
# `onetui demo` (e.g. --headless). As root on Debian it also starts a live grid (the SGE test
# bed, in the background) and stops what it started on exit; elsewhere it says how to get one.
# Run it as root only where root is your normal way (a machine you run as root): under
# sudo, setup.sh would leave .venv root-owned. As yourself, once this set .venv up,
# `sudo .venv/bin/onetui demo --grid` gives the grid and runs only onetui as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh demo
exec .venv/bin/onetui demo --grid "$@"
