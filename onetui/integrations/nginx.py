"""The nginx load balancer of a web tier: its `upstream` block kept in step with the VMs.

The config is read, only the named upstream block is rewritten (every other byte kept,
comments and odd spacing included), written atomically, checked with `nginx -t`, and
nginx reloaded only when the check passes. When it fails, the file is put back as it was —
the running nginx never saw the bad one — and nginx's own message is the error.
Everything goes through a runner (an SSH connection, or the local machine), with argument
lists, never shell text built from values.
"""

from __future__ import annotations

import ipaddress
import re
import time
from dataclasses import dataclass
from typing import Any

from onetui.errors import UserError
from onetui.remote.ssh import safe_name

# Write stdin to a temporary file beside the target, then rename it over the target: a
# reader (nginx -t, a reload) sees the old file or the new one, never half of one. The path
# is "$1", an argument, never pasted into the script. The new file keeps the old one's mode
# and (where the writer may set it) owner.
_ATOMIC_WRITE = ('tmp="$1.onetui.$$" && cat > "$tmp" && chmod --reference="$1" "$tmp" && '
                 '{ chown --reference="$1" "$tmp" 2>/dev/null || :; } && mv -f "$tmp" "$1"')

# The master's pid (from its pid file, "$1") and its worker processes' pids, from /proc.
_WORKERS = ('master=$(cat "$1") || exit 1; echo "$master"; '
            'for s in /proc/[0-9]*/stat; do '
            'set -- $(cat "$s" 2>/dev/null); [ "$4" = "$master" ] && echo "$1"; done; :')
_PID_DIRECTIVE = re.compile(r"^\s*pid\s+([^;\s]+)\s*;", re.M)
RELOAD_WAIT = 10.0  # seconds for a reload to start new workers before it is sent again
RELOAD_TRIES = 3


class NginxError(UserError):
    """nginx refused (its own words), or the config has no such upstream block."""


def _block_span(text: str, name: str) -> tuple[int, int]:
    """Start and end offsets of the *body* of `upstream NAME { … }` (between the braces)."""
    for match in re.finditer(r"(^|[;{}\s])upstream\s+" + re.escape(name) + r"\s*\{", text):
        if _in_comment(text, match.start()):
            continue
        start = match.end()
        depth, i = 1, start
        while i < len(text):
            ch = text[i]
            if ch == "#":
                i = text.find("\n", i)
                if i == -1:
                    break
                continue
            if ch in "'\"":
                close = text.find(ch, i + 1)
                i = close + 1 if close != -1 else len(text)
                continue
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    return start, i
            i += 1
        raise NginxError(f"upstream {name}: its block is not closed")
    raise NginxError(f"no `upstream {name} {{ … }}` block in the config")


def _in_comment(text: str, pos: int) -> bool:
    line_start = text.rfind("\n", 0, pos) + 1
    return "#" in text[line_start:pos]


_IPV6 = re.compile(r"\[([0-9A-Fa-f:.]{2,45})\]:(\d{1,5})")
_HOSTPORT = re.compile(r"([A-Za-z0-9.-]{1,253}):(\d{1,5})")


def check_server(server: str) -> str:
    """An upstream entry in the grammar nginx accepts and nothing more: `IPV4:PORT`,
    `[IPV6]:PORT` (no zone id: nginx has none) or `name:PORT` with a safe host name; the
    port 1-65535 in plain digits. Whatever else reached the file could end the `server`
    line and start another directive."""
    m = _IPV6.fullmatch(server) or _HOSTPORT.fullmatch(server)
    ok = m is not None and 0 < int(m.group(2)) < 65536
    if ok and m is not None and server.startswith("["):
        try:
            ipaddress.IPv6Address(m.group(1))
        except ValueError:
            ok = False
    elif ok and m is not None:
        host = m.group(1)
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            ok = not host.replace(".", "").isdigit() and _safe(host)
    if not ok:
        shown = server if len(server) <= 60 else server[:60] + "…"
        raise UserError(f"upstream server {shown!r}: expected IPV4:PORT, [IPV6]:PORT or "
                        "HOST:PORT (port 1-65535)")
    return server


def _safe(host: str) -> bool:
    try:
        safe_name("upstream host", host)
    except UserError:
        return False
    return True


