"""The one place an engine is put together with the managers it runs.

The console, `onetui serve`, the demo and the tests all build their engine here, so an
engine never runs without the service and lab managers (and the SGE exec-host manager when
`[sge]` is configured), and nothing below this layer needs to know which managers exist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from onetui import config
from onetui.engine.hooks import Hook
from onetui.engine.loop import Engine
from onetui.errors import UserError
from onetui.store import Store


def managers(store: Store, cfg: dict[str, Any], engine: Engine) -> list[Hook]:
    """The hooks an engine runs: services and labs always, SGE exec hosts with `[sge]`.
    Raises UserError when the configuration is wrong (e.g. a bad `[sge]` table)."""
    from onetui.integrations.sge.master import GridWatch, Master, SgeConfig
    from onetui.managers.labs import LabManager
    from onetui.managers.services import ServiceManager
    from onetui.managers.sge import SgeHook

    sge = SgeConfig.from_config(cfg)
    master = Master(sge) if sge is not None else None
    hooks: list[Hook] = [ServiceManager(store, grid=GridWatch(master) if master else None),
                         LabManager(store, console=engine.console)]
    if master is not None:
        hooks.append(SgeHook(store, master))
    return hooks


def build_engine(store: Store, cfg: dict[str, Any] | None = None, *,
                 on_error: Callable[[str], None] | None = None, **options: Any) -> Engine:
    """An engine on `store` with its managers (`options` go to `Engine`: interval,
    lease_ttl, …). `cfg` defaults to the config file. A configuration the managers refuse
    raises UserError, or, with `on_error`, is reported there and the engine runs without
    them (the console keeps deploying VMs while the admin fixes `[sge]`)."""
    cfg = config.load_config() if cfg is None else cfg
    engine = Engine(store, **options)
    try:
        engine.hooks = managers(store, cfg, engine)
    except UserError as exc:
        if on_error is None:
            engine.close()
            raise
        on_error(f"managers: {exc}")
    return engine
