"""What `onetui demo --grid` does on leaving (DemoGrid.close), with the real sge.sh on a
state directory of the test's own: the parts the record names are stopped and the record
goes; when stopping fails, the record stays and the exact command to finish is given."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest

from onetui.runtime.demo import DemoGrid


def started(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]


def test_close_stops_what_the_record_names_and_forgets_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONETUI_TESTBED_DIR", str(tmp_path / "bed"))  # not the shared bed's
    anchor = subprocess.Popen(["sleep", "infinity"])
    reaper = threading.Thread(target=anchor.wait)
    reaper.start()
    try:
        (tmp_path / "demo").mkdir()
        live = DemoGrid(tmp_path / "demo")
        live.record.write_text(f"anchor {anchor.pid} {started(anchor.pid)}\n")
        said = live.close()
        reaper.join(20)
        assert anchor.returncode == -15
        assert said == f"sge testbed: stopped what {live.record} recorded: anchor {anchor.pid}"
        assert not live.record.exists() and live.left == "" and live.state == "stopped"
    finally:
        anchor.kill()


def test_close_keeps_the_record_and_says_how_to_finish_when_stopping_fails(
        tmp_path: Path) -> None:
    """sge.sh cannot run (a checkout moved away): the jobs are not deleted, stop-recorded
    fails; both say so, the record stays, and the command to run is the exact one."""
    script = tmp_path / "moved" / "sge.sh"
    (tmp_path / "demo").mkdir()
    live = DemoGrid(tmp_path / "demo", script=script, jobs=[11, 12])
    live.record.write_text("anchor 1 1\n")
    said = live.close().splitlines()
    command = f"bash {script} stop-recorded {live.record}"
    assert said[0].startswith("the demo's jobs were not deleted (") and \
        said[0].endswith("): qdel 11 12")
    assert said[1] == f"bash: {script}: No such file or directory"
    assert said[2] == (f"the grid was not fully stopped (sge.sh exit 127): run `{command}` "
                       f"as root to stop the rest (kept: {live.state_dir})")
    assert live.left == command and live.record.read_text() == "anchor 1 1\n"
