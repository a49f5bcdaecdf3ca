"""Sun Grid Engine and EC2 operations that act with the daemon's own credentials (the
`[sge]` master's SSH key, the cloud's): the grid (`qstat -f`), its hosts, job submission,
its exec hosts grown and shrunk (the grid service tier), and the EC2 instances no VM owns
(listed, or terminated on the admin's word)."""

from __future__ import annotations

import base64
import binascii
import threading
from typing import Any

from onetui import config
from onetui.access import Caller
from onetui.api.registry import BadRequest, Detailed, operation, optional, required
from onetui.client.errors import HOST_KEY_UNKNOWN, NOT_CONFIGURED
from onetui.drivers.base import BatchLauncher
from onetui.drivers.registry import make_driver
from onetui.errors import Conflict, UserError
from onetui.integrations.sge.grid import render_qstat
from onetui.integrations.sge.master import Master, SgeConfig
from onetui.managers.sge import exec_host_count, grow, shrink
from onetui.store import Store

# The master of the config's [sge], kept with its SSH connection for the next request
# (every console polls sge.qstat every 5 s: one connection, not a handshake each time); a
# changed [sge] gets a master of its own and the old one is closed.
_KEPT: list[Master] = []
_KEEPING = threading.Lock()


def _master() -> Master:
    cfg = SgeConfig.from_config(config.load_config())
    if cfg is None:
        path = config.config_path()
        raise Detailed(f"no SGE master configured: add an [sge] table (host, user, key_file) "
                       f"to {path}", NOT_CONFIGURED, {"config": str(path)})
    with _KEEPING:
        if not _KEPT or _KEPT[0].config != cfg:
            for old in _KEPT:
                old.close()
            _KEPT[:] = [Master(cfg)]
        return _KEPT[0]


@operation("sge.qstat")
def sge_qstat(store: Store, caller: Caller) -> dict[str, Any]:
    """The grid: its parsed structure and `qstat -f`'s text. A master whose host key the
    daemon does not know is a failure that carries the key, as the daemon saw it: what a
    console shows an admin, who may trust it (`sge.trust`)."""
    from onetui.remote.ssh import HostKeyUnknown

    try:
        grid = _master().qstat()
    except HostKeyUnknown as exc:
        # not the `onetui ssh trust` hint: run by a client, that pins the key for the
        # client, never for the daemon
        raise Detailed(
            f"host key of {exc.host} is not known to the daemon ({exc.key.get_name()} "
            f"{exc.fingerprint}): an admin compares it with the master's own and trusts it "
            "in the console (the SGE pane asks)", HOST_KEY_UNKNOWN, {
            "host": exc.host, "key_type": exc.key.get_name(), "key": exc.key.get_base64(),
            "fingerprint": exc.fingerprint}) from None
    return {"grid": grid.to_json(), "text": render_qstat(grid)}


@operation("sge.trust", key_type=required(str), key=required(str),
           fingerprint=required(str))
def sge_trust(store: Store, caller: Caller, key_type: str, key: str,
              fingerprint: str) -> dict[str, Any]:
    """Pin the SGE master's host key in the daemon's known_hosts, on the word of an admin
    who saw it: `key_type`, `key` (base64) and `fingerprint` as sge.qstat's unknown-key
    answer showed them. The daemon reads the master's key again and pins it only if it is
    still that very key; any other is refused and nothing is written. Already known:
    nothing to write (`known_hosts` is null)."""
    from onetui.remote.ssh import Connection, HostKeyUnknown, trust
    from onetui.remote.ssh import fingerprint as fingerprint_of

    runner = _master().runner
    if not isinstance(runner, Connection):
        raise UserError("sge trust: the SGE master is reached without SSH (transport = "
                        "local): there is no host key to trust")
    target = runner.target
    try:
        runner.run(["true"])  # connects (unless connected: known): the key presented now
    except HostKeyUnknown as exc:
        seen = exc
    else:
        return {"host": target.key_name, "known_hosts": None}
    now = (seen.key.get_name(), seen.key.get_base64(), fingerprint_of(seen.key))
    if now != (key_type, key, fingerprint):
        raise Conflict(f"sge trust: the master {seen.host} now presents {now[0]} {now[2]}, "
                       f"not the {key_type} {fingerprint} you saw: nothing trusted (compare "
                       "again)")
    if seen.host != target.key_name:  # a jump host's key, on the way to the master
        raise UserError(f"sge trust: the unknown key is {seen.host}'s, not the master's "
                        f"({target.key_name}): trust it as the daemon's user with "
                        "`onetui ssh trust`")
    path = trust(target, seen.key)
    return {"host": target.key_name, "known_hosts": str(path)}


@operation("sge.hosts")
def sge_hosts(store: Store, caller: Caller) -> list[dict[str, Any]]:
    return list(_master().qhost())


@operation("sge.submit", script_b64=required(str), name=required(str))
def sge_submit(store: Store, caller: Caller, script_b64: str, name: str) -> str:
    """qsub the script (its bytes, base64) as the configured SGE user; the job id."""
    try:
        body = base64.b64decode(script_b64, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("sge.submit: 'script_b64' is not base64") from None
    return str(_master().submit(body, name))


@operation("sge.grow", count=required(int, str), template=required(str))
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


@operation("sge.shrink", count=required(int, str), template=optional(None, str))
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
