"""Service operations: create, scale, list, show (with members and rule states), delete,
and the elasticity rules (add, delete)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from onetui.access import Caller
from onetui.api.registry import operation, optional, required
from onetui.errors import UserError
from onetui.managers.elasticity import check_rule
from onetui.store import Store
from onetui.view.describe import service_text
from onetui.view.rows import service_counts


@operation("service.create", name=required(str), template=required(str),
           burst_template=optional(None, str), min_size=optional(1, int),
           max_size=optional(8, int), port=optional(80, int), health=optional("tcp", str),
           lb=optional(None, dict), grid=optional(False, bool))
def service_create(store: Store, caller: Caller, name: str, template: str,
                   burst_template: str | None, min_size: int, max_size: int, port: int,
                   health: str, lb: dict[str, Any] | None, grid: bool) -> int:
    """A service of `template`'s VMs kept at a size; `lb` the load balancer's settings
    (conf, upstream, nginx, host, prefix, status_url)."""
    if health not in ("tcp", "http"):
        raise UserError(f"--health {health!r}: expected tcp or http")
    tpl = store.templates.get(template)
    burst = store.templates.get(burst_template).id if burst_template else None
    config: dict[str, Any] = {"port": port, "health": health, **({"grid": True} if grid else {})}
    if lb:
        known = {"conf", "upstream", "nginx", "host", "prefix", "status_url"}
        if set(lb) - known or not isinstance(lb.get("conf"), str):
            raise UserError(f"lb: expected conf (and upstream, nginx, host, prefix, "
                            f"status_url), got {', '.join(sorted(lb))}")
        if not lb.get("host") and not Path(lb["conf"]).is_file():
            raise UserError(f"--lb-conf {lb['conf']}: no such file")
        config["lb"] = {k: v for k, v in lb.items() if v}
    return store.services.add(name, tpl.id, burst, min_size, max_size, config).id


@operation("service.scale", ref=required(str, int), size=required(int))
def service_scale(store: Store, caller: Caller, ref: str | int, size: int) -> str:
    svc = store.services.scale(ref, size)
    return f"service {svc.name}: desired {svc.desired}"


@operation("service.list")
def service_list(store: Store, caller: Caller) -> list[dict[str, Any]]:
    """Each service as `service list --json` prints it."""
    with store.db.snapshot():
        services = store.services.list()
        # no services (most stores): the VMs are not read at all
        counts = service_counts(services, store.vms.list(include_done=False)
                                if services else [])
    return [{"id": s.id, "name": s.name, "min": s.min_size, "max": s.max_size,
             "desired": s.desired, "running": counts[s.id][0], "members": counts[s.id][1]}
            for s in services]


@operation("service.show", ref=required(str, int))
def service_show(store: Store, caller: Caller, ref: str | int) -> dict[str, Any]:
    """The service as `service show --json` prints it (members also carry their host),
    and `service show`'s text (view.describe, as the console's service detail shows it)."""
    with store.db.snapshot():
        s = store.services.get(ref)
        members = [v for v in store.vms.list(include_done=False)
                   if v.info.get("service") == s.id]
        text = service_text(store, s.id)[1]
    return {"id": s.id, "name": s.name, "min": s.min_size, "max": s.max_size,
            "desired": s.desired, "config": s.config,
            "members": [{"id": v.id, "name": v.name, "state": v.state, "ip": v.ip,
                         "tier": v.info.get("tier"), "host_name": v.host_name}
                        for v in members], "text": text}


@operation("service.delete", ref=required(str, int))
def service_delete(store: Store, caller: Caller, ref: str | int) -> str:
    s = store.services.delete(ref)
    return f"deleted service {s.id} {s.name}"


@operation("service.rule_add", ref=required(str, int), when=required(str),
           hold=optional(60.0, float, int), change=required(int),
           cooldown=optional(300.0, float, int))
def service_rule_add(store: Store, caller: Caller, ref: str | int, when: str, hold: float,
                     change: int, cooldown: float) -> str:
    new = check_rule(when, hold, change, cooldown)
    svc = store.services.get(ref)
    rules = [*svc.config.get("rules", []), new.to_dict()]
    store.services.update_config(svc.id, {"rules": rules, "rule_state": []},
                                 event=f"rule added: {when} for {hold:g} s → {change:+d}")
    return f"rule {len(rules) - 1} added to {svc.name}"


@operation("service.rule_delete", ref=required(str, int), index=required(int))
def service_rule_delete(store: Store, caller: Caller, ref: str | int, index: int) -> None:
    svc = store.services.get(ref)
    rules = list(svc.config.get("rules", []))
    if not 0 <= index < len(rules):
        raise UserError(f"service {svc.name} has no rule {index} (it has {len(rules)})")
    gone = rules.pop(index)
    store.services.update_config(svc.id, {"rules": rules, "rule_state": []},
                                 event=f"rule deleted: {gone['when']}")
