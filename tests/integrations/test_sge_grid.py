"""Parsing real `qstat -f -xml` / `qhost -xml` outputs (saved from Debian's gridengine
8.1.9 in the test bed) and printing them back as `qstat -f` does."""

from __future__ import annotations

from pathlib import Path

import pytest

from onetui.integrations.sge.grid import GridError, parse_qhost, parse_qstat, render_qstat
from tests.beds.cli import onetui, onetui_json

FIX = Path(__file__).parent / "fixtures"


def test_idle_grid() -> None:
    grid = parse_qstat((FIX / "qstat-idle.xml").read_text())
    assert [(q.name, q.qtype, q.resv, q.used, q.total, q.arch, q.states) for q in grid.queues] \
        == [("all.q@node2", "BIP", 0, 0, 2, "lx-amd64", ""),
            ("all.q@vm", "BIP", 0, 0, 1, "lx-amd64", "")]
    assert grid.pending == []


def test_running_and_pending_jobs() -> None:
    grid = parse_qstat((FIX / "qstat-busy.xml").read_text())
    node2 = grid.instance("all.q@node2")
    assert (node2.queue, node2.host, node2.used) == ("all.q", "node2", 2)
    assert [(j.number, j.name, j.owner, j.state, j.slots) for j in node2.jobs] == [
        (2, "job2", "onetui-sge", "r", 1), (3, "job3", "onetui-sge", "r", 1)]
    assert [(j.number, j.state, j.priority) for j in grid.pending] == [
        (4, "qw", 0.5), (5, "qw", 0.5), (6, "qw", 0.25)]
    assert grid.pending[0].time == "2026-11-24T00:04:24"


def test_a_host_whose_execd_is_not_heard() -> None:
    grid = parse_qstat((FIX / "qstat-unknown.xml").read_text())
    node3 = grid.instance("all.q@node3")
    assert (node3.states, node3.load_avg, node3.arch) == ("au", None, "")
    assert grid.instance("all.q@vm").states == "d"


def test_render_is_qstat_f_byte_for_byte() -> None:
    real = (FIX / "qstat-running.txt").read_text()
    ours = render_qstat(parse_qstat((FIX / "qstat-running.xml").read_text()))
    assert ours.splitlines() == [line.rstrip() for line in real.splitlines()]


def test_rendering_the_unknown_host_like_qstat() -> None:
    text = render_qstat(parse_qstat((FIX / "qstat-unknown.xml").read_text()))
    assert "all.q@node3                    BIP   0/0/1          -NA-     -NA-          au" in text
    assert " - PENDING JOBS - PENDING JOBS" in text


@pytest.mark.parametrize(("text", "message"), [
    ("", "qstat -f -xml: empty output"),
    ((FIX / "qstat-busy.xml").read_text()[:900], "qstat -f -xml: malformed XML at line"),
    ("<qhost/>", "qstat -f -xml: expected <job_info>, found <qhost>"),
    ("<job_info><queue_info><Queue-List><name>a@b</name><slots_used>x</slots_used>"
     "</Queue-List></queue_info></job_info>",
     "qstat -f -xml: <slots_used> is 'x', expected a whole number"),
])
def test_bad_output_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(GridError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_qstat(text)


def test_qhost() -> None:
    hosts = parse_qhost((FIX / "qhost.xml").read_text())
    assert [h["name"] for h in hosts] == ["node2", "vm"]
    assert hosts[0]["num_proc"] == "2" and hosts[0]["arch_string"] == "lx-amd64"


def test_cli_renders_saved_output(tmp_path: Path) -> None:
    out = onetui("sge", "qstat", "--xml-file", str(FIX / "qstat-running.xml")).stdout
    assert out.splitlines()[0].startswith("queuename")
    data = onetui_json("sge", "qstat", "--xml-file", str(FIX / "qstat-busy.xml"))
    assert [j["number"] for j in data["pending"]] == [4, 5, 6]
    broken = tmp_path / "cut.xml"
    broken.write_text((FIX / "qstat-busy.xml").read_text()[:500])
    proc = onetui("sge", "qstat", "--xml-file", str(broken), check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith("onetui: qstat -f -xml: malformed XML at line")
