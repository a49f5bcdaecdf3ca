"""The embedded demo: a throwaway store holding the seed's scenario, so a newcomer sees
onetui working without any infrastructure of their own.

Nothing here is simulated inside onetui: hosts are libvirt test-driver nodes (real libvirt,
in-process) and an EC2 endpoint (moto's server, started on 127.0.0.1 for the demo and
reached through boto3 exactly as AWS is), and the VMs are real libvirt domains and real
(moto) instances deployed by the real engine.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from onetui.data import SEED_TEMPLATES, TEMPLATES, node_uri
from onetui.engine.loop import Engine
from onetui.errors import UserError
from onetui.model import expand_name
from onetui.ops import instantiate
from onetui.remote.hostkeys import KnownHosts
from onetui.runtime.compose import build_engine
from onetui.store import Store

# name -> test-driver node: two local hypervisors of different sizes, as in the seed.
DEMO_HOSTS = {"ursa03": "ursa03", "ursa04": "ursa04"}
# The seed's web tier (scenario 2): a load balancer, two web servers on EC2, and the local
# web servers as a service of four the engine keeps running (local first, EC2 when full).
DEMO_VMS = (("xen.loadbalancer", "loadbalancer", 1), ("ec2", "ec2web%02i", 2))
DEMO_SERVICE = ("web", "xen.local01", "ec2", 4, 8)
DEMO_AWS_ENV = {"AWS_ACCESS_KEY_ID": "demo", "AWS_SECRET_ACCESS_KEY": "demo"}


@dataclass
class Demo:
    state_dir: Path
    endpoint: str = ""
    templates: list[str] = field(default_factory=list)
    hosts: list[tuple[str, str]] = field(default_factory=list)
    vms: list[int] = field(default_factory=list)
    server: Any = None

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


def start_ec2_endpoint() -> tuple[Any, str]:
    """moto's EC2 server on a free 127.0.0.1 port, with throwaway credentials set for this
    process only (boto3 finds them in the environment, as it would real ones)."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        raise UserError("the demo's EC2 endpoint needs moto: run `bash scripts/demo.sh`, "
                        "which installs it") from None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log on the screen
    os.environ.update(DEMO_AWS_ENV)
    return server, f"http://127.0.0.1:{port}"


def template_name(file_name: str) -> str:
    return file_name.removesuffix(".template")


def prepare(state_dir: Path) -> Demo:
    """Fill a fresh store in `state_dir` with the seed's templates, hosts and VM intents."""
    server, endpoint = start_ec2_endpoint()
    demo = Demo(state_dir, endpoint, server=server)
    with Store.open(state_dir) as store:
        for file_name in SEED_TEMPLATES:
            body = (TEMPLATES / file_name).read_text(encoding="utf-8")
            rec = store.templates.add(template_name(file_name), body, source=file_name)
            demo.templates.append(rec.name)
        for name, node in DEMO_HOSTS.items():
            uri = node_uri(node)
            store.hosts.add(name, "libvirt", {"uri": uri})
            demo.hosts.append((name, f"libvirt {uri}"))
        store.networks.add("vpn", "10.1.1.100", "10.1.1.254", "workernode%i")
        # Scenario 3's lab network, on loopback: `L` then `n` in the console makes a lab on
        # it (the test-driver hosts run no real guests, so its seats wait for SSH).
        store.networks.add("labnet", "127.0.5.10", "127.0.5.59", "seat%i")
        store.hosts.add("ec2", "ec2", {"region": "us-east-1", "endpoint_url": endpoint,
                                       "max_instances": 20, "max_cpu": 2000,
                                       "max_memory": 20 * 1700, "network": "vpn"})
        demo.hosts.append(("ec2", f"ec2 {endpoint}"))
        for template, pattern, count in DEMO_VMS:
            offset = 1 if "%" in pattern else 0
            names = [expand_name(pattern, i + offset) for i in range(count)]
            for vm_name in names:
                demo.vms += instantiate.create(store, template, name=vm_name)
        name, template, burst, size, most = DEMO_SERVICE
        store.services.add(name, store.templates.get(template).id,
                           store.templates.get(burst).id, size, most, {"port": 80})
    return demo


