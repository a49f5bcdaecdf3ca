"""The libvirt driver: one host, one connection kept open, any libvirt URI.

Works the same on `qemu:///system`, `xen:///system`, `qemu+ssh://…` and libvirt's own
`test:///` driver (whose domains live only as long as the connection, which is why the
connection is kept). Calls come from engine worker threads; libvirt connections are
thread-safe, and a lock guards (re)connecting.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit, urlunsplit

import libvirt

from onetui.drivers.base import (
    GUEST_OFF,
    GUEST_PAUSED,
    GUEST_RUNNING,
    DriverError,
    Guest,
    HostInfo,
    HostUnreachable,
    Placement,
)
from onetui.drivers.domxml import METADATA_NS, build_domain_xml
from onetui.model import Host
from onetui.remote.ssh import Connection, RemoteError, Target, resolve
from onetui.template import Template, Vector

T = TypeVar("T")
libvirt.registerErrorHandler(lambda *_: None, None)  # we report errors ourselves

_CONNECTION_ERRORS = {
    libvirt.VIR_ERR_NO_CONNECT, libvirt.VIR_ERR_INVALID_CONN, libvirt.VIR_ERR_SYSTEM_ERROR,
    libvirt.VIR_ERR_RPC, libvirt.VIR_ERR_AUTH_FAILED, libvirt.VIR_ERR_LIBSSH,
}
_RUNNING = {libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_BLOCKED}
_PAUSED = {libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PMSUSPENDED}


def _message(exc: libvirt.libvirtError) -> str:
    return (exc.get_error_message() or str(exc)).strip()


_events_lock = threading.Lock()
_events_running = False


def _event_loop() -> None:
    """libvirt's default event loop, once per process, in a daemon thread: it delivers
    domain events (and keepalives) of every connection opened after it was registered."""
    global _events_running
    with _events_lock:
        if _events_running:
            return
        libvirt.virEventRegisterDefaultImpl()

        def run() -> None:
            while True:
                libvirt.virEventRunDefaultImpl()
        threading.Thread(target=run, name="libvirt-events", daemon=True).start()
        _events_running = True


DEFAULT_CONSOLE_DIR = "/var/log/libvirt/qemu"
CONSOLE_TAIL = 256 * 1024
# A remote host whose link went down answers nothing; libvirt's keepalive closes such a
# connection after about INTERVAL * (COUNT + 1) s (within the engine's 15 s deadline), so
# the host is `err` with libvirt's reason then, and the next call reconnects, instead of
# every call hanging until TCP gives up many minutes later.
KEEPALIVE_INTERVAL, KEEPALIVE_COUNT = 3, 2


def connect_uri(uri: str) -> str:
    """The URI libvirt is asked to open for `uri`.

    libvirt's `+ssh` transport runs the OpenSSH client, which checks the host key only
    against ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts: a `known_hosts=` parameter is
    ignored there (libvirt 9.0, checked: a key pinned only in that file fails with "Host key
    verification failed"). So a `+ssh` URI that names its known_hosts file — the one the
    host's key was pinned in (`onetui ssh trust NODE --known-hosts FILE`) — is opened
    through libvirt's `+libssh2` transport, which checks the key against exactly that file
    and refuses an unknown or changed one (it never adds keys without a user to ask).
    Not `+libssh`: the same check, but the process died of a segmentation fault inside
    virConnectGetInfo on such a connection while libvirt's event loop thread ran its
    keepalive (seen once in a full test run on 2 loaded cores); libssh2's transport is
    libvirt's older one, and its session is locked around every use. Asking to skip the check
    there (`no_verify=1`, `known_hosts_verify=auto|ignore`) contradicts the pin: refused."""
    parts = urlsplit(uri)
    if not parts.scheme.endswith("+ssh"):
        return uri
    query = parse_qs(parts.query)
    if "known_hosts" not in query:
        return uri
    if query.get("no_verify", ["0"])[-1] != "0" or \
            query.get("known_hosts_verify", ["normal"])[-1] != "normal":
        raise DriverError(f"{uri}: known_hosts= pins the host key, but no_verify / "
                          "known_hosts_verify ask not to check it: expected no_verify=0 "
                          "(or left out)")
    return urlunsplit(parts._replace(scheme=parts.scheme.removesuffix("+ssh") + "+libssh2"))


_SSH_TRANSPORTS = ("ssh", "libssh", "libssh2")


def node_target(uri: str) -> Target | None:
    """onetui's own SSH route to the node behind a libvirt URI reached over SSH (its user,
    port, `keyfile` and `known_hosts`), for what libvirt's API does not carry: the serial
    console logs on the node's disk, and lab seats only the node can reach. None for a
    local hypervisor or another transport."""
    parts = urlsplit(uri)
    if not parts.hostname or parts.scheme.rpartition("+")[2] not in _SSH_TRANSPORTS:
        return None
    query = parse_qs(parts.query)
    keys = query.get("keyfile", [])
    return resolve(parts.hostname, port=parts.port, user=parts.username,
                   key_file=keys[-1] if keys else None,
                   known_hosts=query.get("known_hosts", [])[-1:])


def host_node(host: Host) -> Target | None:
    """`node_target` of a libvirt host's URI; None for any other host."""
    uri = host.config.get("uri") if host.driver == "libvirt" else None
    return node_target(uri) if isinstance(uri, str) else None


