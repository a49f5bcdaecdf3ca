"""The qstat parser's direct reading gives exactly what the ElementTree parser gives (the
one it replaced, kept in grid.py as the fallback for every other document): the same Grid,
value for value and type for type, and the same one-line error, on the real outputs saved
from the test bed (a `qstat -xml` without -f among them), on the 10,000-job document
bench/sge.py times, and on shapes qstat does not print but a garbled or hand-made file can
hold (entities, CDATA, comments, namespaces, nested or repeated fields, cut-off output)."""

from __future__ import annotations

import importlib.util
import json
import random
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from onetui.integrations.sge.grid import Grid, GridError, _Layout, parse_qstat
from onetui.integrations.sge.grid import _parse_qstat_tree as parse_qstat_tree

FIX = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[2]
REAL = sorted(FIX.glob("qstat-*.xml"))
PLAIN = [FIX / "qstat-plain.xml"]  # `qstat -xml`, without -f: running jobs not in queues
BUSY = (FIX / "qstat-busy.xml").read_text()
PLAIN_TEXT = (FIX / "qstat-plain.xml").read_text()


def _outcome(parse: Callable[[str], Grid], text: str) -> tuple[str, str]:
    """What a user sees: the grid (as `--json` prints it, so 1 and 1.0 differ) or the error."""
    try:
        grid = parse(text)
    except GridError as exc:
        return "error", str(exc)
    return "grid", json.dumps(grid.to_json())


def _same(text: str) -> None:
    assert _outcome(parse_qstat, text) == _outcome(parse_qstat_tree, text)


def _bench() -> ModuleType:
    """bench/sge.py, whose generated document is the one timed."""
    spec = importlib.util.spec_from_file_location("bench_sge", ROOT / "bench" / "sge.py")
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def _big_qstat() -> str:
    text: str = _bench().big_qstat()
    return text


def _indented(text: str) -> str:
    """The same document laid out one tag a line, as qstat itself prints it."""
    out: str = _bench().indented(text)
    return out


def test_real_outputs_parse_as_before() -> None:
    assert len(REAL) >= 4
    for path in REAL:
        text = path.read_text()
        assert parse_qstat(text) == parse_qstat_tree(text), path.name
        _same(text)


def test_the_10000_job_document_parses_as_before() -> None:
    text = _big_qstat()
    grid = parse_qstat(text)
    assert (len(grid.queues), sum(len(q.jobs) for q in grid.queues), len(grid.pending)) \
        == (500, 5000, 5000)
    assert grid == parse_qstat_tree(text)
    assert parse_qstat(_indented(text)) == grid


def test_qstat_own_output_is_read_without_building_the_tree() -> None:
    """The speed bench/sge.py shows rests on qstat's real layout being read directly, and
    proven well-formed by that reading alone; an output that fell back to expat or to the
    element tree would still parse right, only slower."""
    big = _big_qstat()
    for text in [path.read_text() for path in REAL if path not in PLAIN] + [big, _indented(big)]:
        layout = _Layout()
        assert layout.read(text) is not None
        assert layout.shows_well_formed(text)


def test_a_saved_qstat_without_f_is_read_directly_too() -> None:
    """Its jobs (with <queue_name>) are read one by one, and expat checks the document:
    it is a file read once, not the master's output polled."""
    for path in PLAIN:
        assert _Layout().read(path.read_text()) is not None, path.name


def _job(body: str, attrs: str = ' state="pending"') -> str:
    return f"<job_list{attrs}>{body}</job_list>"


FIELDS = ("<JB_job_number>9</JB_job_number><JAT_prio>0.25000</JAT_prio><JB_name>x</JB_name>"
          "<JB_owner>ann</JB_owner><state>qw</state>"
          "<JB_submission_time>2026-11-24T00:04:24</JB_submission_time><slots>2</slots>")


def _with_pending(*jobs: str) -> str:
    return BUSY.replace("<job_info>\n    <job_list", "<job_info>" + "".join(jobs) + "<job_list")


