#!/usr/bin/env bash
# A second hypervisor node for the tests: its own libvirtd + virtlogd in its own network and
# mount namespace, reachable only through an sshd (root, one test key) at its own address.
#
#   node.sh install     Debian packages the node needs beyond virt.sh's (openssh-server)
#   node.sh up          make the namespace onetui-node1 (veth pair, 10.251.1.0/30: host .1,
#                       node .2), start virtlogd, libvirtd and sshd in it, define its storage
#                       pool (the guest images copied into the node's own /var/lib/libvirt)
#   node.sh down        stop exactly what `up` started (every process in the node's network
#                       namespace, by PID), remove the namespace
#   node.sh status      exit 0 when the node's libvirtd answers and its sshd listens
#   node.sh env         print what tests read (address, key, host key, pool, image dir)
#   node.sh stop-sshd   the node's sshd goes away (listener and sessions), the rest keeps running
#   node.sh link-down   the node's link goes down (host side of the veth pair)
#   (`up` again brings back whatever is missing)
#
# Needs the virt test bed's guest (virt.sh install guest). The node's libvirtd has private
# /run, /etc/libvirt, /var/lib/libvirt, /var/log/libvirt and /var/cache/libvirt (tmpfs and a
# config copy in its mount namespace): it never sees the front-end's domains, pools or
# sockets, and the front-end's libvirtd never sees its. The only traffic is between the host
# and this namespace.
set -euo pipefail
BASE=${ONETUI_TESTBED_DIR:-/var/tmp/onetui-testbed}
NB=$BASE/node1
G=$BASE/virt/guest
NS=onetui-node1
HOST_IF=onode1-h
NODE_IF=onode1-n
HOST_ADDR=10.251.1.1
NODE_ADDR=10.251.1.2
POOL=onetui-node
IMAGES=/var/lib/libvirt/images   # inside the node
mkdir -p "$NB/ssh" "$NB/run" "$NB/logs"
chmod 755 "$BASE" "$NB"; chmod 700 "$NB/ssh"

