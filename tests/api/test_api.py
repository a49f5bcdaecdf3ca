"""onetui's API over its Unix socket, as a client sees it: operations by name, one-line
errors, the caller known from the kernel, live changes by long-poll; and the in-process
transport answering exactly as the daemon does."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from onetui.api import load_all
from onetui.api.local import LocalTransport
from onetui.api.registry import MODULES
from onetui.cli.context import Context
from onetui.client import ApiError, Client, DaemonGone, SocketTransport
from onetui.runtime.compose import build_engine
from onetui.store import Store
from tests.api.conftest import Daemon, _serve


def test_vm_list_and_show_are_the_stores_vms(daemon: Daemon) -> None:
    client = daemon.client()
    ids = client.call("vm.create", template="xen.local01", count=2, name="web-%i")
    listed = client.call("vm.list")
    assert [v["id"] for v in listed] == ids
    assert [v["name"] for v in listed] == ["web-0", "web-1"]
    assert listed[0]["vm_state"] == "PENDING"
    shown = client.call("vm.show", ref=ids[0])
    assert shown["vm"]["name"] == "web-0"
    assert f"VIRTUAL MACHINE {ids[0]} INFORMATION" in shown["text"]


def test_a_vm_action_writes_the_intent_and_a_wrong_state_is_one_line(daemon: Daemon) -> None:
    client = daemon.client()
    (vid,) = client.call("vm.create", template="xen.local01")
    assert client.call("vm.action", ref=vid, action="hold") == f"VM {vid}: held"
    assert daemon.store.vms.get(vid).state == "hold"
    with pytest.raises(ApiError) as err:
        client.call("vm.action", ref=vid, action="suspend")
    assert err.value.status == 409
    assert str(err.value) == f"VM {vid} is hold: cannot suspend (needs runn)"
    with pytest.raises(ApiError, match="no action 'explode'; expected one of: shutdown"):
        client.call("vm.action", ref=vid, action="explode")


def test_unknown_fields_and_operations_are_refused_naming_them(daemon: Daemon) -> None:
    client = daemon.client()
    with pytest.raises(ApiError) as err:
        client.call("vm.list", include_done=True, colour="red", uid=0)
    assert err.value.status == 400
    assert str(err.value) == ("vm.list: unknown field(s) 'colour', 'uid'; expected: "
                              "after, include_done, limit")
    with pytest.raises(ApiError, match="field 'include_done' must be true/false, got a "
                                       "string"):
        client.call("vm.list", include_done="yes")
    with pytest.raises(ApiError) as err:
        client.call("vm.launch_missiles")
    assert err.value.status == 404
    assert "no operation 'vm.launch_missiles'; the API offers: changes" in str(err.value)


def test_the_caller_is_the_kernels_peer_not_what_is_sent(daemon: Daemon) -> None:
    client = daemon.client()
    seen = client.call("daemon.info")["caller"]
    assert (seen["uid"], seen["pid"]) == (os.getuid(), os.getpid())
    with pytest.raises(ApiError, match="unknown field"):
        client.call("daemon.info", uid=1234)


def test_a_user_in_no_role_is_told_so_and_the_refusal_is_audited(daemon: Daemon) -> None:
    """nobody is in none of the role groups: not even a look, one line saying what to
    do, and the refusal is an event naming them."""
    system_python = Path("/usr/bin/python3")  # the client needs only the stdlib
    if os.getuid() != 0 or not system_python.exists():
        pytest.skip("needs root (to run a client as another user) and /usr/bin/python3")
    os.chmod(daemon.socket.parent, 0o755)
    os.chmod(daemon.socket, 0o666)
    code = ("from onetui.client import Client, SocketTransport, ApiError\n"
            f"c = Client(SocketTransport({str(daemon.socket)!r}))\n"
            "try:\n    c.call('vm.list')\n"
            "except ApiError as e:\n    print(e.status, e.kind, e)\n")
    out = subprocess.run(["runuser", "-u", "nobody", "--", str(system_python), "-c", code],
                         capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert out.stdout.strip() == (
        "403 no-role you are not in any onetui role (nobody); an admin adds you to one of "
        "the groups onetui-admin, onetui-labs, onetui-ops, onetui-view"), out.stderr
    refused = daemon.store.events.recent(5)[0]
    assert (refused.user, refused.level) == ("nobody", "warning")
    assert refused.message == "nobody (no role): refused vm list (needs a role)"


def test_a_long_poll_answers_when_another_client_writes(daemon: Daemon) -> None:
    watcher, writer = daemon.client(), daemon.client()
    start = watcher.changes(0)["seq"]
    got: list[dict] = []
    waiting = threading.Thread(target=lambda: got.append(watcher.changes(start, wait=50)))
    waiting.start()
    (vid,) = writer.call("vm.create", template="xen.local01")
    waiting.join(timeout=60)
    assert got, "the long-poll did not answer"
    assert vid in got[0]["ids"]["vm"]
    assert got[0]["seq"] > start
    # nothing new: an answer after `wait`, with the same cursor
    assert watcher.changes(got[0]["seq"], wait=0.3)["ids"] == {}


def test_a_bad_changes_query_is_one_line(daemon: Daemon) -> None:
    transport = SocketTransport(daemon.socket)
    status, answer = transport.request("GET", "/v1/changes?since=x&colour=red")
    assert status == 400
    assert answer["error"] == ("/v1/changes: unknown parameter(s) colour; expected: since, "
                               "wait")
    status, answer = transport.request("GET", "/v1/changes?since=0&wait=3600")
    assert (status, answer["error"]) == (400, "/v1/changes: wait must be 0 to 60 seconds")


def test_in_process_answers_as_the_daemon_does(daemon: Daemon) -> None:
    over_socket = daemon.client()
    in_process = Client(LocalTransport(daemon.store))
    over_socket.call("vm.create", template="xen.local01", count=3)
    assert in_process.call("vm.list") == over_socket.call("vm.list")
    for client in (over_socket, in_process):
        with pytest.raises(ApiError) as err:
            client.call("vm.show", ref="nine")
        assert (err.value.status, err.value.kind) == (404, "not-found")


def test_every_operation_names_its_fields_once() -> None:
    registry = load_all()
    assert {"vm.list", "vm.show", "vm.action", "events.list", "changes", "lab.creds"} \
        <= set(registry)
    for name, op in registry.items():  # each found where lookup() looks for it
        assert op.name == name
        assert op.handler.__module__ == f"onetui.api.{MODULES[name.partition('.')[0]]}"


def test_the_cli_asks_the_daemon_of_its_store_and_no_other(daemon: Daemon,
                                                           tmp_path: Path) -> None:
    assert isinstance(Context(str(daemon.store.path.parent)).client.transport,
                      SocketTransport)
    with Store.open(tmp_path / "other"):
        pass
    assert isinstance(Context(str(tmp_path / "other")).client.transport, LocalTransport)


def test_the_client_imports_only_the_standard_library() -> None:
    code = ("import sys; before = set(sys.modules); import onetui.client; "
            "extra = {m.split('.')[0] for m in set(sys.modules) - before}; "
            "print(sorted(extra - set(sys.stdlib_module_names) - {'onetui'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_a_dead_daemons_socket_leaves_the_cli_in_process(store: Store) -> None:
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(os.environ["ONETUI_SOCKET"])  # a socket file nobody listens on
    stale.close()
    client = Context(str(store.path.parent)).client
    assert isinstance(client.transport, LocalTransport)
    assert client.call("vm.list") == []


def test_hosts_are_made_changed_and_removed_through_the_api(daemon: Daemon) -> None:
    client = daemon.client()
    hid = client.call("host.create", name="h1", settings={"uri": "test:///default"})
    assert client.call("host.update", ref="h1", attrs={"RACK": "r1"}) == "host h1 updated"
    assert daemon.store.hosts.get(hid).attrs == {"RACK": "r1"}
    with pytest.raises(ApiError, match="--region: not a setting of libvirt hosts"):
        client.call("host.update", ref="h1", settings={"region": "us-east-1"})
    with pytest.raises(ApiError, match=r"unknown setting\(s\) 'password'; expected: uri"):
        client.call("host.create", name="h2", settings={"password": "x"})
    with pytest.raises(ApiError, match="--max-instances 0: expected 1 to 100000"):
        client.call("host.create", name="e", driver="ec2",
                    settings={"region": "us-east-1", "max_instances": 0})
    assert [h["stat"] for h in client.call("host.list")] == ["init"]
    assert client.call("host.enable", ref="h1", enabled=False) == "host h1 disabled"
    assert client.call("host.delete", ref="h1") == f"deleted host {hid} h1"
    assert client.call("host.list") == []


def test_templates_travel_as_text_never_as_a_path(daemon: Daemon, tmp_path: Path) -> None:
    client = daemon.client()
    tid = client.call("template.add", name="small", body="CPU = 1\nMEMORY = 64\n",
                      source="small.template")
    assert client.call("template.update", ref="small", body="MEMORY = 128\n",
                       append=True) == f"template {tid} small updated"
    assert client.call("template.get", ref=tid)["body"] == "CPU = 1\nMEMORY = 128\n"
    with pytest.raises(ApiError) as err:
        client.call("template.add", name="bad", body="CPU = \n", source="bad.template")
    assert (err.value.kind, str(err.value).split(":")[0]) == ("template", "bad.template")
    secret = tmp_path / "only-mine.template"
    secret.write_text("CPU = 1\nMEMORY = 64\n")
    with pytest.raises(ApiError, match="no template"):  # a path is a name to the daemon
        client.call("vm.create", template=str(secret))
    assert client.call("vm.create", template=str(secret), text=secret.read_text()) == [1]


def test_networks_through_the_api(daemon: Daemon) -> None:
    client = daemon.client()
    nid = client.call("net.create", name="vpn", range="10.1.1.100-10.1.1.103",
                      hostname="worker%i")
    assert client.call("net.list") == [{"id": nid, "name": "vpn",
                                        "range": "10.1.1.100-10.1.1.103",
                                        "hostname": "worker%i", "size": 4, "leased": 0,
                                        "config": {}}]
    with pytest.raises(ApiError, match=re.escape("10.1.1.9-10.1.1.1")):
        client.call("net.create", name="bad", range="10.1.1.9-10.1.1.1")
    assert client.call("net.hosts", ref="vpn") == {"name": "vpn", "lines": []}
    assert client.call("net.delete", ref="vpn") == f"deleted network {nid} vpn"


LAB_MASTER = ('NAME = master\nCPU = 1\nMEMORY = 512\nOS = [ kernel = "/boot/vmlinuz" ]\n'
              'DISK = [ source = "/images/master.qcow2", target = vda ]\n'
              'NIC = [ NETWORK = "labnet" ]\n')


def test_a_lab_through_the_api_and_only_creds_carry_passwords(daemon: Daemon,
                                                               tmp_path: Path) -> None:
    from tests.engine.test_engine import node

    daemon.store.hosts.add("ursa03", "libvirt", {"uri": node(tmp_path, "ursa03", 4, 4)})
    daemon.store.networks.add("labnet", "127.0.4.10", "127.0.4.15")
    engine = build_engine(daemon.store, {}, interval=0.05)
    assert engine.lead()
    engine.run_pass()  # the host monitored: room for the seats
    engine.close()
    master = tmp_path / "master.template"
    master.write_text(LAB_MASTER)
    client = daemon.client()
    said = client.call("lab.create", name="os1", template=str(master), seats=2,
                       text=master.read_text())
    assert said.startswith("lab os1: 2 seat(s) created")
    assert [row["name"] for row in client.call("lab.list")] == ["os1"]
    shown = client.call("lab.show", ref="os1")
    assert all("password" not in seat for seat in shown["seat_list"])
    creds = json.loads(client.call("lab.creds", ref="os1", format="json"))
    password = daemon.store.labs.password(shown["id"], 1)
    assert creds["seats"][0]["password"] == password
    assert password not in json.dumps(client.call("lab.list"))
    with pytest.raises(ApiError, match="format 'pdf'"):
        client.call("lab.creds", ref="os1", format="pdf")
    assert client.call("lab.destroy", ref="os1").startswith("lab os1")


def test_a_service_and_its_rules_through_the_api(daemon: Daemon) -> None:
    client = daemon.client()
    sid = client.call("service.create", name="web", template="xen.local01", max_size=4)
    assert client.call("service.scale", ref="web", size=3) == "service web: desired 3"
    assert client.call("service.rule_add", ref="web", when="ACTIVE > 100", change=1) \
        == "rule 0 added to web"
    with pytest.raises(ApiError) as err:
        client.call("service.rule_add", ref="web", when="ACTIVE >>> 1", change=1)
    assert err.value.status == 422
    with pytest.raises(ApiError, match="service web has no rule 5 \\(it has 1\\)"):
        client.call("service.rule_delete", ref="web", index=5)
    assert client.call("service.list") == [{"id": sid, "name": "web", "min": 1, "max": 4,
                                            "desired": 3, "running": 0, "members": 0}]
    assert client.call("service.show", ref="web")["config"]["rules"][0]["when"] \
        == "ACTIVE > 100"


# -- main's newer options, as API fields and operations ----------------------------------------

def test_events_a_request_causes_name_its_caller_and_user_picks_them(daemon: Daemon) -> None:
    client = daemon.client()
    (vid,) = client.call("vm.create", template="xen.local01")
    daemon.store.events.add("engine", None, "a pass")  # not a request: nobody's
    me = client.call("daemon.info")["caller"]["user"]
    mine = client.call("events.list", user=me)["events"]
    assert [(e["message"], e["user"], e["pid"]) for e in mine] == [
        (f"VM {vid} one-{vid} created (pend)", me, os.getpid()),
        (f"{me} (admin): vm create --template xen.local01", me, os.getpid())]
    assert client.call("events.list", user="nobody-here")["events"] == []
    assert [e["message"] for e in client.call("events.list", after=0, user=me)["events"]] \
        == [e["message"] for e in mine]


def test_history_is_read_by_kind_and_name_with_bad_requests_refused(daemon: Daemon,
                                                                      tmp_path: Path) -> None:
    from tests.engine.test_engine import node

    daemon.store.hosts.add("ursa03", "libvirt", {"uri": node(tmp_path, "ursa03", 4, 4)})
    engine = build_engine(daemon.store, {}, interval=0.05)
    assert engine.lead()
    engine.run_pass()  # a look: the host's first point
    engine.close()
    client = daemon.client()
    (point,) = client.call("history.read", kind="host", ref="ursa03", window=600)
    assert set(point) == {"at", "cpu", "mem", "rvm"} and point["rvm"] == 0
    assert client.call("history.read", kind="host", ref=1, window=600) == [point]
    assert client.call("history.read", kind="grid", window=600) == []  # no [sge]: no points
    for fields, status, message in [
        ({"kind": "disk", "ref": "x", "window": 60}, 400,
         "history.read: no kind 'disk'; expected one of: host, vm, grid, service"),
        ({"kind": "host", "ref": "ursa03", "window": 0}, 400,
         "history.read: 'window' must be 1 to 604800 seconds (history is kept for a week), "
         "got 0"),
        ({"kind": "vm", "window": 60}, 400,
         "history.read: field 'ref' is required for kind 'vm'"),
        ({"kind": "service", "ref": "nope", "window": 60}, 404,
         "no service 'nope' (see `onetui service list`)")]:
        with pytest.raises(ApiError) as err:
            client.call("history.read", **fields)
        assert (err.value.status, str(err.value)) == (status, message)


def test_sge_grow_and_shrink_are_operations_on_the_grid_tier(
        daemon: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "config.toml"
    monkeypatch.setenv("ONETUI_CONFIG", str(conf))
    daemon.store.templates.add("sgebase", 'CPU = 1\nMEMORY = 64\nSGE = [ QUEUE = "all.q" ]\n')
    client = daemon.client()
    with pytest.raises(ApiError) as err:
        client.call("sge.grow", count=2, template="sgebase")
    assert (err.value.status, str(err.value)) == (
        422, "sge grow: no SGE master configured, so the exec hosts could not join it: add "
        f"an [sge] table (host, user, key_file) to {conf}")
    assert daemon.store.services.list() == []
    conf.write_text('[sge]\nhost = "127.0.0.1"\nport = 2222\n')  # read, not reached
    assert client.call("sge.grow", count=2, template="sgebase") == {
        "name": "sgebase", "before": 0, "after": 2}
    assert client.call("sge.shrink", count=1) == {"name": "sgebase", "before": 2, "after": 1}
    assert daemon.store.services.get("sgebase").desired == 1
    with pytest.raises(ApiError, match=r"^sge shrink 5: service sgebase: size -4 is outside "
                       r"0\.\.256$"):
        client.call("sge.shrink", count=5, template="sgebase")
    with pytest.raises(ApiError, match=r"^sge grow '-1': expected a number of exec hosts"):
        client.call("sge.grow", count="-1", template="sgebase")  # N as typed: one check


def test_a_lab_belongs_to_the_caller_the_socket_names_unless_an_owner_is_given(
        daemon: Daemon, tmp_path: Path) -> None:
    from tests.engine.test_engine import node

    daemon.store.hosts.add("ursa03", "libvirt", {"uri": node(tmp_path, "ursa03", 4, 4)})
    daemon.store.networks.add("labnet", "127.0.4.10", "127.0.4.15")
    engine = build_engine(daemon.store, {}, interval=0.05)
    assert engine.lead()
    engine.run_pass()
    engine.close()
    client = daemon.client()
    me = client.call("daemon.info")["caller"]["user"]
    client.call("lab.create", name="os1", template="master", seats=1, text=LAB_MASTER)
    client.call("lab.create", name="os2", template="master", seats=1, text=LAB_MASTER,
                owner="daemon")  # a unix user of every Debian system
    assert [(r["name"], r["owner"]) for r in client.call("lab.list")] == [
        ("os1", me), ("os2", "daemon")]
    assert client.call("lab.show", ref="os2")["owner"] == "daemon"


def test_onetui_service_serves_on_the_system_socket_as_its_own_user() -> None:
    """The unit runs serve as user onetui with RuntimeDirectory=onetui: systemd's
    $RUNTIME_DIRECTORY makes /run/onetui/onetui.sock its socket, where clients look."""
    system_python = Path("/usr/bin/python3")  # paths needs only the stdlib
    if os.getuid() != 0 or not system_python.exists():
        pytest.skip("needs root (to run as another user) and /usr/bin/python3")
    code = "from onetui.client import default_socket; print(default_socket(serving=True))"
    env = {k: v for k, v in os.environ.items()
           if k not in ("ONETUI_SOCKET", "XDG_RUNTIME_DIR", "RUNTIME_DIRECTORY")}
    env["PYTHONPATH"] = os.getcwd()

    def served(**extra: str) -> str:
        return subprocess.run(["runuser", "-u", "nobody", "--", str(system_python), "-c",
                               code], capture_output=True, text=True, timeout=60, check=True,
                              env={**env, **extra}).stdout.strip()

    assert served(RUNTIME_DIRECTORY="/run/onetui") == "/run/onetui/onetui.sock"
    assert served() == "/tmp/onetui-65534/onetui.sock"  # a user's own daemon
    assert served(RUNTIME_DIRECTORY="/run/user/65534/other") == "/tmp/onetui-65534/onetui.sock"


# -- the client's HTTP: a connection the daemon closed, a socket that is not the daemon ----


def test_one_connection_carries_a_clients_requests_one_after_another(store: Store) -> None:
    """(A daemon that keeps a silent connection a minute: a stall of the machine between
    two requests cannot close it.)"""
    with contextlib.contextmanager(_serve)(store, idle=60.0, max_connections=256) as daemon:
        transport = SocketTransport(daemon.socket, reconnect=0)
        client = Client(transport)
        client.call("vm.list")
        connection = transport._conn
        for _ in range(5):
            client.call("vm.create", template="xen.local01")
            client.call("vm.list")
        assert transport._conn is connection and len(daemon.store.vms.list()) == 5


def test_a_write_after_the_daemon_closed_an_idle_connection_is_done_once(
        daemon: Daemon) -> None:
    """The daemon closes a connection silent for its idle time (1 s here). The client
    sees that before it sends, and sends the write on a new connection: it is done,
    once, where a write sent on the closed one could only have been refused as "may or
    may not have been done"."""
    transport = SocketTransport(daemon.socket, reconnect=0)
    client = Client(transport)
    client.call("vm.list")
    connection = transport._conn
    assert connection is not None
    for _ in range(300):  # until the daemon has closed it (its idle time is 1 s)
        if connection.stale():
            break
        time.sleep(0.1)
    assert connection.stale()
    (vid,) = client.call("vm.create", template="xen.local01", name="after-idle")
    assert [v.name for v in daemon.store.vms.list()] == ["after-idle"]
    assert daemon.store.vms.get(vid).name == "after-idle"


