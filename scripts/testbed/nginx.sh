#!/usr/bin/env bash
# Debian's nginx for the load-balancer tests. Only the package: each test starts its own
# nginx with its own config on a loopback port (nginx -c FILE -p DIR) and stops it by PID.
#   nginx.sh install
set -euo pipefail
case "${1:-install}" in
  install)
    if [ "$(dpkg-query -W -f='${Status}' nginx 2>/dev/null)" != "install ok installed" ]; then
      echo "nginx testbed: installing nginx"
      export DEBIAN_FRONTEND=noninteractive
      apt-get -q -o DPkg::Lock::Timeout=600 install -y --no-install-recommends nginx >/dev/null \
        || { apt-get -q update >/dev/null; apt-get -q install -y --no-install-recommends nginx >/dev/null; }
      # no systemd here, but an init script may have started the packaged nginx: ours only
      if [ -s /run/nginx.pid ]; then kill -QUIT "$(cat /run/nginx.pid)" 2>/dev/null || true; fi
    fi ;;
  *) echo "usage: $0 install" >&2; exit 2 ;;
esac
