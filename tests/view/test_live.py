"""The console's first read: a page of the rows a pane shows first, then the whole store;
through the API's client (here in-process, on the store), as the console reads."""

from __future__ import annotations

from pathlib import Path

from onetui.api.local import LocalTransport
from onetui.client import Client
from onetui.store import Store
from onetui.view.live import LiveView


def _view(store: Store) -> LiveView:
    return LiveView(Client(LocalTransport(store)))


def _store(tmp_path: Path, vms: int, hosts: int) -> Store:
    store = Store(tmp_path / "onetui.db")
    for i in range(hosts):
        store.hosts.add(f"node{i}", "libvirt", {"uri": "test:///default"})
    store.vms.create([{"body": "CPU=1\nMEMORY=512\n", "name": f"vm{i}", "cpu": 1,
                       "memory": 512} for i in range(vms)])
    return store


def test_a_first_page_holds_the_lowest_ids_and_the_full_read_follows(tmp_path: Path) -> None:
    with _store(tmp_path, vms=7, hosts=2) as store:
        view = _view(store)
        page = view.first(5)
        assert page.full and page.page
        assert list(page.vms) == [1, 2, 3, 4, 5] and list(page.hosts) == [1, 2]
        whole = view.poll()
        assert whole.full and not whole.page and list(whole.vms) == [1, 2, 3, 4, 5, 6, 7]
        store.vms.transition(7, "hold")
        assert list(view.poll().vms) == [7]  # from then on, only what changed


def test_a_store_that_fits_in_the_first_page_is_read_once(tmp_path: Path) -> None:
    with _store(tmp_path, vms=3, hosts=3) as store:
        view = _view(store)
        first = view.first(3)
        assert first.full and not first.page and len(first.vms) == len(first.hosts) == 3
        after = view.poll()
        assert not after.full and not after.vms


def test_more_hosts_than_the_page_make_it_a_page_too(tmp_path: Path) -> None:
    with _store(tmp_path, vms=1, hosts=4) as store:
        view = _view(store)
        page = view.first(3)
        assert page.page and list(page.hosts) == [1, 2, 3] and list(page.vms) == [1]
        assert len(view.poll().hosts) == 4


def test_a_vm_read_through_the_api_is_the_stores_vm_and_shows_the_same_row(
        tmp_path: Path) -> None:
    """vm.list's records, through JSON and back into VMs (view.records.vm_of fills them in
    directly), are the very VMs the store holds: the console's rows are the CLI's."""
    from onetui.view.records import vms_of
    from onetui.view.rows import vm_row

    with _store(tmp_path, vms=3, hosts=1) as store:
        store.vms.transition(2, "hold")
        stored = store.vms.list(include_done=False)
        read = vms_of(Client(LocalTransport(store)).call("vm.list", include_done=False))
        assert read == stored
        assert [vm_row(v, 0.0) for v in read] == [vm_row(v, 0.0) for v in stored]
        assert [v.vm_state for v in read] == ["PENDING", "HOLD", "PENDING"]
