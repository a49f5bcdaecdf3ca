"""`onetui host …`, `vm …` and `serve` as an admin scripts them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from onetui.data import TEMPLATES, node_uri
from onetui.store import Store
from tests.beds.cli import onetui, onetui_json


def _setup(state: Path) -> None:
    onetui("host", "create", "ursa03", "--uri", node_uri("ursa03"), state=state)
    onetui("host", "create", "ursa04", "--uri", node_uri("ursa04"), state=state)
    onetui("template", "import", str(TEMPLATES / "xen.local01"), state=state)


@pytest.mark.slow
def test_host_and_vm_tables_have_the_seed_columns(tmp_path: Path) -> None:
    state = tmp_path / "s"
    _setup(state)
    ids = onetui("vm", "create", "xen.local01", "--count", "3", "--name", "web-%i",
                 state=state).stdout
    assert ids == "ID: 1\nID: 2\nID: 3\n"
    out = onetui("serve", "--once", state=state).stdout
    assert "3 placed, 3 deployed" in out
    hosts = onetui("host", "list", state=state).stdout.splitlines()
    assert hosts[0].split() == ["HID", "NAME", "DRIVER", "RVM", "TCPU", "FCPU", "ACPU", "TMEM",
                                "FMEM", "STAT"]
    assert hosts[1].split()[:4] == ["1", "ursa03", "libvirt", "3"]
    cols = hosts[1].split()
    assert (cols[4], cols[6], cols[7]) == ("800", "650", "16G")  # TCPU, ACPU (3 x 0.5), TMEM
    assert hosts[1].split()[-1] == "on"
    vms = onetui("vm", "list", state=state).stdout.splitlines()
    assert vms[0].split() == ["ID", "NAME", "STAT", "CPU", "MEM", "HOSTNAME", "TIME"]
    assert [line.split()[1:3] for line in vms[1:]] == [["web-0", "runn"], ["web-1", "runn"],
                                                       ["web-2", "runn"]]
    assert all(line.split()[5] == "ursa03" for line in vms[1:])
    # the columns line up like the seed's
    assert len({line.index("runn") for line in vms[1:]}) == 1


@pytest.mark.slow
def test_vm_show_and_json_carry_everything(tmp_path: Path) -> None:
    state = tmp_path / "s"
    _setup(state)
    onetui("vm", "create", "xen.local01", state=state)
    onetui("serve", "--once", state=state)
    data = onetui_json("vm", "show", "1", state=state)
    assert data["state"] == "runn" and data["lcm_state"] == "RUNNING"
    assert len(data["deploy_id"]) == 36  # the libvirt domain UUID
    assert data["host_name"] == "ursa03"
    shown = onetui("vm", "show", "1", state=state).stdout
    assert "LCM STATE" in shown and "RUNNING" in shown and data["deploy_id"] in shown
    assert "DISK" in shown and "source=/images/local01.disk" in shown.replace("SOURCE", "source")
    listed = onetui_json("vm", "list", state=state)
    assert listed[0]["deploy_id"] == data["deploy_id"]
    host = onetui_json("host", "show", "ursa03", state=state)
    assert host["vms"] == [1] and host["monitor"]["TCPU"] == 800


@pytest.mark.slow
def test_pending_vm_says_why_per_host(tmp_path: Path) -> None:
    state = tmp_path / "s"
    _setup(state)
    big = tmp_path / "big.template"
    big.write_text('CPU = 1\nMEMORY = 65536\nREQUIREMENTS = "HOSTNAME = \\"ursa*\\""\n')
    onetui("vm", "create", str(big), state=state)
    onetui("serve", "--once", state=state)
    shown = onetui("vm", "show", "1", state=state).stdout
    assert "WHY PENDING" in shown
    assert "ursa03 not enough memory: needs 65536 MB, free 16384 of 16384 MB" in shown
    assert "ursa04 not enough memory: needs 65536 MB, free 8192 of 8192 MB" in shown


@pytest.mark.slow
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    state = tmp_path / "s"
    _setup(state)
    cases = [
        (("vm", "show", "99"), "onetui: no VM '99' (see `onetui vm list`)\n"),
        (("host", "show", "nope"), "onetui: no host 'nope' (see `onetui host list`)\n"),
        (("vm", "create", "nope"), "onetui: no template 'nope': neither a stored template "
                                   "(see `onetui template list`) nor a file\n"),
        (("host", "create", "x", "--uri", "test:///no/such.xml"),
         "onetui: --uri test:///no/such.xml: no test node file at /no/such.xml\n"),
        (("host", "create", "bad name", "--uri", "test:///default"),
         "onetui: host name 'bad name': expected 1-64 letters, digits, '.', '_' or '-', "
         "starting with a letter or digit\n"),
        (("vm", "release", "1"), "onetui: no VM '1' (see `onetui vm list`)\n"),
    ]
    for args, err in cases:
        proc = onetui(*args, state=state, check=False)
        assert (proc.returncode, proc.stderr) == (2, err), args
    onetui("vm", "create", "xen.local01", state=state)
    proc = onetui("vm", "release", "1", state=state, check=False)
    assert (proc.returncode, proc.stderr) == (2, "onetui: VM 1 is pend; expected hold\n")


@pytest.mark.slow
def test_a_second_serve_waits_and_takes_over_after_kill_9(tmp_path: Path) -> None:
    state = tmp_path / "s"
    _setup(state)
    env = {**os.environ, "ONETUI_STATE": str(state), "ONETUI_LEASE_TTL": "2"}
    cmd = [sys.executable, "-m", "onetui", "serve", "--interval", "0.2"]
    first = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    second = None
    try:
        with Store.open(state) as store:
            deadline = time.monotonic() + 30
            while (store.leader.current() is None
                   or store.leader.current().pid != first.pid):
                assert time.monotonic() < deadline, "first engine never took the lease"
                time.sleep(0.1)
            second = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
            time.sleep(1.5)
            assert store.leader.current().pid == first.pid
            first.send_signal(signal.SIGKILL)
            first.wait()
            killed = time.monotonic()
            while store.leader.current().pid != second.pid:
                assert time.monotonic() - killed < 15, "second engine did not take over"
                time.sleep(0.1)
            onetui("vm", "create", "xen.local01", state=state)
            deadline = time.monotonic() + 30
            while store.vms.get(1).state != "runn":
                assert time.monotonic() < deadline
                time.sleep(0.1)
        second.send_signal(signal.SIGTERM)
        _, err = second.communicate(timeout=30)
        assert "holds the lease; waiting to take over" in err
        assert second.returncode == 0
    finally:
        for p in (first, second):
            if p and p.poll() is None:
                p.kill()
    events = json.loads(onetui("vm", "show", "1", "--json", state=state).stdout)["events"]
    assert any("boot → runn" in e["message"] for e in events)


@pytest.mark.slow
def test_create_wait_returns_when_running_and_host_admin_commands(tmp_path: Path) -> None:
    state = tmp_path / "s"
    _setup(state)
    env = {**os.environ, "ONETUI_STATE": str(state)}
    serve = subprocess.Popen([sys.executable, "-m", "onetui", "serve", "--interval", "0.2"],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        onetui("host", "disable", "ursa03", state=state)
        onetui("host", "update", "ursa04", "RACK=r2", state=state)
        proc = onetui("vm", "create", "xen.local01", "--count", "2", "--name", "w%i",
                      "--wait", "--timeout", "60", state=state)
        lines = proc.stdout.splitlines()
        assert lines[:2] == ["ID: 1", "ID: 2"]  # then each state as it changes
        assert {"VM 1 w0: runn", "VM 2 w1: runn"} <= set(lines[2:])
        vms = onetui_json("vm", "list", state=state)
        assert {(v["state"], v["host_name"]) for v in vms} == {("runn", "ursa04")}
        hosts = onetui("host", "list", state=state).stdout.splitlines()
        assert hosts[1].split()[-1] == "dsbl"
        assert onetui_json("host", "show", "ursa04", state=state)["attrs"] == {"RACK": "r2"}
        onetui("vm", "shutdown", "1", state=state)
        deadline = time.monotonic() + 30
        while onetui_json("vm", "show", "1", state=state)["state"] != "done":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert [v["id"] for v in onetui_json("vm", "list", state=state)] == [2]
        assert [v["id"] for v in onetui_json("vm", "list", "--all", state=state)] == [1, 2]
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.communicate(timeout=30)
    bad = onetui("host", "update", "ursa04", "bad key=1", state=state, check=False)
    assert bad.returncode == 2 and "expected KEY=VALUE" in bad.stderr
