"""The web tier on real guests: QEMU VMs (busybox httpd) behind Debian's nginx, scaled
2 → 3 → 1 by the service manager while a client loop counts errors — none."""

from __future__ import annotations

import time

from onetui.engine.loop import Engine
from onetui.integrations.nginx import LoadBalancer
from onetui.runtime.compose import build_engine
from onetui.store import Store
from tests.beds.nginx import Client, get
from tests.beds.virt import GUEST

PORT = 8083
GUEST_TEMPLATE = (
    "CPU = 0.5\nMEMORY = 192\n"
    f'OS = [ kernel = "{GUEST}/vmlinuz", initrd = "{GUEST}/initrd.img",\n'
    '       kernel_cmd = "console=ttyS0 quiet panic=-1", machine = pc ]\n'
    f'NIC = [ NETWORK = "qnet", HOSTFWD = "{PORT}-:80" ]\n')


def run_until(engine: Engine, check, timeout: float = 180) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, (
            f"the web tier did not converge: {engine.store.services.list()[0]} "
            f"{[(v.name, v.state, v.intent, v.message) for v in engine.store.vms.list()]} "
            f"{[e.message for e in engine.store.events.recent(6)]}")
        engine.run_pass()
        time.sleep(0.5)


def test_real_guests_behind_nginx_scale_without_errors(qemu, store: Store,
                                                       nginx: tuple[LoadBalancer, str]) -> None:
    lb, url = nginx
    store.hosts.add("kvm1", "libvirt", {"uri": "qemu:///system", "domain_type": "qemu"})
    store.networks.add("qnet", "127.0.2.10", "127.0.2.20")
    store.templates.add("guestweb", GUEST_TEMPLATE)
    svc = store.services.add("gweb", store.templates.get("guestweb").id, None, 1, 4,
                             {"port": PORT, "health": "http",
                              "lb": {"conf": lb.conf, "nginx": lb.nginx,
                                                   "prefix": lb.prefix}})
    engine = build_engine(store, {})
    assert engine.lead()

    def members() -> list:
        return [v for v in store.vms.list(include_done=False) if v.info.get("service") == svc.id]

    try:
        store.services.scale("gweb", 2)
        run_until(engine, lambda: len(lb.servers()) == 2)
        assert sorted(lb.servers()) == ["127.0.2.10:8083", "127.0.2.11:8083"]
        time.sleep(1.5)  # the reload settles
        assert get(url).startswith("onetui guest")  # a real guest's busybox httpd answers
        with Client(url) as client:
            store.services.scale("gweb", 3)
            run_until(engine, lambda: len(lb.servers()) == 3)
            store.services.scale("gweb", 1)
            run_until(engine, lambda: len(lb.servers()) == 1 and len(members()) == 1)
            time.sleep(1.0)
        assert client.ok > 20 and client.errors == 0
        assert [v.name for v in members()] == ["gweb-0"]
    finally:
        for vm in store.vms.list(include_done=False):
            store.vms.update(vm.id, intent="cancel")
        engine.run_pass()
        engine.close()
