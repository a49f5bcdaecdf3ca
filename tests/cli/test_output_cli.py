"""Output for scripts: --csv, --no-header, -l, --filter on every list; -x and --json --one
in OpenNebula's own shapes; bad input is one line and exit 2."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from onetui.cli import main
from onetui.data import TEMPLATES, node_uri
from onetui.engine.loop import Engine
from onetui.ops import instantiate
from onetui.store import Store

WEB = (TEMPLATES / "xen.local01").read_text() + 'DESCRIPTION = "a < b & \\"c\\""\n'


@pytest.fixture
def cloud(store: Store, state_dir: Path) -> Iterator[Path]:
    """Two hosts of libvirt's test driver (ursa04 disabled), web-0 and web-1 running on
    ursa03 after a real engine pass, `held` on hold; the engine stays up (its domains
    live as long as its connection)."""
    store.hosts.add("ursa03", "libvirt", {"uri": node_uri("ursa03")})
    store.hosts.add("ursa04", "libvirt", {"uri": node_uri("ursa04")})
    store.hosts.set_enabled("ursa04", False)
    store.templates.add("web", WEB)
    instantiate.create(store, "web", count=2, name="web-%i")
    instantiate.create(store, "web", name="held", hold=True)
    engine = Engine(store, interval=0.05)
    assert engine.lead()
    engine.run_pass()
    assert [v.state for v in store.vms.list()] == ["runn", "runn", "hold"]
    yield state_dir
    engine.close()


def call(state: Path, *args: str) -> tuple[int, str, str]:
    """`onetui ARGS` through its real entry point (errors to exit codes included), in this
    process, with click's isolated streams: (exit code, stdout, stderr)."""
    with CliRunner().isolation(env={"ONETUI_STATE": str(state)}) as (out, err, _):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        return code, out.getvalue().decode(), err.getvalue().decode()


def run(state: Path, *args: str) -> str:
    code, out, err = call(state, *args)
    assert code == 0, err
    return out


def refused(state: Path, *args: str) -> str:
    """The one line a bad invocation prints (exit 2, nothing on stdout)."""
    code, out, err = call(state, *args)
    assert (code, out) == (2, ""), (code, out, err)
    assert len(err.splitlines()) == 1, err
    return err.strip()


# --- the table options --------------------------------------------------------------------

def test_csv_is_the_table_as_csv(cloud: Path) -> None:
    rows = list(csv.reader(io.StringIO(run(cloud, "vm", "list", "--csv"))))
    assert rows[0] == ["ID", "NAME", "STAT", "CPU", "MEM", "HOSTNAME", "TIME"]
    assert [r[:3] + r[4:6] for r in rows[1:]] == [["1", "web-0", "runn", "128M", "ursa03"],
                                                  ["2", "web-1", "runn", "128M", "ursa03"],
                                                  ["3", "held", "hold", "0", ""]]
    assert rows[1][6].count(":") == 2  # TIME as the table writes it, a space and all
    hosts = list(csv.reader(io.StringIO(run(cloud, "host", "list", "--csv", "--no-header"))))
    assert [(h[1], h[7], h[9]) for h in hosts] == [("ursa03", "16G", "on"),
                                                   ("ursa04", "8G", "dsbl")]


def test_list_picks_columns_in_the_order_given_any_case(cloud: Path) -> None:
    assert run(cloud, "vm", "list", "-l", "name,Stat").splitlines() == [
        "NAME  STAT", "web-0 runn", "web-1 runn", "held  hold"]
    assert run(cloud, "host", "list", "--list", "stat,hid", "--csv", "--no-header") == (
        "on,1\ndsbl,2\n")


