"""`onetui help TOPIC`: each topic says what the code does. The texts are checked against
the code's behaviour (the commands' refusals, the parser, the scheduler's variables, the
console's bindings, the config readers), so a change there that the help misses fails."""

from __future__ import annotations

import dataclasses
import re
import sys
import tomllib
from pathlib import Path

import pytest

from onetui.access import ROLES
from onetui.cli.help_cmd import CONFIG_EXAMPLE, TEMPLATE_EXAMPLE, TOPICS, key_label
from onetui.data import node_uri
from onetui.engine.scheduler import HostView
from onetui.errors import Conflict
from onetui.integrations.sge.master import SgeConfig
from onetui.model import VM_STATES
from onetui.ops import instantiate
from onetui.ops import vm_actions as actions
from onetui.ops.instantiate import Source
from onetui.store import Store
from onetui.template import TemplateError, parse
from onetui.template.validate import validate
from tests.beds.cli import onetui

ROOT = Path(__file__).resolve().parents[2]


def topic(name: str) -> str:
    return TOPICS[name][1]()


def section(text: str, start: str) -> str:
    """The lines of `text` from the one starting with `start` to the next blank line."""
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith(start))
    end = next((i for i in range(first, len(lines)) if not lines[i].strip()), len(lines))
    return "\n".join(lines[first:end])


# -- the command ---------------------------------------------------------------------------

def test_help_alone_lists_the_topics_and_an_unknown_one_is_exit_2_naming_them() -> None:
    listed = onetui("help").stdout
    assert [line.split()[0] for line in listed.splitlines()[2:6]] == list(TOPICS)
    wrong = onetui("help", "stats", check=False)
    assert wrong.returncode == 2 and wrong.stdout == ""
    assert "no topic 'stats': expected one of templates, states, keys, config" in wrong.stderr
    assert onetui("help", "states").stdout == topic("states")


# -- states --------------------------------------------------------------------------------

def test_states_has_a_line_for_every_state_the_model_knows() -> None:
    rows = section(topic("states"), "  STAT")
    for short, (vm_state, lcm_state) in VM_STATES.items():
        assert re.search(rf"^  {short}  {vm_state} +{lcm_state} +\S", rows, re.M), short


def _accepted(text: str) -> dict[str, set[str]]:
    """`vm COMMAND  state, state` lines of the states topic."""
    return {m.group(1): set(m.group(2).split(", "))
            for m in re.finditer(r"^  vm (\w+) +(.+)$", text, re.M)}


ACTIONS = {"hold": actions.hold, "release": actions.release, "suspend": actions.suspend,
           "stop": actions.stop, "resume": actions.resume, "shutdown": actions.shutdown,
           "delete": actions.delete, "reboot": actions.reboot, "poweroff": actions.poweroff,
           "resched": actions.resched,
           "deploy": lambda store, vid: actions.deploy(store, vid, "h"),
           "migrate": lambda store, vid: actions.migrate(store, vid, "h")}


def test_states_says_which_states_each_vm_command_accepts(store: Store) -> None:
    """Every command on a VM in every state: it is accepted exactly where the text says."""
    said = _accepted(topic("states"))
    assert set(said) == set(ACTIONS)
    store.templates.add("t", "CPU = 1\nMEMORY = 64\n")
    store.hosts.add("h", "libvirt", {"uri": "test:///default"})
    for name, action in ACTIONS.items():
        accepts = set()
        for state in VM_STATES:
            (vid,) = instantiate.create(store, "t")
            store.db.conn.execute("UPDATE vms SET state = ? WHERE id = ?", (state, vid))
            try:
                reply = action(store, vid)
            except Conflict:
                continue
            if "done already" not in reply:  # delete of a done VM: nothing to do
                accepts.add(state)
        assert said[name] == accepts, name


# -- templates -----------------------------------------------------------------------------

def test_templates_example_is_accepted_and_names_its_vms_as_it_says() -> None:
    text = topic("templates")
    assert TEMPLATE_EXAMPLE.splitlines()[0] in text
    tpl = parse(TEMPLATE_EXAMPLE, "help")
    validate(tpl)
    names = [s["name"] for s in instantiate.specs(Source(tpl, None, "help"), 2)]
    assert names == ["web-00", "web-01"]  # "VMs web-00, web-01, …"


