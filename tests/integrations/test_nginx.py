"""The web tier's load balancer: the seed's nginx.conf rewritten in its upstream block only,
and a real nginx (Debian's, on loopback) following the list without dropping a request."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from onetui.data import TEMPLATES
from onetui.errors import UserError
from onetui.integrations.nginx import LoadBalancer, NginxError, replace_upstream, upstream_servers
from tests.beds.nginx import Client, seen

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


def test_upstream_follows_and_no_request_fails(nginx: tuple[LoadBalancer, str],
                                               backends: dict[str, str]) -> None:
    lb, url = nginx
    assert set(seen(url)) == {"web1"}
    with Client(url) as client:
        assert lb.apply([backends["web1"], backends["web2"]])
        time.sleep(0.3)
        assert set(seen(url)) == {"web1", "web2"}
        assert lb.apply([backends[w] for w in ("web1", "web2", "web3", "web4")])
        time.sleep(0.3)
        assert set(seen(url)) == {"web1", "web2", "web3", "web4"}
        assert lb.apply([backends["web3"]])
        time.sleep(0.3)
        assert set(seen(url)) == {"web3"}
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
    assert set(seen(url, 10)) == {"web1"}  # still serving, from the old config


def test_an_upstream_update_keeps_the_files_mode_and_owner(
        nginx: tuple[LoadBalancer, str], backends: dict[str, str]) -> None:
    lb, _url = nginx
    conf = Path(lb.conf)
    os.chmod(conf, 0o640)
    os.chown(conf, 0, 65534)  # root:nogroup, as a site might keep it
    assert lb.apply([backends["web1"], backends["web2"]])
    after = conf.stat()
    assert (after.st_mode & 0o777, after.st_uid, after.st_gid) == (0o640, 0, 65534)
