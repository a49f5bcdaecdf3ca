"""The change sequence lets a console ask "what changed since N" cheaply."""

from __future__ import annotations

import pytest

from onetui.errors import UserError
from onetui.store import Store


def _vm(n: int = 0) -> dict:
    return {"body": "CPU=1\nMEMORY=64\n", "cpu": 1, "memory": 64, "name": f"web-{n}"}


def test_changes_name_what_changed_by_kind(store: Store) -> None:
    start = store.changes.current()
    host = store.hosts.add("ursa03", "libvirt", {"uri": "test:///default"})
    ids = store.vms.create([_vm(0), _vm(1)])
    ch = store.changes.since(start)
    assert ch.complete
    assert ch.ids["host"] == {host.id}
    assert ch.ids["vm"] == set(ids)
    assert store.changes.since(ch.seq).ids == {}

    store.vms.transition(ids[1], "prol", host_id=host.id)
    later = store.changes.since(ch.seq)
    assert later.ids == {"vm": {ids[1]}}
    assert later.seq > ch.seq


def test_deletes_are_changes_too(store: Store) -> None:
    store.templates.add("t", "CPU=1\nMEMORY=512\n")
    seq = store.changes.current()
    rec = store.templates.delete("t")
    assert store.changes.since(seq).ids == {"template": {rec.id}}


def test_unchanged_monitoring_writes_nothing(store: Store) -> None:
    host = store.hosts.add("h", "libvirt", {"uri": "test:///default"})
    store.hosts.set_monitor(host.id, "on", {"TCPU": 800})
    seq = store.changes.current()
    store.hosts.set_monitor(host.id, "on", {"TCPU": 800})
    assert store.changes.since(seq).ids == {}
    store.hosts.set_monitor(host.id, "on", {"TCPU": 400})
    assert store.changes.since(seq).ids == {"host": {host.id}}


def test_a_reader_behind_the_pruned_log_is_told_to_reload(store: Store) -> None:
    old = store.changes.current()
    store.vms.create([_vm(i) for i in range(10)])
    store.changes.prune(keep=3)
    ch = store.changes.since(old)
    assert not ch.complete
    assert ch.seq == store.changes.current()
    assert store.changes.since(ch.seq).complete


def test_a_failed_batch_leaves_nothing_behind(store: Store) -> None:
    seq = store.changes.current()
    with pytest.raises(KeyError):
        store.vms.create([_vm(0), {"name": "no-body"}])
    assert store.vms.list() == []
    assert store.changes.since(seq).ids == {}
    assert store.events.recent() == []


def test_every_transition_is_an_event(store: Store) -> None:
    (vid,) = store.vms.create([_vm()])
    store.vms.transition(vid, "prol", expect={"pend"})
    store.vms.transition(vid, "fail", expect={"prol"}, event="libvirt: no such file")
    msgs = [e.message for e in store.events.recent(kind="vm", obj_id=vid)]
    assert msgs[0] == f"VM {vid} web-0: prol → fail (libvirt: no such file)"
    assert msgs[1] == f"VM {vid} web-0: pend → prol"
    assert store.events.recent(kind="vm", obj_id=vid)[0].level == "error"
    with pytest.raises(UserError, match="is fail; expected pend"):
        store.vms.transition(vid, "prol", expect={"pend"})


def test_names_with_a_trailing_newline_are_refused(store: Store) -> None:
    with pytest.raises(UserError, match="host name 'web\\\\n'"):
        store.hosts.add("web\n", "libvirt", {"uri": "test:///default"})
