"""The hooks an engine runs: the service manager always, SGE when `[sge]` is configured."""

from __future__ import annotations

from typing import Any

from onetui import config
from onetui.store import Store


def default_hooks(store: Store, cfg: dict[str, Any] | None = None) -> list[Any]:
    from onetui.engine.service_manager import ServiceManager
    from onetui.services.sge.hook import SgeHook
    from onetui.services.sge.master import Master, SgeConfig

    cfg = config.load_config() if cfg is None else cfg
    hooks: list[Any] = [ServiceManager(store)]
    sge = SgeConfig.from_config(cfg)
    if sge is not None:
        hooks.append(SgeHook(store, Master(sge)))
    return hooks
