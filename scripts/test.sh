#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: set up .venv, start the test beds
# (libvirtd + QEMU for real guests; a second hypervisor node in its own namespace, reached
# over SSH; Sun Grid Engine behind an sshd on 127.0.0.1), lint,
# check the layer contracts and types, run pytest, and stop the test beds again. Extra arguments go
# to pytest (e.g. scripts/test.sh -k template).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
trap 'bash scripts/testbed/node.sh down || true; bash scripts/testbed/virt.sh down || true
      bash scripts/testbed/sge.sh down || true; bash scripts/testbed/users.sh down || true' EXIT
bash scripts/testbed/virt.sh install guest up
bash scripts/testbed/node.sh install up
bash scripts/testbed/sge.sh up
bash scripts/testbed/nginx.sh install
bash scripts/testbed/users.sh up
# systemd-analyze checks the shipped onetui.service (the package, not a running systemd)
command -v systemd-analyze >/dev/null || DEBIAN_FRONTEND=noninteractive \
  apt-get -q install -y --no-install-recommends systemd >/dev/null
bash scripts/lint.sh
echo "== pytest"; .venv/bin/python -m pytest -q -p no:cacheprovider -rs "$@"
