#!/usr/bin/env bash
# libvirtd + QEMU (software emulation) for the tests that boot real guests.
#
#   virt.sh install   Debian packages (only the missing ones)
#   virt.sh guest     build the tiny guest: Debian kernel + busybox/dropbear initramfs, the
#                     plain master disk (disk.qcow2) and the lab master disk (lab.qcow2)
#   virt.sh up        start virtlogd + libvirtd by hand (no systemd here), /dev/kvm fix
#   virt.sh down      stop exactly what `up` started, restore /dev/kvm
#   virt.sh status    exit 0 when libvirtd answers
#   virt.sh env       print the variables tests read (ONETUI_GUEST_DIR, ...)
#
# State lives in $ONETUI_TESTBED_DIR/virt (default /var/tmp/onetui-testbed/virt). Guests are
# reached only over QEMU user-mode networking with hostfwd on 127.0.0.1: no bridge, no NAT
# network, no route to any other address.
set -euo pipefail
BASE=${ONETUI_TESTBED_DIR:-/var/tmp/onetui-testbed}
D=$BASE/virt
G=$D/guest
POOL=onetui-guest
APT=(apt-get -q -o DPkg::Lock::Timeout=600)
PKGS=(libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86
      qemu-utils busybox-static cpio dropbear-bin openssh-client)
# Bump when the guest changes: `guest` rebuilds an image whose stamp differs.
GUEST_VERSION=3
mkdir -p "$D/logs" "$G"
chmod 755 "$BASE" "$D" "$G"

log() { echo "virt testbed: $*"; }

do_install() {
  local need=() p
  for p in "${PKGS[@]}"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || need+=("$p")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${APT[@]}" install -y --no-install-recommends "${need[@]}" >"$D/logs/apt.log" 2>&1 || {
    "${APT[@]}" update >>"$D/logs/apt.log" 2>&1
    "${APT[@]}" install -y --no-install-recommends "${need[@]}" >>"$D/logs/apt.log" 2>&1
  } || { tail -20 "$D/logs/apt.log"; exit 1; }
}

write_init() {
  cat >"$1/init" <<'INIT'
#!/bin/busybox sh
# The onetui test guest: hostname from the kernel command line (hostname=NAME), network
# over QEMU's user-mode NIC, httpd on :80 saying who it is, acpid so ACPI shutdown works.
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mkdir -p /dev/pts; mount -t devpts devpts /dev/pts
for m in evdev button e1000 virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev \
         virtio_pci failover net_failover virtio_net virtio_blk crc16 mbcache jbd2 \
         crc32c_generic ext4; do
  insmod /lib/modules/$m.ko 2>/dev/null
done
NAME=guest
for arg in $(cat /proc/cmdline); do case "$arg" in hostname=*) NAME=${arg#hostname=} ;; esac; done
hostname "$NAME"
mkdir -p /var/log /var/run /www /mnt
acpid
sleep 1
ip link set lo up
IF=$(ls /sys/class/net | grep -v lo | head -1)
if [ -n "$IF" ]; then
  ip link set "$IF" up
  ip addr add 10.0.2.15/24 dev "$IF"; ip route add default via 10.0.2.2
fi
DISK=none
if [ -b /dev/vda ]; then mount /dev/vda /mnt 2>/dev/null && DISK=$(cat /mnt/onetui-master 2>/dev/null); fi
echo "onetui guest $NAME disk=$DISK" > /www/index.html
httpd -p 80 -h /www
if [ -f /mnt/etc/passwd ]; then
  # A lab master disk: /etc, /root and /home live on it (accounts survive a reboot), and an
  # SSH server runs with a host key made on first boot, printed to the serial console the
  # way cloud-init does, so the host can learn it out of band.
  for d in etc root home; do mount --bind /mnt/$d /$d; done
  K=/etc/dropbear/dropbear_ed25519_host_key
  [ -s $K ] || dropbearkey -t ed25519 -f $K >/dev/null 2>&1
  { echo "-----BEGIN SSH HOST KEY KEYS-----"
    dropbearkey -y -f $K | grep '^ssh-'
    echo "-----END SSH HOST KEY KEYS-----"; } > /dev/ttyS0
  dropbear -r $K -p 22
fi
echo "ONETUI-GUEST-UP hostname=$NAME if=${IF:-none} disk=$DISK" > /dev/ttyS0
while :; do sleep 3600; done
INIT
  chmod 755 "$1/init"
}

