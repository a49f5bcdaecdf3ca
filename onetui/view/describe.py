"""What `vm show` and `host show` print, as text: the CLI prints it, the console shows it in
its detail screens. One description of an object, two places."""

from __future__ import annotations

from onetui.errors import NotFound
from onetui.model import VM, Event, intent_word
from onetui.model.secrets import HIDDEN, is_secret
from onetui.store import Store
from onetui.view.rows import NUMERIC, VM_COLUMNS, human_mb, pairs, stamp, table, vm_row


def _cloud_lines(v: VM) -> list[tuple[str, str]]:
    """EC2 VMs: the instance, its addresses, and the worker's VPN identity."""
    info = v.info
    keys = (("INSTANCE STATE", "guest_instance_state"), ("INSTANCE TYPE", "guest_instance_type"),
            ("PUBLIC DNS", "guest_public_dns"), ("PUBLIC IP", "guest_public_ip"),
            ("PRIVATE IP", "guest_private_ip"), ("VPN IP", "vpn_ip"),
            ("VPN HOSTNAME", "vpn_hostname"), ("LAUNCH", "launch"))
    return [(label, str(info[key])) for label, key in keys if info.get(key)]


def _template_lines(body: str, secrets: bool = True) -> list[tuple[str, str]]:
    """The template as `onevm show` prints it: vectors as K=V,K=V. Without `secrets`,
    USERDATA and every password-, key- or token-named attribute or vector key is shown as
    (hidden). The template language is imported here, by the show texts: the CLI's lists
    import this module too."""
    from onetui.template import Vector, parse

    out = []
    for attr in parse(body, "template"):
        value = attr.value
        if not secrets and is_secret(attr.name):
            value = HIDDEN
        elif isinstance(value, Vector):
            value = ",".join(f"{k}={HIDDEN if not secrets and is_secret(k) else v}"
                             for k, v in value.items)
        out.append((attr.name, value))
    return out


def _pending_action(store: Store, intent: str) -> str:
    """`migrate --live to ursa04`, not `migrate-live:2`."""
    if not intent:
        return "-"
    word, _, arg = intent.partition(":")
    if arg.isdigit():
        try:
            where = store.hosts.get(int(arg)).name
        except NotFound:
            where = f"host {arg} (gone)"
        return f"{intent_word(intent)} {'on' if word == 'deploy' else 'to'} {where}"
    return intent_word(intent)


TITLES = {"vm": "VM", "host": "Host", "service": "Service"}


def title(kind: str, obj_id: int, name: str) -> str:
    """A VM's, host's or service's detail title, as the console's detail screen shows it
    (whether its text came from the store here or through the API)."""
    return f"{TITLES[kind]} {obj_id} {name}"


def event_text(e: Event) -> tuple[str, str]:
    """One event in full, as the console opens it from the Events pane: the pane cuts the
    message at its width. USER and PID: whose request caused it (the engine's own: -)."""
    obj = f"{e.kind} {e.obj_id}" if e.obj_id is not None else e.kind
    return f"Event {e.id}", "\n".join([
        f"EVENT {e.id} INFORMATION",
        pairs([("ID", e.id), ("TIME", stamp(e.at)), ("OBJECT", obj), ("LEVEL", e.level),
               ("USER", e.user or "-"), ("PID", e.pid if e.pid is not None else "-")]),
        "", "MESSAGE", e.message])


def vm_text(store: Store, ref: int | str, *, secrets: bool = True) -> tuple[str, str]:
    """Everything about a VM, including why it is still pending and its recent events.
    Without `secrets` (a caller who is not an admin) its template's secrets are masked."""
    v = store.vms.get(ref)
    events = store.events.recent(limit=10, kind="vm", obj_id=v.id)
    out = [f"VIRTUAL MACHINE {v.id} INFORMATION"]
    out.append(pairs([
        ("ID", v.id), ("NAME", v.name), ("TEMPLATE ID", v.template_id if v.template_id
                                          is not None else -1),
        ("STATE", v.vm_state), ("LCM STATE", v.lcm_state), ("SHORT STATE", v.state),
        ("PENDING ACTION", _pending_action(store, v.intent)), ("HOST", v.host_name or "-"),
        ("DEPLOY ID", v.deploy_id or "-"), ("CPU", f"{v.cpu:g}"), ("MEMORY", f"{v.memory} MB"),
        ("IP", v.ip or "-"), ("MAC", v.mac or "-"), *_cloud_lines(v),
        ("CREATED", stamp(v.created_at)), ("START TIME", stamp(v.started_at)),
        ("STOP TIME", stamp(v.stopped_at)), ("LAST POLL", stamp(v.polled_at)),
        ("MESSAGE", v.message or "-"),
    ]))
    if v.sched:
        out.append("\nWHY PENDING")
        out.append(table(("HOST", "REASON"), [(r["host"], r["reason"]) for r in v.sched]))
    out.append("\n....: Template :....")
    out.append(pairs(_template_lines(v.body, secrets)))
    if events:
        out.append("\nEVENTS")
        for e in reversed(events):
            out.append(f"{stamp(e.at)}  {e.message}")
    return title("vm", v.id, v.name), "\n".join(out)