ODD = {
    "windows line ends": BUSY.replace("\n", "\r\n"),
    "entities in a name": _with_pending(_job(FIELDS.replace(
        ">x<", ">a&amp;b &lt;c&gt; &#x41;&#66; &quot;&apos;<"))),
    "CDATA name": _with_pending(_job(FIELDS.replace(">x<", "><![CDATA[<odd> & name]]><"))),
    "comment in a job": _with_pending(_job("<!-- c -->" + FIELDS)),
    "comment in a field": _with_pending(_job(FIELDS.replace(">x<", ">x<!-- c -->y<"))),
    "processing instruction": BUSY.replace("<queue_info>", "<queue_info><?pi x?>"),
    "empty elements": _with_pending(_job(FIELDS + "<tasks/>"), _job(FIELDS + "<tasks></tasks>"),
                                    _job(FIELDS + "<tasks> 1-3:1 </tasks>")),
    "nested field": _with_pending(_job("<extra><JB_name>inner</JB_name></extra>" + FIELDS)),
    "field inside a field": _with_pending(_job(FIELDS.replace(">x<", ">a<b>c</b>d<"))),
    "repeated field, first wins": _with_pending(_job(FIELDS + "<JB_name>second</JB_name>")),
    "field with attributes": _with_pending(_job(FIELDS.replace("<JB_name>", '<JB_name a="1">'))),
    "space in closing tag": _with_pending(_job(FIELDS.replace("</JB_name>", "</JB_name >"))),
    "text around fields": _with_pending(_job("loose " + FIELDS + " text")),
    "unicode": _with_pending(_job(FIELDS.replace(">x<", ">ジョブ-é<"))),
    "attribute with >": _with_pending(_job(FIELDS, ' state="a>b" x=\'1\'')),
    "array job": _with_pending(_job(FIELDS + "<tasks>1-3:1</tasks>"),
                               _job(FIELDS + "\n <tasks> 4-9:2 </tasks>\n")),
    "padded fields": _with_pending(_job(FIELDS.replace(">x<", ">  x y \t<")
                                        .replace(">ann<", ">\n ann\n<"))),
    "blank fields": _with_pending(_job(FIELDS.replace(">x<", "><").replace(">ann<", ">   <"))),
    "start and submission time": _with_pending(_job(FIELDS.replace(
        "<JB_submission_time>", "<JAT_start_time></JAT_start_time><JB_submission_time>"))),
    "odd numbers": _with_pending(_job(FIELDS.replace(">9<", ">1_000<")
                                      .replace(">0.25000<", ">nan<"))),
    "fields in another order": _with_pending(_job("<slots>3</slots>" + FIELDS)),
    "queue fields in another order": BUSY.replace(
        "<name>all.q@node2</name>", "<arch>sol</arch><name>all.q@node2</name>"),
    "self-closing job": _with_pending("<job_list/>"),
    "job without fields": _with_pending(_job("")),
    "missing fields": _with_pending(_job("<JB_name>only</JB_name>")),
    "spaces around numbers": _with_pending(_job(FIELDS.replace(">9<", "> 9 <"))),
    "bad slots": _with_pending(_job(FIELDS.replace("<slots>2<", "<slots>x<"))),
    "empty slots": _with_pending(_job(FIELDS.replace("<slots>2<", "<slots><"))),
    "bad priority": _with_pending(_job(FIELDS.replace(">0.25000<", ">high<"))),
    "empty priority": _with_pending(_job(FIELDS.replace(">0.25000<", "><"))),
    "bad load": BUSY.replace("<load_avg>0.58838</load_avg>", "<load_avg>n/a</load_avg>", 1),
    "bad queue slots": BUSY.replace("<slots_total>2<", "<slots_total>two<"),
    "queue state after its jobs": BUSY.replace("</Queue-List>", "<state>au</state></Queue-List>"),
    "queue outside queue_info": BUSY.replace("<job_info>\n", "<job_info>\n<Queue-List>"
                                             "<name>q@h</name></Queue-List>\n", 1),
    "queue inside a job": _with_pending(_job(FIELDS + "<Queue-List><name>q@in</name>"
                                             "</Queue-List>")),
    "queue inside a queue": BUSY.replace("<arch>lx-amd64</arch>", "<arch>lx-amd64</arch>"
                                         "<Queue-List><name>q@in</name></Queue-List>", 1),
    "self-closing queue": BUSY.replace("<queue_info>", "<queue_info><Queue-List/>"),
    "two pending sections": BUSY.replace("</job_info>\n</job_info>",
                                         "</job_info><job_info>" + _job(FIELDS)
                                         + "</job_info>\n</job_info>"),
    "no pending section": BUSY.split("  <job_info>")[0] + "</job_info>",
    "no queue_info": BUSY.replace(BUSY[BUSY.index("  <queue_info>"):
                                       BUSY.index("  <job_info>")], ""),
    "job directly under the root": BUSY.replace("</job_info>\n</job_info>",
                                                "</job_info>" + _job(FIELDS) + "\n</job_info>"),
    "default namespace": BUSY.replace("<job_info  xmlns", '<job_info xmlns="urn:x" xmlns'),
    "default namespace on a job": _with_pending(_job(FIELDS, ' xmlns="urn:x"')),
    "prefixed field": _with_pending(_job(FIELDS.replace("<JB_name>x</JB_name>",
                                                        "<xsd:JB_name>x</xsd:JB_name>"))),
    "unbound prefix": _with_pending(_job(FIELDS.replace("<JB_name>x</JB_name>",
                                                        "<no:JB_name>x</no:JB_name>"))),
    "internal entity": BUSY.replace("<job_info  xmlns",
                                    '<!DOCTYPE job_info [<!ENTITY who "alice">]>\n<job_info  xmlns')
                           .replace("<JB_owner>onetui-sge<", "<JB_owner>&who;<"),
    "external DTD, undefined entity": BUSY.replace(
        "<job_info  xmlns", '<!DOCTYPE job_info SYSTEM "qstat.dtd">\n<job_info  xmlns')
        .replace("<JB_owner>onetui-sge<", "<JB_owner>&who;<"),
    "external entity": BUSY.replace(
        "<job_info  xmlns", '<!DOCTYPE job_info [<!ENTITY who SYSTEM "file:///etc/passwd">]>'
        "\n<job_info  xmlns").replace("<JB_owner>onetui-sge<", "<JB_owner>&who;<"),
    "undefined entity": BUSY.replace("<JB_owner>onetui-sge<", "<JB_owner>&who;<"),
    "declared latin-1": BUSY.replace("version='1.0'", "version='1.0' encoding='ISO-8859-1'")
                            .replace(">job4<", ">jöb4<"),
    "]]> in a name": _with_pending(_job(FIELDS.replace(">x<", ">a]]>b<"))),
    "invalid field name": BUSY.replace("<arch>lx-amd64</arch>", "<1arch>x</1arch>", 1),
    "unbound prefix in a queue": BUSY.replace("<arch>lx-amd64</arch>", "<no:arch>x</no:arch>", 1),
    "bound prefix in a queue": BUSY.replace("<arch>lx-amd64</arch>", "<xsd:arch>x</xsd:arch>", 1),
    "field named xmlns": BUSY.replace("<arch>lx-amd64</arch>", "<xmlns>x</xmlns>", 1),
    "xml: prefix": BUSY.replace("<arch>lx-amd64</arch>", "<xml:arch>x</xml:arch>", 1),
    "repeated root attribute": BUSY.replace("<job_info  xmlns", '<job_info a="1" a="2" xmlns'),
    "bad declaration": BUSY.replace("version='1.0'", "version='1.0' standalone='maybe'"),
    "repeated job attribute": _with_pending(_job(FIELDS, ' state="a" state="b"')),
    "other job attributes": _with_pending(_job(FIELDS, ' state="a" id="7"')),
    "unquoted attribute": _with_pending(_job(FIELDS, " state=a")),
    "control character in an attribute": _with_pending(_job(FIELDS, ' state="\x02"')),
    "tab in a job tag": _with_pending(_job(FIELDS, '\tstate="pending"\t')),
    "next line after the root": BUSY + "\x85",
    "text after the root": BUSY + "x",
    "spaces after the root": BUSY + " \t\n\n",
    "not qstat": "<qhost><host name='global'/></qhost>",
    "whitespace before the declaration": "\n  " + BUSY,
    "no declaration": BUSY.split("\n", 1)[1],
    "control character": BUSY.replace(">job4<", ">job\x014<"),
    "trailing garbage": BUSY + "<x/>",
    "two roots": BUSY + BUSY.split("\n", 1)[1],
    "only whitespace": " \n\t ",
    # qstat without -f: running jobs straight under <queue_info>, each with its queue_name
    "plain, a running job without queue_name": PLAIN_TEXT.replace(
        "<queue_name>all.q@vm</queue_name>", ""),
    "plain, a blank queue_name": PLAIN_TEXT.replace("all.q@vm</queue_name>", " </queue_name>"),
    "plain, a padded queue_name": PLAIN_TEXT.replace(">all.q@vm<", ">\n all.q@vm \n<"),
    "plain, an escaped queue_name": PLAIN_TEXT.replace(">all.q@vm<", ">all.q@&#118;m<"),
    "plain, repeated queue_name, first wins": PLAIN_TEXT.replace(
        "<queue_name>all.q@vm</queue_name>",
        "<queue_name>all.q@vm</queue_name><queue_name>all.q@node2</queue_name>"),
    "plain, bad slots on a running job": PLAIN_TEXT.replace("<slots>1</slots>",
                                                            "<slots>one</slots>", 1),
    "plain, only running jobs": PLAIN_TEXT.split("  <job_info>")[0] + "</job_info>",
    "running job after the queue lists, in one of them": BUSY.replace(
        "</Queue-List>\n  </queue_info>", "</Queue-List>\n" + _job(
            FIELDS + "<queue_name>all.q@vm</queue_name>", ' state="running"')
        + "\n  </queue_info>"),
    "running job after the queue lists, in another": BUSY.replace(
        "</Queue-List>\n  </queue_info>", "</Queue-List>\n" + _job(
            FIELDS + "<queue_name>big.q@aa</queue_name>", ' state="running"')
        + "\n  </queue_info>"),
    "running job before the queue lists": BUSY.replace("<queue_info>", "<queue_info>" + _job(
        FIELDS + "<queue_name>all.q@vm</queue_name>", ' state="running"'), 1),
    "running job between queue lists": BUSY.replace("</Queue-List>", "</Queue-List>" + _job(
        FIELDS + "<queue_name>all.q@vm</queue_name>", ' state="running"'), 1),
}


