"""onetui's records in OpenNebula's own shapes: the XML `onevm list -x`, `onehost list -x`
and `onetemplate list -x` print (and their `show -x` forms), and the JSON their `--json`
prints, so a script written against OpenNebula reads onetui unchanged.

Element names, order and nesting follow OpenNebula's XSDs (share/doc/xsd in OpenNebula/one:
vm_pool.xsd, vm.xsd, host_pool.xsd, host.xsd, vmtemplate_pool.xsd, vmtemplate.xsd, shared.xsd).
What onetui has no notion of (users and groups, clusters, datastores, transfer drivers)
takes OpenNebula's defaults: everything belongs to oneadmin in cluster 0 "default".
Memory is in KB and CPU in percent (100 a core), as OpenNebula counts them.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from onetui.model import VM, Host, TemplateRecord
from onetui.template import Value, Vector, parse
from onetui.view.rows import vm_usage

# OpenNebula's numeric codes (include/VirtualMachine.h, Host.h; vm.xsd, host.xsd) for the
# state words onetui's records carry (onetui.model.VM_STATES, HOST_STATES).
VM_STATE_CODES = {"INIT": 0, "PENDING": 1, "HOLD": 2, "ACTIVE": 3, "STOPPED": 4,
                  "SUSPENDED": 5, "DONE": 6, "POWEROFF": 8,
                  "FAILED": 7}  # OpenNebula's FAILED (up to 4.x; later a *_FAILURE LCM state)
LCM_STATE_CODES = {"LCM_INIT": 0, "PROLOG": 1, "BOOT": 2, "RUNNING": 3, "SHUTDOWN": 12,
                   "UNKNOWN": 16}
HOST_STATE_CODES = {"init": 0, "on": 2, "err": 3, "dsbl": 4, "off": 8}  # 2 = MONITORED

OWNER = (("UID", 0), ("GID", 0), ("UNAME", "oneadmin"), ("GNAME", "oneadmin"))
# OpenNebula's default umask (177): the owner may use and manage, nobody else anything.
PERMISSIONS = (("OWNER_U", 1), ("OWNER_M", 1), ("OWNER_A", 0), ("GROUP_U", 0),
               ("GROUP_M", 0), ("GROUP_A", 0), ("OTHER_U", 0), ("OTHER_M", 0), ("OTHER_A", 0))

# vm.xsd's VM/TEMPLATE, in its order: OpenNebula's own attributes; a template's others go
# to USER_TEMPLATE, as oned sorts them.
VM_TEMPLATE_ORDER = (
    "AUTOMATIC_DS_REQUIREMENTS", "AUTOMATIC_NIC_REQUIREMENTS", "AUTOMATIC_REQUIREMENTS",
    "CLONING_TEMPLATE_ID", "CONTEXT", "CPU", "CPU_COST", "DISK", "DISK_COST", "EMULATOR",
    "FEATURES", "HYPERV_OPTIONS", "GRAPHICS", "VIDEO", "IMPORTED", "INPUT", "MEMORY",
    "MEMORY_COST", "MEMORY_MAX", "MEMORY_SLOTS", "MEMORY_RESIZE_MODE", "NIC", "NIC_ALIAS",
    "NIC_DEFAULT", "NUMA_NODE", "OS", "PCI", "QEMU_GA_EXEC", "RAW", "SECURITY_GROUP_RULE",
    "SNAPSHOT", "SPICE_OPTIONS", "SUBMIT_ON_HOLD", "TEMPLATE_ID", "TM_MAD_SYSTEM",
    "TOPOLOGY", "TPM", "MEMORY_ENCRYPTION", "VCPU", "VCPU_MAX", "VMGROUP", "VMID",
    "VROUTER_ID", "VROUTER_KEEPALIVED_ID", "VROUTER_KEEPALIVED_PASSWORD", "SCHED_ACTION",
)
# vm_pool.xsd's VM/TEMPLATE: the pool lists only these.
POOL_TEMPLATE_ORDER = ("CPU", "MEMORY", "VCPU", "DISK", "NIC", "GRAPHICS")
# Written from the record, not the body (NAME is the VM's own element).
_MADE = ("NAME", "TEMPLATE_ID", "TM_MAD_SYSTEM", "VMID")

# Where the XSDs say maxOccurs="unbounded", OpenNebula's --json makes a list even of one
# (one_helper.rb's check_xsd): these paths (suffixes of the element path).
_LISTS = (("VM_POOL", "VM"), ("HOST_POOL", "HOST"), ("VMTEMPLATE_POOL", "VMTEMPLATE"),
          ("HISTORY_RECORDS", "HISTORY"), ("HOST", "VMS", "ID"), ("VM", "TEMPLATE", "DISK"),
          ("VM", "TEMPLATE", "NIC"))
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_LIVE = frozenset({"runn", "susp", "shut", "unkn"})


def _leaf(parent: ET.Element, tag: str, value: Any) -> ET.Element:
    """A text element (never None: an empty string stays a string in the JSON)."""
    el = ET.SubElement(parent, tag)
    text = str(round(value)) if isinstance(value, float) else str(value)
    el.text = _NOT_XML.sub("\ufffd", text)  # ElementTree escapes, but passes these on
    return el


def _leaves(parent: ET.Element, pairs: Iterable[tuple[str, Any]]) -> ET.Element:
    for tag, value in pairs:
        _leaf(parent, tag, value)
    return parent


def _attributes(parent: ET.Element, pairs: Iterable[tuple[str, Value]]) -> ET.Element:
    """Template attributes: `DISK = [SOURCE=…]` becomes <DISK><SOURCE>…</SOURCE></DISK>."""
    for name, value in pairs:
        if isinstance(value, Vector):
            _leaves(ET.SubElement(parent, name), value.items)
        else:
            _leaf(parent, name, value)
    return parent


def _int(value: Any) -> int:
    try:
        return round(float(value))
    except (TypeError, ValueError):
        return 0


def _stamp(t: float | None) -> int:
    return int(t) if t else 0


# --- VMs -------------------------------------------------------------------------------

def _vm_attributes(vm: VM) -> tuple[list[tuple[str, Value]], list[tuple[str, Value]]]:
    """The VM's template split as oned splits it: (OpenNebula's attributes, the user's).
    The first NIC gets the VM's lease (its IP and MAC) if it names none."""
    own: list[tuple[str, Value]] = []
    user: list[tuple[str, Value]] = []
    nic_done = False
    for attr in parse(vm.body, f"VM {vm.id}"):
        name, value = attr.name, attr.value
        if name in _MADE:
            continue
        if name == "NIC" and isinstance(value, Vector) and not nic_done:
            nic_done = True
            if vm.ip and value.get("IP") is None:
                value = Vector((*value.items, ("IP", vm.ip), *((("MAC", vm.mac),)
                                                                if vm.mac else ())))
        (own if name in VM_TEMPLATE_ORDER else user).append((name, value))
    return own, user


