"""Sun Grid Engine and EC2 operations that act with the daemon's own credentials (the
`[sge]` master's SSH key, the cloud's): the grid (`qstat -f`), its hosts, job submission,
its exec hosts grown and shrunk (the grid service tier), and the EC2 instances no VM owns
(listed, or terminated on the admin's word)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from onetui import config
from onetui.access import Caller
from onetui.api.registry import BadRequest, operation, optional, required
from onetui.drivers.base import BatchLauncher
from onetui.drivers.registry import make_driver
from onetui.errors import UserError
from onetui.integrations.sge.grid import render_qstat
from onetui.integrations.sge.master import Master, SgeConfig
from onetui.managers.sge import exec_host_count, grow, shrink
from onetui.store import Store


def _master() -> Master:
    cfg = SgeConfig.from_config(config.load_config())
    if cfg is None:
        raise UserError(f"no SGE master configured: add an [sge] table (host, user, key_file) "
                        f"to {config.config_path()}")
    return Master(cfg)


@operation("sge.qstat")
def sge_qstat(store: Store, caller: Caller) -> dict[str, Any]:
    """The grid: its parsed structure and `qstat -f`'s text."""
    m = _master()
    try:
        grid = m.qstat()
    finally:
        m.close()
    return {"grid": grid.to_json(), "text": render_qstat(grid)}


@operation("sge.hosts")
def sge_hosts(store: Store, caller: Caller) -> list[dict[str, Any]]:
    m = _master()
    try:
        return list(m.qhost())
    finally:
        m.close()


@operation("sge.submit", writes=True, script_b64=required(str), name=required(str))
def sge_submit(store: Store, caller: Caller, script_b64: str, name: str) -> str:
    """qsub the script (its bytes, base64) as the configured SGE user; the job id."""
    try:
        body = base64.b64decode(script_b64, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("sge.submit: 'script_b64' is not base64") from None
    m = _master()
    try:
        return str(m.submit(body, name))
    finally:
        m.close()


@operation("sge.grow", writes=True, count=required(int, str), template=required(str))
def sge_grow(store: Store, caller: Caller, count: int | str, template: str) -> dict[str, Any]:
    """`count` more exec hosts cloned from `template` on the grid service tier
    (managers.sge.grow); refused without an [sge] master, whose grid they could never
    join. `count` as typed (managers.sge.exec_host_count is its one check). The tier's
    name and its desired size before and after."""
    n = exec_host_count("grow", count)
    if SgeConfig.from_config(config.load_config()) is None:
        raise UserError(f"sge grow: no SGE master configured, so the exec hosts could not "
                        f"join it: add an [sge] table (host, user, key_file) to "
                        f"{config.config_path()}")
    tier, before = grow(store, n, template)
    return {"name": tier.name, "before": before, "after": tier.desired}


@operation("sge.shrink", writes=True, count=required(int, str), template=optional(None, str))
def sge_shrink(store: Store, caller: Caller, count: int | str,
               template: str | None) -> dict[str, Any]:
    """`count` fewer exec hosts in the tier of `template` (or the only one), newest first
    (managers.sge.shrink): the tier's name and its desired size before and after."""
    tier, before = shrink(store, exec_host_count("shrink", count), template)
    return {"name": tier.name, "before": before, "after": tier.desired}


@operation("ec2.orphans", terminate=optional(False, bool))
def ec2_orphans(store: Store, caller: Caller, terminate: bool) -> list[dict[str, str]]:
    """Instances tagged with this store that no VM owns, as the engine last saw them; with
    `terminate`, those still orphaned and running are ended (and only those returned)."""
    rows = [{"host": h.name, "instance": iid} for h in store.hosts.list()
            if h.driver == "ec2" for iid in h.monitor.get("ORPHANS", [])]
    if not terminate:
        return rows
    return _terminate(store, rows)


def _terminate(store: Store, rows: list[dict[str, str]]) -> list[dict[str, str]]:
    owned = {vm.deploy_id for vm in store.vms.list(include_done=False)}
    ended = []
    for h in store.hosts.list():
        ids = [r["instance"] for r in rows if r["host"] == h.name and r["instance"] not in owned]
        if not ids:
            continue
        driver = make_driver(h, store.store_id)
        try:
            live = driver.guests()  # still ours, still running?
            ids = [iid for iid in ids if iid in live]
            if isinstance(driver, BatchLauncher):
                driver.terminate(ids)
        except Exception as exc:
            raise UserError(f"host {h.name}: {exc}") from None
        finally:
            driver.close()
        for iid in ids:
            store.events.add("host", h.id, f"orphan {iid} terminated by the admin")
            ended.append({"host": h.name, "instance": iid})
    return ended
