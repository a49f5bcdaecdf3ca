"""Kill the engine with SIGKILL at the dangerous points of a 20-worker burst, restart it:
exactly 20 instances exist afterwards, each owned by exactly one VM."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from onetui.data import TEMPLATES
from onetui.store import Store
from tests.beds.cli import onetui
from tests.beds.ec2 import instances
from tests.conftest import AWS_ENV

pytestmark = pytest.mark.slow  # whole `onetui serve` processes killed and restarted


def serve_once(state: Path, fault: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **AWS_ENV, "ONETUI_STATE": str(state), "ONETUI_LEASE_TTL": "0.5"}
    env.pop("ONETUI_FAULT", None)
    if fault:
        env["ONETUI_FAULT"] = fault
    time.sleep(0.6)  # let a killed engine's lease run out
    return subprocess.run([sys.executable, "-m", "onetui", "serve", "--once"], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("fault", ["before-launch", "after-launch", "poll:2"])
def test_sigkill_during_a_burst_never_duplicates_nor_orphans(moto: str, tmp_path: Path,
                                                             fault: str) -> None:
    state = tmp_path / "state"
    onetui("host", "create", "ec2", "--driver", "ec2", "--region", "us-east-1",
           "--endpoint-url", moto, "--max-instances", "40", state=state)
    onetui("template", "import", str(TEMPLATES / "ec2.template"), state=state)
    onetui("vm", "create", "ec2", "--count", "20", "--name", "worker%i", state=state)

    crashed = serve_once(state, fault)
    assert crashed.returncode == -9, crashed.stderr  # really killed, at that point

    for _ in range(5):
        assert serve_once(state).returncode == 0
        with Store.open(state) as store:
            if all(vm.state == "runn" for vm in store.vms.list()):
                break
    with Store.open(state) as store:
        vms = store.vms.list()
        launched = instances(moto, **{"tag:onetui:store": store.store_id})
        assert len(vms) == 20 and {vm.state for vm in vms} == {"runn"}
        assert len(launched) == 20
        owners = [vm.deploy_id for vm in vms]
        assert sorted(owners) == sorted(i["InstanceId"] for i in launched)
        assert len(set(owners)) == 20
        assert store.hosts.get("ec2").monitor["ORPHANS"] == []
        if fault == "after-launch":
            assert any("adopted after a restart" in e.message
                       for e in store.events.recent(limit=500))
