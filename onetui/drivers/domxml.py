"""Libvirt domain XML from an OpenNebula template.

Built with ElementTree (never string pasting), so any value in a template is escaped.
Every onetui domain carries a metadata element with its VM id: that is how monitoring
tells our guests from the ones an admin runs by hand on the same host.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

from onetui.drivers.base import DriverError, Placement
from onetui.template import Template, Vector

METADATA_NS = "https://onetui.dev/xmlns/vm/1"
QEMU_NS = "http://libvirt.org/schemas/domain/qemu/1.0"
ET.register_namespace("onetui", METADATA_NS)
ET.register_namespace("qemu", QEMU_NS)

_BUS_BY_PREFIX = (("vd", "virtio"), ("xvd", "xen"), ("sd", "scsi"), ("hd", "ide"))
_CONTAINERS = ("devices", "features", "os", "cputune", "cpu", "clock", "metadata")
_YES = {"yes", "true", "1", "on"}
_NO = {"no", "false", "0", "off", ""}


def domain_name(vm_id: int) -> str:
    """OpenNebula's name for a VM's domain: unique per store on a host."""
    return f"one-{vm_id}"


def console_log_path(directory: str, placement: Placement) -> str:
    return f"{directory.rstrip('/')}/onetui-{placement.identity}.console.log"


def _scalar(tpl: Template, name: str) -> str | None:
    value = tpl.get(name)
    if isinstance(value, Vector):
        raise DriverError(f"{name}: expected a single value, found a vector attribute")
    return value


def _vectors(tpl: Template, name: str) -> list[Vector]:
    out = []
    for value in tpl.get_all(name):
        if not isinstance(value, Vector):
            raise DriverError(f"{name}: expected a vector attribute {name} = [ … ], found "
                              f"{value!r}")
        out.append(value)
    return out


def _flag(value: str | None, what: str) -> bool:
    word = (value or "").strip().lower()
    if word in _YES:
        return True
    if word in _NO:
        return False
    raise DriverError(f"{what}: expected yes or no, found {value!r}")


def sizes(tpl: Template) -> tuple[int, int, int]:
    """(memory MB, vcpus, cpu shares) from MEMORY, VCPU and CPU."""
    memory_s = _scalar(tpl, "MEMORY")
    try:
        memory = int(memory_s or "")
        if memory <= 0:
            raise ValueError
    except ValueError:
        raise DriverError(f"MEMORY: expected a positive whole number of MB, found "
                          f"{memory_s!r}") from None
    cpu_s = _scalar(tpl, "CPU") or "1"
    try:
        cpu = float(cpu_s)
        if cpu <= 0 or math.isnan(cpu) or math.isinf(cpu):
            raise ValueError
    except ValueError:
        raise DriverError(f"CPU: expected a positive number, found {cpu_s!r}") from None
    vcpu_s = _scalar(tpl, "VCPU")
    try:
        vcpus = int(vcpu_s) if vcpu_s else max(1, math.ceil(cpu))
        if vcpus <= 0:
            raise ValueError
    except ValueError:
        raise DriverError(f"VCPU: expected a positive whole number, found {vcpu_s!r}") from None
    return memory, vcpus, max(2, int(cpu * 1024))


def _os(dom: ET.Element, tpl: Template, domain_type: str, os_type: str, arch: str) -> None:
    spec = (_vectors(tpl, "OS") or [Vector()])[0]
    os_el = ET.SubElement(dom, "os")
    type_el = ET.SubElement(os_el, "type", arch=spec.get("ARCH") or arch)
    if spec.get("MACHINE"):
        type_el.set("machine", spec.get("MACHINE") or "")
    type_el.text = os_type
    if spec.get("KERNEL"):
        ET.SubElement(os_el, "kernel").text = spec.get("KERNEL")
    if spec.get("INITRD"):
        ET.SubElement(os_el, "initrd").text = spec.get("INITRD")
    cmdline = []
    root = spec.get("ROOT")
    if root:
        cmdline.append(f"root={root if root.startswith('/dev/') else '/dev/' + root}")
    if spec.get("KERNEL_CMD"):
        cmdline.append(spec.get("KERNEL_CMD") or "")
    if cmdline and spec.get("KERNEL"):
        ET.SubElement(os_el, "cmdline").text = " ".join(cmdline)
    for dev in (spec.get("BOOT") or "").split(","):
        if dev.strip():
            ET.SubElement(os_el, "boot", dev=dev.strip())


def _bus(target: str, given: str | None) -> str:
    if given:
        return given
    return next((bus for prefix, bus in _BUS_BY_PREFIX if target.startswith(prefix)), "ide")


def _target(target: str) -> str:
    """Xen-style partition targets (`sda1`, `sda2` in the seed) name whole disks for libvirt:
    sda1 → sda, sda2 → sdb, so two partitions of the seed become two distinct disks."""
    stem = target.rstrip("0123456789")
    digits = target[len(stem):]
    if not digits or not stem or stem in ("hd", "sd", "vd", "xvd"):
        return target
    part = int(digits)
    if part <= 1:
        return stem
    return stem[:-1] + chr(ord(stem[-1]) + part - 1)


def _disks(devices: ET.Element, tpl: Template, domain_type: str) -> None:
    for i, disk in enumerate(_vectors(tpl, "DISK")):
        kind = (disk.get("TYPE") or "file").lower()
        source = disk.get("SOURCE") or ""
        target = _target(disk.get("TARGET") or f"vd{chr(ord('a') + i)}")
        device = "cdrom" if kind == "cdrom" else "disk"
        el = ET.SubElement(devices, "disk", type="block" if kind == "block" else "file",
                           device=device)
        fmt = disk.get("DRIVER") or disk.get("FORMAT")
        if domain_type in ("qemu", "kvm"):
            ET.SubElement(el, "driver", name="qemu", type=fmt or "raw")
        if source:
            ET.SubElement(el, "source", {"dev" if kind == "block" else "file": source})
        ET.SubElement(el, "target", dev=target, bus=_bus(target, disk.get("BUS")))
        if device == "cdrom" or _flag(disk.get("READONLY"), f"DISK {i + 1} READONLY"):
            ET.SubElement(el, "readonly")


def parse_hostfwd(text: str) -> list[tuple[int, int]]:
    """`8080-:80,2222-:22` → [(8080, 80), (2222, 22)] (host port, guest port); ValueError
    for anything else."""
    pairs = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        host, sep, guest = part.partition("-:")
        if not (sep and host.isdigit() and guest.isdigit()
                and 0 < int(host) < 65536 and 0 < int(guest) < 65536):
            raise ValueError(part)
        pairs.append((int(host), int(guest)))
    return pairs


def _forwards(nic: Vector, index: int) -> list[str]:
    """QEMU arguments for a user-mode NIC with HOSTFWD = "8080-:80,2222-:22": the guest's
    ports forwarded from the NIC's leased address (or 127.0.0.1) on the host — how guests
    are reached in a sandbox with no bridge, only loopback."""
    listen = nic.get("IP") or "127.0.0.1"
    try:
        forwards = parse_hostfwd(nic.get("HOSTFWD") or "")
    except ValueError:
        raise DriverError(f"NIC {index + 1} HOSTFWD {nic.get('HOSTFWD')!r}: expected "
                          "HOSTPORT-:GUESTPORT[,…] such as 8080-:80") from None
    rules = [f"hostfwd=tcp:{listen}:{host}-:{guest}" for host, guest in forwards]
    netdev = ",".join([f"user,id=onetui{index}", *rules])
    device = f"{(nic.get('MODEL') or 'e1000')},netdev=onetui{index},bus=pci.0," \
             f"addr=0x{0x10 + index:x}"
    if nic.get("MAC"):
        device += f",mac={nic.get('MAC')}"
    return ["-netdev", netdev, "-device", device]


def _nics(devices: ET.Element, tpl: Template, dom: ET.Element | None = None,
          domain_type: str = "") -> None:
    for index, nic in enumerate(_vectors(tpl, "NIC")):
        if nic.get("HOSTFWD") and not nic.get("BRIDGE") and dom is not None:
            if domain_type not in ("qemu", "kvm"):
                raise DriverError(f"NIC {index + 1} HOSTFWD needs a qemu/kvm host")
            cmd = dom.find(f"{{{QEMU_NS}}}commandline")
            if cmd is None:
                cmd = ET.SubElement(dom, f"{{{QEMU_NS}}}commandline")
            for arg in _forwards(nic, index):
                ET.SubElement(cmd, f"{{{QEMU_NS}}}arg", value=arg)
            continue
        if nic.get("BRIDGE"):
            el = ET.SubElement(devices, "interface", type="bridge")
            ET.SubElement(el, "source", bridge=nic.get("BRIDGE") or "")
        elif nic.get("NETWORK"):
            el = ET.SubElement(devices, "interface", type="network")
            ET.SubElement(el, "source", network=nic.get("NETWORK") or "")
        else:
            el = ET.SubElement(devices, "interface", type="user")
        if nic.get("MAC"):
            ET.SubElement(el, "mac", address=nic.get("MAC") or "")
        if nic.get("MODEL"):
            ET.SubElement(el, "model", type=nic.get("MODEL") or "")


def _raw(dom: ET.Element, tpl: Template, domain_type: str) -> None:
    for raw in _vectors(tpl, "RAW"):
        kind = (raw.get("TYPE") or "").lower()
        if kind and kind != domain_type:
            continue
        data = raw.get("DATA") or ""
        try:
            frag = ET.fromstring(f"<raw xmlns:qemu='{QEMU_NS}'>{data}</raw>")
        except ET.ParseError as exc:
            raise DriverError(f"RAW DATA: not valid XML ({exc})") from None
        for child in frag:
            target = dom.find(child.tag) if child.tag in _CONTAINERS else None
            if target is not None:
                if child.tag == "devices" and child.find("serial") is not None:
                    # a RAW serial port replaces the default pty console, so it is ttyS0
                    for el in target.findall("serial") + target.findall("console"):
                        target.remove(el)
                target.extend(list(child))
            else:
                dom.append(child)


def build_domain_xml(placement: Placement, *, domain_type: str, os_type: str = "hvm",
                     arch: str = "x86_64", console_log_dir: str = "") -> str:
    """The domain for a placement. With `console_log_dir`, the serial console is also
    written (by virtlogd) to `onetui-<identity>.console.log` there, truncated at each start:
    it is how a guest's SSH host key reaches us out of band (see `console`)."""
    tpl = placement.template
    memory, vcpus, shares = sizes(tpl)
    dom = ET.Element("domain", type=domain_type)
    ET.SubElement(dom, "name").text = domain_name(placement.vm_id)
    ET.SubElement(dom, "uuid").text = placement.identity
    ET.SubElement(dom, "title").text = placement.name
    ET.SubElement(dom, "description").text = f"onetui VM {placement.vm_id} ({placement.name})"
    meta = ET.SubElement(dom, "metadata")
    ET.SubElement(meta, f"{{{METADATA_NS}}}vm", id=str(placement.vm_id), name=placement.name)
    ET.SubElement(dom, "memory", unit="MiB").text = str(memory)
    ET.SubElement(dom, "currentMemory", unit="MiB").text = str(memory)
    ET.SubElement(dom, "vcpu").text = str(vcpus)
    ET.SubElement(ET.SubElement(dom, "cputune"), "shares").text = str(shares)
    _os(dom, tpl, domain_type, os_type, arch)
    if os_type == "hvm":
        ET.SubElement(ET.SubElement(dom, "features"), "acpi")
    devices = ET.SubElement(dom, "devices")
    _disks(devices, tpl, domain_type)
    _nics(devices, tpl, dom, domain_type)
    graphics = next(iter(_vectors(tpl, "GRAPHICS")), None)
    if graphics is not None:
        ET.SubElement(devices, "graphics", {k: v for k, v in (
            ("type", (graphics.get("TYPE") or "vnc").lower()),
            ("listen", graphics.get("LISTEN") or "127.0.0.1"),
            ("port", graphics.get("PORT") or "-1"),
            ("autoport", "no" if graphics.get("PORT") else "yes"))})
    if domain_type != "test":
        serial = ET.SubElement(devices, "serial", type="pty")
        if console_log_dir:
            ET.SubElement(serial, "log", file=console_log_path(console_log_dir, placement),
                          append="off")
        ET.SubElement(devices, "console", type="pty")
    _raw(dom, tpl, domain_type)
    return ET.tostring(dom, encoding="unicode")
