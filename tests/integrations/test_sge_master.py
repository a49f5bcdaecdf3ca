"""Against a real Sun Grid Engine behind a real sshd on 127.0.0.1."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from onetui.errors import UserError
from onetui.integrations.sge.master import Master, SgeConfig
from onetui.remote.ssh import HostKeyChanged, HostKeyUnknown, Pool, resolve
from tests.beds.cli import onetui
from tests.beds.sge import BED, HOST_KEY, KEY, PORT, USER


def wait_for(what: str, check, timeout: float = 60, step=None) -> None:  # type: ignore
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        if step:
            step()
        time.sleep(0.5)


def test_unknown_host_key_is_refused_then_trusted(sge_bed: Path, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    target = resolve("127.0.0.1", PORT, USER, str(KEY), [str(empty)],
                     ssh_config=str(tmp_path / "none"))
    pool = Pool()
    with pytest.raises(HostKeyUnknown) as err:
        pool.get(target).run(["true"])
    real = HOST_KEY.read_text().split()[1]
    assert "onetui ssh trust 127.0.0.1 --port 2222" in str(err.value)
    assert str(err.value).count("SHA256:") == 1
    assert not empty.exists()  # nothing was added behind the admin's back

    out = onetui("ssh", "trust", "127.0.0.1", "--port", str(PORT), "--known-hosts", str(empty),
                 "--yes").stdout
    assert err.value.fingerprint in out
    assert real in empty.read_text() and oct(empty.stat().st_mode & 0o777) == "0o600"
    result = Pool().get(target).run(["echo", "it's me; $HOME"])  # quoted, not interpreted
    assert result.out == "it's me; $HOME\n"


def test_a_changed_host_key_is_refused_loudly(sge_bed: Path, tmp_path: Path) -> None:
    import paramiko

    forged = tmp_path / "known_hosts"
    other = paramiko.Ed25519Key.from_private_key_file(str(KEY))  # some other ed25519 key
    forged.write_text(f"[127.0.0.1]:{PORT} ssh-ed25519 {other.get_base64()}\n")
    target = resolve("127.0.0.1", PORT, USER, str(KEY), [str(forged)],
                     ssh_config=str(tmp_path / "none"))
    with pytest.raises(HostKeyChanged, match=r"HOST KEY OF \[127\.0\.0\.1\]:2222 HAS CHANGED"):
        Pool().get(target).run(["true"])


def test_one_connection_reused_and_recovered_when_dropped(sge_config: dict) -> None:
    master = Master(SgeConfig.from_config(sge_config))
    for _ in range(5):
        assert master.qstat().instance("all.q@node2") is not None
    assert master.runner.connects == 1
    master.runner._client.get_transport().close()  # the link drops under us
    assert master.qstat().instance("all.q@node2") is not None
    assert master.runner.connects == 2
    master.close()


def test_a_job_submitted_through_onetui_runs_on_an_exec_host(sge_config: dict,
                                                            tmp_path: Path) -> None:
    script = tmp_path / "whereami.sh"
    script.write_text("#!/bin/sh\n#$ -S /bin/sh\nhostname\nsleep 2\n")
    out = onetui("sge", "submit", str(script), "--name", "whereami").stdout
    job = int(out.split()[2])
    master = Master(SgeConfig.from_config(sge_config))

    def running_on() -> str:
        grid = master.qstat()
        return next((q.host for q in grid.queues for j in q.jobs if j.number == job), "")

    wait_for(f"job {job} to run", lambda: running_on() != "", timeout=60)
    assert running_on() in ("node2", master.run("hostname").out.strip())
    text = onetui("sge", "qstat").stdout
    assert f" {job} " in text and "whereami" in text
    master.close()


def test_names_with_shell_characters_never_reach_a_command(sge_config: dict) -> None:
    master = Master(SgeConfig.from_config(sge_config))
    with pytest.raises(UserError, match="host 'node9; rm -rf /'"):
        master.join("node9; rm -rf /")
    with pytest.raises(UserError, match="job name"):
        master.submit(b"true\n", "x$(reboot)")
    master.close()


def test_ssh_config_aliases_and_proxyjump_are_honoured(sge_bed: Path, known_hosts: Path,
                                                       tmp_path: Path) -> None:
    """An admin's bastion set-up: the master reached through a jump host (here the same
    sshd, forwarding to itself), all of it from ~/.ssh/config."""
    cfg = tmp_path / "ssh_config"
    cfg.write_text(f"Host bastion\n  HostName 127.0.0.1\n  Port {PORT}\n  User {USER}\n"
                   f"  IdentityFile {KEY}\n\n"
                   f"Host sgemaster\n  HostName 127.0.0.1\n  Port {PORT}\n  User {USER}\n"
                   f"  IdentityFile {KEY}\n  ProxyJump bastion\n")
    pool = Pool()
    target = resolve("sgemaster", known_hosts=[str(known_hosts)], ssh_config=str(cfg))
    assert (target.hostname, target.port, target.user, target.proxy_jump) == (
        "127.0.0.1", PORT, USER, "bastion")
    assert pool.get(target).run(["echo", "via bastion"]).out == "via bastion\n"
    pool.close()


def test_local_transport_runs_the_same_commands(sge_bed: Path) -> None:
    master = Master(SgeConfig(transport="local"))
    assert master.qstat().instance("all.q@node2") is not None


def test_stale_grid_is_kept_when_the_master_goes_away(sge_config: dict) -> None:
    from onetui.integrations.sge.master import GridWatch

    watch = GridWatch(Master(SgeConfig.from_config(sge_config)))
    good = watch.poll()
    assert good is not None and watch.stale_since is None
    watch.master = Master(SgeConfig.from_config({"sge": {**sge_config["sge"], "port": 1}}))
    assert watch.poll() is good  # the last good data stays on screen
    assert watch.stale_since is not None and "cannot connect" in watch.error


def test_sge_hosts_cli(sge_config: dict) -> None:
    out = onetui("sge", "hosts").stdout.splitlines()
    assert out[0].split() == ["HOSTNAME", "ARCH", "NCPU", "LOAD", "MEMTOT", "MEMUSE"]
    assert any(line.split()[0] == "node2" for line in out[1:])


def test_a_connection_dropped_during_a_command_is_run_again(sge_bed: Path, known_hosts: Path,
                                                            tmp_path: Path) -> None:
    """The sshd session serving onetui is killed while an SGE command runs: the command is
    run again on a new connection and its real answer comes back (not a failure)."""
    import subprocess
    import threading

    target = resolve("127.0.0.1", PORT, USER, str(KEY), [str(known_hosts)],
                     ssh_config=str(tmp_path / "none"))
    pool = Pool()
    conn = pool.get(target)
    runs = BED / "home" / USER / f"runs-{os.getpid()}"
    runs.unlink(missing_ok=True)
    assert conn.run(["true"]).ok  # connected
    out: list = []
    job = threading.Thread(target=lambda: out.append(conn.run(
        ["sh", "-c", f"echo x >> {runs}; sleep 2; qstat -help | head -1"])))
    job.start()
    time.sleep(1)  # the command is sleeping on the master: drop its connection
    subprocess.run(["pkill", "-f", rf"sshd: {USER} \[priv\]"], check=False)
    job.join(timeout=60)
    (result,) = out
    assert result.ok and "GE" in result.out, result
    assert runs.read_text() == "x\nx\n"  # cut off once, then run again in full
    runs.unlink()
    pool.close()
