"""The service manager (the seed's "Service Manager"): keeps each service at its desired size
and its load balancer's upstream list in step with the members that answer.

It is an engine hook: `tick` runs every pass, `hold_stop` drains a member from the load
balancer before the engine lets it shut down. Members are ordinary VMs carrying
`info.service`; scaling in shuts the newest down first.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from onetui.drivers.base import error_line
from onetui.errors import UserError
from onetui.integrations.nginx import LoadBalancer
from onetui.managers.elasticity import Rule, RuleState, WebMetrics, evaluate, grid_metrics
from onetui.model import VM
from onetui.model.services import Service
from onetui.ops import vm_actions as actions
from onetui.ops.instantiate import resolve, specs
from onetui.remote.ssh import Local, Pool
from onetui.remote.ssh import resolve as resolve_host
from onetui.store import Store
from onetui.store.db import StoreError

GONE = frozenset({"done", "fail"})
# After a member leaves the upstream list, nginx's old workers may still send it requests
# until the reload has settled and their connections finished: it is shut down only then.
DRAIN_GRACE = 2.0
# The grid's history point is read at most this often (seconds) when no grid tier's rules
# read it anyway.
GRID_EVERY = 10.0


def answers(ip: str, port: int, health: str = "tcp", timeout: float = 1.0) -> bool:
    """Whether the member is ready for traffic. `tcp`: it accepts a connection and does not
    drop it at once (a port forward accepts even while nothing listens behind it, then
    closes); `http`: it answers an HTTP request with any status."""
    try:
        with socket.create_connection((ip, port), timeout=timeout) as sock:
            if health == "http":
                sock.sendall(f"GET / HTTP/1.0\r\nHost: {ip}\r\n\r\n".encode())
                return sock.recv(12).startswith(b"HTTP/")
            sock.settimeout(0.3)
            try:
                return sock.recv(1, socket.MSG_PEEK) != b""
            except TimeoutError:
                return True  # connected and waiting for us to speak: alive
    except OSError:
        return False


class ServiceManager:
    def __init__(self, store: Store, pool: Pool | None = None,
                 grid: Any = None) -> None:
        self.store = store
        self.pool = pool or Pool()
        self.grid = grid  # a GridWatch, when SGE is configured (grid tiers' metrics)
        self._web: dict[int, WebMetrics] = {}
        self._rules: dict[int, list[RuleState]] = {}
        # history points measured by the last tick (`samples`), and when the grid was last
        # read for them (a qstat over SSH: not every pass)
        self._points: list[tuple[str, str, dict[str, float]]] = []
        self._grid_read = -GRID_EVERY

    # -- engine hook ------------------------------------------------------------------------

    def vm_changed(self, vm: VM, old: str, new: str) -> None:
        return None

    def tick(self, _running: list[VM]) -> None:
        self._points = []
        self._sample_grid()
        services = self.store.services.list()
        if not services:
            return
        vms = self.store.vms.list(include_done=False)
        for svc in services:
            members = [v for v in vms if v.info.get("service") == svc.id and v.state not in GONE]
            try:
                self._size(svc, members)
                self._balance(svc, self.store.vms.by_ids([m.id for m in members]))
                metrics = self._elastic(svc, members)
                self._sample(svc, members, metrics)
            except StoreError:
                raise
            except Exception as exc:  # this service alone; the next one is still kept
                self.store.events.add("service", svc.id,
                                      f"service {svc.name}: {error_line(exc)}", level="error")

    def samples(self) -> list[tuple[str, str, dict[str, float]]]:
        """The history points the last tick measured (the engine writes them)."""
        points, self._points = self._points, []
        return points

    # -- history points -----------------------------------------------------------------------

    def _sample(self, svc: Service, members: list[VM], metrics: dict[str, float] | None) -> None:
        """Desired and running size, and requests/s when the service has a status page
        (read here when no elasticity rule read it this tick)."""
        point = {"desired": float(self.store.services.get(svc.id).desired),
                 "running": float(sum(m.state == "runn" for m in members))}
        if metrics is None and (svc.config.get("lb") or {}).get("status_url"):
            try:
                metrics = self._web_metrics(svc)
            except UserError:
                metrics = None  # no point for it; the rules (if any) say why
        if metrics and "REQUESTS_PER_S" in metrics:
            point["rps"] = metrics["REQUESTS_PER_S"]
        self._points.append(("service", str(svc.id), point))

    def _sample_grid(self) -> None:
        """The grid's running and pending jobs and the oldest pending job's age, from the
        last good qstat (read again when GRID_EVERY has passed)."""
        if self.grid is None:
            return
        now = time.monotonic()
        if now - self._grid_read >= GRID_EVERY:
            self._grid_read = now
            self.grid.poll()
        grid, stale = self.grid.grid, self.grid.stale_since is not None
        if grid is None or stale:
            return  # no point rather than an old one
        figures = grid_metrics(grid)
        self._points.append(("grid", "grid", {
            "running": float(sum(len(q.jobs) for q in grid.queues)),
            "pending": figures["PENDING_JOBS"],
            "oldest_pending_s": figures["OLDEST_PENDING_S"]}))

    def hold_stop(self, vm: VM) -> str:
        """Take a member out of its load balancer before it shuts down (drain)."""
        svc_id = vm.info.get("service")
        if svc_id is None or not vm.ip:
            return ""
        try:
            svc = self.store.services.get(svc_id)
        except UserError:
            return ""
        lb = self._lb(svc)
        if lb is None:
            return ""
        server = f"{vm.ip}:{svc.config.get('port', 80)}"
        try:
            current = lb.servers()
            if server in current:
                lb.apply([s for s in current if s != server])
        except UserError as exc:
            return f"draining from the load balancer: {exc}"
        drained = vm.info.get("lb_drained_at")
        if drained is None:
            self.store.vms.update(vm.id, info={**vm.info, "lb_drained_at": time.time()},
                                  event=f"service {svc.name}: {server} (VM {vm.id}) drained "
                                        "from the load balancer")
            return "draining from the load balancer"
        if time.time() - drained < float(svc.config.get("drain_grace", DRAIN_GRACE)):
            return "draining from the load balancer"
        return ""

    # -- size ---------------------------------------------------------------------------------

    def _size(self, svc: Service, members: list[VM]) -> None:
        live = [m for m in members if m.intent not in ("shutdown", "cancel")
                and m.state != "shut"]
        live = self._burst(svc, live)
        if len(live) < svc.desired:
            self._grow(svc, svc.desired - len(live), members)
        elif len(live) > svc.desired:
            newest = sorted(live, key=lambda m: (m.state in ("pend", "hold"), m.id),
                            reverse=True)
            for vm in newest[:len(live) - svc.desired]:
                if vm.state in ("pend", "hold"):
                    actions.delete(self.store, vm.id)
                else:
                    actions.shutdown(self.store, vm.id)

    def _burst(self, svc: Service, live: list[VM]) -> list[VM]:
        """A local member the scheduler cannot place, while a burst template exists, is
        replaced by one from the burst template (local first, the cloud when full)."""
        if not svc.burst_template_id:
            return live
        stuck = [m for m in live if m.state == "pend" and m.info.get("tier") == "local"
                 and m.message.startswith("cannot be placed")]
        for vm in stuck:
            actions.delete(self.store, vm.id)
            self.store.events.add("service", svc.id, f"service {svc.name}: no local host "
                                  f"has room for VM {vm.id}; bursting to the burst template")
        if stuck:
            self._grow(svc, len(stuck), live, tier="burst")
        return [m for m in live if m not in stuck]

    def _grow(self, svc: Service, count: int, members: list[VM], tier: str = "local") -> None:
        template_id = svc.burst_template_id if tier == "burst" else svc.template_id
        if template_id is None:
            raise UserError("its template was deleted")
        source = resolve(self.store, str(template_id))
        used = {m.name for m in members}
        names: list[str] = []
        index = 0
        while len(names) < count:
            name = f"{svc.name}-{index}"
            if name not in used:
                names.append(name)
            index += 1
        new = []
        for name in names:
            (spec,) = specs(source, 1, name)
            spec["info"] = {"service": svc.id, "tier": tier}
            new.append(spec)
        ids = self.store.vms.create(new)
        self.store.events.add("service", svc.id, f"service {svc.name}: +{count} ({tier}): "
                              f"VM {', '.join(map(str, ids))}")

    # -- elasticity ---------------------------------------------------------------------------

    def _metrics(self, svc: Service, members: list[VM]) -> dict[str, float]:
        metrics = {"SIZE": float(len(members)),
                   "RUNNING": float(sum(m.state == "runn" for m in members))}
        metrics.update(self._web_metrics(svc))
        if svc.config.get("grid") and self.grid is not None:
            grid = self.grid.poll()
            if grid is not None:
                metrics.update(grid_metrics(grid))
        return metrics

    def _web_metrics(self, svc: Service) -> dict[str, float]:
        url = (svc.config.get("lb") or {}).get("status_url")
        if not url:
            return {}
        watch = self._web.setdefault(svc.id, WebMetrics(url))
        try:
            return watch.read()
        except (OSError, UserError) as exc:
            raise UserError(f"metrics from {url}: {exc}") from None

    def _elastic(self, svc: Service, members: list[VM]) -> dict[str, float] | None:
        """Apply the service's rules; returns the metrics they were weighed on (None
        without rules)."""
        rules = [Rule.from_dict(r) for r in svc.config.get("rules", [])]
        if not rules:
            return None
        metrics = self._metrics(svc, members)
        states = self._rules.get(svc.id)
        if states is None or len(states) != len(rules):
            states = self._rules[svc.id] = [RuleState() for _ in rules]
        now = time.monotonic()
        lines = []
        for rule, state in zip(rules, states, strict=True):
            fire = evaluate(rule, state, metrics, now)
            lines.append(state.describe(rule, metrics, now))
            cooled = time.time() - float(svc.config.get("last_scaled_at", 0)) >= rule.cooldown
            target = min(max(svc.desired + rule.change, svc.min_size), svc.max_size)
            if fire and cooled and target != svc.desired:
                why = f"rule {lines[-1]}"
                svc = self.store.services.scale(svc.id, target, why=why)
                svc = self.store.services.update_config(svc.id, {"last_scaled_at": time.time()})
                state.since = None
        self.store.services.update_config(svc.id, {"rule_state": lines, "metrics": metrics})
        return metrics

    # -- load balancer ------------------------------------------------------------------------

    def _lb(self, svc: Service) -> LoadBalancer | None:
        cfg = svc.config.get("lb")
        if not cfg:
            return None
        runner: Any = Local() if not cfg.get("host") else self.pool.get(
            resolve_host(cfg["host"], cfg.get("port"), cfg.get("user"), cfg.get("key_file")))
        return LoadBalancer(runner, cfg["conf"], cfg.get("upstream", "one_loadbalancer"),
                            cfg.get("nginx", "nginx"), cfg.get("prefix"))

    def _balance(self, svc: Service, members: list[VM]) -> None:
        lb = self._lb(svc)
        if lb is None:
            return
        port = int(svc.config.get("port", 80))
        health = str(svc.config.get("health", "tcp"))
        ready = sorted(f"{m.ip}:{port}" for m in members if m.state == "runn" and not m.intent
                       and m.ip and answers(m.ip, port, health))
        if not ready and svc.desired > 0:
            return  # members still booting: what nginx has now beats an empty list
        if lb.apply(ready):
            self.store.events.add("service", svc.id, f"service {svc.name}: load balancer now "
                                  f"{len(ready)} server(s): {', '.join(ready) or 'none'}")
