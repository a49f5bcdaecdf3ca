"""`onetui serve` under a service manager: every event one line on stderr (journald's
priority prefix when stderr is the journal), SIGHUP re-reads the config (a broken one is
refused and the one in use kept), SIGTERM releases the lease and exits 0."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from onetui.data import TEMPLATES, node_uri
from onetui.store import Store
from onetui.store.events import acting
from tests.beds.cli import onetui


class Lines:
    """A process's stderr, line by line, waited for."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        assert proc.stderr is not None
        threading.Thread(target=lambda: [self._queue.put(line.rstrip("\n"))
                                         for line in proc.stderr], daemon=True).start()

    def wait_for(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            for line in self.seen:
                if text in line:
                    self.seen.remove(line)
                    return line
            try:
                self.seen.append(self._queue.get(timeout=max(0.01, deadline - time.monotonic())))
            except queue.Empty:
                raise AssertionError(f"no line with {text!r} in {self.seen}") from None


def _serve(state: Path, config: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "onetui", "serve", "--interval", "0.2"],
        env={**os.environ, "ONETUI_STATE": str(state), "ONETUI_CONFIG": str(config), **env},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_events_are_logged_sighup_reloads_and_sigterm_exits_0(tmp_path: Path) -> None:
    state, config = tmp_path / "s", tmp_path / "config.toml"
    onetui("host", "create", "ursa03", "--uri", node_uri("ursa03"), state=state)
    onetui("template", "import", str(TEMPLATES / "xen.local01"), state=state)
    config.write_text("")
    serve = _serve(state, config)
    err = Lines(serve)
    try:
        onetui("vm", "create", "xen.local01", state=state)
        assert err.wait_for("vm 1: ").startswith("vm 1: ")
        err.wait_for("vm 1: VM 1 one-1: boot → runn")
        with Store.open(state) as store, acting("olga", 4242):
            store.events.add("vm", 1, "olga (operator): vm hold 1", level="warning")
        assert err.wait_for("olga (operator)") == \
            "warning: vm 1: olga (operator): vm hold 1 [olga pid 4242]"

        config.write_text('[sge]\ntransport = "pigeon"\n')
        serve.send_signal(signal.SIGHUP)
        assert "expected ssh or local; keeping the one in use" in err.wait_for(
            "config not reloaded: config [sge] transport = 'pigeon'")
        config.write_text('[roles]\noperator = ["wheel"]\n')
        serve.send_signal(signal.SIGHUP)
        assert err.wait_for("config reloaded from").endswith(
            "managers ServiceManager, LabManager")
        config.write_text('[roles]\nboss = ["wheel"]\n')
        serve.send_signal(signal.SIGHUP)
        err.wait_for("config not reloaded: config [roles] boss: no such role")
        assert serve.poll() is None  # SIGHUP never ends it

        serve.send_signal(signal.SIGTERM)
        out, _ = serve.communicate(timeout=60)
        assert serve.returncode == 0 and out.splitlines()[-1] == "engine stopped"
    finally:
        if serve.poll() is None:
            serve.kill()
    with Store.open(state) as store:
        assert store.leader.current() is None  # released, not left to run out


@pytest.mark.slow
def test_in_the_journal_each_line_has_its_priority(tmp_path: Path) -> None:
    state, config = tmp_path / "s", tmp_path / "config.toml"
    onetui("template", "import", str(TEMPLATES / "xen.local01"), state=state)
    config.write_text("")
    serve = _serve(state, config, JOURNAL_STREAM="8:1234")
    err = Lines(serve)
    try:
        assert err.wait_for("took the lead").startswith("<6>engine: engine ")
        with Store.open(state) as store:
            store.events.add("engine", None, "a line\nthat was two", level="error")
            store.events.add("host", 3, "host ursa03 enabled")
        assert err.wait_for("a line") == "<3>engine: a line that was two"
        assert err.wait_for("ursa03") == "<6>host 3: host ursa03 enabled"
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.communicate(timeout=60)
    assert serve.returncode == 0
