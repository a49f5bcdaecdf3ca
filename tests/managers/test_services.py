"""The service manager: a web tier kept at its size, its nginx upstream following the
members that answer, drained before they shut down — no client sees an error.

Members are libvirt test-driver VMs with addresses leased from a network on loopback
(127.0.1.x); the web server "inside" each one is an HTTP server the test starts on that
address once the VM runs, as the VM's own would."""

from __future__ import annotations

import time
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from onetui.data import node_uri
from onetui.engine.loop import Engine
from onetui.errors import UserError
from onetui.integrations.nginx import LoadBalancer
from onetui.runtime.compose import build_engine
from onetui.store import Store
from tests.beds.nginx import Client, get, seen, serve

PORT = 8081
WEB = 'CPU = 0.5\nMEMORY = 128\nNIC = [ NETWORK = "webnet" ]\n'


class Tier:
    """Web servers for running members, gone when their VM is gone."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.up: dict[int, ThreadingHTTPServer] = {}

    def sync(self) -> None:
        vms = {v.id: v for v in self.store.vms.list(include_done=False)}
        for vid, vm in vms.items():
            if vm.state == "runn" and vm.ip and vid not in self.up:
                self.up[vid] = serve(vm.ip, PORT, vm.name)
        for vid in [v for v in self.up if v not in vms or vms[v].state != "runn"]:
            self.up.pop(vid).shutdown()


def converge(engine: Engine, tier: Tier, check, timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        engine.run_pass()
        tier.sync()
        if check():
            return
        assert time.monotonic() < deadline, "the service did not converge"
        time.sleep(0.1)


def settle(url: str, names: set[str]) -> None:
    """nginx -s reload returns before the new workers take over: until then the old ones
    answer from the list the fixture started with."""
    for _ in range(100):
        if get(url) in names:
            time.sleep(1.0)
            return
        time.sleep(0.1)


@pytest.mark.slow
def test_scale_2_4_1_with_the_upstream_following(store: Store, tmp_path: Path,
                                                 nginx: tuple[LoadBalancer, str]) -> None:
    lb, url = nginx
    store.hosts.add("ursa03", "libvirt", {"uri": node_uri("ursa03")})
    store.networks.add("webnet", "127.0.1.10", "127.0.1.40")
    store.templates.add("web", WEB)
    svc = store.services.add("web", store.templates.get("web").id, None, 1, 8,
                             {"port": PORT, "lb": {"conf": lb.conf, "nginx": lb.nginx,
                                                   "prefix": lb.prefix}})
    engine = build_engine(store, {})
    assert engine.lead()
    tier = Tier(store)

    def members() -> list:
        return [v for v in store.vms.list(include_done=False) if v.info.get("service") == svc.id]

    def upstream_is(n: int):  # type: ignore[no-untyped-def]
        return lambda: len(lb.servers()) == n and sum(v.state == "runn" for v in members()) == n

    try:
        store.services.scale("web", 2)
        converge(engine, tier, upstream_is(2))
        assert {v.name for v in members()} == {"web-0", "web-1"}
        settle(url, {"web-0", "web-1"})
        assert set(seen(url, 20)) == {"web-0", "web-1"}
        with Client(url) as client:
            store.services.scale("web", 4)
            converge(engine, tier, upstream_is(4))
            assert set(seen(url, 40)) == {"web-0", "web-1", "web-2", "web-3"}
            store.services.scale("web", 1)
            converge(engine, tier, lambda: upstream_is(1)() and len(members()) == 1)
            time.sleep(0.5)
        assert client.ok > 20 and client.errors == 0  # nobody saw an error
        assert [v.name for v in members()] == ["web-0"]  # the newest went first
        assert set(seen(url, 10)) == {"web-0"}
        events = [e.message for e in store.events.recent(limit=300)]
        assert sum("drained from the load balancer" in m for m in events) == 3
        with pytest.raises(UserError, match=r"size 9 is outside 1\.\.8"):
            store.services.scale("web", 9)
    finally:
        for httpd in tier.up.values():
            httpd.shutdown()
        engine.close()


def test_burst_template_when_no_local_host_has_room(store: Store, tmp_path: Path) -> None:
    """The local template first; when the scheduler finds no room for it, the member is
    replaced by one of the burst template (here a second libvirt host stands in for EC2;
    tests/ec2 shows the EC2 path itself)."""
    store.hosts.add("small", "libvirt", {"uri": node_uri("ursa04")})  # 4 cores, 8 GiB
    store.hosts.add("cloud", "libvirt", {"uri": node_uri("ursa03")})
    store.templates.add("local", 'CPU = 1\nMEMORY = 3072\nREQUIREMENTS = "HOSTNAME = small"\n')
    store.templates.add("burst", 'CPU = 1\nMEMORY = 3072\nREQUIREMENTS = "HOSTNAME = cloud"\n')
    svc = store.services.add("web", store.templates.get("local").id,
                             store.templates.get("burst").id, 3, 6, {})
    engine = build_engine(store, {})
    assert engine.lead()
    try:
        deadline = time.monotonic() + 30
        while True:
            engine.run_pass()
            members = [v for v in store.vms.list(include_done=False)
                       if v.info.get("service") == svc.id]
            if len(members) == 3 and all(v.state == "runn" for v in members):
                break
            assert time.monotonic() < deadline, [(v.name, v.state) for v in members]
        placed = sorted((v.host_name, v.info["tier"]) for v in members)
        assert placed == [("cloud", "burst"), ("small", "local"), ("small", "local")]
        assert any("no local host has room" in e.message
                   for e in store.events.recent(limit=100, kind="service"))
    finally:
        engine.close()