def start_engine(store: Store, passes: int = 3) -> Engine:
    """An engine for the demo store, after a few passes (VMs deployed and running). The
    caller keeps it: the test driver's domains live as long as its connections."""
    engine = build_engine(store, {}, interval=1.0)
    if engine.lead():
        for _ in range(passes):
            engine.run_pass()
    return engine


# -- the grid: the real SGE test bed, when the machine can run it ------------------------------

BED_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "testbed" / "sge.sh"
# Only onetui runs as root: `sudo bash scripts/demo.sh` would run setup.sh as root too and
# leave the admin's .venv root-owned.
GRID_HOWTO = ("no grid in this demo: {why}; on Debian, `sudo .venv/bin/onetui demo --grid` "
              "runs it as root (it installs gridengine and starts scripts/testbed/sge.sh) "
              "and leaves .venv yours")
# The seed's `qsub test_1.sh; qsub test_2.sh`: jobs that work a while. Two more than the
# grid has slots, so some run on all.q@… and the rest wait under PENDING JOBS.
DEMO_JOB = b"#!/bin/sh\n# like the seed's test_1.sh: a job that works a while\nsleep 300\n"
EXTRA_JOBS = 2


def grid_unavailable(script: Path = BED_SCRIPT) -> str:
    """Why this machine cannot run the demo's grid ("" when it can): the test bed needs
    root, Debian's package tools and the checkout's scripts/testbed/sge.sh."""
    if not script.is_file():
        return f"{script} is not here (an installed onetui, not a checkout)"
    if os.geteuid() != 0:
        return "starting Sun Grid Engine needs root"
    if not (shutil.which("dpkg-query") and shutil.which("apt-get")):
        return "Debian's gridengine packages need apt-get"
    return ""


