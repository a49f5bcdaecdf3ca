"""`onetui serve --metrics HOST:PORT`: the engine's figures for the Prometheus admins
already run, in its text format, from the official `prometheus_client` library.

What is *current state* (hosts and VMs by state, each host's CPU and memory, service
sizes, SGE queue lengths, whether this engine leads) is read when Prometheus scrapes, by
a collector with a read-only store connection of its own: a scrape never waits on the
engine's connection, and the engine never waits on a scrape. What *happens* in the engine
(pass durations, errors, EC2 API calls) is counted as it happens and only read here.

The SGE figures are the grid the service manager last read for a grid tier's rules (no
SSH call per scrape); without `[sge]`, or before that first read, there are none.
prometheus_client's own HTTP server answers in daemon threads of its own. This module is
imported only when `--metrics` is given, so other commands do not pay for the library.
"""

from __future__ import annotations

import ipaddress
import sqlite3
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from onetui.engine.loop import Engine
from onetui.errors import UserError
from onetui.managers.elasticity import grid_metrics
from onetui.managers.services import GONE, ServiceManager
from onetui.model import HOST_STATES, VM_STATES, Host
from onetui.store import Store
from onetui.store.db import StoreError

EXAMPLE = "127.0.0.1:9464"
# an engine pass takes milliseconds on a few hosts, seconds on a thousand or a slow cloud
PASS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                120.0)
MB = 1024 * 1024


def parse_address(text: str, *, public: bool = False) -> tuple[str, int]:
    """HOST:PORT (`[::1]:PORT` for IPv6) → (host, port). A host that is not loopback is
    refused unless `public`: the figures name every host, VM state and service."""
    host, sep, port_text = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UserError(f"--metrics {text!r}: expected HOST:PORT with a port 1-65535, "
                        f"e.g. {EXAMPLE}")
    if not public and not _loopback(host):
        raise UserError(f"--metrics {text!r}: {host} is not a loopback address; expected "
                        f"e.g. {EXAMPLE}, or add --metrics-public to serve it beyond this "
                        "machine")
    return host, int(port_text)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve anywhere


class Exporter:
    """The registry of one engine's figures and the HTTP server that answers scrapes."""

    def __init__(self, engine: Engine) -> None:
        self.registry = CollectorRegistry()
        for collector in (ProcessCollector, PlatformCollector, GCCollector):
            collector(registry=self.registry)
        self.collector = EngineCollector(engine)
        self.registry.register(self.collector)
        self.pass_seconds = Histogram(
            "onetui_engine_pass_duration_seconds", "Seconds each engine pass took.",
            buckets=PASS_BUCKETS, registry=self.registry)
        engine.on_pass = self.pass_seconds.observe
        self._server: Any = None

    def listen(self, host: str, port: int) -> None:
        try:
            self._server, _thread = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            raise UserError(f"--metrics {host}:{port}: cannot listen there: "
                            f"{exc.strerror or exc}") from None

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.collector.close()


