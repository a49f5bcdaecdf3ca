"""EC2 at scale against moto's server on 127.0.0.1: API calls per engine pass with 1,000
instances, and `onetui vm list --json` with 1,000 EC2 VMs next to `aws ec2
describe-instances` on the same endpoint (when the AWS CLI is installed).

Run: .venv/bin/python bench/ec2.py
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from moto.server import ThreadedMotoServer

from onetui.data import TEMPLATES
from onetui.engine.loop import Engine
from onetui.ops import instantiate
from onetui.store import Store

N = 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(cmd: list[str], env: dict[str, str], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_DEFAULT_REGION": "us-east-1"})
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    state = Path(tempfile.mkdtemp(prefix="onetui-bench-"))
    try:
        with Store.open(state) as store:
            hid = store.hosts.add("ec2", "ec2", {
                "region": "us-east-1", "endpoint_url": endpoint, "max_instances": N,
                "max_cpu": N * 100, "max_memory": N * 1700}).id
            store.templates.add("ec2", (TEMPLATES / "ec2.template").read_text())
            instantiate.create(store, "ec2", count=N, name="worker%i")
            engine = Engine(store)
            engine.lead()
            start = time.perf_counter()
            engine.run_pass()
            launch_s = time.perf_counter() - start
            calls = engine.drivers.host(hid).calls
            launch_calls = dict(calls)
            running = sum(vm.state == "runn" for vm in store.vms.list())
            calls.clear()
            start = time.perf_counter()
            engine.run_pass()
            poll_s = time.perf_counter() - start
            poll_calls = dict(calls)
            engine.close()
        print(f"ec2: {N} workers in one pass: {launch_s:.1f} s, {running} running; API calls "
              f"{launch_calls}")
        print(f"ec2: steady-state pass over {N} instances: {poll_s * 1000:.0f} ms; API calls "
              f"{poll_calls}")
        env = {**os.environ, "ONETUI_STATE": str(state)}
        ours = timed([sys.executable, "-m", "onetui", "vm", "list", "--json"], env)
        print(f"onetui vm list --json with {N} EC2 VMs: {ours:.0f} ms (median of 3; "
              "reads the store, no API call)")
        aws = shutil.which("aws")
        if aws:
            theirs = timed([aws, "ec2", "describe-instances", "--endpoint-url", endpoint,
                            "--output", "json"], env)
            print(f"aws ec2 describe-instances, same endpoint: {theirs:.0f} ms "
                  f"(ratio {theirs / ours:.1f}x)")
        else:
            print("aws ec2 describe-instances: the AWS CLI is not installed here")
    finally:
        server.stop()
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
