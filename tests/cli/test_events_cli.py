"""`onetui events`: the store's event log as the Events pane shows it, filtered, as JSON
Lines, and followed live from another process (the real command, in a subprocess)."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import click
import pytest

from onetui.cli.events_cmd import When
from onetui.store import Store
from onetui.store.events import KINDS
from onetui.view.rows import stamp
from tests.beds.cli import onetui

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def logged(store: Store) -> Store:
    """A template (event 1), a host (2) and a network (3); the first two a day old."""
    store.templates.add("web", "CPU = 1\nMEMORY = 64\n")
    store.hosts.add("ursa03", "libvirt", {"uri": "test:///default"})
    store.networks.add("labnet", "10.2.0.10", "10.2.0.20")
    store.db.conn.execute("UPDATE events SET at = at - 86400 WHERE id <= 2")
    return store


def test_events_prints_the_log_oldest_first_as_the_pane_does(logged: Store,
                                                             state_dir: Path) -> None:
    lines = onetui("events", state=state_dir).stdout.splitlines()
    assert lines[0].split() == ["#", "TIME", "MESSAGE"]
    first = logged.events.since(0)[0]
    assert lines[1] == f"1 {stamp(first.at)} template web imported"
    assert [line.split(maxsplit=3)[3] for line in lines[1:]] == [
        "template web imported", "host ursa03 created (libvirt)",
        "network labnet created (10.2.0.10-10.2.0.20)"]
    newest = onetui("events", "--limit", "1", state=state_dir).stdout.splitlines()
    assert len(newest) == 2 and newest[1].endswith("network labnet created (10.2.0.10-10.2.0.20)")


def test_json_lines_and_kind_filter(logged: Store, state_dir: Path) -> None:
    out = onetui("events", "--json", "--kind", "host", "--kind", "network",
                 state=state_dir).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["id"], r["kind"], r["message"]) for r in rows] == [
        (2, "host", "host ursa03 created (libvirt)"),
        (3, "network", "network labnet created (10.2.0.10-10.2.0.20)")]
    assert set(rows[0]) == {"id", "at", "kind", "obj_id", "level", "message", "user", "pid"}


def test_since_takes_an_age_or_an_iso_time(logged: Store, state_dir: Path) -> None:
    def ids(*args: str) -> list[int]:
        out = onetui("events", "--json", *args, state=state_dir).stdout
        return [json.loads(line)["id"] for line in out.splitlines()]

    assert ids("--since", "2h") == [3]
    assert ids("--since", "2d") == [1, 2, 3]
    hour_ago = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 3600))
    assert ids("--since", hour_ago) == [3]


def test_a_bad_since_is_exit_2_saying_what_is_expected(logged: Store, state_dir: Path) -> None:
    said = onetui("events", "--since", "10x", state=state_dir, check=False)
    assert said.returncode == 2 and said.stdout == "" and "Traceback" not in said.stderr
    assert ("Invalid value for '--since': '10x': expected an age (30s, 10m, 2h, 1d, 1w) or "
            "an ISO time (2026-11-28, 2026-11-28T14:30, 2026-11-28T14:30+01:00)") in said.stderr
    for bad in ("yesterday", "2026-13-01", "-5m", "5 m", "99999999999d"):
        with pytest.raises(click.BadParameter, match="expected an age"):
            When().convert(bad, None, None)


@pytest.mark.slow
def test_follow_prints_new_events_and_ctrl_c_ends_it_quietly(logged: Store,
                                                             state_dir: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "onetui", "events", "--follow",
                             "--kind", "template"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "ONETUI_STATE": str(state_dir)})
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout],  # type: ignore[union-attr]
                     daemon=True).start()
    try:
        assert lines.get(timeout=60).split() == ["#", "TIME", "MESSAGE"]
        assert lines.get(timeout=60).endswith("template web imported\n")
        logged.hosts.add("ursa04", "libvirt", {"uri": "test:///default"})  # not a template
        logged.templates.add("db", "CPU = 1\nMEMORY = 64\n")
        assert lines.get(timeout=60).endswith("template db imported\n")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.stderr is not None and proc.stderr.read() == ""
    assert lines.empty()  # the host's event never showed


def test_every_kind_of_event_written_can_be_asked_for() -> None:
    """`--kind` offers KINDS: every kind a writer records must be one of them."""
    written = {m for path in (ROOT / "onetui").rglob("*.py")
               for m in re.findall(r'(?:record\(cur|events\.add\()\s*,?\s*"(\w+)"',
                                   path.read_text())}
    assert "vm" in written and "lab" in written
    assert written - set(KINDS) == set()


def test_user_filter_is_one_users_audit_trail(logged: Store, state_dir: Path) -> None:
    from onetui.store.events import acting

    with acting("alice", 4242):
        logged.templates.add("lab-master", "CPU = 1\nMEMORY = 64\n")
        logged.events.add("lab", None, "alice (labstaff): lab creds os1 --csv (12 seats)")
    with acting("bob", 4343):
        logged.events.add("vm", 5, "bob (viewer): refused vm shutdown 5 (needs operator)",
                          level="warning")
    logged.db.conn.execute("UPDATE events SET at = at - 7200 WHERE id = 4")
    out = onetui("events", "--user", "alice", "--since", "1h", "--json", state=state_dir).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["id"], r["user"], r["pid"], r["message"]) for r in rows] == [
        (5, "alice", 4242, "alice (labstaff): lab creds os1 --csv (12 seats)")]
    everything = onetui("events", "--user", "alice", state=state_dir).stdout.splitlines()
    assert [line.split(maxsplit=3)[3] for line in everything[1:]] == [
        "template lab-master imported", "alice (labstaff): lab creds os1 --csv (12 seats)"]
    assert onetui("events", "--user", "nobody", state=state_dir).stdout.splitlines() == [
        everything[0]]
