#!/bin/sh
# onetui worker bootstrap, rendered by onetui for one EC2 launch (see README, "EC2 workers").
# One launch may start several workers: each finds its own line by its launch index.
# Placeholders start with two at-signs; a host may use its own file (--userdata-template).
IDX=$(wget -qO- http://169.254.169.254/latest/meta-data/ami-launch-index 2>/dev/null || echo 0)
case "$IDX" in
@@entries
esac
[ -n "$NAME" ] && { hostname "$NAME"; echo "$NAME" > /etc/hostname; }
# Join the VPN (OpenVPN client config baked into the AMI; server from onetui's host config).
if [ -n "@@vpn_server" ] && command -v openvpn >/dev/null; then
  sed -i "s/^remote .*/remote @@vpn_server 1194/" /etc/openvpn/client.conf 2>/dev/null
  /etc/init.d/openvpn start client 2>/dev/null || openvpn --daemon --config /etc/openvpn/client.conf
fi
# Names of the cluster: the front-end's /etc/hosts block for the VPN pool follows.
if [ -n "@@nfs_server" ]; then
  mkdir -p @@nfs_mount && mount -t nfs @@nfs_server:@@nfs_export @@nfs_mount
fi
if [ -n "@@sge_master" ]; then
  echo "@@sge_master" > @@sge_root/default/common/act_qmaster
  /etc/init.d/gridengine-exec start 2>/dev/null || @@sge_root/bin/lx-amd64/sge_execd
fi