def _in_order(pairs: Iterable[tuple[str, Value]],
              order: Sequence[str]) -> list[tuple[str, Value]]:
    """Those of `pairs` that `order` names, in its order (repeats keep theirs)."""
    return sorted((p for p in pairs if p[0] in order), key=lambda p: order.index(p[0]))


def _user_template(parent: ET.Element, vm: VM, user: list[tuple[str, Value]]) -> None:
    """USER_TEMPLATE: the user's attributes, and why a VM waits or failed, where oned
    writes it (SCHED_MESSAGE, ERROR)."""
    el = _attributes(ET.SubElement(parent, "USER_TEMPLATE"), user)
    if vm.message and vm.state in ("pend", "hold"):
        _leaf(el, "SCHED_MESSAGE", vm.message)
    elif vm.message and vm.state == "fail":
        _leaf(el, "ERROR", vm.message)


def _monitoring(parent: ET.Element, vm: VM) -> None:
    el = ET.SubElement(parent, "MONITORING")
    if vm.state in _LIVE:
        cpu, mem = vm_usage(vm)
        _leaves(el, (("CPU", cpu), ("MEMORY", mem * 1024)))
        if vm.polled_at:
            _leaf(el, "TIMESTAMP", _stamp(vm.polled_at))


def _states(vm: VM) -> tuple[int, int]:
    return VM_STATE_CODES[vm.vm_state], LCM_STATE_CODES[vm.lcm_state]