def _setting(key: str, value: object, secrets: bool = True) -> object:
    """USERDATA's values as `KEY=value, KEY=value`, the way they were given (masked, with
    every secret-named setting, without `secrets`)."""
    if not secrets and is_secret(key):
        return HIDDEN
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
    return value


def host_text(store: Store, ref: int | str, *, secrets: bool = True) -> tuple[str, str]:
    """A host's settings, its monitoring, its attributes and its VMs; without `secrets`,
    its user-data values and secret-named settings are (hidden)."""
    h = store.hosts.get(ref)
    vms = store.vms.list(host_id=h.id, include_done=False)
    out: list[str] = []
    mon = h.monitor
    out.append(f"HOST {h.id} INFORMATION")
    out.append(pairs([
        ("ID", h.id), ("NAME", h.name), ("DRIVER", h.driver),
        *((k.upper(), _setting(k, v, secrets)) for k, v in h.config.items()),
        ("STATE", h.stat), ("ERROR", h.error or "-"), ("LAST MONITORED", stamp(h.monitored_at)),
    ]))
    out.append("\nHOST SHARES")
    out.append(pairs([
        ("TOTAL CPU", mon.get("TCPU", "-")), ("FREE CPU", mon.get("FCPU", "-")),
        ("AVAILABLE CPU", mon.get("ACPU", "-")), ("TOTAL MEMORY", human_mb(mon.get("TMEM"))),
        ("FREE MEMORY", human_mb(mon.get("FMEM"))),
        ("AVAILABLE MEMORY", human_mb(mon.get("AMEM"))), ("RUNNING VMS", mon.get("RVM", 0)),
        ("HYPERVISOR", mon.get("HYPERVISOR", "-")),
    ]))
    if h.attrs:
        out.append("\nATTRIBUTES")
        out.append(pairs(sorted((k, HIDDEN if not secrets and is_secret(k) else v)
                                for k, v in h.attrs.items())))
    out.append("\nVIRTUAL MACHINES")
    out.append(table(VM_COLUMNS, [vm_row(vm) for vm in vms], right=NUMERIC))
    return title("host", h.id, h.name), "\n".join(out)


def service_text(store: Store, ref: int | str) -> tuple[str, str]:
    """A service's size, load balancer, rules (and their state) and members, as
    `service show` prints it."""
    s = store.services.get(ref)
    members = [v for v in store.vms.list(include_done=False)
               if v.info.get("service") == s.id]
    lb = s.config.get("lb")
    out = [f"SERVICE {s.id} INFORMATION",
           pairs([("NAME", s.name),
                  ("SIZE", f"{s.desired} (min {s.min_size}, max {s.max_size})"),
                  ("PORT", s.config.get("port", 80)),
                  ("LOAD BALANCER", f"{lb.get('host', 'local')}:{lb['conf']} upstream "
                                    f"{lb['upstream']}" if lb else "-")])]
    rules = s.config.get("rules", [])
    if rules:
        out.append("\nRULES")
        state = s.config.get("rule_state", [])
        for i, rule in enumerate(rules):
            text = state[i] if i < len(state) else (
                f"{rule['when']} for {rule['for']:g} s → {rule['change']:+d}")
            out.append(f"{i}: {text} (cooldown {rule['cooldown']:g} s)")
    out.append("\nMEMBERS")
    out.append(table(("ID", "NAME", "STAT", "IP", "TIER", "HOSTNAME"),
                     [(v.id, v.name, v.state, v.ip or "-", v.info.get("tier", "-"),
                       v.host_name or "-") for v in members], right=("ID",)))
    return title("service", s.id, s.name), "\n".join(out)
