"""The operations the API offers, by name ("vm.list", "vm.action", …), and the one path
every request takes: check its fields, authorize the caller, run the handler, write the
audit trail, and answer with a status and a JSON body. The daemon (over the socket) and
the CLI's in-process transport both call `respond`, so the two cannot drift apart.

A handler learns what the caller was granted from `granted()` (whether its answer may
carry passwords, the lab the request was authorized on); whatever it returns, an answer
for a caller without passwords goes through `access.without_passwords` last."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from onetui import access
from onetui.access import VIEWER, Caller, Config, Grant, NoRole, Refused
from onetui.api.guard import access_args, access_op, authorize
from onetui.errors import Conflict, NotFound, UserError
from onetui.store import Store
from onetui.store.events import acting

Handler = Callable[..., Any]  # (store, caller, **fields) -> JSON-able


@dataclass(frozen=True)
class Field:
    """One request field: the JSON types it takes and its default (REQUIRED: none)."""

    types: tuple[type, ...]
    default: Any = None
    required: bool = False


def required(*types: type) -> Field:
    return Field(types, required=True)


def optional(default: Any, *types: type) -> Field:
    return Field(types, default=default)


@dataclass(frozen=True)
class Operation:
    name: str
    handler: Handler
    fields: dict[str, Field] = field(default_factory=dict)


REGISTRY: dict[str, Operation] = {}

# An operation's first word → the module of onetui.api that registers it. Modules load
# when one of their operations is first asked for, so `onetui vm list` does not load what
# `lab` or `sge` need (cryptography, paramiko, ElementTree).
MODULES = {"vm": "vms", "host": "hosts", "template": "templates", "net": "networks",
           "service": "services", "lab": "labs", "sge": "grid", "ec2": "grid",
           "events": "events", "changes": "events", "daemon": "daemon", "engine": "daemon",
           "history": "history"}


def lookup(name: str) -> Operation | None:
    """The operation `name`, loading its module first if need be."""
    if name not in REGISTRY:
        module = MODULES.get(name.partition(".")[0])
        if module is not None:
            importlib.import_module(f"onetui.api.{module}")
    return REGISTRY.get(name)


def load_all() -> dict[str, Operation]:
    """Every operation (for listing them)."""
    for module in set(MODULES.values()):
        importlib.import_module(f"onetui.api.{module}")
    return REGISTRY


def operation(op_name: str, /, **fields: Field) -> Callable[[Handler], Handler]:
    """Register the decorated function as the operation `op_name` taking `fields`
    (whether it changes something is onetui.access's word: `guard.writes`)."""

    def register(fn: Handler) -> Handler:
        if op_name in REGISTRY:
            raise ValueError(f"operation {op_name} registered twice")
        REGISTRY[op_name] = Operation(op_name, fn, fields)
        return fn

    return register


class BadRequest(UserError):
    """The request itself is wrong: an unknown operation, field or type."""


class Detailed(UserError):
    """A failure the client can act on: besides its one line, a kind of its own and the
    details it needs to act (onetui.client.errors names the kinds: an unknown host key's
    fingerprint, for an admin to compare before trusting it)."""

    def __init__(self, message: str, kind: str, details: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.kind = kind
        self.details = dict(details)


def check(op: Operation, body: Any) -> dict[str, Any]:
    """The handler's arguments from a request body, or BadRequest naming what is wrong
    (every unknown field, a missing one, a wrong type) and what was expected."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise BadRequest(f"{op.name}: the body must be a JSON object, got "
                         f"{type(body).__name__}")
    unknown = sorted(set(body) - set(op.fields))
    if unknown:
        expected = ", ".join(sorted(op.fields)) or "no fields"
        raise BadRequest(f"{op.name}: unknown field(s) {', '.join(map(repr, unknown))}; "
                         f"expected: {expected}")
    args: dict[str, Any] = {}
    for name, spec in op.fields.items():
        if name not in body:
            if spec.required:
                raise BadRequest(f"{op.name}: field {name!r} is required")
            args[name] = spec.default
            continue
        value = body[name]
        ok = isinstance(value, spec.types) and not (
            isinstance(value, bool) and bool not in spec.types)
        if not ok and not (value is None and not spec.required and spec.default is None):
            want = " or ".join(_JSON_NAMES.get(t, t.__name__) for t in spec.types)
            raise BadRequest(f"{op.name}: field {name!r} must be {want}, got "
                             f"{_JSON_NAMES.get(type(value), type(value).__name__)}")
        args[name] = value
    return args


_JSON_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true/false",
               list: "a list", dict: "an object", type(None): "null"}


# What the request being answered was granted (a handler's thread: one request at a time).
# Outside `respond` nothing is granted: no passwords.
_GRANT: ContextVar[Grant | None] = ContextVar("grant", default=None)
_NOTHING = Grant(VIEWER)


def granted() -> Grant:
    """The grant of the request this handler answers."""
    return _GRANT.get() or _NOTHING


def respond(store: Store, caller: Caller, name: str, body: Any,
            cfg: Config) -> tuple[int, dict[str, Any]]:
    """Run operation `name` for `caller` under the roles of `cfg` (the config, or what
    reads it): (HTTP status, JSON body). A success is {"result": …}; a failure
    {"error": one line, "kind": …} (and "needs" when refused, "details" when `Detailed`)."""
    try:
        op = lookup(name)
        if op is None:
            raise NotFound(f"no operation {name!r}; the API offers: "
                           f"{', '.join(sorted(load_all()))}")
        return 200, {"result": _run(op, store, caller, check(op, body), cfg)}
    except NoRole as exc:
        return 403, {"error": str(exc), "kind": "no-role", "needs": "a role"}
    except Refused as exc:
        return 403, {"error": str(exc), "kind": "refused", "needs": exc.needs}
    except BadRequest as exc:
        return 400, {"error": str(exc), "kind": "bad-request"}
    except NotFound as exc:
        return 404, {"error": str(exc), "kind": "not-found"}
    except Conflict as exc:
        return 409, {"error": str(exc), "kind": "conflict"}
    except Detailed as exc:
        return 422, {"error": str(exc), "kind": exc.kind, "details": exc.details}
    except UserError as exc:  # a TemplateError is file:line:col: message, as the CLI prints it
        kind = "template" if _is_template_error(exc) else "user-error"
        return 422, {"error": str(exc), "kind": kind}
    except Exception as exc:  # the daemon keeps serving; the caller gets one line
        import logging  # only now: it imports traceback, which a plain command never needs

        logging.getLogger("onetui.api").exception("%s for %s failed", name, caller.user)
        return 500, {"error": f"{name} failed inside the daemon ({type(exc).__name__}: "
                     f"{exc}); the daemon's log has the details", "kind": "internal"}


def _run(op: Operation, store: Store, caller: Caller, args: dict[str, Any],
         cfg: Config) -> Any:
    """Authorize, run the handler with its grant, leave out what the grant does not
    cover, write the audit trail: the result."""
    given = _given(op, args)  # what a refusal and the audit line show
    try:
        grant = authorize(caller, op.name, given, store, cfg)
    except (NoRole, Refused) as exc:
        _audit_refusal(store, caller, exc, op.name, given)
        raise
    token = _GRANT.set(grant)
    try:
        with acting(caller.user, caller.pid):  # the events it causes name the caller
            result = op.handler(store, caller, **args)
    finally:
        _GRANT.reset(token)
    if not grant.passwords:
        result = access.without_passwords(result)
    _audit(store, caller, grant, op.name, given)
    return result


def _given(op: Operation, args: dict[str, Any]) -> dict[str, Any]:
    """The arguments the request gave (not those at their defaults): what its audit line
    shows, as the command the caller typed would."""
    return {k: v for k, v in args.items() if k not in op.fields
            or op.fields[k].required or v != op.fields[k].default}


def _audit(store: Store, caller: Caller, grant: Grant, name: str,
           args: Mapping[str, Any]) -> None:
    """The event of a change or a credential hand-out carried out (reads are not events):
    `alice (labstaff): lab creds os1 --csv (12 seats)`."""
    op = access_op(name, args)
    if not access.should_audit(grant.op):  # ec2.orphans --terminate: ec2.terminate
        return
    lab = grant.lab
    secret = access.OPS[op].secrets
    asked = args.get("seats")  # lab.reveal: the seats whose passwords were shown
    count = len(asked) if isinstance(asked, list) else lab.seats if lab is not None else 0
    outcome = f"{count} seat(s)" if secret and lab is not None else ""
    access.audit(store, caller, grant.role, op, access_args(name, args), outcome,
                 obj_id=lab.id if lab is not None else _obj_id(args))


def _audit_refusal(store: Store, caller: Caller, exc: NoRole | Refused, name: str,
                   args: Mapping[str, Any]) -> None:
    """The event of a refusal: `bob (viewer): refused vm shutdown 5 (needs operator)`. A
    store that cannot take it (full, locked) does not turn the refusal into a 500."""
    try:
        access.audit_refusal(store, caller, exc, access_op(name, args),
                             access_args(name, args), obj_id=_obj_id(args))
    except Exception:
        import logging

        logging.getLogger("onetui.api").exception("auditing a refusal of %s", name)


def _obj_id(args: Mapping[str, Any]) -> int | None:
    ref = args.get("ref")
    return ref if isinstance(ref, int) and not isinstance(ref, bool) else None


def _is_template_error(exc: UserError) -> bool:
    """Whether `exc` is the template language's error, without importing the language for
    operations that never use it (one that raised it has it loaded)."""
    errors = sys.modules.get("onetui.template.errors")
    return errors is not None and isinstance(exc, errors.TemplateError)
