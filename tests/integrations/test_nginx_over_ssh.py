"""The load balancer reached over SSH — the same connection layer as SGE (host key checked,
one connection): an nginx run by the SSH user on loopback, its upstream rewritten, tested
and reloaded remotely."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from onetui.integrations.nginx import LoadBalancer, NginxError
from onetui.remote.ssh import Pool, resolve
from tests.beds.nginx import get, serve
from tests.beds.sge import BED, KEY, PORT, USER


def test_upstream_rewritten_over_ssh(sge_bed: Path, known_hosts: Path, tmp_path: Path) -> None:
    home = BED / "home" / USER
    lbdir = home / f"lb-{os.getpid()}"
    shutil.rmtree(lbdir, ignore_errors=True)
    lbdir.mkdir()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    one, two = serve("127.0.0.1", 0, "one"), serve("127.0.0.1", 0, "two")
    conf = lbdir / "nginx.conf"
    temps = "".join(f"{k}_temp_path {lbdir}/{k};\n" for k in ("proxy", "fastcgi", "uwsgi",
                                                             "scgi"))
    conf.write_text(
        f"worker_processes 1;\npid {lbdir}/nginx.pid;\nerror_log {lbdir}/error.log;\n"
        f"events {{\nworker_connections 64;\n}}\nhttp {{\naccess_log off;\n"
        f"client_body_temp_path {lbdir}/body;\n{temps}"
        f"server {{\nlisten 127.0.0.1:{port};\nlocation / {{\n"
        "proxy_pass http://one_loadbalancer;\n}\n}\n"
        f"upstream one_loadbalancer {{\nserver 127.0.0.1:{one.server_address[1]} ;\n}}\n}}\n")
    subprocess.run(["chown", "-R", f"{USER}:{USER}", str(lbdir)], check=True)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    subprocess.run(["runuser", "-u", USER, "--", nginx, "-c", str(conf), "-p", str(lbdir)],
                   check=True, capture_output=True)
    pool = Pool()
    target = resolve("127.0.0.1", PORT, USER, str(KEY), [str(known_hosts)],
                     ssh_config=str(tmp_path / "none"))
    lb = LoadBalancer(pool.get(target), str(conf), nginx=nginx, prefix=str(lbdir))
    try:
        # a signal that reaches a master still starting is lost: wait until it has workers
        pid_file = lb.pid_file(conf.read_text())
        for _ in range(100):
            if lb.workers(pid_file)[1]:
                break
            time.sleep(0.1)
        assert lb.workers(pid_file)[1], "nginx did not start its workers"
        assert get(f"http://127.0.0.1:{port}/") == "one"
        assert lb.apply([f"127.0.0.1:{two.server_address[1]}"])
        for _ in range(150):  # a reload on a busy 2-core machine can take seconds
            if get(f"http://127.0.0.1:{port}/") == "two":
                break
            time.sleep(0.1)
        log = (lbdir / "error.log").read_text(errors="replace")
        assert get(f"http://127.0.0.1:{port}/") == "two", f"nginx still serves the old " \
            f"upstream; its error.log: {log[-800:]!r}"
        try:
            lb.apply(["no-such-host.invalid:80"])
            raise AssertionError("nginx -t should have refused")
        except NginxError as exc:
            assert "no-such-host.invalid" in str(exc)
        assert lb.servers() == [f"127.0.0.1:{two.server_address[1]}"]
        assert pool.get(target).connects == 1  # one connection for all of it
    finally:
        pid = int((lbdir / "nginx.pid").read_text())
        os.kill(pid, signal.SIGQUIT)
        one.shutdown()
        two.shutdown()
        pool.close()