def test_filter_keeps_the_rows_that_match_as_onevm_list_filter(cloud: Path) -> None:
    names = ("-l", "NAME", "--no-header")
    assert run(cloud, "vm", "list", "--filter", "STAT=runn", *names).split() == ["web-0",
                                                                                 "web-1"]
    assert run(cloud, "vm", "list", "--filter", "STAT=runn", "--filter", "NAME!=web-0",
               *names).split() == ["web-1"]
    assert run(cloud, "vm", "list", "--filter", "ID>1,NAME~e", *names).split() == ["web-1",
                                                                                 "held"]
    assert run(cloud, "vm", "list", "--filter", "STAT=pend", *names) == ""
    assert run(cloud, "host", "list", "--filter", "TMEM>8G", "-l",
               "NAME", "--csv") == "NAME\nursa03\n"
    # the filter chooses the records of --json and -x too
    data = json.loads(run(cloud, "vm", "list", "--filter", "STAT=hold", "--json"))
    assert [v["name"] for v in data] == ["held"]
    pool = ET.fromstring(run(cloud, "vm", "list", "-x", "--filter", "NAME=web-1"))
    assert [v.findtext("NAME") for v in pool] == ["web-1"]


def test_bad_columns_and_filters_are_one_line_and_exit_2(cloud: Path) -> None:
    assert refused(cloud, "vm", "list", "-l", "NAME,HOST") == (
        "onetui: -l/--list: no column 'HOST'; expected one of ID, NAME, STAT, CPU, MEM, "
        "HOSTNAME, TIME")
    assert refused(cloud, "host", "list", "--filter", "STATE=on") == (
        "onetui: --filter 'STATE=on': no column 'STATE'; expected one of HID, NAME, DRIVER, "
        "RVM, TCPU, FCPU, ACPU, TMEM, FMEM, STAT")
    assert "expected COLUMN=VALUE" in refused(cloud, "vm", "list", "--filter", "runn")
    assert "> compares numbers" in refused(cloud, "vm", "list", "--filter", "NAME>web")
    assert "-x/--xml and --json: choose one" in refused(cloud, "vm", "list", "-x", "--json")
    assert "--one chooses the shape of --json" in refused(cloud, "host", "list", "--one")
    assert "shape the table" in refused(cloud, "vm", "list", "--csv", "--json")
    assert "shape the table" in refused(cloud, "host", "list", "-x", "-l", "NAME")


def test_every_list_takes_the_table_options(cloud: Path, store: Store) -> None:
    store.networks.add("lan", "10.0.0.10", "10.0.0.20", "node%i", {})
    assert run(cloud, "net", "list", "--csv", "-l", "name,size,leased") == (
        "NAME,SIZE,LEASED\nlan,11,0\n")
    assert run(cloud, "template", "list", "--filter", "NAME=web", "-l", "id,name") == (
        "ID NAME\n 1 web\n")
    for command in ("lab list", "service list", "ec2 orphans"):
        assert run(cloud, *command.split(), "--csv").count("\n") == 1  # a header, no rows
    for command in ("vm list", "host list", "template list", "lab list", "service list",
                    "net list", "ec2 orphans", "sge hosts"):
        shown = run(cloud, *command.split(), "--help")
        assert all(opt in shown for opt in ("--csv", "--no-header", "--list COLUMNS",
                                            "--filter KEY=VALUE", "--json")), command
    assert "--terminate ends every orphan" in refused(cloud, "ec2", "orphans",
                                                      "--terminate", "--filter", "HOST=a")


# --- OpenNebula's shapes ------------------------------------------------------------------

def tree(el: ET.Element) -> Any:
    """An element's shape: its tag, and its children's shapes when it has any."""
    return (el.tag, [tree(c) for c in el]) if len(el) else el.tag


# vm_pool.xsd (OpenNebula/one, share/doc/xsd): VM_POOL/VM, in its order; TEMPLATE lists
# only CPU, MEMORY, VCPU, DISK, NIC, GRAPHICS; MONITORING and USER_TEMPLATE take any.
RUNNING_VM = ("VM", [
    "ID", "UID", "GID", "UNAME", "GNAME", "NAME", "LAST_POLL", "STATE", "LCM_STATE",
    "RESCHED", "STIME", "ETIME", "DEPLOY_ID",
    ("TEMPLATE", ["CPU", "MEMORY", ("DISK", ["SOURCE", "TARGET", "READONLY"])]),
    ("MONITORING", ["CPU", "MEMORY", "TIMESTAMP"]),  # TIMESTAMP: its LAST POLL
    ("USER_TEMPLATE", ["DESCRIPTION"]),
    ("HISTORY_RECORDS", [("HISTORY", ["OID", "SEQ", "HOSTNAME", "HID", "CID", "DS_ID",
                                      "VM_MAD", "TM_MAD", "ACTION"])]),
])


