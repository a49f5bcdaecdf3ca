"""EC2 throttling, 5xx and dropped connections, for real: a proxy in front of moto answers
the first RunInstances calls with AWS's own faults. The launch still ends with exactly as
many instances as VMs (none twice, no orphan), and the backoff is visible as events."""

from __future__ import annotations

import time

import pytest

from onetui.engine.loop import Engine
from onetui.ops import instantiate
from onetui.store import Store
from tests.beds.ec2 import ec2_host, instances, seed
from tests.beds.faulty_cloud import FaultyCloud

# boto3 tries a call 3 times itself ("standard" retries); 4 faults reach onetui once.
FAULTS_IN_A_ROW = 4


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["throttle", "internal", "drop"])
def test_a_launch_through_cloud_faults_makes_each_instance_once(moto: str, store: Store,
                                                                fault: str) -> None:
    cloud = FaultyCloud(moto, "RunInstances", fault, FAULTS_IN_A_ROW)
    engine = Engine(store, interval=0.2)
    try:
        ec2_host(store, cloud.url)
        seed(store)
        ids = instantiate.create(store, "ec2", count=5, name="w%i")
        assert engine.lead()
        deadline = time.monotonic() + 60
        while {store.vms.get(v).state for v in ids} != {"runn"}:
            assert time.monotonic() < deadline, [store.vms.get(v).message for v in ids]
            engine.run_pass()
            time.sleep(0.2)
        assert cloud.faulted == FAULTS_IN_A_ROW
        ours = instances(moto, **{"tag:onetui:store": store.store_id})
        assert sorted(i["InstanceId"] for i in ours) == sorted(
            store.vms.get(v).deploy_id for v in ids)  # five, each a VM's, none twice
        if fault != "drop":
            busy = [e.message for e in store.events.recent(kind="vm", limit=200)
                    if "EC2 busy" in e.message]
            assert busy and "retry in 5 s" in busy[-1]
        assert not store.hosts.get("ec2").monitor.get("ORPHANS")
    finally:
        engine.close()
        cloud.close()
