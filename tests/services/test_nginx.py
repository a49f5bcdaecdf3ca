"""The web tier's load balancer: the seed's nginx.conf rewritten in its upstream block only,
and a real nginx (Debian's, on loopback) following the list without dropping a request."""

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

from onetui.data import TEMPLATES
from onetui.errors import UserError
from onetui.remote.ssh import Local
from onetui.services.nginx import LoadBalancer, NginxError, replace_upstream, upstream_servers

SEED = (TEMPLATES / "nginx.conf").read_text()


def test_only_the_upstream_block_changes() -> None:
    new = replace_upstream(SEED, "one_loadbalancer", ["10.1.1.11:80", "10.1.1.55:8080"])
    before, _, after = SEED.partition("upstream one_loadbalancer {")
    assert new.startswith(before + "upstream one_loadbalancer {")
    assert new.endswith("}\n}\n") and new.count("\n") == SEED.count("\n") - 2
    assert upstream_servers(new, "one_loadbalancer") == ["10.1.1.11:80", "10.1.1.55:8080"]
    assert upstream_servers(SEED, "one_loadbalancer") == [
        "10.1.1.11:80", "10.1.1.22:80", "10.1.1.33:80", "10.1.1.44:80"]
    tail = after.partition("}")[2]
    assert new.endswith(tail)  # everything after the block, byte for byte
    assert replace_upstream(new, "one_loadbalancer", upstream_servers(SEED,
                                                                      "one_loadbalancer")) \
        == SEED  # and back again, to the byte


def test_comments_and_bad_input() -> None:
    text = ("# upstream one_loadbalancer { server 1.1.1.1:80; }\n"
            "http {\n  upstream one_loadbalancer {\n    server 10.0.0.1:80; # old\n  }\n}\n")
    new = replace_upstream(text, "one_loadbalancer", ["10.0.0.2:80"])
    assert new.startswith("# upstream one_loadbalancer { server 1.1.1.1:80; }\n")
    assert "10.0.0.2:80" in new and "10.0.0.1" not in new
    with pytest.raises(NginxError, match="no `upstream web"):
        replace_upstream(text, "web", ["10.0.0.2:80"])
    with pytest.raises(NginxError, match="not closed"):
        replace_upstream("upstream one_loadbalancer { server a:1;", "one_loadbalancer", [])
    for bad in ("10.0.0.1", "10.0.0.1:99999", "x;y:80", "10.0.0.1:80; include /etc/passwd"):
        with pytest.raises(UserError):
            replace_upstream(text, "one_loadbalancer", [bad])


# --- a real nginx on loopback --------------------------------------------------------------

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
        "proxy_pass http://one_loadbalancer;\nproxy_next_upstream error timeout;\n}\n}\n"
        f"upstream one_loadbalancer {{\nserver {backends['web1']} ;\n}}\n}}\n")
    subprocess.run([binary, "-c", str(conf), "-p", str(tmp_path)], check=True)
    yield LoadBalancer(Local(), str(conf), nginx=binary, prefix=str(tmp_path)), \
        f"http://127.0.0.1:{port}/"
    pid = int((tmp_path / "nginx.pid").read_text())
    os.kill(pid, signal.SIGQUIT)  # graceful stop of exactly the nginx we started
    for _ in range(50):
        if not Path(f"/proc/{pid}").exists():
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.read().decode()


def _seen(url: str, n: int = 40) -> Counter[str]:
    return Counter(_get(url) for _ in range(n))


class _Client:
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
                _get(self.url)
                self.ok += 1
            except OSError:
                self.errors += 1

    def __enter__(self) -> _Client:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def test_upstream_follows_and_no_request_fails(nginx: tuple[LoadBalancer, str],
                                               backends: dict[str, str]) -> None:
    lb, url = nginx
    assert set(_seen(url)) == {"web1"}
    with _Client(url) as client:
        assert lb.apply([backends["web1"], backends["web2"]])
        time.sleep(0.3)
        assert set(_seen(url)) == {"web1", "web2"}
        assert lb.apply([backends[w] for w in ("web1", "web2", "web3", "web4")])
        time.sleep(0.3)
        assert set(_seen(url)) == {"web1", "web2", "web3", "web4"}
        assert lb.apply([backends["web3"]])
        time.sleep(0.3)
        assert set(_seen(url)) == {"web3"}
        assert not lb.apply([backends["web3"]])  # nothing to do: no write, no reload
    assert client.ok > 50 and client.errors == 0
    assert lb.servers() == [backends["web3"]]


def test_a_config_nginx_rejects_is_rolled_back(nginx: tuple[LoadBalancer, str],
                                               backends: dict[str, str]) -> None:
    lb, url = nginx
    before = Path(lb.conf).read_text()
    with pytest.raises(NginxError) as err:
        lb.apply([backends["web2"], "no-such-host.invalid:80"])
    assert "nginx -t rejected the new upstream list, old config kept" in str(err.value)
    assert "no-such-host.invalid" in str(err.value)  # nginx's own words
    assert Path(lb.conf).read_text() == before
    assert set(_seen(url, 10)) == {"web1"}  # still serving, from the old config