@pytest.mark.parametrize("answer", [
    b"SSH-2.0-OpenSSH_9.2\r\n",  # something else listens on the socket
    b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n",  # never allocated
    b"HTTP/1.1 200 OK\r\nContent-Length: \xb2\r\n\r\n",  # a digit to str.isdigit
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 9\r\n\r\n{}",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n",  # not to the end
    b"HTTP/1.1 2000 OK\r\n\r\n",
    b"HTTP/1.1 200 " + b"x" * 70_000,  # a status line past 64 KiB: not "daemon gone"
])
def test_an_answer_that_is_not_the_api_is_an_error_that_says_so(
        tmp_path: Path, answer: bytes) -> None:
    path = tmp_path / "not-onetui.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)

    def answer_once() -> None:
        peer, _ = listener.accept()
        with peer:
            peer.recv(65536)
            peer.sendall(answer)
            peer.shutdown(socket.SHUT_WR)
            peer.recv(1)

    server = threading.Thread(target=answer_once, daemon=True)
    server.start()
    try:
        with pytest.raises(ApiError) as raised:
            Client(SocketTransport(path, reconnect=0)).call("vm.list")
        assert raised.value.kind == "bad-answer"
        assert str(path) in str(raised.value) and "not onetui's API" in str(raised.value)
    finally:
        server.join(timeout=30)
        listener.close()


