"""Running commands on other hosts: one paramiko connection per host, reused, with host keys
checked against known_hosts (never added blindly), or the same commands run locally.

Commands are argument lists, never shell text: the remote side gets `shlex.join(argv)`, and
whoever builds argv validates names first (see `safe_name`), so a host called
`node; rm -rf /` is refused, not escaped-and-hoped.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import shlex
import socket
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import paramiko

from onetui.errors import UserError

SYSTEM_KNOWN_HOSTS = "/etc/ssh/ssh_known_hosts"
# paramiko logs every failed handshake with a traceback (through logging's last-resort
# handler: onto the console's screen). We report each failure ourselves, in one line.
logging.getLogger("paramiko").setLevel(logging.CRITICAL)
_NAME = re.compile(r"[A-Za-z0-9@][A-Za-z0-9_.@-]{0,253}")


class RemoteError(UserError):
    """The remote host could not be reached or refused us; the message says which and why."""


class HostKeyUnknown(RemoteError):
    def __init__(self, host: str, key: paramiko.PKey) -> None:
        self.host, self.key = host, key
        self.fingerprint = fingerprint(key)
        super().__init__(
            f"host key of {host} is not known ({key.get_name()} {self.fingerprint}); "
            f"compare it with the host's own, then trust it: onetui ssh trust {_trust_args(host)}")


class HostKeyChanged(RemoteError):
    def __init__(self, host: str, key: paramiko.PKey) -> None:
        self.host, self.key = host, key
        super().__init__(
            f"HOST KEY OF {host} HAS CHANGED (now {key.get_name()} {fingerprint(key)}): "
            "someone may be in the middle, or the host was reinstalled. Refusing to connect; "
            "remove the old key from known_hosts only once you know why it changed")


def _trust_args(host: str) -> str:
    m = re.fullmatch(r"\[(.+)\]:(\d+)", host)
    return f"{m.group(1)} --port {m.group(2)}" if m else host


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's SHA256 fingerprint, as `ssh-keygen -l` prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def safe_name(kind: str, value: str) -> str:
    """A host, queue or user name fit for a remote command line, or a UserError."""
    if not _NAME.fullmatch(value):
        raise UserError(f"{kind} {value!r}: expected letters, digits, '.', '_', '-' or '@' "
                        "(no spaces or shell characters)")
    return value


def known_host_name(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    @property
    def ok(self) -> bool:
        return self.code == 0


@dataclass(frozen=True)
class Target:
    """Where to connect, after ~/.ssh/config had its say."""

    alias: str  # the name the admin gave
    hostname: str
    port: int = 22
    user: str | None = None
    key_files: tuple[str, ...] = ()
    proxy_jump: str | None = None
    proxy_command: str | None = None
    known_hosts: tuple[str, ...] = ()
    ssh_config: str | None = None
    # A host to go through, with its own user, key and trust (OpenSSH's ProxyJump with the
    # settings spelled out): a lab seat whose address only its hypervisor node can reach.
    jump: Target | None = None

    @property
    def key_name(self) -> str:
        return known_host_name(self.hostname, self.port)


def default_known_hosts() -> tuple[str, ...]:
    return (str(Path("~/.ssh/known_hosts").expanduser()), SYSTEM_KNOWN_HOSTS)


def resolve(host: str, port: int | None = None, user: str | None = None,
            key_file: str | None = None, known_hosts: Sequence[str] = (),
            ssh_config: str | None = None) -> Target:
    """The connection settings for `host`: explicit values first, then ~/.ssh/config
    (HostName, Port, User, IdentityFile, ProxyJump, ProxyCommand)."""
    cfg: dict = {}
    path = Path(ssh_config or "~/.ssh/config").expanduser()
    if path.is_file():
        try:
            cfg = paramiko.SSHConfig.from_path(str(path)).lookup(host)
        except (OSError, paramiko.ssh_exception.ConfigParseError) as exc:
            raise RemoteError(f"{path}: {exc}") from None
    keys = (key_file,) if key_file else tuple(cfg.get("identityfile", []))
    return Target(
        alias=host, hostname=cfg.get("hostname", host), port=int(port or cfg.get("port", 22)),
        user=user or cfg.get("user"), key_files=tuple(str(Path(k).expanduser()) for k in keys),
        proxy_jump=cfg.get("proxyjump"), proxy_command=cfg.get("proxycommand"),
        known_hosts=tuple(known_hosts) or default_known_hosts(), ssh_config=ssh_config,
    )


class _Refuse(paramiko.MissingHostKeyPolicy):
    def missing_host_key(self, client: paramiko.SSHClient, hostname: str,
                         key: paramiko.PKey) -> None:
        raise HostKeyUnknown(hostname, key)


class Connection:
    """One SSH connection to a host, kept open and reused for every command; reconnects
    once when it finds the connection dropped."""

    def __init__(self, target: Target, pool: Pool | None = None, timeout: float = 10.0,
                 keepalive: int = 30, password: str | None = None) -> None:
        self.target = target
        # With a password, only the password is tried (no keys, no agent): how a lab checks
        # that a student's handed-out login works.
        self._password = password
        self.timeout = timeout
        self.keepalive = keepalive
        self._pool = pool
        self._own_pool: Pool | None = None  # for the jump host, when no pool was given
        self._client: paramiko.SSHClient | None = None
        self._lock = threading.Lock()
        self.connects = 0  # how often we had to (re)connect (bench/ and tests read it)

    def _sock(self) -> socket.socket | paramiko.Channel | paramiko.ProxyCommand | None:
        t = self.target
        if t.proxy_command:
            cmd = t.proxy_command.replace("%h", t.hostname).replace("%p", str(t.port))
            return paramiko.ProxyCommand(cmd.replace("%r", t.user or ""))
        via = t.jump or (resolve(t.proxy_jump, known_hosts=t.known_hosts,
                                 ssh_config=t.ssh_config) if t.proxy_jump else None)
        if via is not None:
            if self._pool is None and self._own_pool is None:
                self._own_pool = Pool(timeout=self.timeout)
            jump = (self._pool or self._own_pool or Pool()).get(via)
            transport = jump.client().get_transport()
            assert transport is not None
            return transport.open_channel("direct-tcpip", (t.hostname, t.port), ("127.0.0.1", 0))
        return None

    def client(self) -> paramiko.SSHClient:
        if self._client is not None:
            transport = self._client.get_transport()
            if transport is not None and transport.is_active():
                return self._client
            self._client.close()
        t = self.target
        client = paramiko.SSHClient()
        for path in t.known_hosts:
            if Path(path).is_file():
                client.load_system_host_keys(path)  # read-only: we never write them here
        client.set_missing_host_key_policy(_Refuse())
        try:
            self._connect(client)
        except paramiko.BadHostKeyException as exc:
            raise HostKeyChanged(t.key_name, exc.key) from None
        except HostKeyUnknown:
            raise
        except paramiko.AuthenticationException as exc:
            raise RemoteError(f"{t.alias}: authentication as {t.user or 'default user'} "
                              f"failed: {exc}") from None
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise RemoteError(f"{t.alias} ({t.key_name}): cannot connect: {exc}") from None
        transport = client.get_transport()
        if transport is not None:
            transport.set_keepalive(self.keepalive)
        self._client = client
        self.connects += 1
        return client

    def _connect(self, client: paramiko.SSHClient) -> None:
        """Connect, or close what was opened: a half-open session left behind counts
        against the server's limit of unauthenticated connections (dropbear allows five
        per address), and enough of them lock us out."""
        t = self.target
        try:
            client.connect(
                t.hostname, port=t.port, username=t.user, timeout=self.timeout,
                banner_timeout=self.timeout, auth_timeout=self.timeout, sock=self._sock(),
                **self._auth())
        except BaseException:
            client.close()
            raise

    def _auth(self) -> dict:
        if self._password is not None:
            return {"password": self._password, "allow_agent": False, "look_for_keys": False}
        keys = list(self.target.key_files)
        return {"key_filename": keys or None, "allow_agent": True, "look_for_keys": not keys}

    def run(self, argv: Sequence[str], stdin: bytes | None = None,
            timeout: float = 120.0) -> Result:
        """Run `argv` remotely (quoted with shlex.join); when the connection drops, before
        or during the command, reconnects and runs it once more — so what onetui sends is
        idempotent by design (qconf's adds and removes, an atomic upload). Secrets go
        through stdin, never argv."""
        command = shlex.join(argv)
        with self._lock:
            for attempt in (1, 2):
                try:
                    return self._exec(command, stdin, timeout)
                except (paramiko.SSHException, EOFError, OSError) as exc:
                    if self._client is not None:
                        self._client.close()
                        self._client = None
                    if attempt == 2:
                        raise RemoteError(f"{self.target.alias}: {exc}") from None
        raise AssertionError("unreachable")

    def _exec(self, command: str, stdin: bytes | None, timeout: float) -> Result:
        client = self.client()
        chan_in, chan_out, chan_err = client.exec_command(command, timeout=timeout)
        if stdin is not None:
            chan_in.write(stdin)
        chan_in.channel.shutdown_write()
        out = chan_out.read().decode(errors="replace")
        err = chan_err.read().decode(errors="replace")
        status = chan_out.channel.recv_exit_status()
        if status == -1:  # the channel closed without an exit status: the connection dropped
            raise EOFError("the connection dropped while the command ran")
        return Result(status, out, err)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
            if self._own_pool is not None:
                self._own_pool.close()
                self._own_pool = None


@dataclass
class Pool:
    """One connection per target (user, host, port, route, keys and trust), shared by
    everything that talks to it."""

    timeout: float = 10.0
    _conns: dict[Target, Connection] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, target: Target) -> Connection:
        key = target  # every setting, trust included: a new pin gets a new connection
        with self._lock:
            conn = self._conns.get(key)
            if conn is None:
                conn = self._conns[key] = Connection(target, self, self.timeout)
            return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._conns.values():
                conn.close()
            self._conns.clear()


class Local:
    """The same commands without SSH, for onetui running on the host itself."""

    connects = 0

    def run(self, argv: Sequence[str], stdin: bytes | None = None,
            timeout: float = 120.0) -> Result:
        try:
            proc = subprocess.run(list(argv), input=stdin, capture_output=True,
                                  timeout=timeout, check=False)
        except FileNotFoundError:
            return Result(127, "", f"{argv[0]}: command not found")
        except subprocess.TimeoutExpired:
            return Result(124, "", f"{argv[0]}: timed out after {timeout:g} s")
        return Result(proc.returncode, proc.stdout.decode(errors="replace"),
                      proc.stderr.decode(errors="replace"))

    def close(self) -> None:
        return None


def scan_key(target: Target, timeout: float = 10.0) -> paramiko.PKey:
    """The host key a server presents (no login), for the admin to compare and trust."""
    try:
        sock = socket.create_connection((target.hostname, target.port), timeout=timeout)
    except OSError as exc:
        raise RemoteError(f"{target.key_name}: cannot connect: {exc.strerror or exc}") from None
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=timeout)
        return transport.get_remote_server_key()
    except (paramiko.SSHException, EOFError) as exc:
        raise RemoteError(f"{target.key_name}: no SSH server answered: {exc}") from None
    finally:
        transport.close()


def trust(target: Target, key: paramiko.PKey, path: str | None = None) -> Path:
    """Add `key` for the target to a known_hosts file (0600, in a 0700 directory)."""
    file = Path(path or target.known_hosts[0]).expanduser()
    file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    line = f"{target.key_name} {key.get_name()} {key.get_base64()}\n"
    fd = os.open(file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a") as fh:
        fh.write(line)
    return file
