"""EC2 workers through boto3 against moto's EC2 server on 127.0.0.1 (the same code path as
AWS: only endpoint_url differs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from onetui.drivers.ec2 import compact_ids, expand_ids
from onetui.engine.loop import Engine
from onetui.ops import instantiate
from onetui.ops import vm_actions as actions
from onetui.store import Store
from tests.beds.ec2 import client, driver_calls, ec2_host, instances, seed, userdata


@pytest.fixture
def engine(store: Store):
    eng = Engine(store)
    assert eng.lead()
    yield eng
    eng.close()


@pytest.mark.slow
def test_the_seed_ec2_templates_run_unchanged(moto: str, store: Store, engine: Engine) -> None:
    hid = ec2_host(store, moto)
    seed(store)
    (web,) = instantiate.create(store, "ec2")
    (sge,) = instantiate.create(store, "sge-ec2")
    engine.run_pass()
    vm = store.vms.get(web)
    assert (vm.state, vm.host_name) == ("runn", "ec2")
    assert vm.deploy_id.startswith("i-")
    assert vm.ip.endswith(".compute-1.amazonaws.com")  # as the seed's `onevm show 0`
    (inst,) = instances(moto, **{"instance-id": vm.deploy_id})
    assert (inst["ImageId"], inst["InstanceType"], inst["KeyName"]) == (
        "ami-yao044b1", "m1.small", "gsg-keypair")
    tags = {t["Key"]: t["Value"] for t in inst["Tags"]}
    assert tags["onetui:store"] == store.store_id
    assert tags["onetui:vm"] == str(web) and tags["Name"] == vm.name
    assert expand_ids(compact_ids([5, 6, 7, 9, 11, 12])) == [5, 6, 7, 9, 11, 12]
    assert compact_ids([5, 6, 7, 9, 11, 12]) == "5-7,9,11-12"
    assert tags["onetui:launch"] == vm.info["launch"]
    (group,) = client(moto).describe_security_groups(
        GroupIds=[g["GroupId"] for g in inst["SecurityGroups"]])["SecurityGroups"]
    assert [(p["IpProtocol"], p["FromPort"], p["ToPort"]) for p in group["IpPermissions"]] == [
        ("tcp", 22, 25)]
    # the sge-ec2 template's Elastic IP is not allocated to this account: visible, not fatal
    s = store.vms.get(sge)
    assert s.state == "runn"
    assert s.message == "Elastic IP 75.101.155.97 is not allocated to this account"
    assert any("75.101.155.97" in e.message and e.level == "error"
               for e in store.events.recent(kind="vm", obj_id=sge))
    assert store.hosts.get(hid).monitor["TCPU"] == 5000


def test_an_allocated_elastic_ip_is_associated(moto: str, store: Store, engine: Engine,
                                               tmp_path: Path) -> None:
    ec2_host(store, moto)
    address = client(moto).allocate_address(Domain="vpc")["PublicIp"]
    tpl = tmp_path / "eip.template"
    tpl.write_text(f'CPU=1\nMEMORY=1700\nEC2=[AMI="ami-dcb054b5", ELASTICIP="{address}", '
                   'AUTHORIZED_PORTS="22-25,80"]\n')
    (vid,) = instantiate.create(store, str(tpl))
    engine.run_pass()
    vm = store.vms.get(vid)
    assert vm.state == "runn" and "Elastic IP" not in vm.message
    (addr,) = client(moto).describe_addresses(PublicIps=[address])["Addresses"]
    assert addr["InstanceId"] == vm.deploy_id
    (inst,) = instances(moto, **{"instance-id": vm.deploy_id})
    (group,) = client(moto).describe_security_groups(
        GroupIds=[g["GroupId"] for g in inst["SecurityGroups"]])["SecurityGroups"]
    assert sorted((p["FromPort"], p["ToPort"]) for p in group["IpPermissions"]) == [
        (22, 25), (80, 80)]


def test_twenty_workers_are_one_run_instances_call_and_polling_is_one_describe(
        moto: str, store: Store, engine: Engine) -> None:
    hid = ec2_host(store, moto)
    seed(store)
    store.networks.add("vpn", "10.1.1.100", "10.1.1.254", "workernode%i")
    store.db.conn.execute("UPDATE hosts SET config = json_set(config, '$.network', 'vpn')")
    ids = instantiate.create(store, "ec2", count=20, name="worker-%i")
    engine.run_pass()
    calls = driver_calls(engine, hid)
    assert calls["RunInstances"] == 1
    vms = store.vms.by_ids(ids)
    assert {v.state for v in vms} == {"runn"}
    found = instances(moto, **{"tag:onetui:store": store.store_id})
    assert len(found) == 20
    by_id = {i["InstanceId"]: i for i in found}
    for vm in vms:  # mapped back by launch index: each VM its own instance and address
        inst = by_id[vm.deploy_id]
        assert inst["AmiLaunchIndex"] == vm.info["launch_index"]
    assert [v.info["vpn_hostname"] for v in vms] == [f"workernode{i}" for i in range(20)]
    assert vms[0].info["vpn_ip"] == "10.1.1.100" and vms[19].info["vpn_ip"] == "10.1.1.119"
    script = userdata(moto, vms[0].deploy_id)
    assert f"  0) VM_ID={vms[0].id} NAME=workernode0 VPN_IP=10.1.1.100 ;;" in script
    assert f"  19) VM_ID={vms[19].id} NAME=workernode19 VPN_IP=10.1.1.119 ;;" in script
    calls.clear()
    engine.run_pass()  # steady state: one paginated DescribeInstances, nothing else
    assert dict(calls) == {"DescribeInstances": 1}


def test_shutdown_terminates_and_releases_the_lease(moto: str, store: Store,
                                                    engine: Engine) -> None:
    ec2_host(store, moto, network="vpn")
    store.networks.add("vpn", "10.1.1.100", "10.1.1.254", "workernode%i")
    seed(store)
    a, _ = instantiate.create(store, "ec2", count=2, name="w%i")
    engine.run_pass()
    actions.shutdown(store, a)
    engine.run_pass()
    engine.run_pass()
    assert store.vms.get(a).state == "done"
    assert [x.ip for x in store.networks.leases("vpn")] == ["10.1.1.101"]
    assert len(instances(moto, **{"tag:onetui:store": store.store_id})) == 1
    (c,) = instantiate.create(store, "ec2", name="w2")
    engine.run_pass()
    assert store.vms.get(c).info["vpn_ip"] == "10.1.1.100"  # the freed address is reused


def test_a_vanished_instance_and_an_orphan_are_reported(moto: str, store: Store,
                                                        engine: Engine) -> None:
    hid = ec2_host(store, moto)
    seed(store)
    (vid,) = instantiate.create(store, "ec2")
    engine.run_pass()
    vm = store.vms.get(vid)
    ec2 = client(moto)
    ec2.terminate_instances(InstanceIds=[vm.deploy_id])  # someone in the AWS console
    stray = ec2.run_instances(ImageId="ami-1", MinCount=1, MaxCount=1, TagSpecifications=[
        {"ResourceType": "instance", "Tags": [{"Key": "onetui:store", "Value": store.store_id},
                                              {"Key": "onetui:launch", "Value": "lost"}]}],
    )["Instances"][0]["InstanceId"]
    engine.run_pass()
    vm = store.vms.get(vid)
    assert vm.state == "fail" and "disappeared" in vm.message
    assert store.hosts.get(hid).monitor["ORPHANS"] == [stray]
    assert any(stray in e.message and "orphan" in e.message
               for e in store.events.recent(kind="host", obj_id=hid))
    assert instances(moto, **{"instance-id": stray})  # reported, not terminated


def test_api_errors_fail_the_vm_with_aws_message(moto: str, store: Store, engine: Engine,
                                                 tmp_path: Path) -> None:
    ec2_host(store, moto)
    tpl = tmp_path / "bad.template"
    tpl.write_text('CPU=1\nMEMORY=1700\nEC2=[AMI="ami-1", SUBNET="subnet-nope"]\n')
    (vid,) = instantiate.create(store, str(tpl))
    engine.run_pass()
    vm = store.vms.get(vid)
    assert vm.state == "fail"
    assert vm.message.startswith("InvalidSubnetID.NotFound")
    bad_ports = tmp_path / "ports.template"
    bad_ports.write_text('CPU=1\nMEMORY=1700\nEC2=[AMI="ami-1", AUTHORIZED_PORTS="22-x"]\n')
    (vid2,) = instantiate.create(store, str(bad_ports))
    engine.run_pass()
    assert store.vms.get(vid2).message == (
        "EC2 AUTHORIZED_PORTS '22-x': expected ports or ranges like 22-25,80")


def test_bursting_goes_local_first_then_ec2(moto: str, store: Store, engine: Engine,
                                            tmp_path: Path) -> None:
    from onetui.data import node_uri

    store.hosts.add("ursa04", "libvirt", {"uri": node_uri("ursa04")})  # 4 cores
    ec2_host(store, moto)
    tpl = tmp_path / "web.template"
    tpl.write_text('CPU = 2\nMEMORY = 512\nOS = [kernel="/boot/vmlinuz", root="sda1"]\n'
                   'DISK = [source="/images/web.disk", target="sda"]\n'
                   'EC2 = [AMI="ami-yao044b1", INSTANCETYPE="m1.small"]\n')
    ids = instantiate.create(store, str(tpl), count=3, name="web%i")
    engine.run_pass()
    engine.run_pass()
    vms = store.vms.by_ids(ids)
    assert [v.host_name for v in vms] == ["ursa04", "ursa04", "ec2"]
    assert "local hosts come before EC2" in vms[0].message
    assert "no local host had room, so it burst to EC2" in vms[2].message
    assert all(v.state == "runn" for v in vms)


def test_unreachable_endpoint_is_a_host_error(store: Store, engine: Engine,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}.items():
        monkeypatch.setenv(key, value)
    hid = ec2_host(store, "http://127.0.0.1:9")  # nothing listens on the discard port
    engine.run_pass()
    host = store.hosts.get(hid)
    assert host.stat == "err" and "127.0.0.1:9" in host.error


def test_a_security_group_deleted_behind_our_back_is_made_again(moto: str, store: Store,
                                                                engine: Engine) -> None:
    """The group is cached between launches; when someone deletes it, the next launch is
    refused with InvalidGroup.NotFound: the group is made again and the launch goes out."""
    ec2_host(store, moto)
    seed(store)
    (first,) = instantiate.create(store, "ec2")
    engine.run_pass()
    (inst,) = instances(moto, **{"instance-id": store.vms.get(first).deploy_id})
    group = inst["SecurityGroups"][0]["GroupId"]
    client(moto).terminate_instances(InstanceIds=[inst["InstanceId"]])
    client(moto).delete_security_group(GroupId=group)
    more = instantiate.create(store, "ec2", count=3, name="more%i")
    engine.run_pass()
    states = [store.vms.get(v).state for v in more]
    assert states == ["runn"] * 3, [store.vms.get(v).message for v in more]
    launched = instances(moto, **{"tag:onetui:launch": store.vms.get(more[0]).info["launch"]})
    assert len(launched) == 3
    assert {i["SecurityGroups"][0]["GroupId"] for i in launched} != {group}


def test_poweroff_stops_the_instance_resume_starts_it_and_reboot_keeps_it(
        moto: str, store: Store, engine: Engine) -> None:
    ec2_host(store, moto)
    seed(store)
    (vid,) = instantiate.create(store, "ec2")
    engine.run_pass()
    engine.run_pass()
    vm = store.vms.get(vid)
    assert vm.state == "runn"
    actions.reboot(store, vid)
    engine.run_pass()
    assert store.vms.get(vid).state == "runn"
    (inst,) = instances(moto, **{"instance-id": vm.deploy_id})
    assert inst["State"]["Name"] == "running"
    actions.poweroff(store, vid)
    engine.run_pass()  # asked; the instance stops, and the next look sees it off
    engine.run_pass()
    assert store.vms.get(vid).state == "poff"
    (inst,) = instances(moto, **{"instance-id": vm.deploy_id})
    assert inst["State"]["Name"] == "stopped"  # kept, not terminated
    actions.resume(store, vid)
    engine.run_pass()
    engine.run_pass()
    assert store.vms.get(vid).state == "runn"
    (inst,) = instances(moto, **{"instance-id": vm.deploy_id})
    assert inst["State"]["Name"] == "running"
