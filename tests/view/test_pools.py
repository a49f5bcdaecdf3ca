"""onetui's records in OpenNebula's shapes: the numbers, the split of a template, the JSON."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from typing import Any

from onetui.model import HOST_STATES, VM, VM_STATES, Host
from onetui.view.pools import host_element, one_json, vm_element, vm_pool, xml_text

T0 = 1_700_000_000.0
BODY = ('NAME = "web-0"\nCPU = 1\nMEMORY = 2048\nOS = [KERNEL = "/boot/vmlinuz"]\n'
        'NIC = [NETWORK = "lan"]\nNIC = [NETWORK = "vpn"]\n'
        'DISK = [SOURCE = "/images/a.disk", TARGET = "sda"]\nREQUIREMENTS = "RACK = \\"r1\\""\n'
        'DESCRIPTION = "a < b & \\"c\\""\n')


def _vm(state: str = "runn", **kw: Any) -> VM:
    base = VM(id=7, name="web-0", template_id=3, body=BODY, state=state, intent="",
              host_id=2, deploy_id="uuid-7", cpu=1, memory=2048, ip="10.0.0.7",
              mac="02:00:0a:00:00:07", message="", sched=[], info={"cpu_usage": 37.6},
              created_at=T0, started_at=T0 + 5, stopped_at=None, state_at=T0,
              polled_at=T0 + 60, host_name="ursa04")
    return replace(base, **kw)


def _host(**kw: Any) -> Host:
    base = Host(id=2, name="ursa04", driver="libvirt", config={}, attrs={"RACK": "r1"},
                state="on", enabled=True, monitor={"TCPU": 800, "FCPU": 750.4, "ACPU": 700,
                                                   "TMEM": 16384, "FMEM": 12000,
                                                   "AMEM": 14336, "RVM": 1,
                                                   "HYPERVISOR": "TEST"},
                error="", monitored_at=T0 + 60, created_at=T0)
    return replace(base, **kw)


def _text(el: ET.Element, path: str) -> str | None:
    return el.findtext(path)


def test_every_vm_state_has_opennebulas_state_and_lcm_state_numbers() -> None:
    # include/VirtualMachine.h: VmState and LcmState (FAILED = 7 as OpenNebula 4.x had it)
    expected = {"pend": (1, 0), "hold": (2, 0), "prol": (3, 1), "boot": (3, 2),
                "runn": (3, 3), "shut": (3, 12), "stop": (4, 0), "susp": (5, 0),
                "done": (6, 0), "fail": (7, 0), "unkn": (3, 16), "poff": (8, 0)}
    assert set(expected) == set(VM_STATES)
    for state, codes in expected.items():
        el = vm_element(_vm(state), None, full=False)
        assert (int(_text(el, "STATE") or -1), int(_text(el, "LCM_STATE") or -1)) == codes


def test_every_host_state_has_opennebulas_number() -> None:
    # include/Host.h: INIT 0, MONITORED 2, ERROR 3, DISABLED 4, OFFLINE 8
    expected = {"init": 0, "on": 2, "err": 3, "off": 8}
    assert set(expected) | {"dsbl"} == set(HOST_STATES)
    for state, code in expected.items():
        assert _text(host_element(_host(state=state), []), "STATE") == str(code)
    assert _text(host_element(_host(enabled=False), []), "STATE") == "4"


def test_a_vm_template_is_split_as_oned_splits_it() -> None:
    full = vm_element(_vm(), None)
    assert [c.tag for c in full.find("TEMPLATE") or []] == [
        "CPU", "DISK", "MEMORY", "NIC", "NIC", "OS", "TEMPLATE_ID", "TM_MAD_SYSTEM", "VMID"]
    assert [c.tag for c in full.find("USER_TEMPLATE") or []] == ["REQUIREMENTS",
                                                                  "DESCRIPTION"]
    assert _text(full, "TEMPLATE/TEMPLATE_ID") == "3" and _text(full, "TEMPLATE/VMID") == "7"
    first, second = full.findall("TEMPLATE/NIC")
    assert [(c.tag, c.text) for c in first] == [("NETWORK", "lan"), ("IP", "10.0.0.7"),
                                                ("MAC", "02:00:0a:00:00:07")]
    assert [c.tag for c in second] == ["NETWORK"]  # its lease is not on the record
    pooled = vm_element(_vm(), None, full=False)  # vm_pool.xsd lists fewer
    assert [c.tag for c in pooled.find("TEMPLATE") or []] == ["CPU", "MEMORY", "DISK", "NIC",
                                                               "NIC"]
    assert _text(pooled, "MONITORING/CPU") == "38"
    assert _text(pooled, "MONITORING/MEMORY") == str(2048 * 1024)  # KB, as OpenNebula


def test_why_a_vm_waits_or_failed_is_where_oned_writes_it() -> None:
    waiting = vm_element(_vm("pend", message="no host has room", host_id=None), None)
    assert _text(waiting, "USER_TEMPLATE/SCHED_MESSAGE") == "no host has room"
    assert waiting.find("HISTORY_RECORDS/HISTORY") is None
    failed = vm_element(_vm("fail", message="boot failed"), _host())
    assert _text(failed, "USER_TEMPLATE/ERROR") == "boot failed"
    assert _text(failed, "HISTORY_RECORDS/HISTORY/HOSTNAME") == "ursa04"
    assert _text(failed, "HISTORY_RECORDS/HISTORY/VM_MAD") == "libvirt"
    assert _text(failed, "MONITORING/CPU") is None  # not live: nothing measured


def test_a_host_counts_memory_in_kb_and_cpu_in_percent() -> None:
    el = host_element(_host(), [7, 9])
    share = {c.tag: c.text for c in el.find("HOST_SHARE") or [] if c.text is not None}
    assert share == {"MEM_USAGE": str(2048 * 1024), "CPU_USAGE": "100",
                     "TOTAL_MEM": str(16384 * 1024), "TOTAL_CPU": "800",
                     "MAX_MEM": str(16384 * 1024), "MAX_CPU": "800", "RUNNING_VMS": "1",
                     "VMS_THREAD": "1"}
    assert [c.text for c in el.findall("VMS/ID")] == ["7", "9"]
    assert _text(el, "MONITORING/CAPACITY/FREE_CPU") == "750"
    assert _text(el, "MONITORING/CAPACITY/USED_MEMORY") == str((16384 - 12000) * 1024)
    assert {c.tag: c.text for c in el.find("TEMPLATE") or []} == {"RACK": "r1",
                                                                   "HYPERVISOR": "TEST"}
    never = host_element(_host(monitor={}, monitored_at=None, state="init"), [])
    assert _text(never, "HOST_SHARE/TOTAL_MEM") == "0"
    assert len(never.find("MONITORING") or []) == 0


def test_text_is_escaped_and_what_xml_cannot_hold_is_replaced() -> None:
    vm = _vm(message="bad \x01 byte & <tag>", state="fail")
    back = ET.fromstring(xml_text(vm_element(vm, None)))
    assert _text(back, "USER_TEMPLATE/DESCRIPTION") == 'a < b & "c"'
    assert _text(back, "USER_TEMPLATE/ERROR") == "bad \ufffd byte & <tag>"


def test_opennebula_json_lists_what_the_xsd_allows_many_of_even_one() -> None:
    data = one_json(vm_pool([_vm()], []))
    (vm,) = data["VM_POOL"]["VM"]  # one VM, still a list (vm_pool.xsd: maxOccurs unbounded)
    assert vm["ID"] == "7" and vm["STATE"] == "3"  # every value a string
    assert vm["TEMPLATE"]["DISK"] == [{"SOURCE": "/images/a.disk", "TARGET": "sda"}]
    assert [n["NETWORK"] for n in vm["TEMPLATE"]["NIC"]] == ["lan", "vpn"]
    assert [h["HOSTNAME"] for h in vm["HISTORY_RECORDS"]["HISTORY"]] == ["ursa04"]
    assert vm["HISTORY_RECORDS"]["HISTORY"][0]["TM_MAD"] == ""  # an empty value: ""
    assert one_json(vm_pool([], [])) == {"VM_POOL": {}}
    host = one_json(host_element(_host(), [7]))["HOST"]
    assert host["VMS"] == {"ID": ["7"]}
    assert host["HOST_SHARE"]["PCI_DEVICES"] == {}  # an empty element: {}, as OpenNebula's
    assert host["TEMPLATE"] == {"RACK": "r1", "HYPERVISOR": "TEST"}
