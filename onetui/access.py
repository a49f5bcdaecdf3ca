"""Who may do what: roles from unix groups, and the check every request passes.

A shared front-end has several kinds of users, as libvirtd, dockerd and OpenNebula's oned
have: the cluster's admins, an operator on call, the lecturers and teaching assistants who
hand out lab logins, and people who only look. Each unix user gets one role from the groups
named in the config's `[roles]` table (root, and the user the store belongs to, are admin):

- admin      everything;
- operator   VM and service actions, `sge submit`, hold/release; nothing on hosts,
             templates, networks or lab credentials;
- labstaff   create labs, and extend, reset, destroy, hand out, read the credentials of and
             SSH into the labs they own; read-only elsewhere, without any password;
- viewer     read-only, never a password.

The daemon takes a `Caller` from the socket's peer credentials (never from what a client
says) and calls `authorize` before each operation; it raises `Refused`, naming the role
needed, or returns a `Grant` saying whether the answer may carry seat passwords. `audit`
writes the request (or the refusal) to the event log with the caller's user and pid.
`authorize` depends on nothing but its arguments: the caller, the config, and the store
(its labs' owners, and whose its file is); it never asks the client anything.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NoReturn

from onetui.errors import UserError
from onetui.model.secrets import HIDDEN, is_secret
from onetui.store import Store
from onetui.store.events import acting

if TYPE_CHECKING:  # a lab is only read here: its module loads with the store's labs
    from onetui.model.labs import Lab

ADMIN, OPERATOR, LABSTAFF, VIEWER = "admin", "operator", "labstaff", "viewer"
ROLES = (ADMIN, OPERATOR, LABSTAFF, VIEWER)  # a user in several role groups gets the first
EVERYONE = frozenset(ROLES)

# The groups of each role when the config has no [roles] table: those `onetui system
# install` makes (and writes into the config it installs).
DEFAULT_GROUPS: dict[str, tuple[str, ...]] = {
    ADMIN: ("onetui-admin",), OPERATOR: ("onetui-ops",), LABSTAFF: ("onetui-labs",),
    VIEWER: ("onetui-view",)}


class NoRole(UserError):
    """The caller is in none of the role groups: nothing is allowed, not even a look."""


class Refused(UserError):
    """The caller's role may not do this; `needs` names the role (or ownership) that may."""

    def __init__(self, message: str, *, op: str, role: str | None, needs: str) -> None:
        super().__init__(message)
        self.op = op
        self.role = role
        self.needs = needs


@dataclass(frozen=True)
class Caller:
    """Who sent a request: the peer's credentials (SO_PEERCRED) and the unix user and
    groups they resolve to when the request arrives."""

    uid: int
    gid: int
    pid: int
    user: str
    groups: tuple[str, ...]

    @classmethod
    def from_peer(cls, uid: int, gid: int, pid: int) -> Caller:
        """Resolve the user's name and every group they are in now, from the uid's own
        passwd entry and /etc/group (never from the peer's gid, which a process can change
        with setgid: a client running as nobody with gid 0 is not in group root). A user
        added to a group is let in without logging in again, one removed is shut out at
        once; a uid without a passwd entry is in no group at all."""
        try:
            entry = pwd.getpwuid(uid)
        except KeyError:
            return cls(uid, gid, pid, str(uid), ())
        return cls(uid, gid, pid, entry.pw_name,
                   _group_names(os.getgrouplist(entry.pw_name, entry.pw_gid)))

    @classmethod
    def current(cls) -> Caller:
        """This process as a caller (a command working on the store directly)."""
        return cls.from_peer(os.getuid(), os.getgid(), os.getpid())


def _group_names(gids: list[int]) -> tuple[str, ...]:
    names = []
    for gid in dict.fromkeys(gids):
        try:
            names.append(grp.getgrgid(gid).gr_name)
        except KeyError:
            continue  # a gid without a name is in no role's list
    return tuple(names)


# -- roles ----------------------------------------------------------------------------------

# The config, or what reads it when first needed: the in-process client's caller is the
# store's own user (admin by uid), for whom the config is never read.
Config = Mapping[str, Any] | Callable[[], Mapping[str, Any]]


def _config(cfg: Config) -> Mapping[str, Any]:
    return cfg() if callable(cfg) else cfg