@pytest.mark.parametrize("name", ODD)
def test_odd_documents_give_what_the_tree_parser_gave(name: str) -> None:
    _same(ODD[name])


def test_cut_off_output_gives_the_same_error_wherever_it_is_cut() -> None:
    for end in range(0, len(BUSY), 7):
        _same(BUSY[:end])


# Pieces a damaged or hand-edited output can hold, spliced in at random places.
DAMAGE = ["<", ">", "&", "&amp;", "&#65;", "&#0;", "]]>", "\x01", "\x85", "é", " ", "\t", "\n",
          "\r", "/", "<a>", "</a>", "<a/>", "<!-- c -->", "<![CDATA[x]]>", "<?p?>", "<job_list>",
          "</job_list>", "<Queue-List>", "</Queue-List>", '"', "'", "=", "<JB_name>q</JB_name>",
          "<slots>2</slots>", "<tasks>1</tasks>", 'xmlns="u"', "x:", "<x:a>1</x:a>", "<state>",
          "</state>", ' state="r"', "<job_info>", "</job_info>", "<queue_info>", "</queue_info>",
          "9", "-", ".", "<queue_name>all.q@vm</queue_name>", "<queue_name>", "</queue_name>"]


def test_randomly_damaged_documents_give_what_the_tree_parser_gave() -> None:
    rng = random.Random(15)  # fixed: the same 3,000 documents every run
    bases = [BUSY, PLAIN_TEXT, *ODD.values()]
    for _ in range(3000):
        text = rng.choice(bases)
        for _ in range(rng.randint(1, 3)):
            pos = rng.randrange(len(text) + 1)
            if rng.random() < 0.3:
                text = text[:pos] + text[pos + rng.randint(1, 5):]
            else:
                text = text[:pos] + rng.choice(DAMAGE) + text[pos:]
        _same(text)
