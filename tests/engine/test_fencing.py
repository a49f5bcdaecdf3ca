"""Two engines never act at once: the lease carries an epoch, every engine write is fenced
with it, a hung host cannot stall a pass past the lease, and a deposed engine stops acting
at its next write."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from onetui.engine.loop import Engine
from onetui.ops import instantiate
from onetui.store import Store
from onetui.store.db import Deposed
from tests.beds.silent_host import SilentHost
from tests.engine.test_engine import LOCAL, node


def test_a_deposed_engine_is_refused_at_its_next_write(state_dir: Path,
                                                       tmp_path: Path) -> None:
    with Store.open(state_dir) as a_store, Store.open(state_dir) as b_store:
        a_store.hosts.add("n1", "libvirt", {"uri": node(tmp_path, "n1", 4, 8)})
        a_store.templates.add("web", LOCAL)
        (vid,) = instantiate.create(a_store, "web")
        a = Engine(a_store, lease_ttl=0.3)
        b = Engine(b_store, lease_ttl=30)
        try:
            assert a.lead() and not b.lead()
            time.sleep(0.4)  # A stalls (a long pass) and its lease runs out
            assert b.lead() and b.epoch == a.epoch + 1
            vm = a_store.vms.get(vid)
            with pytest.raises(Deposed, match="lost the lease"):
                a.lifecycle.transition(vm, "hold", event="a deposed engine's write")
            with pytest.raises(Deposed):
                a.renew()  # the next lease renewal says the same
            assert a_store.vms.get(vid).state == "pend"  # nothing of A's write landed
            b.run_pass()  # the leader places and deploys it
            assert b_store.vms.get(vid).state == "runn"
            events = [e.message for e in b_store.events.recent(kind="engine")]
            assert any(f"took the lead (epoch {b.epoch})" in m for m in events)
        finally:
            b.close()
            a.close()


@pytest.fixture
def silent_host() -> Iterator[SilentHost]:
    host = SilentHost()
    yield host
    host.close()


def _serve(state: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "ONETUI_STATE": str(state), "ONETUI_LEASE_TTL": "2",
           "ONETUI_HOST_TIMEOUT": "4"}
    return subprocess.Popen([sys.executable, "-m", "onetui", "serve", "--interval", "0.5"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


@pytest.mark.slow
def test_a_hung_host_never_lets_two_engines_act(state_dir: Path, tmp_path: Path,
                                                silent_host: SilentHost) -> None:
    with Store.open(state_dir) as store:
        hung = store.hosts.add("hung", "libvirt", {"uri": silent_host.uri}).id
        ok = store.hosts.add("ok", "libvirt", {"uri": node(tmp_path, "ok", 4, 8)}).id
        first = _serve(state_dir)
        second = None
        try:
            deadline = time.monotonic() + 30
            while store.hosts.get(ok).state != "on":
                assert time.monotonic() < deadline, "the first engine never monitored"
                time.sleep(0.2)
            second = _serve(state_dir)
            time.sleep(4)  # the second engine is up and waiting; the hung call is running
            store.templates.add("web", LOCAL)
            (vid,) = instantiate.create(store, "web")
            deadline = time.monotonic() + 30
            while store.vms.get(vid).state != "runn":  # work goes on on the healthy host
                assert time.monotonic() < deadline, store.vms.get(vid)
                time.sleep(0.2)
            time.sleep(6)  # longer than the host timeout, three lease lengths
            hung_host = store.hosts.get(hung)
            assert hung_host.state == "err"
            assert re.fullmatch(r"no answer (in 4|for \d+) s.*", hung_host.error)
            assert store.hosts.get(ok).state == "on"
            leads = [e.message for e in store.events.recent(kind="engine", limit=100)
                     if "took the lead" in e.message]
            assert len(leads) == 1, leads  # the second engine only ever waited
            first.send_signal(signal.SIGTERM)
            first.wait(timeout=10)  # SIGTERM ends serve although a call still hangs
            deadline = time.monotonic() + 20
            while len([e for e in store.events.recent(kind="engine", limit=100)
                       if "took the lead" in e.message]) < 2:
                assert time.monotonic() < deadline, "the second engine never took over"
                time.sleep(0.2)
            events = [e.message for e in reversed(store.events.recent(kind="engine",
                                                                       limit=100))]
            stopped = next(i for i, m in enumerate(events) if m.endswith(" stopped"))
            second_lead = [i for i, m in enumerate(events) if "took the lead" in m][1]
            assert stopped < second_lead  # one engine at a time, by the store's own log
            hosts = [e.message for e in store.events.recent(limit=500)]
            assert not [m for m, n in Counter(hosts).items() if n > 1 and "→" in m]
        finally:
            for proc in (first, second):
                if proc is not None and proc.poll() is None:
                    proc.kill()
                    proc.wait()