def test_a_chunked_answer_is_read_whole(tmp_path: Path) -> None:
    """HTTP/1.1 lets the daemon size its answer in chunks; the client puts them together."""
    path = tmp_path / "chunked.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)
    body = json.dumps({"result": [{"id": 7, "name": "chunky"}]}).encode()

    def answer_once() -> None:
        peer, _ = listener.accept()
        with peer:
            peer.recv(65536)
            chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part)
                              for part in (body[:10], body[10:]))
            peer.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                         b"Connection: close\r\n\r\n" + chunks + b"0\r\n\r\n")

    server = threading.Thread(target=answer_once, daemon=True)
    server.start()
    try:
        assert Client(SocketTransport(path, reconnect=0)).call("vm.list") == [
            {"id": 7, "name": "chunky"}]
    finally:
        server.join(timeout=30)
        listener.close()


def test_an_answer_too_late_is_given_up_and_the_next_request_starts_afresh(
        tmp_path: Path) -> None:
    """The first request's answer does not come within the client's timeout: it is told
    the request may or may not have been done, and the next request does not read that
    late answer as its own: it goes on a new connection."""
    path = tmp_path / "slow.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(2)
    body = json.dumps({"result": "second"}).encode()

    def serve() -> None:
        first, _ = listener.accept()
        with first:
            first.recv(65536)
            first.recv(1)  # until the client gave up and closed it
            with contextlib.suppress(OSError):  # the late answer, on a closed connection
                first.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 18\r\n\r\n"
                              b'{"result":"first"}')
        second, _ = listener.accept()
        with second:
            second.recv(65536)
            second.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body)
                           + body)
            second.recv(1)

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    client = Client(SocketTransport(path, timeout=1.0, reconnect=0))
    try:
        with pytest.raises(DaemonGone, match="may or may not have been done"):
            client.call("vm.create", template="t")
        assert client.call("vm.list") == "second"
    finally:
        client.transport.close()
        server.join(timeout=30)
        listener.close()


def test_a_request_over_the_daemons_limit_is_told_so(daemon: Daemon) -> None:
    """Not a connection cut short (which a read would re-send for half a minute): the
    daemon's 413, as a one-line error."""
    with pytest.raises(ApiError) as raised:
        daemon.client(reconnect=0).call("template.add", name="big", text="x" * 2_000_000)
    assert raised.value.status == 413 and raised.value.kind == "too-large"
    assert "request body over" in str(raised.value)
