"""Place 10,000 pending VMs on 1,000 hosts with REQUIREMENTS and RANK; print the time.

Goal (issue 15): under 150 ms on the 2-core CI machine (issue 3 asked for under a second).
Sizes are drawn at random, so each of the 5 REQUIREMENTS/RANK pairs comes in 12 sizes; two
of them pack, so every placement raises a host's RANK for them. Some VMs stay pending (the
big hosts of rack r1 that the first REQUIREMENTS asks for fill up), which also times the
reasons given for them.
Run: .venv/bin/python bench/scheduler.py
"""

from __future__ import annotations

import random
import statistics
import time

from onetui.engine.scheduler import HostView, Request, schedule
from onetui.template import parse_rank, parse_requirements

SHAPES = [
    ('RACK = "r1*" & TCPU > 400', "FREECPU"),
    ('HOSTNAME != "node9*"', "- RUNNING_VMS"),
    ("", ""),
    ('ARCH = "x86_64" | GPU = yes', "FREEMEMORY / 1024 + FREECPU"),
    ('!(RACK = "r3*") & TMEM > 8000', ""),
]


def hosts(n: int, rnd: random.Random) -> list[HostView]:
    return [
        HostView(id=i, name=f"node{i}", driver="libvirt", tcpu=rnd.choice([800, 1600, 3200]),
                 tmem=rnd.choice([16384, 32768, 65536]),
                 attrs={"RACK": f"r{i % 5}-{i % 7}", "ARCH": "x86_64",
                        "GPU": "yes" if i % 10 == 0 else "no"})
        for i in range(n)
    ]


def requests(n: int, rnd: random.Random) -> list[Request]:
    parsed = [(parse_requirements(r) if r else None, parse_rank(k) if k else None)
              for r, k in SHAPES]
    out = []
    for i in range(n):
        req, rank = parsed[i % len(parsed)]
        out.append(Request(vm_id=i, cpu=rnd.choice([0.5, 1, 2]),
                           memory=rnd.choice([256, 512, 1024, 2048]),
                           requirements=req, rank=rank))
    return out


def main() -> None:
    times, placed = [], 0
    for seed in range(5):
        rnd = random.Random(seed)
        hs, rs = hosts(1000, rnd), requests(10_000, rnd)
        start = time.perf_counter()
        decision = schedule(rs, hs)
        times.append(time.perf_counter() - start)
        placed = len(decision.placements)
    median = statistics.median(times) * 1000
    print(f"scheduler: 10,000 VMs x 1,000 hosts, 5 shapes: median {median:.0f} ms "
          f"(min {min(times)*1000:.0f}, max {max(times)*1000:.0f}); placed {placed}, "
          f"pending {10_000 - placed}")


if __name__ == "__main__":
    main()