def test_sched_requirements_is_read_and_other_sched_keys_are_not() -> None:
    """The topic says SCHED_REQUIREMENTS / SCHED_RANK are read as REQUIREMENTS / RANK (a
    broken one is refused, two different ones too) and other SCHED_* are not (a broken
    SCHED_DS_REQUIREMENTS passes)."""
    text = " ".join(topic("templates").split())
    assert "SCHED_REQUIREMENTS and SCHED_RANK (later OpenNebula names) are read as " \
           "REQUIREMENTS and RANK" in text
    assert "Not read: other SCHED_* (SCHED_DS_REQUIREMENTS" in text
    for name in ("REQUIREMENTS", "SCHED_REQUIREMENTS", "RANK", "SCHED_RANK"):
        with pytest.raises(TemplateError):
            validate(parse(f'CPU = 1\nMEMORY = 64\n{name} = "FREECPU >"\n', "t"))
    with pytest.raises(TemplateError, match="differ"):
        validate(parse('MEMORY = 64\nRANK = "FREECPU"\nSCHED_RANK = "RVM"\n', "t"))
    validate(parse('CPU = 1\nMEMORY = 64\nSCHED_DS_REQUIREMENTS = "FREECPU >"\n', "t"))


@pytest.mark.slow
def test_sched_requirements_keeps_a_vm_pending_and_vm_show_says_why(tmp_path: Path) -> None:
    state = tmp_path / "s"
    onetui("host", "create", "ursa03", "--uri", node_uri("ursa03"), state=state)
    onetui("host", "create", "ursa04", "--uri", node_uri("ursa04"), state=state)
    tpl = tmp_path / "sched.template"
    tpl.write_text('CPU = 1\nMEMORY = 64\nSCHED_REQUIREMENTS = "HOSTNAME = \\"orion*\\""\n')
    onetui("vm", "create", str(tpl), state=state)
    onetui("serve", "--once", state=state)
    shown = onetui("vm", "show", "1", state=state).stdout
    assert "WHY PENDING" in shown
    assert 'ursa03 REQUIREMENTS false: HOSTNAME = "orion*"' in " ".join(shown.split())
    assert 'ursa04 REQUIREMENTS false: HOSTNAME = "orion*"' in " ".join(shown.split())


def test_templates_names_every_host_attribute_the_scheduler_offers() -> None:
    text = topic("templates")
    offered = HostView(1, "h", "libvirt", 400, 4096).variables()
    missing = [v for v in offered if not re.search(rf"\b{v}\b", text)]
    assert missing == []


# -- keys ----------------------------------------------------------------------------------

def test_keys_lists_every_binding_of_the_console_screens_and_panes() -> None:
    from onetui.tui import panes
    from onetui.tui.app import OnetuiApp
    from onetui.tui.screens.dashboard import DashboardScreen, LiveDetail
    from onetui.tui.screens.labs import LabsScreen

    lines = topic("keys").splitlines()
    for owner in (OnetuiApp, DashboardScreen, LabsScreen, panes.HostsPane, panes.VmsPane,
                  panes.ServicesPane, panes.QueuesPane, LiveDetail):
        for binding in owner.BINDINGS:
            shown = f"{key_label(binding.key)} "
            assert any(line.strip().startswith(shown) and binding.description in line
                       for line in lines), (owner.__name__, binding.key)
    assert any(line.split()[:2] == ["L", "Labs"] for line in lines)
    assert any(line.split()[:2] == ["/", "Filter"] for line in lines)


def test_other_commands_do_not_load_the_console() -> None:
    """`help keys` reads the console's bindings; nothing else in the CLI pays for that."""
    import subprocess

    probe = ("import sys; from onetui.cli import cli; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


# -- config --------------------------------------------------------------------------------

def _read_keys(pattern: str, *files: str) -> set[str]:
    return {m for f in files for m in re.findall(pattern, (ROOT / f).read_text())}


def test_config_names_every_key_the_code_reads() -> None:
    text = topic("config")
    sge = section(text, "[sge]")
    assert [f.name for f in dataclasses.fields(SgeConfig)
            if not re.search(rf"^  {f.name} ", sge, re.M)] == []
    labs = section(text, "[labs]")
    read = _read_keys(r'labs_cfg\.get\("(\w+)"', "onetui/ops/labs.py")
    assert read and all(re.search(rf"^  {k} ", labs, re.M) for k in read)
    roles = section(text, "[roles]")
    assert all(re.search(rf"^  {role} ", roles, re.M) for role in ROLES)
    console = section(text, "[console]")
    read = _read_keys(r'"console", \{\}\)(?:\.get\(|\[)"(\w+)"', "onetui/tui/app.py",
                      "onetui/tui/screens/dashboard.py")
    assert read and all(re.search(rf"^  {k} ", console, re.M) for k in read)


def test_config_example_is_a_config_onetui_accepts() -> None:
    cfg = tomllib.loads(CONFIG_EXAMPLE)
    sge = SgeConfig.from_config(cfg)
    assert sge is not None and (sge.host, sge.user, sge.drain_timeout) == \
        ("oneserver", "sgeadmin", 600)
    assert "[labs]" in topic("config") and set(cfg) == {"sge", "labs"}
