"""Host operations: list, show, create, update, enable/disable, delete. A host's driver
settings are checked and built here (from the settings `host create`/`host update` take),
so every client gets the same checks and messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from onetui.access import Caller
from onetui.api.registry import BadRequest, granted, operation, optional, required
from onetui.drivers.userdata import DEFAULTS, check_var
from onetui.errors import UserError
from onetui.model import Host
from onetui.store import Store
from onetui.view.describe import host_text
from onetui.view.records import host_record

# setting → (JSON types, bounds for integers): what host create/update accept
SETTINGS: dict[str, tuple[tuple[type, ...], tuple[int, int] | None]] = {
    "uri": ((str,), None), "domain_type": ((str,), None), "region": ((str,), None),
    "profile": ((str,), None), "endpoint_url": ((str,), None),
    "max_instances": ((int,), (1, 100_000)), "max_cpu": ((int,), (1, 10_000_000)),
    "max_memory": ((int,), (1, 10**10)), "network": ((str,), None),
    "userdata_var": ((list,), None), "userdata_template": ((str,), None),
}
_LIBVIRT_OPTS = ("uri", "domain_type")


@operation("host.list", limit=optional(None, int))
def host_list(store: Store, caller: Caller, limit: int | None) -> list[dict[str, Any]]:
    """Every host by id, or the first `limit` of them (the console's first page)."""
    if limit is not None and limit < 1:
        raise BadRequest(f"host.list: 'limit' must be at least 1, got {limit}")
    return [host_record(h) for h in store.hosts.list(limit=limit)]


@operation("host.by_ids", ids=required(list))
def host_by_ids(store: Store, caller: Caller, ids: list[Any]) -> list[dict[str, Any]]:
    """These hosts (those that exist): the console reads again only the hosts that
    changed."""
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise BadRequest("host.by_ids: field 'ids' must be a list of integers")
    return [host_record(h) for h in store.hosts.by_ids(set(ids))]


@operation("host.show", ref=required(str, int))
def host_show(store: Store, caller: Caller, ref: str | int) -> dict[str, Any]:
    with store.db.snapshot():
        h = store.hosts.get(ref)
        vms = store.vms.list(host_id=h.id, include_done=False)
        text = host_text(store, h.id, secrets=granted().passwords)[1]
    return {"host": host_record(h), "vms": [vm.id for vm in vms], "text": text}


def _settings(given: dict[str, Any]) -> dict[str, Any]:
    """The settings given, checked against SETTINGS (None and [] mean not given)."""
    unknown = sorted(set(given) - set(SETTINGS))
    if unknown:
        raise BadRequest(f"unknown setting(s) {', '.join(map(repr, unknown))}; expected: "
                         f"{', '.join(SETTINGS)}")
    out: dict[str, Any] = {}
    for key, value in given.items():
        if value is None or value == []:
            continue
        types, bounds = SETTINGS[key]
        if not _is(value, types):
            raise BadRequest(f"setting {key!r}: expected {types[0].__name__}")
        if bounds and not bounds[0] <= value <= bounds[1]:
            raise UserError(f"--{key.replace('_', '-')} {value}: expected {bounds[0]} to "
                            f"{bounds[1]}")
        if key == "userdata_var" and not all(isinstance(v, str) for v in value):
            raise BadRequest("setting 'userdata_var': expected a list of KEY=VALUE strings")
        out[key] = tuple(value) if key == "userdata_var" else value
    return out


def _is(value: Any, types: tuple[type, ...]) -> bool:
    return isinstance(value, types) and not isinstance(value, bool)


def _check_uri(uri: str) -> str:
    if "://" not in uri:
        raise UserError(f"--uri {uri!r}: expected a libvirt URI such as qemu:///system, "
                        "xen:///system, qemu+ssh://user@host/system or test:///default")
    if uri.startswith("test:///") and uri != "test:///default":
        node = Path(uri.removeprefix("test://"))
        if not node.is_file():
            raise UserError(f"--uri {uri}: no test node file at {node}")
    return uri


def _libvirt_config(uri: str | None, domain_type: str | None) -> dict[str, Any]:
    if not uri:
        raise UserError("--uri is required for a libvirt host")
    cfg = {"uri": _check_uri(uri)}
    if domain_type:
        cfg["domain_type"] = domain_type
    return cfg


def _ec2_config(store: Store, opts: dict[str, Any]) -> dict[str, Any]:
    """An EC2 host's settings. No credentials: boto3 finds them (profile, environment,
    instance role), and onetui never stores them."""
    if not opts.get("region"):
        raise UserError("--region is required for an ec2 host (e.g. us-east-1)")
    cfg: dict[str, Any] = {k: opts[k] for k in ("region", "profile", "endpoint_url")
                           if opts.get(k)}
    limit = opts.get("max_instances") or 20
    cfg["max_instances"] = limit
    cfg["max_cpu"] = opts.get("max_cpu") or limit * 100
    cfg["max_memory"] = opts.get("max_memory") or limit * 1700
    if opts.get("network"):
        cfg["network"] = store.networks.get(opts["network"]).name
    variables = {}
    for item in opts.get("userdata_var", ()):
        key, sep, value = item.partition("=")
        if not sep:
            raise UserError(f"--userdata-var {item[:60]!r}: expected KEY=VALUE with KEY one "
                            f"of {', '.join(DEFAULTS)}")
        variables[key] = check_var(key, value)
    if variables:
        cfg["userdata"] = variables
    if opts.get("userdata_template"):
        path = Path(opts["userdata_template"]).resolve()
        if not path.is_file():
            raise UserError(f"--userdata-template {path}: no such file")
        cfg["userdata_template"] = str(path)
    return cfg


def _config(store: Store, driver: str, opts: dict[str, Any]) -> dict[str, Any]:
    given = [k for k, v in opts.items() if v not in (None, ())]
    wrong = [k for k in given if (k in _LIBVIRT_OPTS) != (driver == "libvirt")]
    if wrong:
        names = ", ".join("--" + k.replace("_", "-") for k in wrong)
        raise UserError(f"{names}: not a setting of {driver} hosts")
    if driver == "ec2":
        return _ec2_config(store, opts)
    return _libvirt_config(opts.get("uri"), opts.get("domain_type"))


@operation("host.create", name=required(str), driver=optional("libvirt", str),
           settings=optional({}, dict))
def host_create(store: Store, caller: Caller, name: str, driver: str,
                settings: dict[str, Any]) -> int:
    """Add a host (the engine monitors it from its next pass); its id."""
    return store.hosts.add(name, driver, _config(store, driver, _settings(settings))).id


@operation("host.update", ref=required(str, int), attrs=optional({}, dict),
           settings=optional({}, dict))
def host_update(store: Store, caller: Caller, ref: str | int, attrs: dict[str, Any],
                settings: dict[str, Any]) -> str:
    """Change a host in place: attributes (None removes one) and driver settings (those
    not given keep their values)."""
    if not all(isinstance(v, str | None) for v in attrs.values()):
        raise BadRequest("host.update: 'attrs' maps names to strings (or null to remove)")
    h = store.hosts.get(ref)
    given = _settings(settings)
    config = _config(store, h.driver, {**_options_of(h), **given,
                                       "userdata_var": _merged_vars(h, given)}) \
        if given else None
    store.hosts.update(h.id, attrs=attrs, config=config)
    return f"host {h.name} updated"


def _options_of(h: Host) -> dict[str, Any]:
    """A host's stored settings as the options that made them (limits derived from
    --max-instances are left out, so they follow a new one)."""
    cfg = h.config
    if h.driver != "ec2":
        return {k: cfg.get(k) for k in _LIBVIRT_OPTS}
    limit = cfg.get("max_instances", 20)
    derived = {"max_cpu": limit * 100, "max_memory": limit * 1700}
    keys = ("region", "profile", "endpoint_url", "max_instances", "max_cpu", "max_memory",
            "network", "userdata_template")
    return {k: None if derived.get(k) == cfg.get(k) else cfg.get(k) for k in keys}


def _merged_vars(h: Host, given: dict[str, Any]) -> tuple[str, ...]:
    """The bootstrap values kept, changed by `--userdata-var KEY=VALUE`, removed by KEY=."""
    merged = dict(h.config.get("userdata", {}))
    for item in given.get("userdata_var", ()):
        key, sep, value = item.partition("=")
        if not sep:
            raise UserError(f"--userdata-var {item[:60]!r}: expected KEY=VALUE (KEY= removes "
                            f"one) with KEY one of {', '.join(DEFAULTS)}")
        if value:
            merged[key] = value
        else:
            merged.pop(key, None)
    return tuple(f"{k}={v}" for k, v in merged.items())


@operation("host.enable", ref=required(str, int), enabled=required(bool))
def host_enable(store: Store, caller: Caller, ref: str | int, enabled: bool) -> str:
    h = store.hosts.set_enabled(ref, enabled)
    return f"host {h.name} {'enabled' if enabled else 'disabled'}"


@operation("host.delete", ref=required(str, int))
def host_delete(store: Store, caller: Caller, ref: str | int) -> str:
    h = store.hosts.delete(ref)
    return f"deleted host {h.id} {h.name}"
