"""The daemon in system mode, used for real: root runs `onetui serve` on a store in a 0700
directory, with the socket 0660 and group onetui's; the test users of
scripts/testbed/users.sh run `onetui` commands as themselves (runuser, and once through a
real SSH login), and the daemon decides from their unix groups what each may do.

alice (labstaff) makes her lab and reads its logins, is refused adam's lab and every host
or VM change, and cannot open the store; bob (viewer) only looks and never sees a password;
olga (operator) shuts a VM down and the event names her; every refusal is an event too."""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from onetui.client import Client, SocketTransport
from onetui.store import Store
from tests.beds.users import as_user, interpreter
from tests.engine.test_engine import node  # a libvirt test-driver node file
from tests.ops.test_labs import MASTER

SECRET_TEMPLATE = MASTER + 'CONTEXT = [ USERNAME = "root", PASSWORD = "s3cret-Root-pw" ]\n'


@dataclass
class SystemDaemon:
    base: Path
    socket: Path
    store_path: Path
    env: dict[str, str]  # root's environment for the daemon's own commands
    proc: subprocess.Popen[str]

    def start(self) -> None:
        """`onetui serve` as root, as onetui.service runs it (here: a socket of its own)."""
        with open(self.base / "serve.log", "a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "onetui", "serve", "--socket", str(self.socket),
                 "--socket-group", "onetui", "--interval", "1"],
                env=self.env, stdout=subprocess.DEVNULL, stderr=log, text=True)
        until(lambda: _answers(self.socket), "the daemon answers", self.proc)

    def client(self) -> Client:
        return Client(SocketTransport(self.socket))

    def as_user(self, user: str, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
        return as_user(user, *args, env=user_env(user, self.socket), **kw)  # type: ignore[arg-type]

    def events(self, **filters: object) -> list[dict[str, object]]:
        found: list[dict[str, object]] = self.client().call("events.list", **filters)["events"]
        return found


def user_env(user: str, sock: Path) -> dict[str, str]:
    """What a user's login has: their home, and the daemon's socket (no store of theirs)."""
    return {"HOME": pwd.getpwnam(user).pw_dir, "ONETUI_SOCKET": str(sock), "USER": user,
            "XDG_RUNTIME_DIR": "", "ONETUI_STATE": "", "ONETUI_CONFIG": ""}


def until(check, what: str, proc: subprocess.Popen[str] | None = None,  # type: ignore[no-untyped-def]
          timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"waiting for {what}: the daemon exited {proc.returncode}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _answers(path: Path) -> bool:
    probe = socket.socket(socket.AF_UNIX)
    try:
        probe.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        probe.close()


@pytest.fixture
def system_daemon(testbed_users: dict[str, str], tmp_path: Path) -> Iterator[SystemDaemon]:
    """A store of root's in a 0700 directory, a host, a lab network, the lab template (with
    a root password in its CONTEXT) and adam's lab os2; the daemon serving it."""
    # under root's 0755 test-bed directory: sshd's StrictModes refuses keys below a
    # world-writable directory such as /var/tmp
    base = Path(f"/var/lib/onetui-testbed/system-{secrets.token_hex(4)}")
    base.mkdir(mode=0o755)
    os.chmod(base, 0o755)  # the socket's directory must be reachable by group onetui
    state = base / "state"
    state.mkdir(mode=0o700)
    env = {**os.environ, "ONETUI_STATE": str(state), "ONETUI_CONFIG": str(base / "none.toml"),
           "ONETUI_SOCKET": str(base / "run" / "onetui.sock")}
    env["PYTHONPATH"] = os.getcwd()
    with Store.open(state, init=True) as store:
        store.hosts.add("ursa03", "libvirt", {"uri": node(tmp_path, "ursa03", 8, 8)})
        store.networks.add("labnet", "127.0.4.10", "127.0.4.30")
        store.templates.add("master", SECRET_TEMPLATE)
        path = store.path
    daemon = SystemDaemon(base, base / "run" / "onetui.sock", path, env, None)  # type: ignore[arg-type]
    daemon.start()
    try:
        made = subprocess.run([sys.executable, "-m", "onetui", "lab", "create", "os2",
                               "--template", "master", "--seats", "1", "--network", "labnet",
                               "--owner", "adam"], env=env, capture_output=True, text=True,
                              timeout=120)
        assert made.returncode == 0, made.stderr
        yield daemon
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.send_signal(signal.SIGTERM)
            try:
                daemon.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                daemon.proc.kill()
                daemon.proc.wait()
        shutil.rmtree(base, ignore_errors=True)


def test_alice_runs_her_lab_and_is_refused_the_rest(system_daemon: SystemDaemon) -> None:
    d = system_daemon
    made = d.as_user("alice", "lab", "create", "os1", "--template", "master", "--seats", "2",
                     "--network", "labnet")
    assert made.returncode == 0, made.stderr
    listed = json.loads(d.as_user("alice", "lab", "list", "--json").stdout)
    assert {(lab["name"], lab["owner"]) for lab in listed} == {("os1", "alice"), ("os2", "adam")}

    creds = d.as_user("alice", "lab", "creds", "os1", "--csv")
    assert creds.returncode == 0, creds.stderr
    rows = creds.stdout.strip().splitlines()
    assert len(rows) == 3 and "student01" in rows[1] and "student02" in rows[2]

    refused = {
        ("lab", "creds", "os2"): "onetui: lab creds os2: refused for alice (labstaff): needs "
                                 "admin, or labstaff owning the lab (lab os2 is adam's)",
        ("lab", "destroy", "os2"): "onetui: lab destroy os2: refused for alice (labstaff): "
                                   "needs admin, or labstaff owning the lab (lab os2 is adam's)",
        ("vm", "shutdown", "1"): "onetui: vm shutdown 1: refused for alice (labstaff): needs "
                                 "operator",
        ("host", "disable", "ursa03"): "onetui: host enable ursa03: refused for alice "
                                       "(labstaff): needs admin",
    }
    for args, line in refused.items():
        out = d.as_user("alice", *args)
        assert (out.returncode, out.stderr.strip()) == (2, line), args

    # the store is the daemon's alone: the socket is the only door
    python = interpreter()[0][0]
    peek = subprocess.run(["runuser", "-u", "alice", "--", python, "-c",
                           f"open({str(d.store_path)!r}, 'rb')"],
                          capture_output=True, text=True, timeout=60)
    assert peek.returncode == 1 and "PermissionError" in peek.stderr

    mine = d.events(user="alice")
    messages = [e["message"] for e in mine]
    assert "alice (labstaff): lab creds os1 --csv (2 seat(s))" in messages
    assert "alice (labstaff): refused vm shutdown 1 (needs operator)" in messages
    assert all(e["user"] == "alice" and e["pid"] for e in mine)


def test_bob_only_looks_and_never_sees_a_password(system_daemon: SystemDaemon) -> None:
    d = system_daemon
    vms = json.loads(d.as_user("bob", "vm", "list", "--json").stdout)
    assert [v["name"] for v in vms] == ["os2-01"]
    assert all("s3cret-Root-pw" not in v["body"] and "(hidden)" in v["body"] for v in vms)
    shown = d.as_user("bob", "vm", "show", str(vms[0]["id"]))
    assert shown.returncode == 0 and "PASSWORD=(hidden)" in shown.stdout.replace(" ", "")
    template = d.as_user("bob", "template", "show", "master")
    assert template.returncode == 0, template.stderr
    assert "s3cret-Root-pw" not in template.stdout and "(hidden)" in template.stdout
    lab = json.loads(d.as_user("bob", "lab", "show", "os2", "--json").stdout)
    assert lab["name"] == "os2" and "password" not in json.dumps(lab).lower()
    for args, needs in ((("lab", "creds", "os2"), "admin, or labstaff owning the lab"),
                        (("vm", "hold", str(vms[0]["id"])), "operator"),
                        (("lab", "create", "os3", "--template", "master", "--seats", "1"),
                         "labstaff")):
        out = d.as_user("bob", *args)
        assert out.returncode == 2 and f"refused for bob (viewer): needs {needs}" in \
            out.stderr, (args, out.stderr)
    # what the admin sees: the same template with its password
    assert "s3cret-Root-pw" in d.client().call("template.get", ref="master")["body"]


def test_olga_shuts_a_vm_down_and_the_event_names_her(system_daemon: SystemDaemon) -> None:
    d = system_daemon
    client = d.client()
    until(lambda: client.call("vm.list", include_done=False)[0]["state"] == "runn",
          "the lab's VM runs")
    (vm,) = client.call("vm.list", include_done=False)
    out = d.as_user("olga", "vm", "shutdown", str(vm["id"]))
    assert out.returncode == 0, out.stderr
    olga = pwd.getpwnam("olga")
    events = d.events(user="olga")
    assert f"olga (operator): vm shutdown {vm['id']}" in [e["message"] for e in events]
    assert {e["user"] for e in events} == {olga.pw_name}
    refused = d.as_user("olga", "lab", "creds", "os2")
    assert refused.returncode == 2 and "needs admin, or labstaff owning the lab" in refused.stderr


def test_a_user_in_no_role_gets_nothing(system_daemon: SystemDaemon) -> None:
    d = system_daemon
    os.chmod(d.socket, 0o666)  # nobody is not in group onetui: let them reach the socket
    out = as_user("nobody", "vm", "list", env={**user_env("nobody", d.socket),
                                                "HOME": "/nonexistent"})
    assert out.returncode == 2
    assert out.stderr.startswith("onetui: you are not in any onetui role (nobody)")


def test_alice_over_a_real_ssh_login(system_daemon: SystemDaemon, tmp_path: Path) -> None:
    """A login through sshd (a key, a pinned host key): the session is alice's, with her
    groups, and the daemon sees her."""
    d = system_daemon
    with login_sshd(d.base, "alice") as ssh:
        argv, env = interpreter()
        command = " ".join([f"env ONETUI_SOCKET={d.socket} PYTHONPATH={env['PYTHONPATH']}",
                            *argv])
        listed = subprocess.run([*ssh, f"{command} lab list --json"], capture_output=True,
                                text=True, timeout=120)
        assert listed.returncode == 0, listed.stderr
        assert [lab["name"] for lab in json.loads(listed.stdout)] == ["os2"]
        refused = subprocess.run([*ssh, f"{command} lab creds os2"], capture_output=True,
                                 text=True, timeout=120)
        assert refused.returncode == 2
        assert "refused for alice (labstaff)" in refused.stderr
    assert d.events(user="alice")[-1]["message"] == (
        "alice (labstaff): refused lab creds os2 (needs admin, or labstaff owning the lab)")


def test_a_client_rides_out_the_daemon_killed_and_restarted(
        system_daemon: SystemDaemon) -> None:
    """bob follows the event log; the daemon dies of SIGKILL and comes back: his follow
    carries on by itself and misses nothing written meanwhile."""
    d = system_daemon
    argv, env = interpreter()
    follow = subprocess.Popen(["runuser", "-u", "bob", "--", *argv, "events", "--follow"],
                              env={**os.environ, **env, **user_env("bob", d.socket)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True)  # runuser's child goes with it
    try:
        assert follow.stdout is not None
        assert follow.stdout.readline().split() == ["#", "TIME", "MESSAGE"]  # it has asked
        d.client().call("vm.action", ref=1, action="hold")
        d.proc.kill()
        d.proc.wait()
        with Store(d.store_path) as store:  # written while no daemon serves
            store.events.add("engine", None, "written while the daemon was gone")
        d.start()
        d.client().call("vm.action", ref=1, action="release")
        seen: list[str] = []
        assert follow.stdout is not None
        while not any("vm release 1" in line for line in seen):
            line = follow.stdout.readline()
            assert line, f"follow ended: {follow.stderr.read() if follow.stderr else ''}"
            seen.append(line)
        text = "".join(seen)
        assert "vm hold 1" in text and "written while the daemon was gone" in text
    finally:
        os.killpg(follow.pid, signal.SIGKILL)  # runuser and the onetui it started
        follow.wait()
    assert follow.stderr is not None
    assert "daemon gone" in follow.stderr.read()


class login_sshd:
    """A real sshd on a free loopback port, only for `user`, with a key made here; the
    client's argv (its host key pinned, nothing else trusted)."""

    def __init__(self, base: Path, user: str) -> None:
        self.dir = base / "sshd"
        self.user = user
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> list[str]:
        d = self.dir
        d.mkdir(mode=0o755)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "host")],
                       check=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "client")],
                       check=True)
        keys = d / "keys"
        keys.mkdir(mode=0o755)
        shutil.copy(d / "client.pub", keys / self.user)
        os.chmod(keys / self.user, 0o644)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        (d / "sshd_config").write_text(
            f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {d / 'host'}\n"
            f"PidFile {d / 'sshd.pid'}\nAuthorizedKeysFile {keys}/%u\nAllowUsers {self.user}\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
            "PermitRootLogin no\n")
        Path("/run/sshd").mkdir(exist_ok=True)
        with open(d / "sshd.log", "ab") as log:
            self.proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f",
                                          str(d / "sshd_config")], stderr=log)
        until(lambda: _listening(port), "sshd listens")
        host_key = (d / "host.pub").read_text().split()
        (d / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key[0]} {host_key[1]}\n")
        return ["ssh", "-i", str(d / "client"), "-p", str(port), "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={d / 'known_hosts'}",
                "-o", "IdentitiesOnly=yes", f"{self.user}@127.0.0.1"]

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False

