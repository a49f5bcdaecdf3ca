"""The CLI contracts other work builds on: `template validate` and `template show --json`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from onetui.data import SEED_TEMPLATES, TEMPLATES
from tests.beds.cli import onetui, onetui_json
from tests.conftest import ROOT


def test_validate_prints_ok_per_file(tmp_path: Path) -> None:
    files = [str(TEMPLATES / name) for name in SEED_TEMPLATES]
    proc = onetui("template", "validate", *files)
    assert proc.stdout.splitlines() == [f"{f}: ok" for f in files]
    assert proc.stderr == ""


def test_validate_reports_file_line_col_and_exits_2(tmp_path: Path) -> None:
    good = tmp_path / "good.template"
    good.write_text("CPU = 1\nMEMORY = 512\n")
    bad = tmp_path / "xen.local01"
    bad.write_text('CPU = 0.5\nMEMORY = 128\nOS = [kernel="/boot/vmlinuz" ]\n'
                   'DISK = [source="/images/local01.disk",target="sda"\n')
    proc = onetui("template", "validate", str(good), str(bad), check=False)
    assert proc.returncode == 2
    assert proc.stdout == f"{good}: ok\n"
    line = proc.stderr.strip()
    assert line.startswith(f"{bad}:")
    _, lineno, col, msg = line.split(":", 3)
    assert int(lineno) in (4, 5) and int(col) >= 1
    assert "expected ']'" in msg and "DISK" in msg
    assert "Traceback" not in proc.stderr


def test_validate_checks_requirements_inside_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "req.template"
    bad.write_text('CPU = 1\nREQUIREMENTS = "HOSTNAME = "\n')
    proc = onetui("template", "validate", str(bad), check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"{bad}:2:")


def test_show_json_follows_opennebula_convention(tmp_path: Path) -> None:
    data = onetui_json("template", "show", str(TEMPLATES / "sgehost01.template"))
    assert data["MEMORY"] == "64"
    assert data["OS"] == {"KERNEL": "/boot/vmlinuz-2.6.18-4-xen-amd64",
                          "INITRD": "/boot/initrd.img-2.6.18-4-xen-amd64",
                          "ROOT": "sda1", "BOOT": "hd"}
    assert [d["TARGET"] for d in data["DISK"]] == ["sda1", "sda2"]
    assert data["DISK"][0]["READONLY"] == "no"
    assert data["NIC"] == {"MAC": "00:16:3e:01:01:03"}
    ec2 = onetui_json("template", "show", str(TEMPLATES / "ec2.template"))
    assert ec2["REQUIREMENTS"] == 'HOSTNAME = "ec2"'
    assert ec2["EC2"]["AUTHORIZED_PORTS"] == "22-25"


@pytest.mark.slow
def test_import_list_show_delete_stored_templates(tmp_path: Path) -> None:
    state = tmp_path / "state"
    src = tmp_path / "xen.local01"
    shutil.copy(TEMPLATES / "xen.local01", src)
    assert onetui("template", "import", str(src), state=state).stdout == "ID: 1\n"
    listed = onetui("template", "list", state=state).stdout.splitlines()
    assert listed[0].split() == ["ID", "NAME", "REGTIME"]
    assert listed[1].split()[:2] == ["1", "xen.local01"]
    shown = onetui("template", "show", "xen.local01", state=state).stdout
    assert src.read_text().strip() in shown  # stored verbatim
    assert json.loads(onetui("template", "show", "xen.local01", "--json",
                             state=state).stdout)["CPU"] == "0.5"
    dup = onetui("template", "import", str(src), state=state, check=False)
    assert (dup.returncode, dup.stderr) == (2, "onetui: template 'xen.local01' exists already\n")
    onetui("template", "delete", "xen.local01", state=state)
    gone = onetui("template", "show", "xen.local01", state=state, check=False)
    assert gone.returncode == 2 and "no template 'xen.local01'" in gone.stderr


@pytest.mark.slow
def test_demo_headless_prepares_and_cleans_up() -> None:
    proc = onetui("demo", "--headless")
    out = proc.stdout
    assert "templates:  xen.loadbalancer, xen.local01, ec2, sge-ec2, sgehost01" in out
    assert "host:       ursa03 (libvirt test://" in out
    lines = out.splitlines()
    vms = [line.split() for line in lines if " runn " in line]
    assert [(v[1], v[5]) for v in vms] == [
        ("loadbalancer", "ursa03"),
        ("ec2web01", "ec2"), ("ec2web02", "ec2"),  # real (moto) instances
        ("web-0", "ursa03"), ("web-1", "ursa03"), ("web-2", "ursa03"),  # the service "web",
        ("web-3", "ursa03")]  # packed onto the first host
    store = Path(lines[0].split(": ", 1)[1])
    assert not store.exists()  # throwaway


@pytest.mark.slow
def test_readme_demo_command_runs_headless() -> None:
    """The README's first command, as a newcomer types it (set-up is done by then). As
    root on Debian it brings a grid and submits jobs: a demo that takes too long is sent
    SIGTERM, which deletes its jobs and stops what it started (a SIGKILL would leave them)."""
    proc = subprocess.Popen(["bash", "scripts/demo.sh", "--headless"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        proc.terminate()
        out, err = proc.communicate()
        raise AssertionError(f"the demo took over 600 s:\n{out}\n{err}") from None
    assert proc.returncode == 0, err
    assert "loadbalancer runn" in " ".join(out.split())
    assert "web-3 runn" in " ".join(out.split())


@pytest.mark.slow
def test_seed_update_clone_and_instantiate(tmp_path: Path) -> None:
    state = tmp_path / "s"
    out = onetui("template", "import", "--seed", state=state).stdout.splitlines()
    assert out[-1] == "linux-master: ID 6" and len(out) == 6
    again = onetui("template", "import", "--seed", state=state).stdout
    assert again.count("stored already") == 6  # nothing twice
    assert onetui("template", "clone", "xen.local01", "web", state=state).stdout == "ID: 7\n"
    dup = onetui("template", "clone", "xen.local01", "web", state=state, check=False)
    assert dup.returncode == 2 and "exists already" in dup.stderr
    change = tmp_path / "change.template"
    change.write_text("MEMORY = 256\nRANK = FREECPU\n")
    onetui("template", "update", "web", str(change), "--append", state=state)
    shown = onetui_json("template", "show", "web", state=state)
    assert (shown["MEMORY"], shown["RANK"], shown["CPU"]) == ("256", "FREECPU", "0.5")
    bad = tmp_path / "bad.template"
    bad.write_text("CPU = 1\nMEMORY = lots\n")
    refused = onetui("template", "update", "web", str(bad), state=state, check=False)
    assert refused.returncode == 2 and f"{bad}:2:10: MEMORY" in refused.stderr
    assert onetui_json("template", "show", "web", state=state)["MEMORY"] == "256"  # unchanged
    onetui("template", "update", "web", str(change), state=state)  # whole text replaced
    assert "CPU" not in onetui_json("template", "show", "web", state=state)
    assert onetui("template", "instantiate", "web", "--count", "2", "--memory", "64",
                  state=state).stdout == "ID: 1\nID: 2\n"
    vms = onetui_json("vm", "list", state=state)
    assert [(v["template_id"], v["memory"]) for v in vms] == [(7, 64), (7, 64)]
    # the original keeps its text: VMs and clones have their own copies
    assert onetui_json("template", "show", "xen.local01", state=state)["MEMORY"] == "128"
