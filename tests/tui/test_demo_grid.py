"""The demo with a live grid, in a real terminal (tmux): `onetui demo --grid` (what
scripts/demo.sh runs) shows the SGE test bed's queue instances with the demo's jobs running
on them and more waiting under PENDING JOBS; `q` (and yes) quits, the demo's jobs are gone,
and of the grid only what the demo itself started is stopped (a bed that was up before, as
it is for the test suite, stays up)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from onetui.integrations.sge.master import Master, SgeConfig
from onetui.runtime.demo import grid_unavailable
from tests.beds.sge import HOST_KEY, KEY, PORT, USER, bed
from tests.tui.test_tmux import tmux, wait_screen

pytestmark = [pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
              pytest.mark.skipif(bool(grid_unavailable()), reason=grid_unavailable()),
              pytest.mark.sge, pytest.mark.slow]

JOB = re.compile(r"\b(\d+) (test_\d+\.sh)\b")
JOB_STATE = re.compile(r"\b\d+ test_\d+\.sh\s+\S+\s+(\S+)")  # number name owner STATE


def state(line: str) -> str:
    found = JOB_STATE.search(line)
    return found.group(1) if found else ""


def qmaster_pid() -> str:
    env = dict(line.split("=", 1) for line in bed("env").splitlines() if "=" in line)
    return (Path(env["ONETUI_SGE_STATE"]) / "qmaster.pid").read_text().strip()


def grid_up() -> bool:
    return subprocess.run(["bash", "scripts/testbed/sge.sh", "status"],
                          cwd=Path(__file__).parents[2]).returncode == 0


def master(tmp_path: Path) -> Master:
    known = tmp_path / "known_hosts"
    key_type, key, *_ = HOST_KEY.read_text().split()
    known.write_text(f"[127.0.0.1]:{PORT} {key_type} {key}\n")
    cfg = SgeConfig.from_config({"sge": {"host": "127.0.0.1", "port": PORT, "user": USER,
                                         "key_file": str(KEY), "known_hosts": [str(known)],
                                         "ssh_config": str(tmp_path / "none")}})
    assert cfg is not None
    return Master(cfg)


def test_demo_grid_shows_running_and_pending_jobs_and_leaves_no_trace(tmp_path: Path) -> None:
    was_up = grid_up()
    qmaster_before = qmaster_pid() if was_up else ""
    session = f"onetui-grid-{uuid.uuid4().hex[:6]}"
    done = tmp_path / "exit-code"
    env = " ".join(f"{k}={v}" for k, v in {
        "XDG_CONFIG_HOME": tmp_path / "cfg", "XDG_DATA_HOME": tmp_path / "data",
        "TERM": "xterm-256color", "PYTHONPATH": os.environ.get("PYTHONPATH", "")}.items())
    tmux("new-session", "-d", "-s", session, "-x", "200", "-y", "50",
         f"env -u COLUMNS -u LINES {env} {sys.executable} -m onetui demo --grid; "
         f"echo $? > {done}")
    tmux("set-option", "-t", session, "remain-on-exit", "on")
    seen: list[str] = []
    try:
        screen = wait_screen(session, lambda s: "PENDING JOBS" in s and re.search(
            r"test_\d+\.sh\s.*\bqw\b", s) is not None and re.search(
            r"test_\d+\.sh\s.*\br\b", s) is not None, timeout=300)
        assert "all.q@node2" in screen  # the bed's exec host in its own namespace
        lines = screen.splitlines()
        pending_at = next(i for i, line in enumerate(lines) if "PENDING JOBS" in line)
        running = [line for line in lines[:pending_at] if JOB.search(line)]
        waiting = [line for line in lines[pending_at:] if JOB.search(line)]
        # under its queue instance a job runs (r), or is on its way there (t: transferring,
        # for a moment as it starts); under PENDING JOBS it waits (qw)
        assert running and {state(line) for line in running} <= {"r", "t"}, running
        assert waiting and {state(line) for line in waiting} == {"qw"}, waiting
        assert "engine: this console" in screen
        seen = [m.group(1) for line in running + waiting for m in [JOB.search(line)] if m]

        tmux("send-keys", "-t", session, "q")  # it runs the engine: asked first
        wait_screen(session, lambda s: "quitting stops it" in s)
        tmux("send-keys", "-t", session, "y")
        deadline = time.monotonic() + 90
        while not done.exists():
            assert time.monotonic() < deadline, "the demo did not quit"
            time.sleep(0.2)
        assert done.read_text().strip() == "0"
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)

    if was_up:  # the suite's bed: left up, the same qmaster, without the demo's jobs
        assert grid_up() and qmaster_pid() == qmaster_before
        m = master(tmp_path)
        try:
            grid = m.qstat()
            left = {str(j.number) for q in grid.queues for j in q.jobs} | {
                str(j.number) for j in grid.pending}
        finally:
            m.close()
        assert not left & set(seen), f"the demo's jobs {sorted(left & set(seen))} are left"
    else:  # the demo started the grid: it is stopped again
        assert not grid_up()


def started(pid: int) -> str:
    """When `pid` started (/proc/PID/stat field 22), as sge.sh records it."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]


def test_stop_recorded_stops_only_what_the_record_names(tmp_path: Path) -> None:
    """What the demo runs on leaving: the parts its `up` recorded stop (here an anchor-like
    `sleep` and a namespace of their own), and the bed's own parts and pid files stay. A
    recorded pid that is now another process (the pid reused) is left alone: one whose
    start time is not the recorded one, and one running another program."""
    was_up = grid_up()
    pids_before = qmaster_pid() if was_up else ""
    anchor = subprocess.Popen(["sleep", "infinity"])
    reused = subprocess.Popen(["sleep", "infinity"])  # a later `sleep` with an old pid
    other = subprocess.Popen(["sleep", "infinity"])  # someone's program with the sshd's pid
    ns = f"onetui-demotest-{uuid.uuid4().hex[:4]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    record = tmp_path / "started"
    earlier = int(started(reused.pid)) - 100  # what the record's own process started at
    record.write_text(f"anchor {anchor.pid} {started(anchor.pid)}\n"
                      f"anchor {reused.pid} {earlier}\n"
                      f"sshd {other.pid} {started(other.pid)}\nnetns {ns}\n")
    reaper = threading.Thread(target=anchor.wait)  # reaped at once, as init reaps the bed's
    reaper.start()
    try:
        said = bed("stop-recorded", str(record)).strip().splitlines()
        assert said == [
            f"sge testbed: left pid {other.pid} alone: it is sleep started at "
            f"{started(other.pid)}, the record names sshd (sshd started at "
            f"{started(other.pid)})",
            f"sge testbed: left pid {reused.pid} alone: it is sleep started at "
            f"{started(reused.pid)}, the record names anchor (sleep started at {earlier})",
            f"sge testbed: stopped what {record} recorded: anchor {anchor.pid}, "
            f"anchor {reused.pid}, sshd {other.pid}, netns {ns}"]
        reaper.join(20)
        assert anchor.returncode == -15  # SIGTERM, by its pid
        assert reused.poll() is None and other.poll() is None  # not what the record names
        assert ns not in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                        text=True).stdout.split()
        assert grid_up() == was_up and (not was_up or qmaster_pid() == pids_before)
    finally:
        for proc in (anchor, reused, other):
            proc.kill()
            proc.wait()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