def test_vm_list_x_has_the_shape_of_opennebulas_vm_pool(cloud: Path) -> None:
    pool = ET.fromstring(run(cloud, "vm", "list", "-x"))
    assert pool.tag == "VM_POOL"
    web0, _, held = list(pool)
    assert tree(web0) == RUNNING_VM
    assert tree(held)[1][:13] == RUNNING_VM[1][:13]
    assert [c.tag for c in held][13:] == ["TEMPLATE", "MONITORING", "USER_TEMPLATE",
                                          "HISTORY_RECORDS"]
    assert len(held.find("HISTORY_RECORDS") or []) == 0  # never placed
    # OpenNebula's numbers: ACTIVE/RUNNING is 3/3, HOLD is 2/0
    assert [(v.findtext("STATE"), v.findtext("LCM_STATE")) for v in pool] == [
        ("3", "3"), ("3", "3"), ("2", "0")]
    assert web0.findtext("HISTORY_RECORDS/HISTORY/HOSTNAME") == "ursa03"
    assert web0.findtext("TEMPLATE/MEMORY") == "128"
    assert web0.findtext("USER_TEMPLATE/DESCRIPTION") == 'a < b & "c"'  # escaped, and back
    assert len(web0.findtext("DEPLOY_ID") or "") == 36  # the libvirt domain's UUID


# host.xsd (OpenNebula/one, share/doc/xsd; host_pool.xsd is HOST_POOL of these): HOST in its
# order; HOST_SHARE's figures, DATASTORES, PCI_DEVICES, NUMA_NODES; VMS is IDS (shared.xsd);
# TEMPLATE takes any; free and used as measured in MONITORING/CAPACITY.
MONITORED_HOST = ("HOST", [
    "ID", "NAME", "STATE", "PREV_STATE", "IM_MAD", "VM_MAD", "CLUSTER_ID", "CLUSTER",
    ("HOST_SHARE", ["MEM_USAGE", "CPU_USAGE", "TOTAL_MEM", "TOTAL_CPU", "MAX_MEM", "MAX_CPU",
                    "RUNNING_VMS", "VMS_THREAD",
                    ("DATASTORES", ["DISK_USAGE", "FREE_DISK", "MAX_DISK", "USED_DISK"]),
                    "PCI_DEVICES", "NUMA_NODES"]),
    ("VMS", ["ID", "ID"]),
    ("TEMPLATE", ["HYPERVISOR"]),
    ("MONITORING", ["TIMESTAMP", "ID", ("CAPACITY", ["FREE_CPU", "FREE_MEMORY", "USED_CPU",
                                                     "USED_MEMORY"])]),
])


def test_host_list_x_has_the_shape_of_opennebulas_host_pool(cloud: Path) -> None:
    pool = ET.fromstring(run(cloud, "host", "list", "-x"))
    assert pool.tag == "HOST_POOL"
    ursa03, ursa04 = list(pool)
    assert tree(ursa03) == MONITORED_HOST
    assert [i.text for i in ursa03.findall("VMS/ID")] == ["1", "2"]
    assert (ursa03.findtext("STATE"), ursa04.findtext("STATE")) == ("2", "4")  # MONITORED,
    assert ursa03.findtext("HOST_SHARE/TOTAL_MEM") == str(16 * 1024 * 1024)  # DISABLED; KB
    assert ursa03.findtext("HOST_SHARE/TOTAL_CPU") == "800"
    assert ursa03.findtext("HOST_SHARE/MEM_USAGE") == str(2 * 128 * 1024)  # two VMs' MEMORY
    assert ursa03.findtext("HOST_SHARE/RUNNING_VMS") == "2"
    assert ursa04.find("VMS") is not None and len(ursa04.find("VMS") or []) == 0


