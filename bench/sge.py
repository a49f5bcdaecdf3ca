"""SGE polling costs.

1. Parse a `qstat -f -xml` with 10,000 jobs over 500 queue instances, generated in the
   shape of a real one (tests/integrations/fixtures/qstat-busy.xml, from gridengine 8.1.9),
   compact and indented one tag a line as qstat itself prints it.
2. With the SGE test bed up (scripts/testbed/sge.sh up): one poll over the reused paramiko
   connection, next to running `ssh host qstat -f -xml` as a fresh process each time.

Run: .venv/bin/python bench/sge.py
"""

from __future__ import annotations

import statistics
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from onetui.integrations.sge.grid import parse_qstat, render_qstat
from onetui.integrations.sge.master import Master, SgeConfig

BED = Path("/var/tmp/onetui-testbed/sge")


def big_qstat(queues: int = 500, jobs: int = 10_000) -> str:
    running = jobs // 2
    per_queue = running // queues
    out = ["<?xml version='1.0'?>", "<job_info>", "  <queue_info>"]
    n = 1
    for q in range(queues):
        out.append(f"    <Queue-List><name>all.q@node{q}</name><qtype>BIP</qtype>"
                   f"<slots_used>{per_queue}</slots_used><slots_resv>0</slots_resv>"
                   f"<slots_total>{per_queue * 2}</slots_total><load_avg>0.5</load_avg>"
                   "<arch>lx-amd64</arch>")
        for _ in range(per_queue):
            out.append(f"      <job_list state=\"running\"><JB_job_number>{n}</JB_job_number>"
                       "<JAT_prio>0.55500</JAT_prio><JB_name>test.sh</JB_name>"
                       "<JB_owner>clouduser</JB_owner><state>r</state>"
                       "<JAT_start_time>2026-11-24T00:04:23</JAT_start_time><slots>1</slots>"
                       "</job_list>")
            n += 1
        out.append("    </Queue-List>")
    out += ["  </queue_info>", "  <job_info>"]
    for _ in range(jobs - running):
        out.append(f"    <job_list state=\"pending\"><JB_job_number>{n}</JB_job_number>"
                   "<JAT_prio>0.00000</JAT_prio><JB_name>test.sh</JB_name>"
                   "<JB_owner>clouduser</JB_owner><state>qw</state>"
                   "<JB_submission_time>2026-11-24T00:04:24</JB_submission_time>"
                   "<slots>1</slots></job_list>")
        n += 1
    out += ["  </job_info>", "</job_info>"]
    return "\n".join(out)


def indented(text: str) -> str:
    tree = ET.fromstring(text)
    ET.indent(tree, space="  ")
    return "<?xml version='1.0'?>\n" + ET.tostring(tree, encoding="unicode") + "\n"


def median_ms(fn, runs: int) -> float:  # type: ignore[no-untyped-def]
    return timings_ms(fn, runs)[0]


def timings_ms(fn, runs: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Median and best of `runs`, in ms: on a shared, loaded machine the best is the
    steadier figure of what the code costs, the median what a poll met that day."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, min(times) * 1000


def main() -> None:
    text = big_qstat()
    grid = parse_qstat(text)
    pretty = indented(text)
    parse, parse_best = timings_ms(lambda: parse_qstat(text), 9)
    parse_pretty, pretty_best = timings_ms(lambda: parse_qstat(pretty), 9)
    render = median_ms(lambda: render_qstat(grid), 5)
    print(f"sge: parse qstat -f -xml, {len(grid.queues)} queue instances, "
          f"{sum(len(q.jobs) for q in grid.queues) + len(grid.pending)} jobs "
          f"({len(text) / 1e6:.1f} MB): {parse:.0f} ms (best {parse_best:.0f}); indented as "
          f"qstat prints it ({len(pretty) / 1e6:.1f} MB): {parse_pretty:.0f} ms "
          f"(best {pretty_best:.0f}); render as qstat -f: {render:.0f} ms")
    if subprocess.run(["bash", "scripts/testbed/sge.sh", "status"]).returncode:
        print("sge: test bed not running; per-poll SSH figures skipped")
        return
    known = Path("/tmp/onetui-bench-known_hosts")
    key_type, key, *_ = (BED / "ssh/ssh_host_ed25519_key.pub").read_text().split()
    known.write_text(f"[127.0.0.1]:2222 {key_type} {key}\n")
    master = Master(SgeConfig(host="127.0.0.1", port=2222, user="onetui-sge",
                              key_file=str(BED / "ssh/id_ed25519"), known_hosts=(str(known),),
                              ssh_config="/nonexistent"))
    master.qstat()  # connect once
    reused = median_ms(master.qstat, 20)
    fresh = median_ms(lambda: subprocess.run(
        ["ssh", "-p", "2222", "-i", str(BED / "ssh/id_ed25519"), "-o", "BatchMode=yes",
         "-o", f"UserKnownHostsFile={known}", "onetui-sge@127.0.0.1", "qstat -f -xml -u '*'"],
        check=True, capture_output=True), 10)
    print(f"sge: one poll over the reused connection: {reused:.0f} ms "
          f"({master.runner.connects} connect for 21 polls); fresh `ssh host qstat -f -xml`: "
          f"{fresh:.0f} ms ({fresh / reused:.1f}x)")
    master.close()


if __name__ == "__main__":
    main()