write_account_tools() {
  # Busybox has no useradd/chpasswd: these two small scripts give the guest the standard
  # interface (the one onetui drives on Debian guests), built from busybox's own applets.
  cat >"$1/usr/sbin/useradd" <<'TOOL'
#!/bin/sh
# useradd [-m] [-s SHELL] [-c COMMENT] NAME
shell=/bin/sh; home=""; comment=""
while [ $# -gt 1 ]; do case "$1" in
  -m) shift ;; -s) shell=$2; shift 2 ;; -c) comment=$2; shift 2 ;; --) shift ;; *) break ;;
esac; done
name=$1
if grep -q "^$name:" /etc/passwd; then echo "useradd: user '$name' already exists" >&2; exit 9; fi
uid=1000; while cut -d: -f3 /etc/passwd | grep -qx $uid; do uid=$((uid + 1)); done
home=/home/$name
echo "$name:x:$uid:$uid:$comment:$home:$shell" >>/etc/passwd
echo "$name:x:$uid:" >>/etc/group
echo "$name:!:19000:0:99999:7:::" >>/etc/shadow
mkdir -p "$home"; chown "$uid:$uid" "$home"; chmod 700 "$home"
TOOL
  cat >"$1/usr/sbin/chpasswd" <<'TOOL'
#!/bin/sh
# chpasswd: NAME:PASSWORD lines on stdin, as shadow-utils reads them (SHA-512 crypt)
while IFS=: read -r name pw; do
  grep -q "^$name:" /etc/shadow || { echo "chpasswd: line for '$name': user does not exist" >&2; exit 1; }
  hash=$(printf '%s' "$pw" | mkpasswd -m sha512 -P 0) || exit 1
  awk -F: -v OFS=: -v n="$name" -v h="$hash" '$1 == n { $2 = h } { print }' /etc/shadow >/etc/shadow.new
  cat /etc/shadow.new >/etc/shadow; rm -f /etc/shadow.new
done
TOOL
  chmod 755 "$1/usr/sbin/useradd" "$1/usr/sbin/chpasswd"
}