def _history(parent: ET.Element, vm: VM, host: Host | None, full: bool) -> None:
    """HISTORY_RECORDS: one record for the host the VM is (or was last) on."""
    records = ET.SubElement(parent, "HISTORY_RECORDS")
    if vm.host_id is None:
        return
    mad = host.driver if host else ""
    head = (("OID", vm.id), ("SEQ", 0), ("HOSTNAME", vm.host_name or (host.name if host
                                                                       else "")),
            ("HID", vm.host_id), ("CID", 0))
    el = _leaves(ET.SubElement(records, "HISTORY"), head)
    if not full:  # vm_pool.xsd's record
        _leaves(el, (("DS_ID", 0), ("VM_MAD", mad), ("TM_MAD", ""), ("ACTION", 0)))
        return
    start, end = _stamp(vm.started_at), _stamp(vm.stopped_at)
    _leaves(el, (("STIME", start), ("ETIME", end), ("VM_MAD", mad), ("TM_MAD", ""),
                 ("DS_ID", 0), ("PLAN_ID", -1), ("ACTION_ID", -1), ("PSTIME", start),
                 ("PETIME", start), ("RSTIME", start), ("RETIME", end), ("ESTIME", 0),
                 ("EETIME", 0), ("ACTION", 0), ("UID", -1), ("GID", -1),
                 ("REQUEST_ID", "-1")))


def vm_element(vm: VM, host: Host | None, full: bool = True) -> ET.Element:
    """<VM> as `onevm show -x` prints it (vm.xsd), or as one entry of `onevm list -x`
    (vm_pool.xsd) when not `full`. `host` is the one the VM is on, if any."""
    state, lcm = _states(vm)
    own, user = _vm_attributes(vm)
    el = _leaves(ET.Element("VM"), (("ID", vm.id), *OWNER, ("NAME", vm.name)))
    if full:
        _leaves(ET.SubElement(el, "PERMISSIONS"), PERMISSIONS)
    _leaf(el, "LAST_POLL", _stamp(vm.polled_at))
    _leaves(el, (("STATE", state), ("LCM_STATE", lcm)))
    if full:  # onetui keeps no previous state: the current one stands for it
        _leaves(el, (("PREV_STATE", state), ("PREV_LCM_STATE", lcm)))
    stopped = _stamp(vm.stopped_at) if vm.state == "done" else 0
    _leaves(el, (("RESCHED", 0), ("STIME", _stamp(vm.created_at)), ("ETIME", stopped),
                 ("DEPLOY_ID", vm.deploy_id)))
    if full:
        _monitoring(el, vm)
        ET.SubElement(el, "SCHED_ACTIONS")
        made: list[tuple[str, Value]] = [
            ("TEMPLATE_ID", str(vm.template_id if vm.template_id is not None else -1)),
            ("TM_MAD_SYSTEM", ""), ("VMID", str(vm.id))]
        _attributes(ET.SubElement(el, "TEMPLATE"), _in_order([*own, *made],
                                                             VM_TEMPLATE_ORDER))
    else:
        _attributes(ET.SubElement(el, "TEMPLATE"), _in_order(own, POOL_TEMPLATE_ORDER))
        _monitoring(el, vm)
    _user_template(el, vm, user)
    _history(el, vm, host, full)
    if full:
        backups = ET.SubElement(el, "BACKUPS")
        ET.SubElement(backups, "BACKUP_CONFIG")
        ET.SubElement(backups, "BACKUP_IDS")
    return el


def vm_pool(vms: Sequence[VM], hosts: Iterable[Host]) -> ET.Element:
    """<VM_POOL> as `onevm list -x` prints it (vm_pool.xsd)."""
    by_id = {h.id: h for h in hosts}
    pool = ET.Element("VM_POOL")
    for vm in vms:
        host = by_id.get(vm.host_id) if vm.host_id is not None else None
        pool.append(vm_element(vm, host, full=False))
    return pool


# --- hosts -----------------------------------------------------------------------------