@dataclass
class DemoGrid:
    """The real SGE test bed for the demo, brought up in a thread so the console paints at
    once. It records what it started (sge.sh's ONETUI_SGE_RECORD), so leaving the demo stops
    exactly that: a grid that was already up stays up. The jobs it submitted are deleted.

    `state` is what the SGE pane shows: starting, up, failed (with `message`), stopped.
    `left` is set when stopping failed: what to run to stop the rest (the record is kept)."""

    state_dir: Path  # the demo's: the grid's files go in grid/ under it
    script: Path = BED_SCRIPT
    state: str = "starting"
    message: str = "starting the grid…"
    jobs: list[int] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    left: str = ""
    step: str = ""  # the sge.sh step under way: status, install, up
    _proc: subprocess.Popen[bytes] | None = None
    _thread: threading.Thread | None = None
    _closing: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def dir(self) -> Path:
        path = self.state_dir / "grid"
        path.mkdir(mode=0o700, exist_ok=True)
        return path

    @property
    def record(self) -> Path:
        return self.dir / "started"

    @property
    def log(self) -> Path:
        return self.dir / "sge.log"

    def config(self) -> dict[str, Any]:
        """The `[sge]` table that points onetui at the bed's sshd (read from `sge.sh env`,
        so a port or directory set in the environment is followed)."""
        if not self.env:
            out = subprocess.run(["bash", str(self.script), "env"], check=True,
                                 capture_output=True, text=True).stdout
            self.env = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        return {"host": "127.0.0.1", "port": int(self.env["ONETUI_SGE_SSH_PORT"]),
                "user": self.env["ONETUI_SGE_SSH_USER"],
                "key_file": self.env["ONETUI_SGE_SSH_KEY"],
                "known_hosts": [str(self.dir / "known_hosts")],
                "ssh_config": str(self.dir / "no-ssh-config"), "drain_timeout": 30}

    def start(self) -> None:
        self.config()
        self._thread = threading.Thread(target=self._bring_up, name="demo-grid", daemon=True)
        self._thread.start()

    def _bed(self, step: str, record: bool = False) -> int | None:
        """Run `sge.sh STEP` into the log; None when the demo is closing (not started)."""
        env = {**os.environ, **({"ONETUI_SGE_RECORD": str(self.record)} if record else {})}
        # appended to, 0600, and a link in its place is not followed (as the crash log)
        fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "ab") as log, self._lock:  # close() sees the step and its process
            if self._closing.is_set():
                return None
            self.step = step
            self._proc = subprocess.Popen(["bash", str(self.script), step], env=env,
                                          stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                          start_new_session=True)
        return self._proc.wait()

    def _bring_up(self) -> None:
        try:
            if self._bed("status") != 0:
                self.message = f"starting the grid… (sge.sh install, then up: packages, " \
                               f"qmaster, exec hosts; log: {self.log})"
                # install on its own: quitting never interrupts apt-get or dpkg, only `up`
                for step in ("install", "up"):
                    rc = self._bed(step, record=step == "up")
                    if rc is None:
                        return
                    if rc != 0:
                        lines = self.log.read_text(errors="replace").strip().splitlines()
                        raise UserError(lines[-1] if lines else f"sge.sh {step} failed")
            if self._closing.is_set():
                return
            key_type, key, *_ = Path(self.env["ONETUI_SGE_HOST_KEY"]).read_text().split()
            KnownHosts(self.dir / "known_hosts").set(
                "127.0.0.1", int(self.env["ONETUI_SGE_SSH_PORT"]), [(key_type, key)])
            self._submit()
            self.state, self.message = "up", ""
        except Exception as exc:  # the console shows it in the SGE pane
            self.state = "failed"
            self.message = f"the grid did not start: {exc} (log: {self.log})"

    def _submit(self) -> None:
        from onetui.integrations.sge.master import Master, SgeConfig

        cfg = SgeConfig.from_config({"sge": self.config()})
        assert cfg is not None
        master = Master(cfg)
        try:
            grid = master.qstat()
            slots = sum(q.total or 0 for q in grid.queues if "u" not in q.states) or 1
            for i in range(slots + EXTRA_JOBS):
                if self._closing.is_set():
                    break
                self.jobs.append(master.submit(DEMO_JOB, f"test_{i + 1}.sh"))
        finally:
            master.close()

    def close(self) -> str:
        """Delete the demo's jobs and stop what the demo started (nothing else). Returns
        what to print: what sge.sh said, and what is left to do when something failed."""
        self._end_bring_up()
        said: list[str] = []
        try:
            said.append(self._delete_jobs())
        finally:  # whatever happened to the jobs, what the demo started is stopped
            said.append(self._stop_recorded())
            self.state = "stopped"
        return "\n".join(line for line in said if line)

    def _end_bring_up(self) -> None:
        """No step starts any more; an `up` under way is stopped (its process group: what
        it started so far is in the record), an `install` is let finish (apt-get and dpkg
        are never interrupted); either way it has exited before anything is stopped."""
        with self._lock:
            self._closing.set()
            proc = self._proc
            if self.step == "up" and proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        if proc is not None:
            try:
                proc.wait(30 if self.step == "up" else None)
            except subprocess.TimeoutExpired:  # it ignored TERM: nothing can ignore KILL
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if self._thread is not None:
            self._thread.join()  # no new step: it ends with the step it was in

    def _delete_jobs(self) -> str:
        if not self.jobs:
            return ""
        from onetui.integrations.sge.master import Master, SgeConfig

        jobs = " ".join(map(str, self.jobs))
        try:
            cfg = SgeConfig.from_config({"sge": self.config()})
            assert cfg is not None
            master = Master(cfg)
            try:
                master.run("qdel", *jobs.split(), check=False)
            finally:
                master.close()
        except Exception as exc:  # a grid gone already took its jobs with it
            return f"the demo's jobs were not deleted ({exc}): qdel {jobs}"
        self.jobs.clear()
        return ""

    def _stop_recorded(self) -> str:
        """`sge.sh stop-recorded`; the record goes only once that succeeded, else it stays
        (with the demo's state directory) and the exact command to finish is returned."""
        if not self.record.exists():
            return ""
        done = subprocess.run(["bash", str(self.script), "stop-recorded", str(self.record)],
                              capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if done.returncode == 0:
            self.record.unlink()
            return done.stdout.strip()
        self.left = f"bash {self.script} stop-recorded {self.record}"
        return "\n".join(part for part in (
            done.stdout.strip(), done.stderr.strip(),
            f"the grid was not fully stopped (sge.sh exit {done.returncode}): run "
            f"`{self.left}` as root to stop the rest (kept: {self.state_dir})") if part)