def test_show_x_is_one_element_of_the_pool(cloud: Path) -> None:
    # vm.xsd: the full VM, PERMISSIONS … BACKUPS, in this order
    vm = ET.fromstring(run(cloud, "vm", "show", "1", "-x"))
    assert [c.tag for c in vm] == [
        "ID", "UID", "GID", "UNAME", "GNAME", "NAME", "PERMISSIONS", "LAST_POLL", "STATE",
        "LCM_STATE", "PREV_STATE", "PREV_LCM_STATE", "RESCHED", "STIME", "ETIME",
        "DEPLOY_ID", "MONITORING", "SCHED_ACTIONS", "TEMPLATE", "USER_TEMPLATE",
        "HISTORY_RECORDS", "BACKUPS"]
    assert [c.tag for c in vm.find("TEMPLATE") or []] == [
        "CPU", "DISK", "MEMORY", "OS", "TEMPLATE_ID", "TM_MAD_SYSTEM", "VMID"]
    host = ET.fromstring(run(cloud, "host", "show", "ursa03", "--xml"))
    assert tree(host) == MONITORED_HOST
    template = ET.fromstring(run(cloud, "template", "show", "web", "-x"))  # vmtemplate.xsd
    assert [c.tag for c in template] == ["ID", "UID", "GID", "UNAME", "GNAME", "NAME",
                                         "PERMISSIONS", "REGTIME", "TEMPLATE"]
    assert [c.tag for c in template.find("TEMPLATE") or []] == [
        "CPU", "MEMORY", "OS", "DISK", "DESCRIPTION"]
    assert [t.findtext("NAME") for t in ET.fromstring(run(cloud, "template", "list", "-x"))
            ] == ["web"]
    assert "show a stored template" in refused(cloud, "template", "show",
                                               str(TEMPLATES / "xen.local01"), "-x")


def test_json_keeps_its_shape_and_one_gives_opennebulas(cloud: Path) -> None:
    mine = json.loads(run(cloud, "vm", "list", "--json"))
    assert [(v["id"], v["state"], v["host_name"]) for v in mine] == [
        (1, "runn", "ursa03"), (2, "runn", "ursa03"), (3, "hold", "")]
    one = json.loads(run(cloud, "vm", "list", "--json", "--one"))
    assert list(one) == ["VM_POOL"] and [v["NAME"] for v in one["VM_POOL"]["VM"]] == [
        "web-0", "web-1", "held"]
    web0 = one["VM_POOL"]["VM"][0]
    assert (web0["ID"], web0["STATE"], web0["LCM_STATE"]) == ("1", "3", "3")
    assert web0["TEMPLATE"]["DISK"] == [{"SOURCE": "/images/local01.disk", "TARGET": "sda",
                                         "READONLY": "no"}]  # one DISK, still a list
    single = json.loads(run(cloud, "vm", "list", "--json", "--one", "--filter", "ID=3"))
    assert [v["NAME"] for v in single["VM_POOL"]["VM"]] == ["held"]
    assert json.loads(run(cloud, "vm", "list", "--json", "--one", "--filter", "ID=9")) == {
        "VM_POOL": {}}
    hosts = json.loads(run(cloud, "host", "list", "--json", "--one"))["HOST_POOL"]["HOST"]
    assert [(h["NAME"], h["VMS"]) for h in hosts] == [("ursa03", {"ID": ["1", "2"]}),
                                                      ("ursa04", {})]
    shown = json.loads(run(cloud, "vm", "show", "2", "--json", "--one"))
    assert shown["VM"]["NAME"] == "web-1" and shown["VM"]["TEMPLATE"]["VMID"] == "2"
    assert json.loads(run(cloud, "host", "show", "ursa04", "--json"))["stat"] == "dsbl"


def test_template_show_json_names_the_stored_template(cloud: Path) -> None:
    data = json.loads(run(cloud, "template", "show", "web", "--json"))
    assert list(data)[:2] == ["ID", "NAME"]
    assert (data["ID"], data["NAME"], data["MEMORY"]) == (1, "web", "128")
    one = json.loads(run(cloud, "template", "show", "web", "--json", "--one"))
    assert one["VMTEMPLATE"]["ID"] == "1" and one["VMTEMPLATE"]["TEMPLATE"]["CPU"] == "0.5"
    from_file = json.loads(run(cloud, "template", "show", str(TEMPLATES / "xen.local01"),
                               "--json"))
    assert "ID" not in from_file and from_file["CPU"] == "0.5"  # a file has no ID