def role_groups(cfg: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """The config's `[roles]` table (role → unix groups), checked; the default groups when
    there is none. A wrong table is one line naming the key and what was expected."""
    table = cfg.get("roles")
    if table is None:
        return dict(DEFAULT_GROUPS)
    if not isinstance(table, Mapping):
        raise UserError("config [roles]: expected a table (admin = [\"onetui-admin\"], …)")
    out: dict[str, tuple[str, ...]] = {role: () for role in ROLES}
    for role, groups in table.items():
        if role not in ROLES:
            raise UserError(f"config [roles] {role}: no such role; expected one of "
                            f"{', '.join(ROLES)}")
        if isinstance(groups, str):
            groups = [groups]
        if not isinstance(groups, list) or not all(isinstance(g, str) and g for g in groups):
            raise UserError(f"config [roles] {role}: expected a list of unix group names")
        out[role] = tuple(groups)
    return out


def role_of(user: str, groups: tuple[str, ...] | list[str], cfg: Mapping[str, Any]
            ) -> str | None:
    """The first role (admin, operator, labstaff, viewer) one of whose groups the user is
    in; None when in none. Never by the user's name: root is admin by its uid (see
    `caller_role`), a user merely called "root" is nobody special."""
    mine = set(groups)
    for role, names in role_groups(cfg).items():
        if mine & set(names):
            return role
    return None


def caller_role(caller: Caller, cfg: Config, store: Store) -> str | None:
    """`role_of`, and admin by uid: 0, the daemon's own, and the user the store file
    belongs to (they can read it anyway: in user mode that is the user who runs onetui)."""
    if caller.uid in (0, os.geteuid()):
        return ADMIN
    try:
        if store.path.stat().st_uid == caller.uid:
            return ADMIN
    except OSError:
        pass
    return role_of(caller.user, caller.groups, _config(cfg))


# -- what each role may do ------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """Who may do an operation: `roles` always; labstaff also on a lab they own
    (`own_lab`), the lab named by the request's `lab` argument."""

    roles: frozenset[str]
    own_lab: bool = False
    writes: bool = True  # changes something (every such request is audited)
    secrets: bool = False  # hands out credentials (audited, like a change)


READ = Rule(EVERYONE, writes=False)
OPERATE = Rule(frozenset({ADMIN, OPERATOR}))
ADMINISTER = Rule(frozenset({ADMIN}))
OWN_LAB = Rule(frozenset({ADMIN}), own_lab=True)
LAB_SECRET = Rule(frozenset({ADMIN}), own_lab=True, writes=False, secrets=True)

OPS: dict[str, Rule] = {
    # VMs: everyone looks; operators act (create, the life-cycle verbs, placement)
    "vm.list": READ, "vm.show": READ,
    "vm.create": OPERATE,
    "vm.action": OPERATE,  # args["action"]: shutdown, delete, hold, release, suspend, stop,
                           # resume, reboot, poweroff, migrate, resched, deploy
    # the infrastructure: admins only
    "host.list": READ, "host.show": READ,
    "host.create": ADMINISTER, "host.update": ADMINISTER, "host.enable": ADMINISTER,
    "host.delete": ADMINISTER,
    "template.list": READ, "template.show": READ,
    "template.create": ADMINISTER, "template.update": ADMINISTER,
    "template.delete": ADMINISTER,
    "net.list": READ, "net.show": READ, "net.hosts": READ,
    "net.create": ADMINISTER, "net.delete": ADMINISTER,
    "ec2.orphans": READ, "ec2.terminate": ADMINISTER,
    "ssh.trust": ADMINISTER,  # what the daemon's SSH connections trust
    # services: operators run them
    "service.list": READ, "service.show": READ,
    "service.create": OPERATE, "service.scale": OPERATE, "service.delete": OPERATE,
    "service.rule": OPERATE,
    # labs: labstaff create theirs and do everything to them; credentials never for others
    "lab.list": READ, "lab.show": READ,
    "lab.create": Rule(frozenset({ADMIN, LABSTAFF})),  # for someone else: admins only
    "lab.extend": OWN_LAB, "lab.reset-password": OWN_LAB, "lab.reset-seat": OWN_LAB,
    "lab.destroy": OWN_LAB,
    "lab.creds": LAB_SECRET, "lab.handout": LAB_SECRET,
    "lab.reveal": LAB_SECRET,  # the console: one seat's password shown or copied, or all
    "lab.ssh": Rule(frozenset({ADMIN}), own_lab=True, writes=False, secrets=True),  # a login
    # the grid
    "sge.qstat": READ, "sge.hosts": READ, "sge.submit": OPERATE,
    "sge.scale": OPERATE,  # grow/shrink the exec-host tier: a service scale
    "sge.history": READ,
    "events.list": READ,
}

# Every `onetui` command that acts on the cloud → the operation it asks the daemon for
# (tests/test_access.py checks that the CLI has no command missing here).
COMMAND_OPS: dict[str, str] = {
    **{f"vm {verb}": "vm.action" for verb in (
        "shutdown", "delete", "hold", "release", "suspend", "stop", "resume", "reboot",
        "poweroff", "migrate", "resched", "deploy")},
    "vm create": "vm.create", "vm list": "vm.list", "vm show": "vm.show",
    "host create": "host.create", "host list": "host.list", "host show": "host.show",
    "host update": "host.update", "host enable": "host.enable",
    "host disable": "host.enable", "host delete": "host.delete",
    "template import": "template.create", "template clone": "template.create",
    "template instantiate": "vm.create",
    "template show": "template.show", "template list": "template.list",
    "template update": "template.update", "template delete": "template.delete",
    "net create": "net.create", "net list": "net.list", "net show": "net.show",
    "net hosts": "net.hosts", "net delete": "net.delete",
    "ec2 orphans": "ec2.orphans",  # with --terminate: ec2.terminate
    "ssh trust": "ssh.trust",
    "service create": "service.create", "service scale": "service.scale",
    "service list": "service.list", "service show": "service.show",
    "service delete": "service.delete", "service rule add": "service.rule",
    "service rule delete": "service.rule",
    **{f"lab {verb}": f"lab.{verb}" for verb in (
        "create", "list", "show", "creds", "handout", "ssh", "reset-password", "reset-seat",
        "extend", "destroy")},
    "sge qstat": "sge.qstat", "sge hosts": "sge.hosts", "sge submit": "sge.submit",
    "sge grow": "sge.scale", "sge shrink": "sge.scale", "sge history": "sge.history",
    "events": "events.list",
}

# Commands that never ask the daemon: they run in the caller's own process, as the caller.
LOCAL_COMMANDS = frozenset({"help", "completion", "demo", "serve", "template validate",
                            "system install", "system uninstall"})


# Options only an admin gives, per operation, and why: each makes the daemon read, write
# or run something of the caller's choosing, as the daemon.
_KEYS = "the daemon's own keys and SSH settings"  # any key it can read would serve
_TEMPLATE = ("a template of your own (not a stored one): it reaches the hypervisor as it is "
             "(RAW, DISK SOURCE, …); ask an admin to store it")
ADMIN_OPTIONS: dict[str, dict[str, str]] = {
    "lab.create": {"admin_key": _KEYS, "admin_user": _KEYS, "ssh_timeout": _KEYS,
                   "text": _TEMPLATE},
    "vm.create": {"text": _TEMPLATE},
    "service.create": {"lb": "a load balancer's config file and nginx program, which the "
                             "daemon writes and runs"},
}


def owns_lab(caller: Caller, lab: Lab) -> bool:
    """Whether `caller` owns `lab`: by uid, never by name (an account deleted and made
    again under the same name is someone else); a lab without an owner's uid is nobody's."""
    return lab.owner_uid is not None and lab.owner_uid == caller.uid


@dataclass(frozen=True)
class Grant:
    """A request allowed: the caller's role, the lab it is about (when it names one: the
    operation acts on this record, by its id, never on the request's `lab` looked up
    again), and whether the answer may carry seat passwords (never for a viewer or an
    operator, nor for labstaff about a lab that is not theirs)."""

    role: str
    lab: Lab | None = None
    passwords: bool = False
    op: str = ""  # the rule of OPS it was granted by (ec2.orphans --terminate: ec2.terminate)


def authorize(caller: Caller, op: str, args: Mapping[str, Any], store: Store,
              cfg: Config) -> Grant:
    """Allow the request or raise: `NoRole` for a caller in no role, `Refused` (naming
    the role needed) for one whose role may not, `UserError` for an unknown operation,
    `NotFound` for a lab that does not exist."""
    rule = OPS.get(op)
    if rule is None:
        raise UserError(f"unknown operation {op!r}")
    role = caller_role(caller, cfg, store)
    if role is None:
        raise NoRole(no_role_text(caller, _config(cfg)))
    lab = _lab(store, op, args) if op != "lab.create" else None
    owns = lab is not None and role == LABSTAFF and owns_lab(caller, lab)
    if op == "lab.destroy" and lab is None and role == LABSTAFF:
        owns = True  # a lab gone already: nothing is destroyed, the answer says so
    if op == "lab.create":
        owner = args.get("owner") or caller.user
        if role == LABSTAFF and owner != caller.user:
            _refuse(caller, role, op, args, ADMIN,
                    f"only an admin creates a lab for someone else ({owner})")
    given = [k for k in ADMIN_OPTIONS.get(op, {}) if args.get(k) not in (None, "", {})]
    if given and role != ADMIN:
        why = ADMIN_OPTIONS[op][given[0]]
        flags = ", ".join("a template file" if k == "text" else f"--{k.replace('_', '-')}"
                          for k in given)
        _refuse(caller, role, op, args, ADMIN, f"{flags}: {why}")
    if op == "lab.ssh" and args.get("admin") and role != ADMIN:
        _refuse(caller, role, op, args, ADMIN, "a seat's admin account is for admins")
    granted_as = op
    if op == "ec2.orphans" and args.get("terminate"):
        granted_as, rule = "ec2.terminate", OPS["ec2.terminate"]
    if not _passes(rule, role, owns):
        _refuse(caller, role, op, args, needs(rule), _whose(lab) if rule.own_lab else "")
    return Grant(role, lab, passwords=role == ADMIN or owns, op=granted_as)


def may(role: str | None, op: str, *, owns_lab: bool = False) -> bool:
    """Whether `role` may run `op` at all (on a lab it owns, with `owns_lab`): what the
    console asks to leave out the keys and palette commands a role cannot use."""
    rule = OPS.get(op)
    return rule is not None and role is not None and _passes(rule, role, owns_lab)


def _passes(rule: Rule, role: str, owns: bool) -> bool:
    return role in rule.roles or (rule.own_lab and owns and role == LABSTAFF)


def needs(rule: Rule) -> str:
    """The least a caller must be to pass `rule`, as a refusal says it."""
    if rule.own_lab:
        return "admin, or labstaff owning the lab"
    lesser = [r for r in ROLES if r in rule.roles and r != ADMIN]
    return " or ".join(lesser) if lesser else ADMIN


def _whose(lab: Lab | None) -> str:
    if lab is None:
        return ""
    if lab.owner_uid is not None:
        return f"lab {lab.name} is {lab.owner or lab.owner_uid}'s"
    return f"lab {lab.name} has no owner (made before roles): admins only"


def _refuse(caller: Caller, role: str, op: str, args: Mapping[str, Any], need: str,
            why: str = "") -> NoReturn:
    raise Refused(f"{command_text(op, args)}: refused for {caller.user} ({role}): needs "
                  f"{need}" + (f" ({why})" if why else ""), op=op, role=role, needs=need)


def no_role_text(caller: Caller, cfg: Mapping[str, Any]) -> str:
    groups = sorted({g for names in role_groups(cfg).values() for g in names})
    return (f"you are not in any onetui role ({caller.user}); an admin adds you to one of "
            f"the groups {', '.join(groups) or '(none configured in [roles])'}")


def _lab(store: Store, op: str, args: Mapping[str, Any]) -> Lab | None:
    """The lab a request names: an int (or all digits) is its id, anything else its name
    (no lab is named with digits only, so the two never meet). NotFound when there is
    none, except for a destroy (a second destroy is no error: None)."""
    ref = args.get("lab")
    if ref in (None, "") or isinstance(ref, bool):
        return None
    return store.labs.find(ref) if op == "lab.destroy" else store.labs.get(ref)


def without_passwords(data: Any) -> Any:
    """`data` with every secret-looking field (`password`, `passwords`, `admin_password`,
    `secret_access_key`, `USERDATA`, `admin_key`, …) left out, however deep: a last guard on
    a read answer for a caller whose grant carries no passwords. What builds an answer
    leaves the passwords out in the first place (`seat_rows(passwords=False)`)."""
    if isinstance(data, Mapping):
        return {k: masked_body(v) if k == "body" and isinstance(v, str)
                else without_passwords(v) for k, v in data.items() if not is_secret(k)}
    if isinstance(data, list | tuple):
        return [without_passwords(v) for v in data]
    return data


@lru_cache(maxsize=256)
def masked_body(body: str) -> str:
    """A template's text with every secret attribute and vector key (ROOT_PW, USERDATA,
    CONTEXT's PASSWORD, …) shown as (hidden): what a VM's or a template's `body` is for a
    caller without passwords. Cached: ten thousand VMs share a few bodies. A body that no
    longer parses is hidden whole (what it holds cannot be told apart)."""
    from onetui.template import TemplateError, Vector, parse, write

    try:
        template = parse(body, "template")
    except TemplateError:
        return HIDDEN
    for attr in template:
        if is_secret(attr.name):
            attr.value = HIDDEN
        elif isinstance(attr.value, Vector):
            attr.value = Vector(tuple((k, HIDDEN if is_secret(k) else v)
                                      for k, v in attr.value.items))
    return write(template)


# -- the audit trail ------------------------------------------------------------------------

# What the event of an operation is about (`onetui events --kind`), by the op's noun.
_KIND = {"vm": "vm", "host": "host", "ec2": "host", "ssh": "host", "template": "template",
         "net": "network", "service": "service", "lab": "lab", "sge": "sge",
         "events": "engine"}
_POSITIONAL = ("lab", "name", "ref", "refs", "seat", "host", "size", "until")

# The options an operation's event may show, per operation: an allow-list, so a secret a
# request carries (a host's config with its secret_access_key, a template body with a root
# password, an SSH key, user-data) never lands in the event log, whatever the key is called.
# Only scalars are shown: a dict or a list (a config, a body) never is.
_FLAGS: dict[str, tuple[str, ...]] = {
    "vm.create": ("template", "count", "hold", "cpu", "memory"),
    "vm.action": ("hard", "live"),
    "host.create": ("driver",),
    "host.enable": ("enable",),
    "template.create": ("seed", "from"),
    "net.create": ("range", "bridge"),
    "ec2.orphans": ("terminate",),
    "service.create": ("template", "burst_template", "min", "max", "port", "health", "grid"),
    "service.rule": ("change", "cooldown"),
    "lab.create": ("template", "seats", "network", "expires", "owner"),
    "lab.creds": ("format",), "lab.handout": ("format",), "lab.ssh": ("admin",),
    "sge.submit": ("template",), "sge.scale": ("template",),
    "ssh.trust": ("fingerprint",),  # the key the admin compared and pinned
}
# C0 and C1 controls, DEL, and the bidirectional overrides and isolates (U+202E makes a
# terminal show `txt.exe` for `exe.txt`): never shown as they are, in an event or a log line.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with every control or bidi character shown as its escape (`\\x1b`,
    `\\u202e`): what the event log and journald lines carry."""
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def command_text(op: str, args: Mapping[str, Any]) -> str:
    """The request as the command that would make it: `lab creds os1 --csv`,
    `vm shutdown 5`. Only the operation's allowed options, only scalar values, no control
    characters, bounded."""
    noun, _, verb = op.partition(".")
    if noun == "events":
        words = [noun]
    else:
        words = [noun, _word(args.get("action", "?") if verb == "action" else verb)]
    for key in _POSITIONAL:
        value = args.get(key)
        values = value if isinstance(value, list | tuple) else [value]
        words += [_word(v) for v in values if _scalar(v) and v not in (None, "", False)]
    for key in _FLAGS.get(op, ()):
        value = args.get(key)
        if not _scalar(value) or value in (None, False, ""):
            continue
        if key == "format":  # lab creds --csv, handout --md
            words.append(f"--{_word(value)}")
            continue
        flag = "--" + key.replace("_", "-")
        words.append(flag if value is True else f"{flag} {_word(value)}")
    text = " ".join(words)
    return text if len(text) <= 200 else text[:199] + "…"


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not (isinstance(value, str)
                                                         and _SECRET_VALUE.match(value))


# a value that is a key or a secret whatever the option: an SSH key, a PEM block
_SECRET_VALUE = re.compile(r"\s*(ssh-|ecdsa-|sk-ssh-|-----BEGIN)")


def _word(value: Any) -> str:
    text = printable(str(value))
    return text if len(text) <= 60 else text[:59] + "…"


def should_audit(op: str) -> bool:
    """Whether a request that went through is an event: every change and every hand-out
    of credentials (reads are not; every refusal is, see `audit_refusal`)."""
    rule = OPS.get(op)
    return rule is not None and (rule.writes or rule.secrets)


def audit(store: Store, caller: Caller, role: str, op: str, args: Mapping[str, Any],
          outcome: str = "", obj_id: int | None = None) -> None:
    """The event of a request carried out: `alice (labstaff): lab creds os1 --csv
    (12 seats)`, with the caller's user and pid."""
    text = f"{caller.user} ({role}): {command_text(op, args)}"
    with acting(caller.user, caller.pid):
        store.events.add(_kind(op), obj_id, text + (f" ({outcome})" if outcome else ""))


def audit_refusal(store: Store, caller: Caller, exc: NoRole | Refused, op: str,
                  args: Mapping[str, Any], obj_id: int | None = None) -> None:
    """The event of a request refused: `bob (viewer): refused vm shutdown 5 (needs
    operator)`; a caller in no role is `carol (no role)`."""
    role = exc.role if isinstance(exc, Refused) else None
    need = exc.needs if isinstance(exc, Refused) else "a role"
    with acting(caller.user, caller.pid):
        store.events.add(_kind(op), obj_id, f"{caller.user} ({role or 'no role'}): refused "
                         f"{command_text(op, args)} (needs {need})", level="warning")


def _kind(op: str) -> str:
    return _KIND.get(op.partition(".")[0], "engine")
