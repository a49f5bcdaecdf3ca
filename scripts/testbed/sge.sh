#!/usr/bin/env bash
# A real Sun Grid Engine (Debian's gridengine 8.1.9) for the tests, reached over a real sshd.
#
#   sge.sh install          Debian packages, preseeded (only what is missing)
#   sge.sh up               qmaster + execd for this machine, an execd for node2 in its own
#                           network namespace, node3's namespace ready (no execd yet), sshd on
#                           127.0.0.1:2222 for the job user onetui-sge (key login only)
#   sge.sh execd NODE       start NODE's execd in its namespace (a booting worker would)
#   sge.sh stop-execd NODE  stop it again
#   sge.sh down             stop exactly what was started, by PID; remove the namespaces
#   sge.sh stop-recorded F  stop only what an `up` run with ONETUI_SGE_RECORD=F started
#                           (the demo: a grid that was up before it stays up)
#   sge.sh env              print what tests read (key, port, user, sge-env wrapper)
#
# State: $ONETUI_TESTBED_DIR/sge (default /var/tmp/onetui-testbed/sge). Names of the extra
# nodes resolve only inside a private mount namespace (an "anchor" process holds it), so the
# machine's /etc/hosts is never touched. Only loopback and our own namespaces see traffic.
set -euo pipefail
BASE=${ONETUI_TESTBED_DIR:-/var/tmp/onetui-testbed}/sge
ST=$BASE/state
SSH_USER=onetui-sge
SSH_PORT=${ONETUI_SGE_SSH_PORT:-2222}
MASTER=$(hostname)
NODES="node2 node3"    # node2 joins at start; node3 is left for the tests to join
export SGE_ROOT=/var/lib/gridengine SGE_CELL=default
COMMON=$SGE_ROOT/$SGE_CELL/common
QM_PIDFILE=/var/spool/gridengine/qmaster/qmaster.pid
EXECD_SPOOL=/var/spool/gridengine/execd
mkdir -p "$ST" "$BASE/ssh" "$BASE/home"
chmod 755 "$BASE" "$BASE/home"