log() { echo "node testbed: $*"; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
pid_is() { alive "$1" && [ "$(basename "$(readlink "/proc/$1/exe" 2>/dev/null)")" = "$2" ]; }
anchor() { cat "$NB/run/anchor.pid" 2>/dev/null || true; }
anchor_up() { pid_is "$(anchor)" sleep; }
# run a command inside the node (its network, mount and UTS namespaces)
innode() { nsenter -t "$(anchor)" -m -n -u -- "$@"; }
pidof_file() { cat "$NB/run/$1.pid" 2>/dev/null || true; }

do_install() {
  [ "$(dpkg-query -W -f='${Status}' openssh-server 2>/dev/null)" = "install ok installed" ] && return 0
  log "installing openssh-server"
  export DEBIAN_FRONTEND=noninteractive
  local apt=(apt-get -q -o DPkg::Lock::Timeout=600)
  "${apt[@]}" install -y --no-install-recommends openssh-server >"$NB/logs/apt.log" 2>&1 || {
    "${apt[@]}" update >>"$NB/logs/apt.log" 2>&1
    "${apt[@]}" install -y --no-install-recommends openssh-server >>"$NB/logs/apt.log" 2>&1
  } || { tail -20 "$NB/logs/apt.log"; exit 1; }
}

make_netns() {
  # A namespace whose set-up was cut short is made again: one that exists counts only
  # with its host-side link present.
  if ip netns list | grep -qw "$NS" && ! ip link show "$HOST_IF" >/dev/null 2>&1; then
    stop_all; ip netns del "$NS" 2>/dev/null || true
  fi
  if ! ip netns list | grep -qw "$NS"; then
    ip link del "$HOST_IF" 2>/dev/null || true
    ip netns add "$NS"
    echo "$NS" >>"$NB/run/netns.list"  # recorded at once, so `down` removes a partial one
    ip link add "$HOST_IF" type veth peer name "$NODE_IF"
    ip link set "$NODE_IF" netns "$NS"
    ip addr add "$HOST_ADDR/30" dev "$HOST_IF"
    ip netns exec "$NS" ip addr add "$NODE_ADDR/30" dev "$NODE_IF"
    ip netns exec "$NS" ip link set "$NODE_IF" up
    ip netns exec "$NS" ip link set lo up
  fi
  ip link set "$HOST_IF" up
}

stage() {
  # the node's own configuration: the package's daemon settings (top-level files only, no
  # domains, networks or pools of the front-end), without cgroups (one cgroup tree is
  # shared with the front-end's libvirtd, whose scope names could collide)
  # (made afresh only for a fresh node: a running one has it mounted as its /etc/libvirt)
  if ! anchor_up; then
    rm -rf "$NB/etc-libvirt"; mkdir -p "$NB/etc-libvirt"
    find /etc/libvirt -maxdepth 1 -type f -exec cp -p {} "$NB/etc-libvirt/" \;
    printf '\n# onetui node test bed\ncgroup_controllers = [ ]\n' >>"$NB/etc-libvirt/qemu.conf"
  fi
  [ -f "$NB/ssh/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C node1 \
    -f "$NB/ssh/ssh_host_ed25519_key"
  [ -f "$NB/ssh/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C onetui-node-test \
    -f "$NB/ssh/id_ed25519"
  install -m 600 "$NB/ssh/id_ed25519.pub" "$NB/ssh/authorized_keys"
  cat >"$NB/ssh/sshd_config" <<CONF
ListenAddress $NODE_ADDR:22
HostKey $NB/ssh/ssh_host_ed25519_key
PidFile $NB/run/sshd.pid
AuthorizedKeysFile /run/onetui-node/authorized_keys
PermitRootLogin prohibit-password
AllowUsers root
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
X11Forwarding no
PrintMotd no
AllowTcpForwarding yes
CONF
  /usr/sbin/sshd -t -f "$NB/ssh/sshd_config"
  # what the node's mount namespace looks like: private daemon directories, the guest
  # images in the node's own image directory
  cat >"$NB/node-init.sh" <<INIT
set -e
mount --make-rprivate /
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/sshd /run/libvirt
# root's key where sshd's StrictModes accepts it (the node's own /run, not /var/tmp)
install -d -m 700 /run/onetui-node
install -m 600 '$NB/ssh/authorized_keys' /run/onetui-node/authorized_keys
mount --bind '$NB/etc-libvirt' /etc/libvirt
mount -t tmpfs -o mode=755 tmpfs /var/lib/libvirt
mkdir -p /var/lib/libvirt/images /var/lib/libvirt/boot /var/lib/libvirt/dnsmasq
install -d -m 751 -o libvirt-qemu -g libvirt-qemu /var/lib/libvirt/qemu
mount -t tmpfs -o mode=755 tmpfs /var/log/libvirt
mkdir -p /var/log/libvirt/qemu
mount -t tmpfs -o mode=711 tmpfs /var/cache/libvirt
cp '$G/vmlinuz' '$G/initrd.img' '$G/disk.qcow2' '$G/lab.qcow2' $IMAGES/
chmod 644 $IMAGES/*
hostname node1
echo \$\$ >'$NB/run/anchor.pid'
exec sleep infinity
INIT
}

start_node() {
  if ! anchor_up; then
    # a node whose anchor died: whatever still runs in its namespace goes first
    # shellcheck disable=SC2046
    stop_pids $(ns_pids)
    rm -f "$NB/run/"{anchor,virtlogd,libvirtd,sshd}.pid
    setsid ip netns exec "$NS" unshare --mount --uts --propagation private \
      sh "$NB/node-init.sh" </dev/null >"$NB/logs/init.log" 2>&1 &
    for _ in $(seq 100); do anchor_up && break; sleep 0.1; done
    anchor_up || { log "the node's namespace did not come up"; cat "$NB/logs/init.log"; exit 1; }
  fi
  pid_is "$(pidof_file virtlogd)" virtlogd || innode virtlogd -d -p "$NB/run/virtlogd.pid"
  if ! pid_is "$(pidof_file libvirtd)" libvirtd; then
    innode env LIBVIRT_LOG_OUTPUTS="3:file:$NB/logs/libvirtd.log" \
      libvirtd -d -p "$NB/run/libvirtd.pid"
  fi
  local ok=""
  for _ in $(seq 100); do
    innode virsh -q -c qemu:///system version >/dev/null 2>&1 && { ok=1; break; }
    sleep 0.2
  done
  [ -n "$ok" ] || { log "the node's libvirtd did not answer"; tail -20 "$NB/logs/libvirtd.log"; exit 1; }
  if ! innode virsh -q -c qemu:///system pool-info "$POOL" >/dev/null 2>&1; then
    innode virsh -q -c qemu:///system pool-define-as "$POOL" dir --target "$IMAGES" >/dev/null
  fi
  innode virsh -q -c qemu:///system pool-start "$POOL" >/dev/null 2>&1 || true
  innode virsh -q -c qemu:///system pool-refresh "$POOL" >/dev/null
  start_sshd
}

start_sshd() {
  pid_is "$(pidof_file sshd)" sshd && return 0
  rm -f "$NB/run/sshd.pid"
  innode /usr/sbin/sshd -f "$NB/ssh/sshd_config" -E "$NB/logs/sshd.log"
  for _ in $(seq 50); do [ -s "$NB/run/sshd.pid" ] && return 0; sleep 0.1; done
  log "the node's sshd did not start"; tail "$NB/logs/sshd.log"; exit 1
}

ns_pids() {
  # every process in the node's network namespace: all of them were started by `up` (the
  # daemons, their QEMU guests, ssh sessions, the anchor)
  ip netns pids "$NS" 2>/dev/null || true
}

stop_pids() {
  local p
  [ $# -eq 0 ] && return 0
  kill -TERM "$@" 2>/dev/null || true
  for _ in $(seq 100); do
    local left=0
    for p in "$@"; do alive "$p" && left=1; done
    [ $left = 0 ] && return 0
    sleep 0.1
  done
  kill -KILL "$@" 2>/dev/null || true
}

stop_sshd() {
  # the listener and every session it forked (as a node whose sshd died would)
  local p pids=()
  for p in $(ns_pids); do pid_is "$p" sshd && pids+=("$p"); done
  stop_pids "${pids[@]}"
  rm -f "$NB/run/sshd.pid"
}

stop_all() {
  if ! anchor_up; then
    # shellcheck disable=SC2046
    stop_pids $(ns_pids); return 0
  fi
  if pid_is "$(pidof_file libvirtd)" libvirtd; then
    for dom in $(innode virsh -q -c qemu:///system list --name 2>/dev/null || true); do
      innode virsh -q -c qemu:///system destroy "$dom" >/dev/null 2>&1 || true
    done
  fi
  local a; a=$(anchor)
  # shellcheck disable=SC2046
  stop_pids $(ns_pids | grep -vx "$a")
  stop_pids "$a"
  rm -f "$NB/run/"{anchor,virtlogd,libvirtd,sshd}.pid
}

do_up() {
  [ -s "$G/vmlinuz" ] && [ -s "$G/lab.qcow2" ] || { log "no guest in $G (run virt.sh install guest)"; exit 1; }
  make_netns
  stage
  start_node
  log "up: $NS at $NODE_ADDR (libvirtd $(pidof_file libvirtd), sshd $(pidof_file sshd)), pool $POOL at $IMAGES"
}

do_down() {
  stop_all
  if [ -s "$NB/run/netns.list" ]; then
    for ns in $(sort -u "$NB/run/netns.list"); do ip netns del "$ns" 2>/dev/null || true; done
    rm -f "$NB/run/netns.list"
  fi
  ip link del "$HOST_IF" 2>/dev/null || true
  log "down"
}

do_status() {
  anchor_up && pid_is "$(pidof_file libvirtd)" libvirtd && pid_is "$(pidof_file sshd)" sshd \
    && innode virsh -q -c qemu:///system version >/dev/null 2>&1 \
    && ip link show "$HOST_IF" 2>/dev/null | grep -q 'state UP'
}

do_env() {
  echo "ONETUI_NODE_ADDR=$NODE_ADDR"
  echo "ONETUI_NODE_KEY=$NB/ssh/id_ed25519"
  echo "ONETUI_NODE_HOST_KEY=$NB/ssh/ssh_host_ed25519_key.pub"
  echo "ONETUI_NODE_POOL=$POOL"
  echo "ONETUI_NODE_IMAGES=$IMAGES"
  echo "ONETUI_NODE_STATE=$NB"
}

for cmd in "${@:-status}"; do
case "$cmd" in
  install) do_install ;;
  up) do_up ;;
  down) do_down ;;
  status) do_status ;;
  env) do_env ;;
  stop-sshd) anchor_up && stop_sshd ;;
  link-down) ip link set "$HOST_IF" down ;;
  *) echo "usage: $0 install|up|down|status|env|stop-sshd|link-down ..." >&2; exit 2 ;;
esac
done
