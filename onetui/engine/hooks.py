"""The hooks an engine runs: the service and lab managers always, SGE when `[sge]` is
configured."""

from __future__ import annotations

from typing import Any

from onetui import config
from onetui.store import Store


def default_hooks(store: Store, cfg: dict[str, Any] | None = None) -> list[Any]:
    from onetui.integrations.sge.master import GridWatch, Master, SgeConfig
    from onetui.managers.services import ServiceManager
    from onetui.managers.sge import SgeHook

    cfg = config.load_config() if cfg is None else cfg
    sge = SgeConfig.from_config(cfg)
    master = Master(sge) if sge is not None else None
    from onetui.managers.labs import LabManager

    hooks: list[Any] = [ServiceManager(store, grid=GridWatch(master) if master else None),
                        LabManager(store)]
    if master is not None:
        hooks.append(SgeHook(store, master))
    return hooks