def _open_error(uri: str, exc: libvirt.libvirtError) -> str:
    """One line saying why `uri` did not open, with the fix for a host key not pinned."""
    message = _message(exc)
    if "verify the session host key" in message:
        parts = urlsplit(uri)
        known = parse_qs(parts.query).get("known_hosts", ["?"])[-1]
        host = parts.hostname or "?"
        port = f" --port {parts.port}" if parts.port else ""
        return (f"{uri}: the host key of {host} is not pinned in {known} (compare and pin "
                f"it: onetui ssh trust {host}{port} --known-hosts {known})")
    return f"{uri}: {message}"


class LibvirtDriver:
    def __init__(self, uri: str, *, domain_type: str | None = None,
                 console_log_dir: str | None = None) -> None:
        self.uri = uri
        self._domain_type = domain_type
        # Serial consoles are logged on the hypervisor's disk: read here on a local one,
        # over SSH on a node reached over SSH, not at all through other transports.
        local = not urlsplit(uri).hostname
        self._open_uri = connect_uri(uri)
        self._node = node_target(uri)
        self._node_ssh: Connection | None = None
        self.console_log_dir = (console_log_dir if console_log_dir is not None
                                else DEFAULT_CONSOLE_DIR if local or self._node else "")
        self._conn: libvirt.virConnect | None = None
        self._lock = threading.Lock()
        self._changed: Callable[[], None] | None = None
        self._watching: libvirt.virConnect | None = None  # the connection subscribed

    # -- connection ---------------------------------------------------------------------

    @property
    def conn(self) -> libvirt.virConnect:
        with self._lock:
            if self._conn is None or not self._alive(self._conn):
                try:
                    self._conn = libvirt.open(self._open_uri)
                except libvirt.libvirtError as exc:
                    self._conn = None
                    raise HostUnreachable(_open_error(self.uri, exc)) from None
                if self._changed is not None and urlsplit(self.uri).hostname:
                    with contextlib.suppress(libvirt.libvirtError):  # needs the event loop
                        self._conn.setKeepAlive(KEEPALIVE_INTERVAL, KEEPALIVE_COUNT)
                if self._changed is not None and self._subscribe(self._conn, self._changed):
                    self._watching = self._conn
            return self._conn

    @property
    def watching(self) -> bool:
        conn = self._watching
        return conn is not None and conn is self._conn and self._alive(conn)

    def watch(self, changed: Callable[[], None]) -> None:
        """Call `changed` whenever a domain on this host starts, stops, pauses, crashes or
        goes away (from the next connection on; libvirt's event loop runs in a thread)."""
        _event_loop()
        self._changed = changed

    @staticmethod
    def _subscribe(conn: libvirt.virConnect, changed: Callable[[], None]) -> bool:
        def lifecycle(_conn: object, _dom: object, _event: int, _detail: int,
                      _opaque: object) -> None:
            changed()
        try:
            conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                        lifecycle, None)
        except libvirt.libvirtError:
            return False  # no events: polled every pass, as before
        return True

    @staticmethod
    def _alive(conn: libvirt.virConnect) -> bool:
        try:
            return bool(conn.isAlive())
        except libvirt.libvirtError:
            return False

    def _call(self, fn: Callable[[libvirt.virConnect], T]) -> T:
        """Run `fn` on the connection; libvirt errors become DriverErrors, and a dead
        connection is dropped so the next call reconnects."""
        conn = self.conn
        try:
            return fn(conn)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() in _CONNECTION_ERRORS and not self._alive(conn):
                with self._lock:
                    self._conn = None
                raise HostUnreachable(f"{self.uri}: {_message(exc)}") from None
            raise DriverError(_message(exc)) from None

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(libvirt.libvirtError):
                    self._conn.close()
                self._conn = None
            if self._node_ssh is not None:
                self._node_ssh.close()
                self._node_ssh = None

    @property
    def domain_type(self) -> str:
        """The domain type to create: as configured, else the best the host offers."""
        if self._domain_type is None:
            caps = ET.fromstring(self._call(lambda c: c.getCapabilities()))
            offered = {d.get("type") for d in caps.iter("domain")}
            self._domain_type = next(
                (t for t in ("kvm", "xen", "qemu", "test") if t in offered), "qemu")
        return self._domain_type

    # -- monitoring -----------------------------------------------------------------------

    @staticmethod
    def _vm_id(dom: libvirt.virDomain) -> int | None:
        try:
            meta = dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, METADATA_NS)
        except libvirt.libvirtError:
            return None
        return int(ET.fromstring(meta).get("id", "0")) or None

    def _domains(self) -> list[tuple[libvirt.virDomain, int | None, list, float]]:
        def listing(conn: libvirt.virConnect) -> list:
            return [(d, self._vm_id(d), d.info(), time.monotonic())
                    for d in conn.listAllDomains()]
        return self._call(listing)

    def sample(self) -> tuple[HostInfo, dict[str, Guest]]:
        """`monitor` and `guests` from one listing of the domains: the engine's look at a
        host lists them once, not twice."""
        listing = self._domains()
        return self._figures(listing), self._guests(listing)

    def monitor(self) -> HostInfo:
        return self._figures(self._domains())

    def guests(self) -> dict[str, Guest]:
        return self._guests(self._domains())

    def _figures(self, listing: list[tuple[libvirt.virDomain, int | None, list, float]]
                 ) -> HostInfo:
        info = self._call(lambda c: c.getInfo())
        tcpu, tmem = info[2] * 100, info[1]
        used_cpu = used_mem = foreign_cpu = foreign_mem = 0
        for _, vm_id, (state, _max, mem_kib, vcpus, _t), _at in listing:
            if state not in _RUNNING | _PAUSED:
                continue
            used_cpu += vcpus * 100
            used_mem += mem_kib // 1024
            if vm_id is None:
                foreign_cpu += vcpus * 100
                foreign_mem += mem_kib // 1024
        return HostInfo(tcpu=tcpu, tmem=tmem, fcpu=max(0, tcpu - used_cpu),
                        fmem=max(0, tmem - used_mem), hypervisor=self._call(lambda c: c.getType()),
                        foreign_cpu=foreign_cpu, foreign_mem=foreign_mem)

    @staticmethod
    def _guests(listing: list[tuple[libvirt.virDomain, int | None, list, float]]
                ) -> dict[str, Guest]:
        out = {}
        for dom, vm_id, (state, _max, mem_kib, _vcpus, cpu_ns), at in listing:
            if vm_id is None:
                continue
            kind = (GUEST_RUNNING if state in _RUNNING
                    else GUEST_PAUSED if state in _PAUSED else GUEST_OFF)
            uuid = dom.UUIDString()
            out[uuid] = Guest(uuid, dom.name(), kind, cpu_ns, mem_kib // 1024, read_at=at)
        return out

    # -- deployment -----------------------------------------------------------------------

    def _lookup(self, deploy_id: str) -> libvirt.virDomain | None:
        def find(conn: libvirt.virConnect) -> libvirt.virDomain | None:
            try:
                return conn.lookupByUUIDString(deploy_id)
            except libvirt.libvirtError as exc:
                if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                    return None
                raise
        return self._call(find)

    def find(self, placement: Placement) -> str | None:
        return placement.identity if self._lookup(placement.identity) else None

    def deploy(self, placement: Placement) -> str:
        """Define and start the domain; adopt one with this identity if it exists."""
        dom = self._lookup(placement.identity)
        if dom is None:
            xml = build_domain_xml(placement, domain_type=self.domain_type,
                                   console_log_dir=self._console_dir())
            dom = self._call(lambda c: c.defineXML(xml))
            try:
                self._call(lambda _c: dom.create())
            except DriverError:
                self._call(lambda _c: dom.undefine())  # nothing half-made stays behind
                raise
        elif not self._call(lambda _c: dom.isActive()):
            self._call(lambda _c: dom.create())
        return placement.identity

    def _console_dir(self) -> str:
        return self.console_log_dir if self.domain_type in ("qemu", "kvm") else ""

    def console(self, deploy_id: str) -> str:
        """The guest's serial console output since it last started (its tail), read from
        the log file its domain names — on a node reached over SSH, read there over
        onetui's own SSH connection to it; "" when it has none or it is not readable."""
        dom = self._lookup(deploy_id)
        if dom is None:
            raise DriverError(f"no domain {deploy_id} on {self.uri}")
        xml = ET.fromstring(self._call(lambda _c: dom.XMLDesc(0)))
        paths = [el.get("file") for el in xml.findall("./devices/serial/log")]
        paths += [el.get("path") for el in xml.findall("./devices/serial[@type='file']/source")]
        for path in filter(None, paths):
            if self._node is not None:
                said = self._node_tail(path)
                if said is not None:
                    return said
                continue
            try:
                with open(path, "rb") as log:
                    log.seek(max(0, os.fstat(log.fileno()).st_size - CONSOLE_TAIL))
                    return log.read().decode(errors="replace")
            except OSError:
                continue
        return ""

    def _node_tail(self, path: str) -> str | None:
        node = self._node
        if node is None:
            return None
        with self._lock:
            if self._node_ssh is None:
                self._node_ssh = Connection(node)
            ssh = self._node_ssh
        try:
            result = ssh.run(["tail", "-c", str(CONSOLE_TAIL), path], timeout=30)
        except RemoteError as exc:
            raise DriverError(f"reading the console on {node.key_name}: {exc}") from None
        return result.out if result.ok else None

    def _act(self, deploy_id: str, action: Callable[[libvirt.virDomain], object]) -> None:
        dom = self._lookup(deploy_id)
        if dom is None:
            raise DriverError(f"no domain {deploy_id} on {self.uri}")
        self._call(lambda _c: action(dom))

    def shutdown(self, deploy_id: str) -> None:
        self._act(deploy_id, lambda d: d.shutdown())

    def suspend(self, deploy_id: str) -> None:
        self._act(deploy_id, lambda d: d.suspend())

    def resume(self, deploy_id: str) -> None:
        self._act(deploy_id, lambda d: d.resume())

    def stop(self, deploy_id: str) -> None:
        """Save the guest's memory to disk (libvirt's managed save); `start` restores it."""
        self._act(deploy_id, lambda d: d.managedSave(0))

    def start(self, deploy_id: str) -> None:
        self._act(deploy_id, lambda d: d.create())

    def reboot(self, deploy_id: str, hard: bool) -> None:
        self._act(deploy_id, lambda d: d.reset(0) if hard else d.reboot(0))

    def power_off(self, deploy_id: str, hard: bool) -> None:
        """Off, still defined with its disks: `power_on` boots it again."""
        self._act(deploy_id, lambda d: d.destroy() if hard else d.shutdown())

    def power_on(self, deploy_id: str) -> None:
        self._act(deploy_id, lambda d: d.create())

    def migrate(self, deploy_id: str, dest_uri: str, live: bool) -> None:
        """libvirt's peer-to-peer-free migration to `dest_uri`: defined there, undefined
        here. Storage is not copied: the disks must be where the other host finds them
        (shared storage), else libvirt refuses and the guest stays here."""
        flags = (libvirt.VIR_MIGRATE_PERSIST_DEST | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
                 | (libvirt.VIR_MIGRATE_LIVE if live else 0))
        dom = self._lookup(deploy_id)
        if dom is None:
            raise DriverError(f"no domain {deploy_id} on {self.uri}")
        try:
            dest = libvirt.open(connect_uri(dest_uri))
        except libvirt.libvirtError as exc:
            raise HostUnreachable(f"{dest_uri}: {_message(exc)}") from None
        try:
            self._call(lambda _c: dom.migrate(dest, flags, None, None, 0))
        finally:
            with contextlib.suppress(libvirt.libvirtError):
                dest.close()

    def cancel(self, deploy_id: str) -> None:
        dom = self._lookup(deploy_id)
        if dom is None:
            return

        def destroy(_c: libvirt.virConnect) -> None:
            if dom.isActive():
                dom.destroy()
            flags = (libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
                     | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
            try:
                dom.undefineFlags(flags)
            except libvirt.libvirtError:
                dom.undefine()
        self._call(destroy)

    # -- per-VM disks (prolog / epilog) -------------------------------------------------
    # A per-VM disk is a volume made beside its master, in the master's storage pool (the
    # image datastore): the admin defines that pool once, as with `virsh pool-define-as`.

    @staticmethod
    def _clone_mode(disk: Vector, index: int) -> str:
        mode = (disk.get("CLONE") or "no").lower()
        if mode in ("no", "false", ""):
            return ""
        if mode in ("yes", "true"):
            return "copy"
        if mode == "overlay":
            return mode
        raise DriverError(f"DISK {index + 1} CLONE: expected yes, no or overlay, found "
                          f"{disk.get('CLONE')!r}")

    def _clones(self, tpl: Template) -> list[tuple[int, Vector, str]]:
        out = []
        for i, disk in enumerate(tpl.get_all("DISK")):
            if isinstance(disk, Vector):
                mode = self._clone_mode(disk, i)
                if mode:
                    out.append((i, disk, mode))
        return out

    @staticmethod
    def _master(conn: libvirt.virConnect, disk: Vector) -> libvirt.virStorageVol:
        master = disk.get("SOURCE") or ""
        try:
            return conn.storageVolLookupByPath(master)
        except libvirt.libvirtError:
            raise DriverError(f"DISK SOURCE {master}: not a volume in any libvirt storage "
                              "pool on this host (define a pool for its directory)") from None

    def prolog(self, placement: Placement) -> Template:
        """Per-VM copies (CLONE=yes) or qcow2 overlays (CLONE=overlay) of master disks;
        returns the template with those disks pointing at the VM's own volumes."""
        tpl = placement.template.copy()
        clones = self._clones(tpl)
        if not clones:
            return tpl
        made = {i: self._clone(placement.vm_id, i, disk, mode) for i, disk, mode in clones}
        disks = tpl.get_all("DISK")
        tpl.remove("DISK")
        for i, disk in enumerate(disks):
            tpl.add("DISK", made.get(i, disk))
        return tpl

    def _clone(self, vm_id: int, index: int, disk: Vector, mode: str) -> Vector:
        name = f"one-{vm_id}-disk{index}"

        def make(conn: libvirt.virConnect) -> str:
            master = self._master(conn, disk)
            pool = master.storagePoolLookupByVolume()
            try:
                return pool.storageVolLookupByName(name).path()  # prolog again after a crash
            except libvirt.libvirtError:
                pass
            if mode == "overlay":
                fmt_el = ET.fromstring(master.XMLDesc(0)).find("target/format")
                fmt = fmt_el.get("type", "raw") if fmt_el is not None else "raw"
                xml = (f"<volume><name>{name}</name><capacity>{master.info()[1]}</capacity>"
                       "<target><format type='qcow2'/></target><backingStore><path>"
                       f"{master.path()}</path><format type='{fmt}'/></backingStore></volume>")
                return pool.createXML(xml, 0).path()
            xml = f"<volume><name>{name}</name><capacity>0</capacity></volume>"
            return pool.createXMLFrom(xml, master, 0).path()
        path = self._call(make)
        fmt = "qcow2" if mode == "overlay" else (disk.get("FORMAT") or disk.get("DRIVER"))
        items = [(k, v) for k, v in disk.items
                 if k not in ("SOURCE", "CLONE", "FORMAT", "DRIVER")]
        return Vector((("SOURCE", path), *items, *((("FORMAT", fmt),) if fmt else ())))

    def epilog(self, placement: Placement) -> None:
        """Delete the VM's per-VM volumes; no error when they are gone already."""
        for index, disk, _mode in self._clones(placement.template):
            name = f"one-{placement.vm_id}-disk{index}"

            def remove(conn: libvirt.virConnect, disk: Vector = disk, name: str = name) -> None:
                pool = self._master(conn, disk).storagePoolLookupByVolume()
                try:
                    vol = pool.storageVolLookupByName(name)
                except libvirt.libvirtError:
                    return
                vol.delete(0)
            self._call(remove)
