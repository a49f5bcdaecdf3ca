#!/usr/bin/env bash
# The test users of system mode, one per role, made with useradd (idempotent):
#   alice  labstaff  (onetui-labs)     bob   viewer    (onetui-view)
#   olga   operator  (onetui-ops)      adam  admin     (onetui-admin)
# Each is also in group onetui, the daemon's socket group. Tests run commands as them
# with `runuser -u alice -- …`.
#   users.sh up | down | status
# `down` removes only the users and groups this script made (recorded in its state file),
# never a group `onetui system install` or an admin made.
set -euo pipefail
STATE=/var/tmp/onetui-testbed/users
MADE="$STATE/made"
USERS=(alice:onetui-labs bob:onetui-view olga:onetui-ops adam:onetui-admin)
GROUPS_=(onetui onetui-admin onetui-ops onetui-labs onetui-view)

need_root() { [ "$(id -u)" = 0 ] || { echo "users.sh: run as root (useradd)" >&2; exit 2; }; }
made() { grep -qx "$1" "$MADE" 2>/dev/null; }
record() { made "$1" || echo "$1" >>"$MADE"; }

up() {
  need_root
  mkdir -p "$STATE"; chmod 0755 "$STATE"; touch "$MADE"  # homes must be reachable
  for g in "${GROUPS_[@]}"; do
    if ! getent group "$g" >/dev/null; then groupadd --system "$g"; record "group:$g"; fi
  done
  for entry in "${USERS[@]}"; do
    u=${entry%%:*} g=${entry#*:}
    if ! id "$u" >/dev/null 2>&1; then
      useradd --create-home --home-dir "$STATE/home/$u" --shell /bin/bash \
        --comment "onetui test user" "$u"
      record "user:$u"
    fi
    usermod --append --groups "onetui,$g" "$u"
  done
  echo "users testbed: up (alice labstaff, bob viewer, olga operator, adam admin)"
}

down() {
  need_root
  [ -f "$MADE" ] || { echo "users testbed: nothing to remove"; return; }
  while read -r item; do
    case "$item" in
      user:*) id "${item#user:}" >/dev/null 2>&1 && userdel --remove "${item#user:}" 2>/dev/null || true ;;
    esac
  done <"$MADE"
  while read -r item; do
    case "$item" in
      group:*) getent group "${item#group:}" >/dev/null && groupdel "${item#group:}" || true ;;
    esac
  done <"$MADE"
  rm -rf "$STATE"
  echo "users testbed: down"
}

status() {
  for entry in "${USERS[@]}"; do
    u=${entry%%:*}
    if id "$u" >/dev/null 2>&1; then echo "$u: $(id -nG "$u")"; else echo "$u: missing"; fi
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
