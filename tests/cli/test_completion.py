"""Shell completion through click's real protocol (the environment variables bash's and
zsh's scripts set), on a real store: names and ids come back, and a missing or damaged
store completes nothing, quietly, and is left as it was."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from onetui.engine.loop import Engine
from onetui.ops import labs
from onetui.ops import vm_actions as actions
from onetui.runtime.compose import build_engine
from onetui.store import Store
from tests.beds.cli import onetui
from tests.engine.test_engine import node

MASTER = ('CPU = 1\nMEMORY = 256\nOS = [ kernel = "/boot/vmlinuz" ]\n'
          'DISK = [ source = "/images/master.qcow2", target = vda ]\n'
          'NIC = [ NETWORK = "labnet" ]\n')


@pytest.fixture
def cloud(store: Store, tmp_path: Path):
    """Two hosts, two templates, a lab network with a lab on it, and VMs web-0, web-1 and
    a deleted one (done VMs are not offered)."""
    store.hosts.add("ursa03", "libvirt", {"uri": node(tmp_path, "ursa03", 4, 4)})
    store.hosts.add("ursa04", "libvirt", {"uri": "test:///default"})
    store.networks.add("labnet", "127.0.4.10", "127.0.4.15")
    store.templates.add("master", MASTER)
    store.templates.add("web", "CPU = 1\nMEMORY = 64\n")
    engine: Engine = build_engine(store, {}, interval=0.05)
    assert engine.lead()
    engine.run_pass()
    labs.create(store, labs.LabSpec("linux1", "master", 1))
    ids = [store.vms.create([{"name": f"web-{i}", "body": "CPU = 1\nMEMORY = 64\n",
                              "cpu": 1, "memory": 64}])[0] for i in range(3)]
    actions.delete(store, ids[2])
    yield store, ids
    engine.close()


def complete(line: str, state: Path | None, shell: str = "bash") -> subprocess.CompletedProcess:
    """What the shell's completion function gets for `line` (the cursor at its end)."""
    words = shlex.split(line) + ([""] if line.endswith(" ") else [])
    env = {**os.environ, "COMP_WORDS": " ".join(words), "COMP_CWORD": str(len(words) - 1),
           "_ONETUI_COMPLETE": f"{shell}_complete"}
    if state is not None:
        env["ONETUI_STATE"] = str(state)
    return subprocess.run([sys.executable, "-m", "onetui"], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def offered(line: str, state: Path | None) -> list[str]:
    proc = complete(line, state)
    assert (proc.returncode, proc.stderr) == (0, "")
    return [row.split(",", 1)[1] for row in proc.stdout.splitlines()
            if row.startswith("plain,")]


@pytest.mark.slow
def test_tab_offers_the_stores_vms_hosts_templates_and_labs(cloud, state_dir: Path) -> None:
    store, (web0, web1, _gone) = cloud
    seat = store.labs.seats()[0].vm_id
    assert offered("onetui vm show ", state_dir) == [str(seat), str(web0), str(web1),
                                                     "linux1-01", "web-0", "web-1"]
    assert offered("onetui vm shutdown 1 we", state_dir) == ["web-0", "web-1"]
    assert offered("onetui host delete ", state_dir) == ["ursa03", "ursa04"]
    assert offered("onetui host show ursa04 u", state_dir) == []  # one NAME only
    assert offered("onetui vm create w", state_dir) == ["web"]
    assert offered("onetui template delete ", state_dir) == ["master", "web"]
    assert offered("onetui lab show ", state_dir) == ["linux1"]
    assert offered("onetui net show ", state_dir) == ["labnet"]
    # --state on the command line wins over the environment
    assert offered(f"onetui --state {state_dir} lab destroy l", None) == ["linux1"]


def test_zsh_gets_each_vms_name_beside_its_id(cloud, state_dir: Path) -> None:
    _store, (web0, _web1, _gone) = cloud
    proc = complete(f"onetui vm delete {web0}", state_dir, shell="zsh")
    assert proc.stdout.splitlines() == ["plain", str(web0), "web-0 (pend)"]


def test_a_template_argument_falls_back_to_files(cloud, state_dir: Path) -> None:
    rows = complete("onetui vm create ", state_dir).stdout.splitlines()
    assert rows[0] == "file," and rows[1:] == ["plain,master", "plain,web"]


def test_without_a_store_tab_offers_nothing_and_makes_nothing(tmp_path: Path) -> None:
    state = tmp_path / "nowhere"
    assert offered("onetui vm show ", state) == []
    assert not state.exists()
    state.mkdir()
    (state / "onetui.db").write_bytes(b"this is not a database, " * 100)
    assert offered("onetui host show ", state) == []
    assert (state / "onetui.db").read_bytes() == b"this is not a database, " * 100
    assert sorted(p.name for p in state.iterdir()) == ["onetui.db"]


@pytest.mark.slow
def test_completion_command_prints_scripts_a_shell_loads(cloud, state_dir: Path,
                                                        tmp_path: Path) -> None:
    """The bash script from `onetui completion bash`, loaded into a real bash and asked
    as bash asks on TAB, completes from the store."""
    bash = onetui("completion", "bash").stdout
    assert "complete -o nosort -F _onetui_completion onetui" in bash
    zsh = onetui("completion", "zsh").stdout
    assert zsh.startswith("#compdef onetui")
    wrong = onetui("completion", "fish", check=False)
    assert wrong.returncode == 2 and "'fish' is not one of 'bash', 'zsh'" in wrong.stderr

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "onetui"
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m onetui "$@"\n')
    shim.chmod(0o755)
    script = tmp_path / "onetui.bash"
    script.write_text(bash)
    run = (f"source {shlex.quote(str(script))}; COMP_WORDS=(onetui lab show ''); "
           "COMP_CWORD=3; _onetui_completion onetui; printf '%s\\n' \"${COMPREPLY[@]}\"")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}",
           "ONETUI_STATE": str(state_dir)}
    out = subprocess.run(["bash", "-c", run], env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.splitlines() == ["linux1"]