def host_element(host: Host, vm_ids: Iterable[int]) -> ET.Element:
    """<HOST> as `onehost show -x` prints it, and each entry of `onehost list -x`
    (host.xsd). Usage is what the VMs on it were given (as ACPU counts it), free and used
    what monitoring measured (MONITORING/CAPACITY)."""
    mon = host.monitor
    state = HOST_STATE_CODES.get(host.stat, 0)
    tcpu, tmem = _int(mon.get("TCPU")), _int(mon.get("TMEM")) * 1024
    el = _leaves(ET.Element("HOST"), (
        ("ID", host.id), ("NAME", host.name), ("STATE", state), ("PREV_STATE", state),
        ("IM_MAD", host.driver), ("VM_MAD", host.driver), ("CLUSTER_ID", 0),
        ("CLUSTER", "default")))
    share = _leaves(ET.SubElement(el, "HOST_SHARE"), (
        ("MEM_USAGE", tmem - _int(mon.get("AMEM", mon.get("TMEM"))) * 1024),
        ("CPU_USAGE", tcpu - _int(mon.get("ACPU", mon.get("TCPU")))),
        ("TOTAL_MEM", tmem), ("TOTAL_CPU", tcpu), ("MAX_MEM", tmem), ("MAX_CPU", tcpu),
        ("RUNNING_VMS", _int(mon.get("RVM"))), ("VMS_THREAD", 1)))
    _leaves(ET.SubElement(share, "DATASTORES"), (("DISK_USAGE", 0), ("FREE_DISK", 0),
                                                  ("MAX_DISK", 0), ("USED_DISK", 0)))
    ET.SubElement(share, "PCI_DEVICES")
    ET.SubElement(share, "NUMA_NODES")
    _leaves(ET.SubElement(el, "VMS"), (("ID", vid) for vid in vm_ids))
    extra = [("HYPERVISOR", mon["HYPERVISOR"])] if mon.get("HYPERVISOR") else []
    extra += [("ERROR", host.error)] if host.error else []
    _leaves(ET.SubElement(el, "TEMPLATE"), [*sorted(host.attrs.items()), *extra])
    monitoring = ET.SubElement(el, "MONITORING")
    if host.monitored_at and "TCPU" in mon:
        _leaves(monitoring, (("TIMESTAMP", _stamp(host.monitored_at)), ("ID", host.id)))
        fcpu, fmem = _int(mon.get("FCPU")), _int(mon.get("FMEM")) * 1024
        _leaves(ET.SubElement(monitoring, "CAPACITY"), (
            ("FREE_CPU", fcpu), ("FREE_MEMORY", fmem), ("USED_CPU", tcpu - fcpu),
            ("USED_MEMORY", tmem - fmem)))
    return el


def host_pool(hosts: Sequence[Host], vm_ids: Mapping[int, Sequence[int]]) -> ET.Element:
    """<HOST_POOL> as `onehost list -x` prints it (host_pool.xsd); `vm_ids` are the VMs
    on each host, by host id."""
    pool = ET.Element("HOST_POOL")
    for host in hosts:
        pool.append(host_element(host, vm_ids.get(host.id, ())))
    return pool


# --- templates -------------------------------------------------------------------------

def template_element(rec: TemplateRecord) -> ET.Element:
    """<VMTEMPLATE> as `onetemplate show -x` prints it (vmtemplate.xsd)."""
    el = _leaves(ET.Element("VMTEMPLATE"), (("ID", rec.id), *OWNER, ("NAME", rec.name)))
    _leaves(ET.SubElement(el, "PERMISSIONS"), PERMISSIONS)
    _leaf(el, "REGTIME", _stamp(rec.created_at))
    _attributes(ET.SubElement(el, "TEMPLATE"), parse(rec.body, rec.name).pairs())
    return el


def template_pool(recs: Sequence[TemplateRecord]) -> ET.Element:
    """<VMTEMPLATE_POOL> as `onetemplate list -x` prints it (vmtemplate_pool.xsd)."""
    pool = ET.Element("VMTEMPLATE_POOL")
    pool.extend(template_element(rec) for rec in recs)
    return pool


# --- as text ---------------------------------------------------------------------------

def xml_text(element: ET.Element) -> str:
    """The element as XML, indented (OpenNebula's `-x`); ElementTree does the escaping."""
    ET.indent(element, space="  ")
    return ET.tostring(element, encoding="unicode")


def one_json(element: ET.Element) -> dict[str, Any]:
    """The element as OpenNebula's `--json` prints it (its XML made a hash): {"VM_POOL":
    {"VM": [...]}}; every value a string, an empty element {}, and a list wherever the
    XSD allows many."""
    return {element.tag: _json_value(element, (element.tag,))}


def _json_value(element: ET.Element, path: tuple[str, ...]) -> Any:
    if len(element) == 0:
        return {} if element.text is None else element.text
    out: dict[str, Any] = {}
    for child in element:  # a value is a string or a dict, never a list
        here = (*path, child.tag)
        value = _json_value(child, here)
        if child.tag not in out:
            out[child.tag] = [value] if _listed(here) else value
        elif isinstance(out[child.tag], list):
            out[child.tag].append(value)
        else:
            out[child.tag] = [out[child.tag], value]
    return out


def _listed(path: tuple[str, ...]) -> bool:
    return any(path[-len(suffix):] == suffix for suffix in _LISTS)
