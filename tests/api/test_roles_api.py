"""What the roles keep from a caller who is not an admin, through the API's one path
(registry.respond, here in-process with callers of each role): nothing of the daemon's
own files, programs or templates is theirs to choose, a secret attribute never reaches
the event log, and a seat behind a node is not reached with the daemon's key."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from onetui.api.local import LocalTransport
from onetui.client import ApiError, Client
from onetui.client.paths import default_socket, user_socket
from onetui.data import TEMPLATES
from onetui.runtime.server import prepare_socket
from onetui.store import Store
from tests.test_access import ADAM, ALICE, BOB, CFG, OLGA


def client(store: Store, caller: object) -> Client:
    return Client(LocalTransport(store, caller, CFG))  # type: ignore[arg-type]


@pytest.fixture
def stored(store: Store) -> Store:
    store.templates.add("xen.local01", (TEMPLATES / "xen.local01").read_text())
    return store


def test_an_operator_runs_services_but_no_load_balancer_program_of_theirs(
        stored: Store, tmp_path: Path) -> None:
    olga = client(stored, OLGA)
    conf = tmp_path / "lb.conf"
    conf.write_text("upstream one_loadbalancer { server 127.0.0.1:80; }\n")
    with pytest.raises(ApiError) as refused:
        olga.call("service.create", name="web", template="xen.local01",
                  lb={"conf": str(conf), "nginx": str(tmp_path / "evil.sh")})
    assert refused.value.status == 403
    assert str(refused.value).endswith(
        "refused for olga (operator): needs admin (--lb: a load balancer's config file and "
        "nginx program, which the daemon writes and runs)")
    assert stored.services.list() == []
    assert olga.call("service.create", name="web", template="xen.local01") == 1
    assert client(stored, ADAM).call("service.create", name="web2", template="xen.local01",
                                     lb={"conf": str(conf)}) == 2


def test_only_an_admin_gives_the_hypervisor_a_template_of_their_own(stored: Store) -> None:
    raw = ('NAME = x\nCPU = 1\nMEMORY = 64\nDISK = [ SOURCE = "/dev/sda" ]\n'
           'RAW = [ TYPE = kvm, DATA = "<qemu:commandline/>" ]\n')
    for who, op, fields in ((OLGA, "vm.create", {"template": "x", "text": raw}),
                            (ALICE, "lab.create", {"name": "os1", "template": "x",
                                                   "seats": 1, "text": raw})):
        with pytest.raises(ApiError, match="needs admin \\(a template file: a template of "
                                           "your own"):
            client(stored, who).call(op, **fields)
    assert stored.vms.list() == [] and stored.labs.list() == []
    with pytest.raises(ApiError, match="'overrides' may set CPU, MEMORY, REQUIREMENTS; "
                                       "not RAW"):
        client(stored, OLGA).call("vm.create", template="xen.local01",
                                  overrides={"raw": "<qemu:commandline/>"})
    (vid,) = client(stored, OLGA).call("vm.create", template="xen.local01",
                                       overrides={"CPU": "2"}, hold=True)
    assert stored.vms.get(vid).cpu == 2


def test_a_secret_host_attribute_is_named_but_not_shown_in_the_events(stored: Store) -> None:
    stored.hosts.add("ursa03", "libvirt", {"uri": "test:///default"})
    client(stored, ADAM).call("host.update", ref="ursa03",
                              attrs={"SSH_PASSWORD": "hunter2-x", "RACK": "r7"})
    seen = client(stored, BOB).call("events.list", kinds=["host"])["events"]
    text = " ".join(e["message"] for e in seen)
    assert "hunter2-x" not in text
    assert "SSH_PASSWORD=(hidden), RACK=r7" in text


def test_terminating_ec2_orphans_is_a_change_for_admins(stored: Store) -> None:
    with pytest.raises(ApiError, match="ec2 orphans --terminate: refused for olga "
                                       "\\(operator\\): needs admin"):
        client(stored, OLGA).call("ec2.orphans", terminate=True)
    refusal = stored.events.recent(1)[0]
    assert refusal.message == ("olga (operator): refused ec2 orphans --terminate "
                               "(needs admin)")


def test_a_labstaff_lab_has_a_real_owner(stored: Store) -> None:
    stored.networks.add("labnet", "127.0.4.10", "127.0.4.15")
    with pytest.raises(ApiError, match="'owner' must be a unix user's name"):
        client(stored, ADAM).call("lab.create", name="os1", template="xen.local01",
                                  seats=1, owner="")
    assert stored.labs.list() == []


def test_a_seat_behind_a_node_is_not_reached_with_the_daemons_key(stored: Store) -> None:
    host = stored.hosts.add("far", "libvirt", {
        "uri": "qemu+ssh://root@10.251.9.2/system?keyfile=/var/lib/onetui/node_key"
               "&known_hosts=/var/lib/onetui/nodes_known_hosts"})
    net = stored.networks.add("labnet", "127.0.4.10", "127.0.4.15")
    stored.labs.create("os1", None, net, [
        {"body": "CPU=1\nMEMORY=64\n", "name": "os1-1", "cpu": 1, "memory": 64,
         "username": "student01", "password": "pw-1", "port": 22}],
        "student%02i", None, {}, owner="alice", owner_uid=ALICE.uid)
    (seat,) = stored.labs.seats(stored.labs.get("os1").id)
    stored.vms.update(seat.vm_id, host_id=host.id)  # placed there
    with pytest.raises(ApiError) as refused:
        client(stored, ALICE).call("lab.ssh_argv", ref="os1", seat=1)
    assert "runs on the hypervisor node 10.251.9.2" in str(refused.value)
    assert "node_key" not in str(refused.value)
    argv = client(stored, ADAM).call("lab.ssh_argv", ref="os1", seat=1)["argv"]
    assert any(a.startswith("ProxyCommand=") and "node_key" in a for a in argv)


def test_nobody_elses_socket_directory_is_trusted(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """/tmp/onetui-UID made by someone else (no $XDG_RUNTIME_DIR): a client never talks to
    a socket there, and a daemon never serves in it."""
    run = tmp_path / "run"
    run.mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    monkeypatch.delenv("ONETUI_SOCKET", raising=False)
    theirs = user_socket().parent
    theirs.mkdir(mode=0o777)
    os.chmod(theirs, 0o777)  # as a squatter leaves it
    (theirs / "onetui.sock").touch()
    assert default_socket() != theirs / "onetui.sock"
    with pytest.raises(Exception, match="its directory is not this user's own"):
        prepare_socket(theirs / "onetui.sock", system=False)
    os.chmod(theirs, 0o700)
    assert default_socket() == theirs / "onetui.sock"
    assert stat.S_IMODE(theirs.stat().st_mode) == 0o700
