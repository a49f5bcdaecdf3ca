"""Talking to the SGE master: over one reused SSH connection (or locally, when onetui runs
on the master), with every name checked before it goes into a command."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from onetui.errors import UserError
from onetui.integrations.sge.grid import Grid, GridError, parse_qhost, parse_qstat

if TYPE_CHECKING:
    from onetui.remote.ssh import Pool, Result


class SgeError(UserError):
    """SGE refused (qconf/qsub said no): the message is SGE's own."""


@dataclass(frozen=True)
class SgeConfig:
    """The `[sge]` table of config.toml."""

    host: str = ""
    user: str | None = None
    port: int | None = None
    key_file: str | None = None
    sge_root: str = "/var/lib/gridengine"
    sge_cell: str = "default"
    transport: str = "ssh"  # or "local"
    known_hosts: tuple[str, ...] = ()
    drain_timeout: float = 600.0  # seconds a leaving host may keep running jobs
    ssh_config: str | None = None

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> SgeConfig | None:
        sge = cfg.get("sge")
        if not sge:
            return None
        known = sge.get("known_hosts", ())
        try:
            out = cls(host=str(sge.get("host", "")), user=sge.get("user"),
                      port=int(sge["port"]) if sge.get("port") else None,
                      key_file=sge.get("key_file"),
                      sge_root=str(sge.get("sge_root", cls.sge_root)),
                      sge_cell=str(sge.get("sge_cell", cls.sge_cell)),
                      transport=str(sge.get("transport", "ssh")),
                      known_hosts=tuple([known] if isinstance(known, str) else known),
                      drain_timeout=float(sge.get("drain_timeout", cls.drain_timeout)),
                      ssh_config=sge.get("ssh_config"))
        except (TypeError, ValueError) as exc:
            raise UserError(f"config [sge]: {exc}") from None
        if out.transport not in ("ssh", "local"):
            raise UserError(f"config [sge] transport = {out.transport!r}: expected ssh or local")
        if out.transport == "ssh" and not out.host:
            raise UserError("config [sge]: host is required (the SGE master to reach by SSH)")
        return out


def _pool() -> Pool:
    from onetui.remote.ssh import Pool

    return Pool()


@dataclass
class Master:
    """The SGE master. onetui.remote.ssh (and paramiko, ~0.2 s) loads when the first one is
    made, not with this module: `onetui help` and the `ec2` commands load this module
    without reaching a grid."""

    config: SgeConfig
    pool: Pool = field(default_factory=_pool)

    def __post_init__(self) -> None:
        from onetui.remote.ssh import Local, resolve

        if self.config.transport == "local":
            self.runner: Any = Local()
        else:
            c = self.config
            target = resolve(c.host, c.port, c.user, c.key_file, c.known_hosts, c.ssh_config)
            self.runner = self.pool.get(target)

    def run(self, *argv: str, stdin: bytes | None = None, check: bool = True) -> Result:
        env = ["env", f"SGE_ROOT={self.config.sge_root}", f"SGE_CELL={self.config.sge_cell}"]
        result = self.runner.run([*env, *argv], stdin=stdin)
        if check and not result.ok:
            message = (result.err or result.out).strip().splitlines()
            raise SgeError(f"{argv[0]} {argv[1] if len(argv) > 1 else ''}: "
                           f"{message[-1] if message else f'exit {result.code}'}".strip())
        return result

    def close(self) -> None:
        self.runner.close()

    # -- reading --------------------------------------------------------------------------

    def qstat(self) -> Grid:
        return parse_qstat(self.run("qstat", "-f", "-xml", "-u", "*").out)

    def qhost(self) -> list[dict[str, str]]:
        return parse_qhost(self.run("qhost", "-xml").out)

    def submit(self, script: bytes, name: str | None = None) -> int:
        """qsub the script (sent on stdin, so its content never meets a shell line)."""
        from onetui.remote.ssh import safe_name

        argv = ["qsub", "-terse"]
        if name:
            argv += ["-N", safe_name("job name", name)]
        out = self.run(*argv, stdin=script).out.strip()
        match = re.match(r"(\d+)", out)
        if not match:
            raise SgeError(f"qsub: no job id in its answer {out[:80]!r}")
        return int(match.group(1))

    # -- exec hosts: joining and leaving --------------------------------------------------

    def _listed(self, *argv: str) -> set[str]:
        result = self.run(*argv, check=False)
        return set(result.out.split()) if result.ok else set()

    def join(self, host: str, queue: str = "all.q", hostgroup: str = "@allhosts",
             slots: int = 1) -> list[str]:
        """Make `host` an admin and submit host, put it in the hostgroup and set its slots.
        Idempotent: steps already done are skipped. Returns the steps it took."""
        from onetui.remote.ssh import safe_name

        safe_name("host", host)
        safe_name("queue", queue)
        safe_name("hostgroup", hostgroup)
        done = []
        if host not in self._listed("qconf", "-sh"):
            self.run("qconf", "-ah", host)
            done.append("admin host")
        if host not in self._listed("qconf", "-ss"):
            self.run("qconf", "-as", host)
            done.append("submit host")
        members = self.run("qconf", "-shgrp", hostgroup).out
        if not re.search(rf"(^|\s){re.escape(host)}(\s|$)", members.partition("hostlist")[2]):
            self.run("qconf", "-aattr", "hostgroup", "hostlist", host, hostgroup)
            done.append(f"hostgroup {hostgroup}")
        value = f"[{host}={int(slots)}]"
        if not self.run("qconf", "-aattr", "queue", "slots", value, queue, check=False).ok:
            self.run("qconf", "-mattr", "queue", "slots", value, queue)
        done.append(f"{slots} slot(s) in {queue}")
        return done

    def instance_state(self, host: str, queue: str = "all.q") -> str | None:
        """The queue instance's states ("" when fine, "u" while its execd is not heard),
        or None when SGE does not list it."""
        inst = self.qstat().instance(f"{queue}@{host}")
        return None if inst is None else inst.states

    def running_jobs(self, host: str, queue: str = "all.q") -> int:
        inst = self.qstat().instance(f"{queue}@{host}")
        return 0 if inst is None else len(inst.jobs)

    def disable(self, host: str, queue: str = "all.q") -> None:
        from onetui.remote.ssh import safe_name

        self.run("qmod", "-d", f"{safe_name('queue', queue)}@{safe_name('host', host)}")

    def remove(self, host: str, queue: str = "all.q", hostgroup: str = "@allhosts") -> None:
        """Take `host` out of SGE entirely. Each step tolerates "already gone"."""
        from onetui.remote.ssh import safe_name

        safe_name("host", host)
        steps = [("qconf", "-dattr", "hostgroup", "hostlist", host, hostgroup),
                 ("qconf", "-purge", "queue", "slots", f"{queue}@{host}"),
                 ("qconf", "-de", host), ("qconf", "-ds", host), ("qconf", "-dh", host)]
        for argv in steps:
            self.run(*argv, check=False)


@dataclass
class GridWatch:
    """The last good grid, and since when it is stale: a garbled answer or an unreachable
    master never wipes what the admin was looking at."""

    master: Master
    grid: Grid | None = None
    stale_since: float | None = None
    error: str = ""
    problem: Exception | None = None  # the last failure itself (an unknown host key…)

    def poll(self) -> Grid | None:
        try:
            self.grid = self.master.qstat()
            self.stale_since, self.error, self.problem = None, "", None
        except (GridError, UserError) as exc:
            self.error, self.problem = str(exc), exc
            if self.stale_since is None:
                self.stale_since = time.time()
        return self.grid
