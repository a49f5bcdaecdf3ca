"""`onetui serve --metrics`: a real `serve` process scraped over HTTP, as Prometheus does,
and its answer read with prometheus_client's own parser."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from onetui.data import TEMPLATES, node_uri
from onetui.errors import UserError
from onetui.runtime.prometheus import parse_address
from tests.beds.cli import onetui

Figures = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scrape(port: int) -> Figures:
    """Every sample of one scrape of /metrics, by (sample name, labels)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        assert answer.headers["Content-Type"].startswith("text/plain")
        text = answer.read().decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(figures: Figures, name: str, **labels: str) -> float | None:
    return figures.get((name, frozenset(labels.items())))


def wait_for(port: int, what: str, ok: Callable[[Figures], bool], timeout: float = 30) -> Figures:
    """Scrape until `ok` holds (the engine acts between scrapes)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            figures = scrape(port)
        except OSError:  # not listening yet
            figures = {}
        if figures and ok(figures):
            return figures
        assert time.monotonic() < deadline, f"{what}; last scrape: {figures}"
        time.sleep(0.2)


@contextmanager
def serving(state: Path, port: int, tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """`onetui serve --metrics 127.0.0.1:PORT` until the block ends, then SIGTERM: it must
    stop cleanly (exit 0), metrics server and all."""
    out = (tmp_path / f"serve-{port}.log").open("w+")
    proc = subprocess.Popen([sys.executable, "-m", "onetui", "serve", "--interval", "0.2",
                             "--metrics", f"127.0.0.1:{port}"],
                            env={**os.environ, "ONETUI_STATE": str(state)}, text=True,
                            stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        out.seek(0)
        log = out.read()
        assert f"metrics: http://127.0.0.1:{port}/metrics" in log and "engine stopped" in log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        out.close()


@pytest.mark.slow
def test_scrape_follows_vms_as_they_move_between_states(tmp_path: Path) -> None:
    state = tmp_path / "s"
    onetui("host", "create", "ursa03", "--uri", node_uri("ursa03"), state=state)
    onetui("template", "import", str(TEMPLATES / "xen.local01"), state=state)
    onetui("vm", "create", "xen.local01", "--count", "2", "--hold", state=state)
    port = _free_port()
    with serving(state, port, tmp_path):
        first = wait_for(port, "the engine never led and passed",
                         lambda f: value(f, "onetui_engine_leading") == 1
                         and (value(f, "onetui_engine_pass_duration_seconds_count") or 0) >= 1)
        assert value(first, "onetui_vms", state="hold") == 2
        assert value(first, "onetui_vms", state="runn") == 0
        assert value(first, "onetui_hosts", state="on") == 1
        assert value(first, "onetui_host_cpu_total_cores", host="ursa03") == 8
        assert value(first, "onetui_host_memory_total_bytes", host="ursa03") == 16 * 1024 ** 3
        assert value(first, "onetui_host_cpu_allocated_cores", host="ursa03") == 0

        onetui("vm", "release", "1", state=state)
        onetui("vm", "release", "2", state=state)
        running = wait_for(port, "the VMs never showed running",
                           lambda f: value(f, "onetui_vms", state="runn") == 2)
        assert value(running, "onetui_vms", state="hold") == 0
        assert value(running, "onetui_host_running_vms", host="ursa03") == 2
        assert value(running, "onetui_host_cpu_allocated_cores", host="ursa03") == 1  # 2 x 0.5
        passes = "onetui_engine_pass_duration_seconds_count"
        assert (value(running, passes) or 0) > (value(first, passes) or 0)

        onetui("vm", "shutdown", "1", state=state)
        done = wait_for(port, "the VM shut down never showed done",
                        lambda f: value(f, "onetui_vms", state="done") == 1)
        assert value(done, "onetui_vms", state="runn") == 1
        assert value(done, "onetui_host_cpu_allocated_cores", host="ursa03") == 0.5
        assert value(done, "onetui_engine_errors_total", kind="pass") == 0

        # a second engine waits for the lease: it says so, and still reports the store
        standby = _free_port()
        with serving(state, standby, tmp_path):
            waiting = wait_for(standby, "the standby engine's figures never came",
                               lambda f: value(f, "onetui_vms", state="runn") == 1)
            assert value(waiting, "onetui_engine_leading") == 0
            assert value(waiting, "onetui_engine_pass_duration_seconds_count") == 0
        assert value(scrape(port), "onetui_engine_leading") == 1


@pytest.mark.slow
def test_ec2_api_calls_are_counted_by_action(moto: str, tmp_path: Path) -> None:
    state = tmp_path / "s"
    onetui("host", "create", "ec2", "--driver", "ec2", "--region", "us-east-1",
           "--endpoint-url", moto, state=state)
    onetui("template", "import", str(TEMPLATES / "ec2.template"), state=state)
    port = _free_port()
    with serving(state, port, tmp_path):
        before = wait_for(port, "the engine never passed over the EC2 host",
                          lambda f: (value(f, "onetui_ec2_api_calls_total",
                                           action="DescribeInstances") or 0) >= 1)
        assert value(before, "onetui_ec2_api_calls_total", action="RunInstances") is None
        onetui("vm", "create", "ec2", state=state)
        after = wait_for(port, "the EC2 VM never showed running",
                         lambda f: value(f, "onetui_vms", state="runn") == 1)
        assert value(after, "onetui_ec2_api_calls_total", action="RunInstances") == 1
        described = [value(f, "onetui_ec2_api_calls_total", action="DescribeInstances") or 0
                     for f in (before, after)]
        assert described[1] > described[0]


EXPECTED = "expected HOST:PORT with a port 1-65535, e.g. 127.0.0.1:9464"


@pytest.mark.parametrize(("arg", "err"), [
    ("9464", f"--metrics '9464': {EXPECTED}"),
    ("127.0.0.1", f"--metrics '127.0.0.1': {EXPECTED}"),
    ("127.0.0.1:http", f"--metrics '127.0.0.1:http': {EXPECTED}"),
    ("127.0.0.1:70000", f"--metrics '127.0.0.1:70000': {EXPECTED}"),
    ("[::1]:", f"--metrics '[::1]:': {EXPECTED}"),
    ("0.0.0.0:9464", "--metrics '0.0.0.0:9464': 0.0.0.0 is not a loopback address; expected "
     "e.g. 127.0.0.1:9464, or add --metrics-public to serve it beyond this machine"),
    ("ursa03:9464", "--metrics 'ursa03:9464': ursa03 is not a loopback address; expected "
     "e.g. 127.0.0.1:9464, or add --metrics-public to serve it beyond this machine"),
])
def test_a_bad_or_public_metrics_address_is_refused(arg: str, err: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_address(arg)
    assert str(caught.value) == err


def test_loopback_addresses_and_public_ones_when_asked() -> None:
    assert parse_address("127.0.0.1:9464") == ("127.0.0.1", 9464)
    assert parse_address("localhost:9464") == ("localhost", 9464)
    assert parse_address("[::1]:9464") == ("::1", 9464)
    assert parse_address("0.0.0.0:9464", public=True) == ("0.0.0.0", 9464)


@pytest.mark.slow
def test_bad_metrics_value_exits_2_before_anything_starts(tmp_path: Path) -> None:
    state = tmp_path / "s"
    proc = onetui("serve", "--metrics", "127.0.0.1", state=state, check=False)
    assert (proc.returncode, proc.stderr, proc.stdout) == (
        2, f"onetui: --metrics '127.0.0.1': {EXPECTED}\n", "")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = onetui("serve", "--metrics", f"127.0.0.1:{port}", state=state, check=False)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith(f"onetui: --metrics 127.0.0.1:{port}: cannot listen there")
    assert len(proc.stderr.splitlines()) == 1
    proc = onetui("serve", "--once", "--metrics", "127.0.0.1:9464", state=state, check=False)
    assert proc.returncode == 2 and "expected it without --once" in proc.stderr


def test_other_commands_do_not_load_prometheus_client(tmp_path: Path) -> None:
    """The library is for `serve --metrics` alone: listing VMs does not import it."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "onetui", "vm", "list"],
                          env={**os.environ, "ONETUI_STATE": str(tmp_path / "s")},
                          capture_output=True, text=True, timeout=60, check=True)
    imported = [line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()]
    assert "onetui.cli" in imported  # the trace is there…
    assert not any(name.startswith(("prometheus_client", "onetui.runtime.prometheus"))
                   for name in imported)  # …and the library is not in it