def replace_upstream(text: str, name: str, servers: list[str]) -> str:
    """`text` with the upstream block `name` listing exactly `servers`, in the seed's own
    style (`server 10.1.1.11:80 ;`); everything outside the block byte for byte."""
    start, end = _block_span(text, name)
    body = "".join(f"\nserver {check_server(s)} ;" for s in servers) + "\n"
    if not servers:
        body = "\n# no servers running\nserver 127.0.0.1:9 down ;\n"  # nginx needs one
    return text[:start] + body + text[end:]


def upstream_servers(text: str, name: str) -> list[str]:
    start, end = _block_span(text, name)
    return re.findall(r"^\s*server\s+(\S+?)\s*(?:\s[^;]*)?;", text[start:end], re.MULTILINE)


@dataclass
class LoadBalancer:
    """One nginx: its config file, how to test and reload it, and the runner to reach it."""

    runner: Any  # Connection or Local: .run(argv, stdin=...) -> Result
    conf: str
    upstream: str = "one_loadbalancer"
    nginx: str = "nginx"
    prefix: str | None = None  # nginx -p, for an nginx not in its default place

    def _nginx(self, *args: str) -> list[str]:
        argv = [self.nginx, "-c", self.conf]
        if self.prefix:
            argv += ["-p", self.prefix]
        return [*argv, *args]

    def read(self) -> str:
        result = self.runner.run(["cat", "--", self.conf])
        if not result.ok:
            raise NginxError(f"{self.conf}: {result.err.strip() or 'cannot read'}")
        return result.out

    def write(self, text: str) -> None:
        result = self.runner.run(["sh", "-c", _ATOMIC_WRITE, "sh", self.conf],
                                 stdin=text.encode())
        if not result.ok:
            raise NginxError(f"{self.conf}: cannot write: {result.err.strip()}")

    def test(self) -> str:
        """nginx -t's complaint, or "" when the config is good."""
        result = self.runner.run(self._nginx("-t"))
        return "" if result.ok else (result.err or result.out).strip()

    def pid_file(self, text: str) -> str:
        """Where the master writes its pid: the config's `pid` directive (relative to the
        prefix), else Debian's default."""
        m = _PID_DIRECTIVE.search(text)
        if not m:
            return "/run/nginx.pid"
        path = m.group(1)
        return path if path.startswith("/") or not self.prefix else f"{self.prefix}/{path}"

    def workers(self, pid_file: str) -> tuple[str, set[str]]:
        """The master's pid and its workers' pids ("" and none when it is not running)."""
        result = self.runner.run(["sh", "-c", _WORKERS, "sh", pid_file])
        lines = result.out.split() if result.ok else []
        return (lines[0], set(lines[1:])) if lines else ("", set())

    def reload(self, pid_file: str = "") -> None:
        """Reload, and make sure it took: a reload signal that reaches a master still
        starting up can be lost, so the master must start a new worker (one not there
        before) within RELOAD_WAIT; otherwise the signal is sent again. Without a pid file
        to look at, the signal is sent once, as nginx -s reload does."""
        before = self.workers(pid_file) if pid_file else ("", set())
        for _ in range(RELOAD_TRIES):
            result = self.runner.run(self._nginx("-s", "reload"))
            if not result.ok:
                raise NginxError(f"nginx -s reload: {(result.err or result.out).strip()}")
            if not before[0]:
                return
            deadline = time.monotonic() + RELOAD_WAIT
            while time.monotonic() < deadline:
                master, now = self.workers(pid_file)
                if master and now - before[1]:
                    return
                time.sleep(0.2)
        raise NginxError(f"nginx did not start workers with the new config after "
                         f"{RELOAD_TRIES} reloads ({RELOAD_TRIES * RELOAD_WAIT:g} s)")

    def servers(self) -> list[str]:
        return upstream_servers(self.read(), self.upstream)

    def apply(self, servers: list[str]) -> bool:
        """Make the upstream list exactly `servers`. Returns whether anything changed.
        A config nginx rejects is rolled back and raised with nginx's message."""
        old = self.read()
        new = replace_upstream(old, self.upstream, servers)
        if new == old:
            return False
        self.write(new)
        problem = self.test()
        if problem:
            self.write(old)  # the running nginx never loaded it; the file is as before
            lines = problem.splitlines()
            why = next((line for line in lines if "[emerg]" in line or "[error]" in line),
                       lines[-1] if lines else "")
            raise NginxError(f"nginx -t rejected the new upstream list, old config kept: {why}")
        self.reload(self.pid_file(new))
        return True