build_lab_disk() {
  # The lab master: accounts (root, key-only), the admin's public key, the SSH server's
  # directory (host key made by each seat on first boot), acpid's power button handler.
  local work=$1 root=$1/lab
  mkdir -p "$D/admin"; chmod 700 "$D/admin"
  [ -s "$D/admin/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C onetui-lab-admin \
    -f "$D/admin/id_ed25519"
  mkdir -p "$root"/{etc/dropbear,etc/acpi/PWRF,root/.ssh,home}
  echo lab >"$root/onetui-master"
  printf 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\n' \
    >"$root/etc/passwd"
  printf 'root:x:0:\ndaemon:x:1:\n' >"$root/etc/group"
  printf 'root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n' >"$root/etc/shadow"
  printf '/bin/sh\n' >"$root/etc/shells"
  printf 'passwd: files\ngroup: files\nshadow: files\n' >"$root/etc/nsswitch.conf"
  printf '#!/bin/sh\npoweroff -f\n' >"$root/etc/acpi/PWRF/00000080"
  chmod 755 "$root/etc/acpi/PWRF/00000080"; chmod 600 "$root/etc/shadow"
  cp "$D/admin/id_ed25519.pub" "$root/root/.ssh/authorized_keys"
  chmod 700 "$root/root" "$root/root/.ssh"; chmod 600 "$root/root/.ssh/authorized_keys"
  rm -f "$work/lab.raw"; truncate -s 32M "$work/lab.raw"
  mke2fs -q -t ext2 -d "$root" "$work/lab.raw"
  qemu-img convert -f raw -O qcow2 "$work/lab.raw" "$G/lab.qcow2"
}

do_guest() {
  [ -s "$G/vmlinuz" ] && [ -s "$G/initrd.img" ] && [ -s "$G/lab.qcow2" ] \
    && [ "$(cat "$G/version" 2>/dev/null)" = "$GUEST_VERSION" ] && return 0
  log "building the guest in $G"
  local work=$D/build kpkg kver k m
  rm -rf "$work"; mkdir -p "$work"
  kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/{print $2; exit}')
  kver=${kpkg#linux-image-}
  (cd "$work" && "${APT[@]}" download "$kpkg" >/dev/null 2>&1 \
     || { "${APT[@]}" update >/dev/null 2>&1; "${APT[@]}" download "$kpkg" >/dev/null; })
  dpkg -x "$work"/"${kpkg}"_*.deb "$work/kroot"
  local ir=$work/initramfs
  mkdir -p "$ir"/{bin,proc,sys,dev,tmp,www,lib/modules,etc/acpi/PWRF,usr/sbin,usr/bin,lib64}
  mkdir -p "$ir"/{home,root,lib/x86_64-linux-gnu}
  cp /bin/busybox "$ir/bin/"
  # dropbear and the libraries it loads (glibc's NSS files module for the account database)
  cp /usr/sbin/dropbear "$ir/usr/sbin/"; cp /usr/bin/dropbearkey "$ir/usr/bin/"
  local lib
  for lib in $(ldd /usr/sbin/dropbear /usr/bin/dropbearkey | awk '/=> \//{print $3}' | sort -u) \
             /lib/x86_64-linux-gnu/libnss_files.so.2; do
    [ -e "$lib" ] && cp -L "$lib" "$ir/lib/x86_64-linux-gnu/"
  done
  cp -L /lib64/ld-linux-x86-64.so.2 "$ir/lib64/"
  write_account_tools "$ir"
  printf '#!/bin/sh\npoweroff -f\n' >"$ir/etc/acpi/PWRF/00000080"
  chmod 755 "$ir/etc/acpi/PWRF/00000080"
  k=$work/kroot/lib/modules/$kver/kernel
  for m in drivers/input/evdev.ko drivers/acpi/button.ko drivers/net/ethernet/intel/e1000/e1000.ko \
           drivers/virtio/virtio.ko drivers/virtio/virtio_ring.ko drivers/virtio/virtio_pci_legacy_dev.ko \
           drivers/virtio/virtio_pci_modern_dev.ko drivers/virtio/virtio_pci.ko net/core/failover.ko \
           drivers/net/net_failover.ko drivers/net/virtio_net.ko drivers/block/virtio_blk.ko \
           lib/crc16.ko fs/mbcache.ko fs/jbd2/jbd2.ko crypto/crc32c_generic.ko fs/ext4/ext4.ko; do
    if [ -f "$k/$m" ]; then cp "$k/$m" "$ir/lib/modules/"
    elif [ -f "$k/$m.xz" ]; then xz -dc "$k/$m.xz" >"$ir/lib/modules/$(basename "$m")"; fi
  done
  write_init "$ir"
  (cd "$ir" && find . | cpio -o -H newc --quiet | gzip -1) >"$G/initrd.img"
  cp "$work/kroot/boot/vmlinuz-$kver" "$G/vmlinuz"
  mkdir -p "$work/disk"; echo master >"$work/disk/onetui-master"
  rm -f "$work/disk.raw"; truncate -s 16M "$work/disk.raw"
  mke2fs -q -t ext2 -d "$work/disk" "$work/disk.raw"
  qemu-img convert -f raw -O qcow2 "$work/disk.raw" "$G/disk.qcow2"
  build_lab_disk "$work"
  echo "$GUEST_VERSION" >"$G/version"
  chmod 644 "$G"/*; rm -rf "$work"
  log "guest ready: $(ls "$G" | tr '\n' ' ')"
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

do_up() {
  if [ -e /dev/kvm ] && [ ! -f "$D/kvm.mode" ]; then
    stat -c '%a %G' /dev/kvm >"$D/kvm.mode"
    # libvirt probes QEMU with KVM on, then finds /dev/kvm unusable for its user and re-probes
    # (~4 s) on every call: give it the group Debian's udev rule would.
    chgrp kvm /dev/kvm; chmod 0660 /dev/kvm
  fi
  alive "$D/virtlogd.pid" || virtlogd -d -p "$D/virtlogd.pid"
  if ! alive "$D/libvirtd.pid"; then
    LIBVIRT_LOG_OUTPUTS="3:file:$D/logs/libvirtd.log" libvirtd -d -p "$D/libvirtd.pid"
  fi
  local ok=""
  for _ in $(seq 100); do
    virsh -q -c qemu:///system version >/dev/null 2>&1 && { ok=1; break; }
    sleep 0.2
  done
  if [ -z "$ok" ]; then
    log "libvirtd did not answer; its log:"; tail -20 "$D/logs/libvirtd.log" || true
    exit 1
  fi
  # The guest's directory as a storage pool (persistent, so it survives a libvirtd restart):
  # per-VM overlays of disk.qcow2 are made in it, as an admin's image datastore would be.
  if ! virsh -q -c qemu:///system pool-info "$POOL" >/dev/null 2>&1; then
    virsh -q -c qemu:///system pool-define-as "$POOL" dir --target "$G" >/dev/null
  fi
  virsh -q -c qemu:///system pool-start "$POOL" >/dev/null 2>&1 || true
  log "libvirtd up (pid $(cat "$D/libvirtd.pid")), pool $POOL at $G"
}

do_down() {
  if alive "$D/libvirtd.pid"; then
    for dom in $(virsh -q -c qemu:///system list --all --name 2>/dev/null | grep '^one-' || true); do
      virsh -q -c qemu:///system destroy "$dom" >/dev/null 2>&1 || true
      virsh -q -c qemu:///system undefine "$dom" >/dev/null 2>&1 || true
    done
    virsh -q -c qemu:///system pool-destroy "$POOL" >/dev/null 2>&1 || true
    virsh -q -c qemu:///system pool-undefine "$POOL" >/dev/null 2>&1 || true
  fi
  local f
  for f in libvirtd virtlogd; do
    if alive "$D/$f.pid"; then kill "$(cat "$D/$f.pid")"; fi
    rm -f "$D/$f.pid"
  done
  if [ -f "$D/kvm.mode" ]; then
    read -r mode group <"$D/kvm.mode"
    chgrp "$group" /dev/kvm; chmod "$mode" /dev/kvm; rm -f "$D/kvm.mode"
  fi
  log "down"
}

do_env() {
  echo "ONETUI_GUEST_DIR=$G"
  echo "ONETUI_GUEST_POOL=$POOL"
  echo "ONETUI_VIRT_LOGS=$D/logs"
  echo "ONETUI_LAB_ADMIN_KEY=$D/admin/id_ed25519"
}

for cmd in "${@:-status}"; do
  case "$cmd" in
    install) do_install ;;
    guest) do_guest ;;
    up) do_up ;;
    down) do_down ;;
    status) alive "$D/libvirtd.pid" && virsh -q -c qemu:///system version >/dev/null 2>&1 ;;
    env) do_env ;;
    *) echo "usage: $0 install|guest|up|down|status|env ..." >&2; exit 2 ;;
  esac
done
