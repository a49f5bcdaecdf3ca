"""Values that end up in other programs' files and scripts (nginx.conf, the EC2 bootstrap,
/etc/hosts) are checked to what those programs accept, at the door: a bad one is refused
in one line, exit 2, and nothing reaches the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from onetui.drivers.userdata import check_var, render
from onetui.errors import UserError
from onetui.integrations.nginx import check_server, replace_upstream
from tests.beds.cli import onetui

CONF = "http {\nupstream one_loadbalancer {\nserver 10.0.0.1:80 ;\n}\n}\n"


@pytest.mark.parametrize("server", ["10.1.1.11:80", "[2001:db8::7]:8080", "web-3.lan:8000"])
def test_good_upstream_servers_reach_the_block(server: str) -> None:
    assert f"server {server} ;" in replace_upstream(CONF, "one_loadbalancer", [server])


@pytest.mark.parametrize("server", [
    "[fe80::1%eth0]:80", "fe80::1%eth0:80", "fe80::1:80", "10.0.0.1:80; include /etc/passwd",
    "10.0.0.1:80 down", "10.0.0.1:0", "10.0.0.1:65536", "10.0.0.1:+80", "999.1.1.1:80",
    "a b:80", "host:80\nserver evil:1", ":80", "10.0.0.1",
])
def test_anything_else_never_reaches_nginx_conf(server: str) -> None:
    with pytest.raises(UserError, match=r"expected IPV4:PORT, \[IPV6\]:PORT or HOST:PORT"):
        replace_upstream(CONF, "one_loadbalancer", [server])
    with pytest.raises(UserError):
        check_server(server)


@pytest.mark.parametrize(("key", "value"), [
    ("vpn_server", "x/w"), ("vpn_server", "a;reboot"), ("nfs_server", "-o"),
    ("sge_master", "$(id)"), ("nfs_export", "home"), ("nfs_mount", "/a/../etc"),
    ("sge_root", "/var/lib/grid engine"),
])
def test_bootstrap_values_fit_their_place(key: str, value: str) -> None:
    with pytest.raises(UserError, match=f"--userdata-var {key}="):
        check_var(key, value)


def test_a_stored_bad_value_is_refused_when_rendered_too() -> None:
    from onetui.drivers.base import DriverError
    from onetui.drivers.userdata import Worker

    with pytest.raises(DriverError, match="vpn_server"):
        render([Worker(1, "w0")], {"vpn_server": "x/w"})


@pytest.mark.slow
def test_the_cli_refuses_them_with_exit_2(tmp_path: Path) -> None:
    state = tmp_path / "state"
    said = onetui("host", "create", "ec2", "--driver", "ec2", "--region", "us-east-1",
                  "--userdata-var", "vpn_server=x/w", state=state, check=False)
    assert (said.returncode, said.stderr.count("\n")) == (2, 1)
    assert "expected a host name or IPv4 address" in said.stderr
    said = onetui("net", "create", "vpn", "--range", "10.1.1.100-10.1.1.254", "--hostname",
                  "w%9i", state=state, check=False)
    assert said.returncode == 2 and "expected %i or %0Ni" in said.stderr
    said = onetui("net", "create", "vpn", "--range", "10.1.1.100-10.1.1.254", "--hostname",
                  "w%99999999999999999999i", state=state, check=False)
    assert said.returncode == 2 and len(said.stderr) < 300
    said = onetui("net", "list", state=state)
    assert "vpn" not in said.stdout  # nothing half-made
