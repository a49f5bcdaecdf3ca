"""How long the `onetui` command takes, whole processes: `vm list --json` on an empty
store (in-process, and through a running `onetui serve`) and `onetui --help`, next to
`python -c pass` in the same run (the goal: under 1.7x).

Bytecode is written and used as an installed package's is: an environment with
PYTHONDONTWRITEBYTECODE set (as some shells here have) would otherwise compile every
onetui module from source on every run, ~40 ms a user never pays.

Run: .venv/bin/python bench/cli.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(argv: list[str], env: dict[str, str], runs: int = 15) -> float:
    subprocess.run(argv, env=env, capture_output=True, check=True)  # warm the page cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(what: str, took: float, base: float) -> None:
    print(f"{what}: median {took * 1000:.0f} ms "
          f"({took / base:.1f}x python -c pass, {base * 1000:.0f} ms)")


def through_daemon(env: dict[str, str], base: float) -> None:
    """`vm list --json` while `onetui serve` answers for the store: the command is then a
    client only (no API handlers, access rules or drivers in its process)."""
    sock = Path(env["ONETUI_STATE"]) / "api.sock"
    served = {**env, "ONETUI_SOCKET": str(sock)}
    daemon = subprocess.Popen([sys.executable, "-m", "onetui", "serve", "--interval", "30"],
                              env=served, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not sock.exists():
            if daemon.poll() is not None or time.monotonic() > deadline:
                print("onetui vm list --json through onetui serve: the daemon did not start")
                return
            time.sleep(0.1)
        took = timed([sys.executable, "-m", "onetui", "vm", "list", "--json"], served)
        report("onetui vm list --json through onetui serve", took, base)
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "ONETUI_STATE": tmp, "ONETUI_SOCKET": f"{tmp}/none.sock"}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        base = timed([sys.executable, "-c", "pass"], env)
        for args in (["vm", "list", "--json"], ["--help"]):
            took = timed([sys.executable, "-m", "onetui", *args], env)
            report(f"onetui {' '.join(args)}", took, base)
        through_daemon(env, base)


if __name__ == "__main__":
    main()
