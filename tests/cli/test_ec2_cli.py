"""EC2 and network commands as an admin types them."""

from __future__ import annotations

from pathlib import Path

import pytest

from onetui.data import TEMPLATES
from onetui.integrations.hostsfile import replace_block
from onetui.store import Store
from tests.beds.cli import onetui, onetui_json
from tests.beds.ec2 import client, instances


@pytest.mark.slow
def test_vpn_pool_hosts_file_and_orphans(moto: str, tmp_path: Path) -> None:
    state = tmp_path / "s"
    onetui("net", "create", "vpn", "--range", "10.1.1.100-10.1.1.254",
           "--hostname", "workernode%i", state=state)
    onetui("host", "create", "ec2", "--driver", "ec2", "--region", "us-east-1",
           "--endpoint-url", moto, "--network", "vpn", "--userdata-var", "vpn_server=oneserver",
           state=state)
    onetui("template", "import", str(TEMPLATES / "sge-ec2.template"), state=state)
    onetui("vm", "create", "sge-ec2", "--count", "2", "--name", "worker%i", state=state)
    onetui("serve", "--once", state=state)

    hosts_lines = onetui("net", "hosts", "vpn", state=state).stdout
    assert hosts_lines == "10.1.1.100\tworkernode0\n10.1.1.101\tworkernode1\n"
    etc_hosts = tmp_path / "hosts"
    before = "127.0.0.1\tlocalhost\n10.1.1.99\toneserver   # the front-end\n"
    etc_hosts.write_text(before)
    etc_hosts.chmod(0o644)
    onetui("net", "hosts", "vpn", "--write", str(etc_hosts), state=state)
    text = etc_hosts.read_text()
    assert text.startswith(before)
    assert text[len(before):] == ("# BEGIN onetui vpn\n10.1.1.100\tworkernode0\n"
                                  "10.1.1.101\tworkernode1\n# END onetui vpn\n")
    assert oct(etc_hosts.stat().st_mode & 0o777) == "0o644"

    shown = onetui("vm", "show", "1", state=state).stdout
    assert "VPN IP         : 10.1.1.100" in shown and "VPN HOSTNAME   : workernode0" in shown
    assert "PUBLIC DNS" in shown and ".compute-1.amazonaws.com" in shown
    assert "Elastic IP 75.101.155.97 is not allocated to this account" in shown
    listed = onetui_json("net", "show", "vpn", state=state)
    assert [(x["ip"], x["mac"], x["vm_id"]) for x in listed["leases"]] == [
        ("10.1.1.100", "02:00:0a:01:01:64", 1), ("10.1.1.101", "02:00:0a:01:01:65", 2)]

    # an instance tagged with this store that no VM owns: listed, terminated only on request
    vm1 = onetui_json("vm", "show", "1", state=state)
    tags = {t["Key"]: t["Value"] for t in instances(moto, **{"instance-id": vm1["deploy_id"]})[0]
            ["Tags"]}
    store_id = tags["onetui:store"]
    stray = client(moto).run_instances(ImageId="ami-1", MinCount=1, MaxCount=1,
                                       TagSpecifications=[{"ResourceType": "instance", "Tags": [
                                           {"Key": "onetui:store", "Value": store_id}]}],
                                       )["Instances"][0]["InstanceId"]
    onetui("serve", "--once", state=state)
    assert onetui_json("ec2", "orphans", state=state) == [{"host": "ec2", "instance": stray}]
    out = onetui("ec2", "orphans", "--terminate", state=state).stdout
    assert out == f"terminated {stray} on ec2\n"
    assert not instances(moto, **{"instance-id": stray})
    assert len(instances(moto, **{"tag:onetui:store": store_id})) == 2


@pytest.mark.slow
def test_bad_ec2_and_net_input(tmp_path: Path) -> None:
    state = tmp_path / "s"
    cases = [
        (("host", "create", "ec2", "--driver", "ec2"),
         "onetui: --region is required for an ec2 host (e.g. us-east-1)\n"),
        (("host", "create", "ec2", "--driver", "ec2", "--region", "r", "--network", "vpn"),
         "onetui: no net 'vpn' (see `onetui net list`)\n"),
        (("host", "create", "ec2", "--driver", "ec2", "--region", "r", "--userdata-var",
          "vpn_server=a;rm -rf /"),
         "onetui: --userdata-var vpn_server='a;rm -rf /': expected a host name or IPv4 "
         "address\n"),
        (("net", "create", "vpn", "--range", "10.1.1.254-10.1.1.100"),
         "onetui: --range '10.1.1.254-10.1.1.100': the last address must not come before "
         "the first\n"),
        (("net", "create", "vpn", "--range", "10.1.1.x"),
         "onetui: --range '10.1.1.x': expected FIRST-LAST IPv4 addresses, e.g. "
         "10.1.1.100-10.1.1.254\n"),
    ]
    for args, err in cases:
        proc = onetui(*args, state=state, check=False)
        assert (proc.returncode, proc.stderr) == (2, err), args


def test_hosts_block_keeps_every_other_byte() -> None:
    text = "a\r\nb  # keep\n# BEGIN onetui vpn\nold\n# END onetui vpn\nz"
    assert replace_block(text, "vpn", ["1.2.3.4\tw0"]) == (
        "a\r\nb  # keep\n# BEGIN onetui vpn\n1.2.3.4\tw0\n# END onetui vpn\nz")
    assert replace_block("x", "vpn", []) == "x\n# BEGIN onetui vpn\n# END onetui vpn\n"


@pytest.mark.slow
def test_host_update_points_a_host_at_its_endpoint_in_place(moto: str, tmp_path: Path) -> None:
    """A wrong endpoint is mended with `host update`, not delete and re-create: the host
    keeps its id, attributes and VMs, and the next pass reaches the cloud."""
    state = tmp_path / "s"
    onetui("host", "create", "aws", "--driver", "ec2", "--region", "us-east-1",
           "--endpoint-url", "http://127.0.0.1:9", "--userdata-var", "vpn_server=oneserver",
           state=state)
    onetui("host", "update", "aws", "ZONE=a", state=state)
    onetui("serve", "--once", state=state)
    assert onetui_json("host", "show", "aws", state=state)["state"] == "err"
    out = onetui("host", "update", "aws", "--endpoint-url", moto, "--max-instances", "5",
                 "--userdata-var", "nfs_server=10.0.0.2", state=state).stdout
    assert out == "host aws updated\n"
    onetui("serve", "--once", state=state)
    host = onetui_json("host", "show", "aws", state=state)
    assert (host["id"], host["state"], host["attrs"]) == (1, "on", {"ZONE": "a"})
    assert host["config"]["max_cpu"] == 500  # follows the new --max-instances
    shown = onetui("host", "show", "aws", state=state).stdout
    assert "USERDATA       : nfs_server=10.0.0.2, vpn_server=oneserver" in shown
    with Store.open(state) as store:
        events = [e.message for e in store.events.recent(limit=20, kind="host")]
    assert "host aws settings changed: endpoint_url, max_cpu, max_instances, max_memory, " \
        "userdata" in events
    wrong = onetui("host", "update", "aws", "--uri", "qemu:///system", state=state,
                   check=False)
    assert wrong.returncode == 2 and "--uri: not a setting of ec2 hosts" in wrong.stderr
    empty = onetui("host", "update", "aws", state=state, check=False)
    assert empty.returncode == 2 and "nothing to change" in empty.stderr