log() { echo "sge testbed: $*"; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
pid_is() { alive "$1" && [ "$(basename "$(readlink "/proc/$1/exe" 2>/dev/null)")" = "$2" ]; }
# When PID started (clock ticks since boot, /proc/PID/stat field 22; "" when it is gone): a
# pid and its start time name one process for good, where a pid alone may since have been
# reused by another (a reused sshd pid is someone's login session).
started() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0; s=${s##*) }; set -- $s; echo "${20}"; }
is_proc() { # pid exe start: that very process, its program and its start time both match
  pid_is "$1" "$2" && [ -n "${3:-}" ] && [ "$(started "$1")" = "$3" ]
}
# The start time of the process a pid file names, if it started before the file was
# written (a later process that got the pid did not); "" otherwise. 1 s of slack: boot
# time and file times are whole seconds.
filed_start() { # pidfile
  local p t boot
  p=$(cat "$1" 2>/dev/null || true); [ -n "$p" ] || return 0
  t=$(started "$p"); [ -n "$t" ] || return 0
  boot=$(awk '$1=="btime"{print $2}' /proc/stat)
  if [ $((boot + t / $(getconf CLK_TCK))) -le $(($(stat -c %Y "$1") + 1)) ]; then echo "$t"; fi
}
anchor() { cat "$ST/anchor.pid" 2>/dev/null || true; }
inns() { local a; a=$(anchor); if pid_is "$a" sleep; then nsenter -t "$a" -m -- "$@"; else "$@"; fi; }
Q() { inns qconf "$@"; }
has() { grep -qx -- "$1"; }
num() { echo "${1#node}"; }
# With ONETUI_SGE_RECORD=FILE, each part this run starts (not one found running) is written
# there, one "KIND [NAME] PID|NAME" a line, so its starter can stop exactly those later.
recorded() { [ -z "${ONETUI_SGE_RECORD:-}" ] || echo "$*" >>"$ONETUI_SGE_RECORD"; }

do_install() {
  local need=() p
  for p in gridengine-master gridengine-exec gridengine-client openssh-server openssh-client; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || need+=("$p")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  log "installing ${need[*]}"
  for p in gridengine-common gridengine-client gridengine-master gridengine-exec; do
    printf '%s shared/gridengineconfig boolean true\n%s shared/gridenginecell string %s\n%s shared/gridenginemaster string %s\n' \
      "$p" "$p" "$SGE_CELL" "$p" "$MASTER"
  done | debconf-set-selections
  export DEBIAN_FRONTEND=noninteractive
  local apt=(apt-get -q -o DPkg::Lock::Timeout=600)
  "${apt[@]}" install -y --no-install-recommends "${need[@]}" >"$ST/apt.log" 2>&1 || {
    "${apt[@]}" update >>"$ST/apt.log" 2>&1
    "${apt[@]}" install -y --no-install-recommends "${need[@]}" >>"$ST/apt.log" 2>&1
  } || { tail -20 "$ST/apt.log"; exit 1; }
  # packages may have started daemons through their init scripts: we start our own
  /etc/init.d/gridengine-exec stop >/dev/null 2>&1 || true
  /etc/init.d/gridengine-master stop >/dev/null 2>&1 || true
}

start_anchor() {
  # 127.0.0.1 is "localhost" to the qmaster's reverse lookup while the host calls itself
  # $MASTER: SGE's host_aliases makes them one host.
  local aliases
  aliases="$MASTER $(awk '$1=="127.0.0.1"{for(i=2;i<=NF;i++)print $i}' /etc/hosts | grep -vx "$MASTER" | sort -u | tr '\n' ' ')"
  echo "${aliases% }" >"$COMMON/host_aliases"
  echo "$MASTER" >"$COMMON/act_qmaster"
  { cat /etc/hosts; for n in $NODES; do echo "10.250.$(num "$n").2 $n"; done; } >"$ST/hosts"
  pid_is "$(anchor)" sleep && return 0
  setsid unshare --mount --propagation private sh -c \
    "echo \$\$ > '$ST/anchor.pid'; mount --bind '$ST/hosts' /etc/hosts && exec sleep infinity" \
    </dev/null >/dev/null 2>&1 &
  for _ in $(seq 50); do pid_is "$(anchor)" sleep && break; sleep 0.1; done
  recorded anchor "$(anchor)" "$(started "$(anchor)")"
  sleep 0.2
}

start_qmaster() {
  local qm; qm=$(cat "$ST/qmaster.pid" 2>/dev/null || true)
  pid_is "$qm" sge_qmaster && return 0
  mkdir -p /var/run/gridengine && chown sgeadmin:sgeadmin /var/run/gridengine
  rm -f "$QM_PIDFILE"
  inns /usr/sbin/sge_qmaster
  for _ in $(seq 150); do [ -s "$QM_PIDFILE" ] && break; sleep 0.1; done
  cp "$QM_PIDFILE" "$ST/qmaster.pid"
  recorded qmaster "$(cat "$ST/qmaster.pid")" "$(started "$(cat "$ST/qmaster.pid")")"
  for _ in $(seq 150); do inns qstat -f >/dev/null 2>&1 && return 0; sleep 0.2; done
  log "qmaster does not answer"; tail /var/spool/gridengine/qmaster/messages; exit 1
}

configure() {
  id "$SSH_USER" >/dev/null 2>&1 || useradd -m -d "$BASE/home/$SSH_USER" -s /bin/bash "$SSH_USER"
  usermod -p '*' "$SSH_USER"  # key login only (a '!'-locked account is refused by sshd)
  Q -sm | has "$SSH_USER" || Q -am "$SSH_USER" >/dev/null
  local i=0 h lo
  for h in "$MASTER" $NODES; do
    # one process table for every execd here: disjoint gid ranges, or one host's job
    # cleanup kills another's jobs
    # (qconf -Aconf takes the host name from the file name)
    lo=$((65400 + i * 10)); i=$((i + 1))
    mkdir -p "$ST/conf"
    echo "gid_range $lo-$((lo + 9))" >"$ST/conf/$h"
    if Q -sconfl 2>/dev/null | has "$h"; then Q -Mconf "$ST/conf/$h" >/dev/null
    else Q -Aconf "$ST/conf/$h" >/dev/null; fi
  done
  for h in "$MASTER" node2; do
    Q -sh 2>/dev/null | has "$h" || Q -ah "$h" >/dev/null
    Q -ss 2>/dev/null | has "$h" || Q -as "$h" >/dev/null
  done
  local pe
  for pe in /usr/share/gridengine/util/resources/pe/*; do
    Q -spl 2>/dev/null | has "$(basename "$pe")" || Q -Ap "$pe" >/dev/null
  done
  Q -sconf global >"$ST/conf/global"
  sed -i 's/^load_report_time .*/load_report_time 00:00:05/' "$ST/conf/global"
  Q -Mconf "$ST/conf/global" >/dev/null 2>&1
  if ! Q -shgrpl 2>/dev/null | has @allhosts; then
    printf 'group_name @allhosts\nhostlist %s\n' "$MASTER" >"$ST/allhosts.hgrp"
    Q -Ahgrp "$ST/allhosts.hgrp" >/dev/null
  fi
  for h in "$MASTER" node2; do
    Q -shgrp @allhosts | grep -qw -- "$h" || Q -aattr hostgroup hostlist "$h" @allhosts >/dev/null
  done
  # node3 is the tests' to join: no trace of it from an earlier run
  Q -dattr hostgroup hostlist node3 @allhosts >/dev/null 2>&1 || true
  Q -purge queue slots all.q@node3 >/dev/null 2>&1 || true
  for opt in -de -ds -dh; do Q $opt node3 >/dev/null 2>&1 || true; done
  if ! Q -sql 2>/dev/null | has all.q; then
    EDITOR=true inns qconf -aq all.q >/dev/null
    Q -mattr queue hostlist @allhosts all.q >/dev/null
  fi
  Q -rattr queue slots "1,[node2=2]" all.q >/dev/null
  # No load alarm: on 2 cores busy with QEMU guests np_load_avg passes the default 1.75, the
  # queue instances go `a` and take no job, and the tests waiting for one time out.
  Q -rattr queue load_thresholds NONE all.q >/dev/null
  Q -ssconf >"$ST/sched.conf"
  sed -i -e 's/^schedule_interval .*/schedule_interval 0:0:1/' \
         -e 's/^flush_submit_sec .*/flush_submit_sec 1/' -e 's/^flush_finish_sec .*/flush_finish_sec 1/' \
         "$ST/sched.conf"
  Q -Msconf "$ST/sched.conf" >/dev/null
}

make_netns() {
  local n=$1 N ns; N=$(num "$n"); ns=onetui-sge-$N
  # A namespace whose set-up was cut short (a run killed half-way) is made again: one
  # that exists counts only with its host-side link up.
  if ip netns list | grep -qw "$ns" && ! ip link show "osge$N-h" >/dev/null 2>&1; then
    ip netns del "$ns" 2>/dev/null || true
  fi
  if ! ip netns list | grep -qw "$ns"; then
    ip link del "osge$N-h" 2>/dev/null || true
    ip netns add "$ns"
    echo "$ns" >>"$ST/netns.list"  # recorded at once, so `down` removes even a partial one
    recorded netns "$ns"
    ip link add "osge$N-h" type veth peer name "osge$N-n"
    ip link set "osge$N-n" netns "$ns"
    ip addr add "10.250.$N.1/24" dev "osge$N-h"; ip link set "osge$N-h" up
    ip netns exec "$ns" ip addr add "10.250.$N.2/24" dev "osge$N-n"
    ip netns exec "$ns" ip link set "osge$N-n" up
    ip netns exec "$ns" ip link set lo up
  fi
  printf '127.0.0.1 localhost\n10.250.%s.1 %s\n10.250.%s.2 %s\n' "$N" "$MASTER" "$N" "$n" >"$ST/$n.hosts"
}

start_execd() {
  local h=$1 pid d dirs
  pid=$(cat "$ST/execd-$h.pid" 2>/dev/null || true)
  pid_is "$pid" sge_execd && return 0
  if [ "$h" = "$MASTER" ]; then dirs="$EXECD_SPOOL/$h $EXECD_SPOOL/localhost"; else dirs="$EXECD_SPOOL/$h"; fi
  for d in $dirs; do rm -f "$d/execd.pid"; done
  if [ "$h" = "$MASTER" ]; then
    inns /usr/sbin/sge_execd
  else
    ip netns exec "onetui-sge-$(num "$h")" unshare --mount --uts sh -c \
      "mount --bind '$ST/$h.hosts' /etc/hosts && hostname '$h' && exec /usr/sbin/sge_execd"
  fi
  for _ in $(seq 150); do
    for d in $dirs; do
      [ -s "$d/execd.pid" ] || continue
      cp "$d/execd.pid" "$ST/execd-$h.pid"
      recorded execd "$h" "$(cat "$d/execd.pid")" "$(started "$(cat "$d/execd.pid")")"; return 0
    done
    sleep 0.1
  done
  log "execd $h did not start"; exit 1
}

wait_up() {
  local h out st
  for _ in $(seq 100); do
    out=$(inns qstat -f -u '*'); local ok=1
    for h in "$@"; do
      st=$(echo "$out" | awk -v q="all.q@$h" '$1==q{print ($6==""?"-":$6)}')
      { [ -n "$st" ] && [[ $st != *u* ]]; } || ok=0
    done
    [ $ok = 1 ] && return 0
    sleep 0.3
  done
  log "queue instances not up: $*"; inns qstat -f -u '*'; exit 1
}

start_sshd() {
  local D=$BASE/ssh sp home
  chmod 700 "$D"
  [ -f "$D/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$D/ssh_host_ed25519_key"
  [ -f "$D/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$D/id_ed25519" -C "$SSH_USER@testbed"
  home=$(getent passwd "$SSH_USER" | cut -d: -f6)
  install -d -m 700 -o "$SSH_USER" -g "$SSH_USER" "$home/.ssh"
  install -m 600 -o "$SSH_USER" -g "$SSH_USER" "$D/id_ed25519.pub" "$home/.ssh/authorized_keys"
  cat >"$D/sshd_config" <<CONF
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $D/ssh_host_ed25519_key
PidFile $D/sshd.pid
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
AllowUsers $SSH_USER
UsePAM no
X11Forwarding no
PrintMotd no
ClientAliveInterval 0
SetEnv SGE_ROOT=$SGE_ROOT SGE_CELL=$SGE_CELL
CONF
  mkdir -p /run/sshd
  sp=$(cat "$D/sshd.pid" 2>/dev/null || true)
  pid_is "$sp" sshd && return 0
  /usr/sbin/sshd -t -f "$D/sshd_config"
  inns /usr/sbin/sshd -f "$D/sshd_config" -E "$D/sshd.log"
  for _ in $(seq 50); do
    [ -s "$D/sshd.pid" ] && { recorded sshd "$(cat "$D/sshd.pid")" "$(started "$(cat "$D/sshd.pid")")"; return 0; }
    sleep 0.1
  done
  log "sshd did not start"; cat "$D/sshd.log"; exit 1
}

do_up() {
  do_install
  start_anchor
  start_qmaster
  configure
  local n; for n in $NODES; do make_netns "$n"; done
  start_execd "$MASTER"; start_execd node2
  wait_up "$MASTER" node2
  start_sshd
  log "up: qmaster $(cat "$ST/qmaster.pid"), exec hosts $MASTER node2, sshd 127.0.0.1:$SSH_PORT"
}

stop_pid() { # pid exe start: only that very process (a pid reused since is left alone)
  is_proc "$1" "$2" "${3:-}" || return 0
  kill -TERM "$1" 2>/dev/null || return 0  # it ended meanwhile
  for _ in $(seq 150); do is_proc "$1" "$2" "$3" || return 0; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
}

stop_execd() { # pid start: its jobs' shepherds first (only an execd's), then the execd
  local s
  is_proc "$1" sge_execd "${2:-}" || return 0
  for s in $(ps -o pid= --ppid "$1" 2>/dev/null); do stop_pid "$s" sge_shepherd "$(started "$s")"; done
  stop_pid "$1" sge_execd "$2"
}

do_down() {
  stop_pid "$(cat "$BASE/ssh/sshd.pid" 2>/dev/null || true)" sshd "$(filed_start "$BASE/ssh/sshd.pid")"
  rm -f "$BASE/ssh/sshd.pid"
  local f qm qs
  qm=$(cat "$ST/qmaster.pid" 2>/dev/null || true); qs=$(filed_start "$ST/qmaster.pid")
  if is_proc "$qm" sge_qmaster "$qs"; then inns qdel -f -u '*' >/dev/null 2>&1 || true; fi
  for f in "$ST"/execd-*.pid; do
    [ -e "$f" ] || continue
    stop_execd "$(cat "$f")" "$(filed_start "$f")"; rm -f "$f"
  done
  if is_proc "$qm" sge_qmaster "$qs"; then
    inns qconf -km >/dev/null 2>&1 || true
    for _ in $(seq 250); do is_proc "$qm" sge_qmaster "$qs" || break; sleep 0.1; done
    stop_pid "$qm" sge_qmaster "$qs"
  fi
  rm -f "$ST/qmaster.pid"
  stop_pid "$(anchor)" sleep "$(filed_start "$ST/anchor.pid")"; rm -f "$ST/anchor.pid"
  if [ -s "$ST/netns.list" ]; then
    for ns in $(sort -u "$ST/netns.list"); do ip netns del "$ns" 2>/dev/null || true; done
    rm -f "$ST/netns.list"
  fi
  log "down"
}

forget() { # pidfile pid: the pid file goes only while it still names that process
  [ "$(cat "$1" 2>/dev/null || true)" = "$2" ] && rm -f "$1"
  return 0
}

still_ours() { # kind pid exe start: false, and says so, when the pid is now another process
  is_proc "$2" "$3" "$4" && return 0
  if alive "$2"; then
    log "left pid $2 alone: it is $(basename "$(readlink "/proc/$2/exe" 2>/dev/null)") started at" \
        "$(started "$2"), the record names $1 ($3 started at ${4:-?})"
  fi
  return 1
}

do_stop_recorded() {
  local file=$1 kind a b c
  [ -s "$file" ] || { log "nothing recorded in $file: nothing to stop"; return 0; }
  # Each line is "KIND [NAME] PID START": a part is stopped only while that pid is still
  # the program it names and started when it was recorded.
  while read -r kind a b c; do  # in this order: sshd, execds, qmaster, anchor, namespaces
    if [ "$kind" = sshd ]; then
      if still_ours sshd "$a" sshd "$b"; then stop_pid "$a" sshd "$b"; fi
      forget "$BASE/ssh/sshd.pid" "$a"
    fi
  done <"$file"
  while read -r kind a b c; do
    if [ "$kind" = execd ]; then
      if still_ours "execd $a" "$b" sge_execd "$c"; then stop_execd "$b" "$c"; fi
      forget "$ST/execd-$a.pid" "$b"
    fi
  done <"$file"
  while read -r kind a b c; do
    if [ "$kind" = qmaster ] && still_ours qmaster "$a" sge_qmaster "$b"; then
      inns qconf -km >/dev/null 2>&1 || true
      for _ in $(seq 250); do is_proc "$a" sge_qmaster "$b" || break; sleep 0.1; done
      stop_pid "$a" sge_qmaster "$b"
    fi
    if [ "$kind" = qmaster ]; then forget "$ST/qmaster.pid" "$a"; fi
  done <"$file"
  while read -r kind a b c; do
    if [ "$kind" = anchor ]; then
      if still_ours anchor "$a" sleep "$b"; then stop_pid "$a" sleep "$b"; fi
      forget "$ST/anchor.pid" "$a"
    fi
  done <"$file"
  while read -r kind a b; do
    if [ "$kind" = netns ]; then
      ip netns del "$a" 2>/dev/null || true
      if [ -f "$ST/netns.list" ]; then sed -i "/^$a\$/d" "$ST/netns.list"; fi
    fi
  done <"$file"
  log "stopped what $file recorded: $(cut -d' ' -f1,2 "$file" | paste -sd, | sed 's/,/, /g')"
}

do_env() {
  echo "ONETUI_SGE_SSH_PORT=$SSH_PORT"
  echo "ONETUI_SGE_SSH_USER=$SSH_USER"
  echo "ONETUI_SGE_SSH_KEY=$BASE/ssh/id_ed25519"
  echo "ONETUI_SGE_HOST_KEY=$BASE/ssh/ssh_host_ed25519_key.pub"
  echo "ONETUI_SGE_MASTER=$MASTER"
  echo "ONETUI_SGE_STATE=$ST"
}

case "${1:-}" in
  install) do_install ;;
  up) do_up ;;
  down) do_down ;;
  execd) start_anchor; make_netns "$2"; start_execd "$2" ;;
  stop-execd) stop_pid "$(cat "$ST/execd-$2.pid" 2>/dev/null || true)" sge_execd "$(filed_start "$ST/execd-$2.pid")"
              rm -f "$ST/execd-$2.pid" ;;
  stop-recorded) do_stop_recorded "${2:?usage: $0 stop-recorded FILE}" ;;
  env) do_env ;;
  status) pid_is "$(cat "$ST/qmaster.pid" 2>/dev/null || true)" sge_qmaster ;;
  *) echo "usage: $0 install|up|down|stop-recorded FILE|execd NODE|env|status" >&2; exit 2 ;;
esac
