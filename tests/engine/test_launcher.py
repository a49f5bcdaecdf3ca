"""The launcher on its own: VMs placed on an EC2 host go out as one RunInstances, and a
launch that was sent before a crash is adopted from the cloud, never repeated (the real EC2
driver, through boto3, against moto's server on 127.0.0.1)."""

from __future__ import annotations

from onetui.drivers.ec2 import Ec2Driver
from onetui.engine.launcher import Launcher
from onetui.engine.lifecycle import Lifecycle
from onetui.engine.placement import Placements
from onetui.ops import instantiate
from onetui.ops import vm_actions as actions
from onetui.store import Store
from tests.beds.ec2 import ec2_host, instances, seed


def placed(store: Store, moto: str, count: int) -> tuple[int, list[int], Lifecycle]:
    """`count` VMs of the seed's ec2 template in `prol` on an ec2 host, as dispatch leaves
    them."""
    hid = ec2_host(store, moto)
    seed(store)
    ids = instantiate.create(store, "ec2", count=count, name="w%i")
    lifecycle = Lifecycle(store)
    for vid in ids:
        assert lifecycle.transition(store.vms.get(vid), "prol", host_id=hid)
    return hid, ids, lifecycle


def launch(store: Store, hid: int, lifecycle: Lifecycle) -> tuple[set[int], Ec2Driver]:
    """One launcher run with a driver of its own (a fresh process would have a new one)."""
    host = store.hosts.get(hid)
    driver = Ec2Driver(store.store_id, host.config)
    launcher = Launcher(store, lifecycle, Placements(store))
    try:
        return launcher.run(host, driver, store.vms.list(states=["prol"])), driver
    finally:
        driver.close()


def crash_before_recording(store: Store, ids: list[int]) -> None:
    """Rewind to the moment after RunInstances returned and before any VM was recorded: the
    VMs back in `prol` without an instance, the launch record `sent`."""
    token = store.vms.get(ids[0]).info["launch"]
    store.db.conn.executemany("UPDATE vms SET state = 'prol', deploy_id = '' WHERE id = ?",
                              [(vid,) for vid in ids])
    store.launches.set_state(token, "sent")


def test_a_batch_is_one_run_instances_and_each_vm_gets_its_instance(moto: str,
                                                                    store: Store) -> None:
    hid, ids, lifecycle = placed(store, moto, 5)
    hosts, driver = launch(store, hid, lifecycle)
    assert hosts == {hid}
    assert driver.calls["RunInstances"] == 1
    vms = store.vms.by_ids(ids)
    assert {vm.state for vm in vms} == {"boot"}
    owned = {vm.deploy_id for vm in vms}
    assert len(owned) == 5
    assert {i["InstanceId"] for i in instances(moto)} == owned
    token = vms[0].info["launch"]
    assert store.launches.get(token).state == "done"
    assert {vm.info["launch"] for vm in vms} == {token}


def test_a_launch_sent_before_a_crash_is_adopted_not_launched_again(moto: str,
                                                                   store: Store) -> None:
    hid, ids, lifecycle = placed(store, moto, 3)
    launch(store, hid, lifecycle)
    before = {vm.id: vm.deploy_id for vm in store.vms.by_ids(ids)}
    crash_before_recording(store, ids)
    hosts, driver = launch(store, hid, Lifecycle(store))
    assert hosts == {hid}
    assert driver.calls["RunInstances"] == 0
    after = {vm.id: vm.deploy_id for vm in store.vms.by_ids(ids)}
    assert after == before  # each VM adopted the very instance launched for it
    assert len(instances(moto)) == 3
    assert any("adopted after a restart" in e.message for e in store.events.recent(kind="vm"))


def test_instances_launched_for_vms_deleted_meanwhile_are_terminated(moto: str,
                                                                    store: Store) -> None:
    hid, ids, lifecycle = placed(store, moto, 3)
    launch(store, hid, lifecycle)
    gone = store.vms.get(ids[1]).deploy_id
    crash_before_recording(store, ids)
    actions.delete(store, ids[1])  # the admin deletes one while no engine runs
    launch(store, hid, Lifecycle(store))
    left = {i["InstanceId"] for i in instances(moto)}
    assert gone not in left and len(left) == 2
    assert {store.vms.get(v).state for v in (ids[0], ids[2])} == {"boot"}
    assert any(gone in e.message and "deleted meanwhile" in e.message
               for e in store.events.recent(kind="host"))
