"""Reliability drills, counted: what was tried, how often, and what held.

1. kill -9 drill: `onetui serve` is killed with SIGKILL at the crash points of an EC2 burst
   (ONETUI_FAULT=before-launch / after-launch / poll:N), round after round, on moto's
   server; then one clean engine finishes the work.
2. cloud-fault drill: RunInstances answered with throttling, internal errors or a dropped
   connection (a proxy in front of moto), more times in a row than boto3 retries itself.
3. hung-host drill: a hypervisor that accepts TCP and never answers, next to a healthy one;
   two `serve` processes with a 2 s lease and a 4 s host timeout.

Every drill counts: kills, VMs, instances, duplicates (an instance id on two VMs or a VM
made twice), orphans (an instance no VM owns), stuck (a VM not running at the end), and for
the hung host how many engines led at once. Run: .venv/bin/python bench/drills.py [ROUNDS]
"""

from __future__ import annotations

import logging
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from onetui.data import TEMPLATES  # noqa: E402
from onetui.engine.loop import Engine  # noqa: E402
from onetui.ops import instantiate  # noqa: E402
from onetui.store import Store  # noqa: E402
from tests.beds.faulty_cloud import FaultyCloud  # noqa: E402
from tests.beds.silent_host import SilentHost  # noqa: E402

AWS = {"AWS_ACCESS_KEY_ID": "drill", "AWS_SECRET_ACCESS_KEY": "drill",
       "AWS_DEFAULT_REGION": "us-east-1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ours(endpoint: str, store_id: str) -> list[str]:
    ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=endpoint)
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "tag:onetui:store", "Values": [store_id]}])
    return [i["InstanceId"] for p in pages for r in p["Reservations"] for i in r["Instances"]
            if i["State"]["Name"] not in ("terminated", "shutting-down")]


def tally(store: Store, endpoint: str, ids: list[int]) -> dict[str, int]:
    vms = store.vms.by_ids(ids)
    owned = [vm.deploy_id for vm in vms if vm.deploy_id]
    live = ours(endpoint, store.store_id)
    return {"VMs": len(vms), "instances": len(live),
            "duplicates": len(owned) - len(set(owned)) + max(0, len(live) - len(vms)),
            "orphans": len(set(live) - set(owned)),
            "stuck": sum(1 for vm in vms if vm.state != "runn")}


def finish(store: Store, ids: list[int], limit: float = 120) -> None:
    engine = Engine(store, interval=0.2)
    try:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if engine.lead():
                engine.run_pass()
            if {vm.state for vm in store.vms.by_ids(ids)} <= {"runn", "fail"}:
                return
            time.sleep(0.3)
    finally:
        engine.close()


def kill_drill(endpoint: str, rounds: int, workers: int) -> dict[str, int]:
    state = Path(tempfile.mkdtemp(prefix="onetui-drill-"))
    env = {**os.environ, **AWS, "ONETUI_STATE": str(state), "ONETUI_LEASE_TTL": "0.5",
           "PYTHONPATH": str(ROOT)}
    kills = 0
    with Store.open(state) as store:
        store.hosts.add("ec2", "ec2", {"region": "us-east-1", "endpoint_url": endpoint,
                                       "max_instances": 10_000, "max_cpu": 10**6,
                                       "max_memory": 10**8})
        store.templates.add("ec2", (TEMPLATES / "ec2.template").read_text())
        ids: list[int] = []
        points = ["before-launch", "after-launch", "poll:1", "poll:2"]
        for _ in range(rounds):
            ids += instantiate.create(store, "ec2", count=workers, name=f"r{len(ids)}-%i")
            point = random.choice(points)
            time.sleep(0.6)  # the last killed engine's lease runs out
            done = subprocess.run([sys.executable, "-m", "onetui", "serve", "--once"],
                                  env={**env, "ONETUI_FAULT": point}, capture_output=True,
                                  timeout=300)
            kills += done.returncode == -9
        time.sleep(0.6)
        finish(store, ids)
        return {"kills": kills, **tally(store, endpoint, ids)}


def fault_drill(endpoint: str, fault: str, workers: int) -> dict[str, int]:
    cloud = FaultyCloud(endpoint, "RunInstances", fault, 4)
    state = Path(tempfile.mkdtemp(prefix="onetui-drill-"))
    try:
        with Store.open(state) as store:
            store.hosts.add("ec2", "ec2", {"region": "us-east-1", "endpoint_url": cloud.url,
                                           "max_instances": 10_000, "max_cpu": 10**6,
                                           "max_memory": 10**8})
            store.templates.add("ec2", (TEMPLATES / "ec2.template").read_text())
            ids = instantiate.create(store, "ec2", count=workers, name="w%i")
            finish(store, ids)
            busy = sum(1 for e in store.events.recent(limit=1000) if "EC2 busy" in e.message)
            return {"faults": cloud.faulted, **tally(store, endpoint, ids),
                    "backoff events": busy}
    finally:
        cloud.close()


def hung_host_drill(seconds: float = 20) -> dict[str, int]:
    silent = SilentHost()
    state = Path(tempfile.mkdtemp(prefix="onetui-drill-"))
    env = {**os.environ, "ONETUI_STATE": str(state), "ONETUI_LEASE_TTL": "2",
           "ONETUI_HOST_TIMEOUT": "4", "PYTHONPATH": str(ROOT)}
    node = state.parent / f"{state.name}-node.xml"
    node.write_text("<node><cpu><nodes>1</nodes><sockets>1</sockets><cores>4</cores>"
                    "<threads>1</threads><active>4</active><mhz>2000</mhz></cpu>"
                    "<memory>8388608</memory></node>")
    with Store.open(state) as store:
        store.hosts.add("hung", "libvirt", {"uri": silent.uri})
        store.hosts.add("ok", "libvirt", {"uri": f"test://{node}"})
        procs = [subprocess.Popen([sys.executable, "-m", "onetui", "serve", "--interval",
                                   "0.5"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL) for _ in range(2)]
        time.sleep(seconds)
        for p in procs:
            p.terminate()
        exits = [p.wait(timeout=30) for p in procs]
        silent.close()
        events = [e.message for e in reversed(store.events.recent(kind="engine", limit=500))]
        leading, most = 0, 0
        for m in events:
            leading += "took the lead" in m
            leading -= m.endswith(" stopped") or "lost the lease" in m
            most = max(most, leading)
        hung = store.hosts.get("hung")
        return {"engines": 2, "at most leading at once": most,
                "hung host err": int(hung.state == "err"),
                "exited on SIGTERM": sum(1 for e in exits if e == 0)}


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    os.environ.update(AWS)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        rows = [("kill -9 during bursts", kill_drill(endpoint, rounds, 25))]
        for fault in ("throttle", "internal", "drop"):
            rows.append((f"RunInstances {fault} x4", fault_drill(endpoint, fault, 20)))
    finally:
        server.stop()
    rows.append(("hung hypervisor, 2 engines", hung_host_drill()))
    for name, counts in rows:
        print(f"{name:30} " + ", ".join(f"{k}: {v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
