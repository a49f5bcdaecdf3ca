"""The CLI does what the form does, and the verbs `onevm` users type: `vm create` with
sizes, REQUIREMENTS and a host; reboot, poweroff, deploy, migrate; `--wait` that tells what
is left and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.beds.cli import onetui, onetui_json
from tests.cli.test_engine_cli import _setup


@pytest.mark.slow
def test_create_with_sizes_and_a_host_then_the_life_cycle_verbs(tmp_path: Path) -> None:
    state = tmp_path / "s"
    _setup(state)
    out = onetui("vm", "create", "xen.local01", "--cpu", "0.25", "--memory", "128",
                 "--host", "ursa04", state=state).stdout
    assert out == "ID: 1\n"
    onetui("serve", "--once", state=state)
    (vm,) = onetui_json("vm", "list", state=state)
    assert (vm["state"], vm["host_name"], vm["cpu"], vm["memory"]) == \
        ("runn", "ursa04", 0.25, 128)
    shown = onetui("vm", "show", "1", state=state).stdout
    assert "deployed there by the admin" in shown
    assert "LAST POLL      : -" not in shown  # polled with its host
    # (the test driver keeps guests only while its process lives: what each verb asks is
    # checked here, what the engine does with it in tests/engine/test_vm_verbs.py)
    assert onetui("vm", "reboot", "1", state=state).stdout == "VM 1: reboot requested\n"
    assert onetui("vm", "migrate", "--live", "1", "ursa03", state=state).stdout == \
        "VM 1: migrate --live to ursa03 requested\n"
    assert "PENDING ACTION : migrate --live to ursa03" in \
        onetui("vm", "show", "1", state=state).stdout
    assert onetui("vm", "poweroff", "--hard", "1", state=state).stdout == \
        "VM 1: poweroff --hard requested\n"
    moved = onetui("vm", "migrate", "1", "ursa04", state=state, check=False)
    assert moved.returncode == 2 and "runs on ursa04 already" in moved.stderr
    placed = onetui("vm", "deploy", "1", "ursa03", state=state, check=False)
    assert placed.returncode == 2
    assert "VM 1 is runn: cannot deploy on ursa03 (needs hold or pend)" in placed.stderr
    assert onetui("vm", "create", "xen.local01", "--hold", state=state).stdout == "ID: 2\n"
    assert onetui("vm", "deploy", "2", "ursa03", state=state).stdout == \
        "VM 2: deploy on ursa03 requested\n"
    assert onetui_json("vm", "show", "2", state=state)["state"] == "pend"  # released


@pytest.mark.slow
@pytest.mark.parametrize(("args", "expected"), [
    (("--cpu", "abc"), "CPU"),
    (("--memory", "-5"), "MEMORY"),
    (("--requirements", 'HOSTNAME = "'), "REQUIREMENTS: unterminated string at character 12"),
    (("--host", "nosuch"), "no host"),
])
def test_create_refuses_bad_values_and_writes_nothing(tmp_path: Path, args: tuple[str, ...],
                                                      expected: str) -> None:
    state = tmp_path / "s"
    _setup(state)
    done = onetui("vm", "create", "xen.local01", *args, state=state, check=False)
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr and "Traceback" not in done.stderr
    assert onetui_json("vm", "list", "--all", state=state) == []


@pytest.mark.slow
def test_wait_prints_states_and_at_the_timeout_says_what_is_left_and_why(
        tmp_path: Path) -> None:
    state = tmp_path / "s"
    _setup(state)
    done = onetui("vm", "create", "xen.local01", "--count", "2", "--memory", "999999",
                  "--wait", "--timeout", "2", state=state, check=False)
    assert done.returncode == 2
    assert "no engine is running" in done.stderr
    assert "VM 1 one-1: pend" in done.stdout and "VM 2 one-2: pend" in done.stdout
    assert "timed out after 2 s; not yet running: VM 1 pend; VM 2 pend" in done.stderr
    assert "The VMs stay" in done.stderr and "onetui vm delete 1 2" in done.stderr
    # with the engine's verdict in place, the reason comes along
    onetui("serve", "--once", state=state)
    again = onetui("vm", "create", "xen.local01", "--hold", "--wait", state=state)
    assert again.stdout == "ID: 3\n"  # held VMs are not waited for
    last = onetui("vm", "show", "1", state=state).stdout
    assert "not enough memory" in last
