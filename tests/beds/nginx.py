"""A real nginx (Debian's) on a loopback port, and HTTP backends, for the web-tier tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from onetui.integrations.nginx import LoadBalancer
from onetui.remote.ssh import Local


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Backend(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = self.server.name.encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def backends() -> Iterator[dict[str, str]]:
    servers = []
    out = {}
    for name in ("web1", "web2", "web3", "web4"):
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Backend)
        httpd.name = name  # type: ignore[attr-defined]
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        out[name] = f"127.0.0.1:{httpd.server_address[1]}"
    yield out
    for httpd in servers:
        httpd.shutdown()


@pytest.fixture
def nginx(tmp_path: Path, backends: dict[str, str]) -> Iterator[tuple[LoadBalancer, str]]:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        pytest.skip("nginx is not installed (the test command installs Debian's)")
    port = _port()
    conf = tmp_path / "nginx.conf"
    temp = {k: tmp_path / k for k in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    conf.write_text(
        f"worker_processes 1;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        "events {\nworker_connections 256;\n}\nhttp {\naccess_log off;\n"
        + "".join(f"{k}_temp_path {v};\n" if k != "body" else f"client_body_temp_path {v};\n"
                  for k, v in temp.items())
        + f"server {{\nlisten 127.0.0.1:{port};\nlocation / {{\n"
        "proxy_pass http://one_loadbalancer;\nproxy_next_upstream error timeout;\n}\n"
        "location = /nginx_status {\nstub_status;\n}\n}\n"
        f"upstream one_loadbalancer {{\nserver {backends['web1']} ;\n}}\n}}\n")
    subprocess.run([binary, "-c", str(conf), "-p", str(tmp_path)], check=True)
    lb = LoadBalancer(Local(), str(conf), nginx=binary, prefix=str(tmp_path))
    pid_file = lb.pid_file(conf.read_text())
    for _ in range(100):  # a reload sent to a master still starting is lost: wait for it
        if lb.workers(pid_file)[1]:
            break
        time.sleep(0.1)
    yield lb, f"http://127.0.0.1:{port}/"
    pid = int((tmp_path / "nginx.pid").read_text())
    os.kill(pid, signal.SIGQUIT)  # graceful stop of exactly the nginx we started
    for _ in range(50):
        if not Path(f"/proc/{pid}").exists():
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.read().decode()


def seen(url: str, n: int = 40) -> Counter[str]:
    return Counter(get(url) for _ in range(n))


class Client:
    """A bounded client loop on loopback: counts answers and errors while we reconfigure."""

    def __init__(self, url: str) -> None:
        self.url, self.ok, self.errors = url, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        for _ in range(20_000):
            if self._stop.is_set():
                return
            try:
                get(self.url)
                self.ok += 1
            except OSError:
                self.errors += 1

    def __enter__(self) -> Client:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)




def serve(ip: str, port: int, name: str) -> ThreadingHTTPServer:
    """An HTTP server answering with `name` (the web server inside a VM, in the tests)."""
    httpd = ThreadingHTTPServer((ip, port), _Backend)
    httpd.name = name  # type: ignore[attr-defined]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd
