#!/usr/bin/env bash
# The test users of system mode, one per role, made with useradd (idempotent):
#   alice  labstaff  (onetui-labs)     bob   viewer    (onetui-view)
#   olga   operator  (onetui-ops)      adam  admin     (onetui-admin)
# Each is also in group onetui, the daemon's socket group. Tests run commands as them
# with `runuser -u alice -- …`.
#   users.sh up | down | status
# `up` makes only what is missing and never touches a user or group that was there before
# (no usermod on someone else's account). `down` removes only the users and groups this
# script made, as recorded in a root-owned 0700 directory (a record anyone else could have
# written is refused: it names what `userdel --remove` deletes); an entry whose removal
# failed stays in the record.
set -euo pipefail
STATE=${ONETUI_USERS_RECORD:-/var/lib/onetui-testbed/users}  # the record: root's alone
HOMES=/var/lib/onetui-testbed-homes      # the users' homes: root's, entered by all
MADE="$STATE/made"
USERS=(alice:onetui-labs bob:onetui-view olga:onetui-ops adam:onetui-admin)
GROUPS_=(onetui onetui-admin onetui-ops onetui-labs onetui-view)

need_root() { [ "$(id -u)" = 0 ] || { echo "users.sh: run as root (useradd)" >&2; exit 2; }; }

# a directory of root's, not a link, with exactly `mode`; made when missing
root_dir() {
  local dir=$1 mode=$2
  [ -L "$dir" ] && { echo "users.sh: $dir is a symbolic link; refusing" >&2; exit 2; }
  [ -e "$dir" ] || { mkdir -p -m "$mode" "$dir"; chown root:root "$dir"; }
  [ -d "$dir" ] && [ ! -L "$dir" ] || { echo "users.sh: $dir is not a directory" >&2; exit 2; }
  if [ "$(stat -c %u "$dir")" != 0 ]; then
    echo "users.sh: $dir belongs to uid $(stat -c %u "$dir"), not root; refusing" >&2; exit 2
  fi
  chmod "$mode" "$dir"
}

check_record() {
  root_dir "$(dirname "$STATE")" 0755
  root_dir "$STATE" 0700
  if [ -e "$MADE" ] || [ -L "$MADE" ]; then
    if [ -L "$MADE" ] || [ ! -f "$MADE" ] || [ "$(stat -c %u "$MADE")" != 0 ]; then
      echo "users.sh: $MADE is not root's own file; refusing" >&2; exit 2
    fi
  fi
}

made() { grep -qx "$1" "$MADE" 2>/dev/null; }
record() { made "$1" || echo "$1" >>"$MADE"; }
forget() { local tmp; tmp=$(mktemp "$STATE/.made.XXXXXX"); grep -vx "$1" "$MADE" >"$tmp" || true; mv "$tmp" "$MADE"; }

up() {
  need_root
  check_record
  root_dir "$HOMES" 0755  # homes must be reachable
  (umask 077; touch "$MADE")
  for g in "${GROUPS_[@]}"; do
    if ! getent group "$g" >/dev/null; then groupadd --system "$g"; record "group:$g"; fi
  done
  for entry in "${USERS[@]}"; do
    u=${entry%%:*} g=${entry#*:}
    if id "$u" >/dev/null 2>&1; then
      made "user:$u" || echo "users.sh: $u exists already (not made here): left as it is" >&2
      continue
    fi
    # password "*": no password logs in, but the account is not locked ("!"), which sshd
    # refuses even a key for (the tests log in over a real sshd with a key)
    useradd --create-home --home-dir "$HOMES/$u" --shell /bin/bash --password "*" \
      --groups "onetui,$g" --comment "onetui test user" "$u"
    record "user:$u"
  done
  echo "users testbed: up (alice labstaff, bob viewer, olga operator, adam admin)"
}

down() {
  need_root
  check_record
  [ -f "$MADE" ] || { echo "users testbed: nothing to remove"; return; }
  local failed=0 item
  for item in $(grep '^user:' "$MADE" || true); do
    if ! id "${item#user:}" >/dev/null 2>&1 || userdel --remove "${item#user:}" 2>/dev/null; then
      forget "$item"
    else
      echo "users.sh: userdel ${item#user:} failed; kept in $MADE" >&2; failed=1
    fi
  done
  for item in $(grep '^group:' "$MADE" || true); do
    if ! getent group "${item#group:}" >/dev/null || groupdel "${item#group:}"; then
      forget "$item"
    else
      echo "users.sh: groupdel ${item#group:} failed; kept in $MADE" >&2; failed=1
    fi
  done
  if [ "$failed" = 0 ]; then rm -f "$MADE"; echo "users testbed: down"; else exit 1; fi
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
