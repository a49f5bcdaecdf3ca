"""`sge grow` / `sge shrink` against other writers of the same tier: each change is added
to the size in one transaction, so none is lost (the engine's elastic rules and a second
admin scale the same row)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from onetui.errors import UserError
from onetui.managers.sge import grow, shrink
from onetui.store import Store

WORKER = 'CPU = 1\nMEMORY = 64\nSGE = [ QUEUE = "all.q", SLOTS = 1 ]\n'


def test_concurrent_grows_and_shrinks_all_count(state_dir: Path) -> None:
    with Store.open(state_dir) as store:
        store.templates.add("sgebase", WORKER)
        grow(store, 50, "sgebase")  # the shrinks never reach 0
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def admin(verb: str) -> None:  # each its own connection, as separate `onetui` runs
        try:
            with Store.open(state_dir) as store:
                start.wait()
                for _ in range(15):
                    if verb == "grow":
                        grow(store, 2, "sgebase")
                    else:
                        shrink(store, 1, "sgebase")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=admin, args=(verb,))
               for verb in ("grow", "grow", "grow", "shrink", "shrink", "shrink")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with Store.open(state_dir) as store:
        tier = store.services.get("sgebase")
        assert tier.desired == 50 + 3 * 15 * 2 - 3 * 15
        sizes = [e.message for e in store.events.recent(kind="service", obj_id=tier.id,
                                                         limit=200) if "desired size" in e.message]
        assert len(sizes) == 1 + 6 * 15  # each change said once, none folded into another


def test_refused_grow_writes_nothing(store: Store) -> None:
    store.templates.add("sgebase", WORKER)
    with pytest.raises(UserError, match=r"^sge grow 300: service sgebase: size 300 is "
                                        r"outside 0\.\.256$"):
        grow(store, 300, "sgebase")
    assert store.services.list() == []  # the tier is not made half-way either
