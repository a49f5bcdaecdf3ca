"""Parsing real `qstat -f -xml`, `qstat -xml` and `qhost -xml` outputs (saved from Debian's
gridengine 8.1.9 in the test bed) and printing them back as `qstat -f` does."""

from __future__ import annotations

from pathlib import Path

import pytest

from onetui.integrations.sge.grid import Grid, GridError, parse_qhost, parse_qstat, render_qstat
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
    ("", "qstat -xml: empty output"),
    ((FIX / "qstat-busy.xml").read_text()[:900], "qstat -xml: malformed XML at line"),
    ("<qhost/>", "qstat -xml: expected <job_info> as the root element, found <qhost>"),
    ("<job_info><queue_info><Queue-List><name>a@b</name><slots_used>x</slots_used>"
     "</Queue-List></queue_info></job_info>",
     "qstat -xml: <slots_used> is 'x', expected a whole number"),
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
    assert proc.stderr.startswith(f"onetui: {broken}: qstat -xml: malformed XML at line")


# -- saved outputs an admin brings: qstat without -f, qhost, the wrong one, long names ------

def _jobs_by_queue(grid: Grid) -> dict[str, list[int]]:
    return {q.name: [j.number for j in q.jobs] for q in grid.queues if q.jobs}


def test_qstat_without_f_shows_its_running_jobs_under_their_queue() -> None:
    """`qstat -xml` and `qstat -f -xml -u '*'` taken in the same second on the test bed:
    every running job of the plain one is under the instance -f puts it in."""
    plain = parse_qstat((FIX / "qstat-plain.xml").read_text())
    full = parse_qstat((FIX / "qstat-plain-f.xml").read_text())
    assert _jobs_by_queue(plain) == _jobs_by_queue(full) \
        == {"all.q@node2": [36, 37], "all.q@vm": [35]}
    assert plain.pending == full.pending
    # and where qstat's own text puts them, queue column and all
    table = (FIX / "qstat-plain.txt").read_text().splitlines()[2:]
    running = {int(line.split()[0]): line.split()[7] for line in table if " r " in line}
    assert running == {n: q for q, ns in _jobs_by_queue(plain).items() for n in ns}
    node2 = plain.instance("all.q@node2")
    assert node2 is not None and (node2.used, node2.total, node2.qtype) == (None, None, "")


def test_qstat_without_f_renders_and_json_carries_the_running_jobs() -> None:
    path = str(FIX / "qstat-plain.xml")
    lines = onetui("sge", "qstat", "--xml-file", path).stdout.splitlines()
    vm = lines.index("all.q@vm                             -NA-           -NA-     -NA-")
    assert lines[vm + 1].split()[:3] == ["35", "0.50000", "gsim1"]
    data = onetui_json("sge", "qstat", "--xml-file", path)
    assert sorted(j["number"] for q in data["queues"] for j in q["jobs"]) == [35, 36, 37]
    assert [j["number"] for j in data["pending"]] == [38, 39]
    assert data["queues"][0]["total"] is None


def test_a_running_job_without_its_queue_is_refused_not_dropped() -> None:
    text = (FIX / "qstat-plain.xml").read_text().replace("<queue_name>all.q@vm</queue_name>",
                                                           "")
    with pytest.raises(GridError, match=r"^qstat -xml: job 35 under <queue_info> has no "
                                        r"<queue_name> \(expected queue@host\)$"):
        parse_qstat(text)


def test_qhost_file_renders_as_qhost_reports_it() -> None:
    """`sge hosts --xml-file` on a real `qhost -xml`: the values of qhost's own table."""
    path = str(FIX / "qhost-busy.xml")
    lines = onetui("sge", "hosts", "--xml-file", path).stdout.splitlines()
    assert lines[0].split() == ["HOSTNAME", "ARCH", "NCPU", "LOAD", "MEMTOT", "MEMUSE"]
    real = [line.split() for line in (FIX / "qhost-busy.txt").read_text().splitlines()[3:]]
    # qhost's columns: HOSTNAME ARCH NCPU NSOC NCOR NTHR LOAD MEMTOT MEMUSE SWAPTO SWAPUS
    assert [line.split() for line in lines[1:]] == [[r[0], r[1], r[2], r[6], r[7], r[8]]
                                                    for r in real]
    data = onetui_json("sge", "hosts", "--xml-file", path)
    assert [(h["name"], h["num_proc"], h["mem_used"]) for h in data] == [
        ("node2", "2", "1.5G"), ("vm", "2", "1.6G")]


@pytest.mark.parametrize(("command", "fixture", "message"), [
    ("qstat", "qhost-busy.xml", "qstat -xml: expected <job_info> as the root element, found "
                                "<qhost> (qhost -xml output: see `onetui sge hosts --xml-file`)"),
    ("hosts", "qstat-plain.xml", "qhost -xml: expected <qhost> as the root element, found "
                                 "<job_info> (qstat -xml output: see `onetui sge qstat "
                                 "--xml-file`)"),
    ("qstat", None, "qstat -xml: expected <job_info> as the root element, found <html>"),
    ("hosts", None, "qhost -xml: expected <qhost> as the root element, found <html>"),
])
def test_a_file_of_another_kind_is_exit_2_naming_its_root(
        tmp_path: Path, command: str, fixture: str | None, message: str) -> None:
    path = FIX / fixture if fixture else tmp_path / "page.xml"
    if fixture is None:
        path.write_text("<html><body>502 Bad Gateway</body></html>")
    proc = onetui("sge", command, "--xml-file", str(path), check=False)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == f"onetui: {path}: {message}\n"


LONG = "all.q@ip-10-0-0-166.eu-west-1.compute.internal"


def test_a_long_queue_name_widens_the_column_and_rows_stay_in_line() -> None:
    text = (FIX / "qstat-running.xml").read_text().replace("all.q@node2", LONG)
    lines = render_qstat(parse_qstat(text)).splitlines()
    header, rows = lines[0], [line for line in lines if line.startswith("all.q@")]
    assert header.startswith(f"{'queuename':<{len(LONG)}} qtype")
    assert len(rows) == 2
    for row in rows:  # each column starts under its heading
        assert row.index(" BIP ") + 1 == header.index("qtype")
        assert row.index("lx-amd64") == header.index("arch")
    rules = {line for line in lines if set(line) == {"-"}}
    assert rules == {"-" * (81 + len(LONG) - 30)}


@pytest.mark.parametrize("fixture", ["qstat-idle.xml", "qstat-busy.xml", "qstat-unknown.xml",
                                     "qstat-running.xml", "qstat-plain.xml",
                                     "qstat-plain-f.xml"])
def test_the_grid_through_json_is_the_same_grid(fixture: str) -> None:
    """What the console shows is what the daemon read: `sge.qstat`'s JSON (through its text,
    as the socket carries it) turns back into an equal grid, slots qstat without -f does
    not report (None) and array jobs' tasks included, and renders the same."""
    import json

    grid = parse_qstat((FIX / fixture).read_text())
    back = Grid.from_json(json.loads(json.dumps(grid.to_json())))
    assert back == grid
    assert render_qstat(back) == render_qstat(grid)


def test_a_grid_json_without_its_parts_is_a_clear_error() -> None:
    with pytest.raises(GridError, match=r"the grid's JSON: KeyError 'pending'"):
        Grid.from_json({"queues": []})
    with pytest.raises(GridError, match="the grid's JSON: TypeError"):
        Grid.from_json({"queues": [], "pending": [{"number": 1}]})
