"""How long the `onetui` command takes, whole processes: `vm list --json` on an empty
store and `onetui --help`, next to `python -c pass` in the same run (the goal: under 1.7x).

Run: .venv/bin/python bench/cli.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time


def timed(argv: list[str], env: dict[str, str], runs: int = 15) -> float:
    subprocess.run(argv, env=env, capture_output=True, check=True)  # warm the page cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "ONETUI_STATE": tmp}
        base = timed([sys.executable, "-c", "pass"], env)
        for args in (["vm", "list", "--json"], ["--help"]):
            took = timed([sys.executable, "-m", "onetui", *args], env)
            print(f"onetui {' '.join(args)}: median {took * 1000:.0f} ms "
                  f"({took / base:.1f}x python -c pass, {base * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
