#!/usr/bin/env bash
# Set up onetui on a Debian 12 machine: the Debian packages libvirt-python builds against,
# and a virtualenv at .venv with onetui installed (editable).
#
#   scripts/setup.sh            runtime + demo extras (what `onetui demo` needs)
#   scripts/setup.sh dev        everything the test suite needs as well
#
# Idempotent: apt-get runs only when a package is missing, pip only when pyproject.toml or
# the lock (requirements/dev.lock, used as pip constraints) changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."
extras=${1:-demo}
case "$extras" in demo|dev) ;; *) echo "usage: $0 [demo|dev]" >&2; exit 2 ;; esac

need=()
missing() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" != "install ok installed" ]; }
pkgs=(libvirt-dev pkg-config gcc python3-dev python3-venv)
[ "$extras" = dev ] && pkgs+=(tmux openssh-client)  # the console's end-to-end test; ssh
for p in "${pkgs[@]}"; do
  missing "$p" && need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "onetui setup: missing Debian packages: ${need[*]} (run as root, or apt-get install them)" >&2
    exit 1
  fi
  echo "onetui setup: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt_get="apt-get -q -o DPkg::Lock::Timeout=600"
  $apt_get install -y --no-install-recommends "${need[@]}" >/dev/null 2>&1 \
    || { $apt_get update >/dev/null && $apt_get install -y --no-install-recommends "${need[@]}" >/dev/null; }
fi

py=${PYTHON:-python3}
if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  py=/usr/bin/python3
fi
[ -x .venv/bin/python ] || "$py" -m venv .venv

stamp=.venv/.onetui-installed-$extras
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements/dev.lock -nt "$stamp" ]; then
  echo "onetui setup: installing Python packages into .venv ($extras)"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -c requirements/dev.lock -e ".[$extras]"
  touch "$stamp"
fi