class EngineCollector(Collector):
    """The current figures, read at scrape time (see the module's docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._store: Store | None = None
        self._lock = threading.Lock()  # scrapes may come at once (a thread each)

    def collect(self) -> Iterator[Metric]:
        engine = self.engine
        yield GaugeMetricFamily("onetui_engine_leading", "1 while this engine holds the "
                                "lease and acts, 0 while it waits for another engine.",
                                value=int(engine.leading))
        errors = CounterMetricFamily(
            "onetui_engine_errors", "Errors the engine logged as events: a failed pass or "
            "look (pass), a broken manager (hook), one VM or host failed alone (object).",
            labels=["kind"])
        for kind, count in sorted(dict(engine.errors).items()):
            errors.add_metric([kind], count)
        yield errors
        calls = CounterMetricFamily("onetui_ec2_api_calls", "EC2 API calls made, by action.",
                                    labels=["action"])
        ec2 = sys.modules.get("onetui.drivers.ec2")  # not imported: no EC2 host, no calls
        for action, count in sorted(ec2.api_calls().items() if ec2 else ()):
            calls.add_metric([action], count)
        yield calls
        readable = 1
        with self._lock:
            try:
                figures = list(self._store_figures())
            except (StoreError, sqlite3.Error):
                self._close_store()  # the next scrape opens it again
                figures, readable = [], 0
        yield from figures
        yield GaugeMetricFamily("onetui_store_readable", "1 when this scrape could read the "
                                "store; 0 when its figures are missing from it.",
                                value=readable)
        yield from self._grid_figures()

    # -- from the store -------------------------------------------------------------------

    def _store_figures(self) -> Iterator[Metric]:
        if self._store is None:
            self._store = Store(self.engine.store.path, read_only=True)
        store = self._store
        hosts = store.hosts.list()
        yield from _host_figures(hosts)
        vms = GaugeMetricFamily("onetui_vms", "VMs by state (onevm list's STAT).",
                                labels=["state"])
        counts = store.vms.count_by_state()
        for state in VM_STATES:
            vms.add_metric([state], counts.get(state, 0))
        yield vms
        services = store.services.list()
        desired = GaugeMetricFamily("onetui_service_desired_size",
                                    "VMs a service is asked to keep.", labels=["service"])
        size = GaugeMetricFamily("onetui_service_size", "A service's VMs that are not done "
                                 "or failed (pending and booting ones included).",
                                 labels=["service"])
        running = GaugeMetricFamily("onetui_service_running_size",
                                    "A service's VMs that are running.", labels=["service"])
        if services:
            members: Counter[Any] = Counter()
            live: Counter[Any] = Counter()
            for vm in store.vms.list(include_done=False):
                svc = vm.info.get("service")
                if svc is not None and vm.state not in GONE:
                    members[svc] += 1
                    live[svc] += vm.state == "runn"
            for svc in services:
                desired.add_metric([svc.name], svc.desired)
                size.add_metric([svc.name], members[svc.id])
                running.add_metric([svc.name], live[svc.id])
        yield from (desired, size, running)

    def close(self) -> None:
        with self._lock:
            self._close_store()

    def _close_store(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    # -- from the grid the service manager last read ----------------------------------------

    def _grid_figures(self) -> Iterator[Metric]:
        watch = next((hook.grid for hook in self.engine.hooks
                      if isinstance(hook, ServiceManager) and hook.grid is not None), None)
        grid = watch.grid if watch is not None else None
        if grid is None:
            return
        running = GaugeMetricFamily("onetui_sge_jobs_running", "SGE jobs running, by queue.",
                                    labels=["queue"])
        used = GaugeMetricFamily("onetui_sge_slots_used", "SGE slots in use, by queue.",
                                 labels=["queue"])
        total = GaugeMetricFamily("onetui_sge_slots_total", "SGE slots, by queue.",
                                  labels=["queue"])
        jobs: dict[str, set[int]] = {}
        slots: dict[str, list[int]] = {}
        for qi in grid.queues:
            jobs.setdefault(qi.queue, set()).update(j.number for j in qi.jobs)
            pair = slots.setdefault(qi.queue, [0, 0])
            pair[0] += qi.used or 0
            pair[1] += qi.total or 0
        for queue in sorted(jobs):
            running.add_metric([queue], len(jobs[queue]))
            used.add_metric([queue], slots[queue][0])
            total.add_metric([queue], slots[queue][1])
        figures = grid_metrics(grid)
        yield from (running, used, total)
        yield GaugeMetricFamily("onetui_sge_jobs_pending", "SGE jobs waiting for a slot.",
                                value=figures["PENDING_JOBS"])
        yield GaugeMetricFamily("onetui_sge_oldest_pending_seconds",
                                "Age of the oldest pending SGE job (0: none).",
                                value=figures["OLDEST_PENDING_S"])
        yield GaugeMetricFamily("onetui_sge_grid_stale", "1 when the last read of the grid "
                                "failed and these figures are older.",
                                value=int(watch is not None and watch.stale_since is not None))


def _host_figures(hosts: list[Host]) -> Iterator[Metric]:
    """Hosts by state, and each monitored host's CPU (in cores) and memory (in bytes):
    total, used as monitoring measured it, allocated to the VMs placed on it."""
    by_state = GaugeMetricFamily("onetui_hosts", "Hosts by state (onehost list's STAT).",
                                 labels=["state"])
    counts = Counter(h.stat for h in hosts)
    for state in HOST_STATES:
        by_state.add_metric([state], counts.get(state, 0))
    yield by_state
    names = ("cpu_total_cores", "cpu_used_cores", "cpu_allocated_cores", "memory_total_bytes",
             "memory_used_bytes", "memory_allocated_bytes", "running_vms")
    helps = ("CPU of a host, in cores.", "CPU in use on a host as monitored, in cores.",
             "CPU given to the VMs on a host, in cores.", "Memory of a host, in bytes.",
             "Memory in use on a host as monitored, in bytes.",
             "Memory given to the VMs on a host, in bytes.", "VMs running on a host.")
    families = [GaugeMetricFamily(f"onetui_host_{name}", text, labels=["host"])
                for name, text in zip(names, helps, strict=True)]
    for host in hosts:
        mon = host.monitor
        if "TCPU" not in mon:
            continue  # never monitored: no figures rather than zeros
        tcpu, tmem = float(mon["TCPU"]), float(mon.get("TMEM", 0))
        values = (tcpu / 100, (tcpu - float(mon.get("FCPU", tcpu))) / 100,
                  (tcpu - float(mon.get("ACPU", tcpu))) / 100, tmem * MB,
                  (tmem - float(mon.get("FMEM", tmem))) * MB,
                  (tmem - float(mon.get("AMEM", tmem))) * MB, float(mon.get("RVM", 0)))
        for family, value in zip(families, values, strict=True):
            family.add_metric([host.name], value)
    yield from families
