"""What a row of `host list`, `vm list` and `service list` says for given records."""

from __future__ import annotations

import csv
import io
import time
from dataclasses import replace
from typing import Any

import pytest

from onetui.errors import UserError
from onetui.model import VM, Host
from onetui.model.services import Service
from onetui.view.rows import (
    HOST_COLUMNS,
    VM_COLUMNS,
    csv_text,
    host_row,
    human_mb,
    pairs,
    parse_filter,
    pick_columns,
    quantity,
    service_counts,
    service_row,
    sort_key,
    stamp,
    table,
    vm_row,
)

T0 = 1_700_000_000.0


def _host(monitor: dict[str, Any], **kw: Any) -> Host:
    base = Host(id=3, name="ursa03", driver="libvirt", config={}, attrs={}, state="on",
                enabled=True, monitor=monitor, error="", monitored_at=None, created_at=T0)
    return replace(base, **kw)


def _vm(state: str = "runn", info: dict[str, Any] | None = None, **kw: Any) -> VM:
    base = VM(id=7, name="web-0", template_id=None, body="", state=state, intent="",
              host_id=3, deploy_id="", cpu=1, memory=2048, ip="", mac="", message="", sched=[],
              info=info or {}, created_at=T0, started_at=None, stopped_at=None, state_at=T0,
              polled_at=None, host_name="ursa03")
    return replace(base, **kw)


def cells(host: Host) -> dict[str, str]:
    return dict(zip(HOST_COLUMNS, host_row(host), strict=True))


def test_human_mb_uses_binary_units_and_a_dash_for_unknown() -> None:
    assert human_mb(512) == "512M"
    assert human_mb(1023) == "1023M"
    assert human_mb(1024) == "1G"
    assert human_mb(1536) == "1.5G"
    assert human_mb(16384) == "16G"
    assert human_mb(200 * 1024 + 300) == "200G"  # no decimal once past 100G
    assert human_mb("2048") == "2G"
    assert human_mb(0) == "0M"
    assert human_mb(None) == human_mb("") == "-"


def test_a_monitored_host_shows_rounded_cpu_and_human_memory() -> None:
    row = cells(_host({"RVM": 2, "TCPU": 800, "FCPU": 750.4, "ACPU": 600,
                          "TMEM": 16384, "FMEM": 1740.8}))
    assert row == {"HID": "3", "NAME": "ursa03", "DRIVER": "libvirt", "RVM": "2",
                   "TCPU": "800", "FCPU": "750", "ACPU": "600", "TMEM": "16G",
                   "FMEM": "1.7G", "STAT": "on"}


def test_a_host_never_monitored_shows_dashes_but_zero_vms() -> None:
    row = cells(_host({}, state="init"))
    assert row["RVM"] == "0"
    assert [row[c] for c in ("TCPU", "FCPU", "ACPU", "TMEM", "FMEM")] == ["-"] * 5
    assert row["STAT"] == "init"


def test_a_disabled_host_says_dsbl_whatever_monitoring_says() -> None:
    assert cells(_host({"TCPU": 100}, state="on", enabled=False))["STAT"] == "dsbl"
    assert cells(_host({}, state="err", enabled=False))["STAT"] == "dsbl"


def test_a_running_vm_shows_its_measured_use_and_age() -> None:
    row = dict(zip(VM_COLUMNS, vm_row(_vm(info={"cpu_usage": 37.6, "mem_usage": 900}),
                                      now=T0 + 86400 + 3661), strict=True))
    assert row == {"ID": "7", "NAME": "web-0", "STAT": "runn", "CPU": "38", "MEM": "900M",
                   "HOSTNAME": "ursa03", "TIME": "01 01:01:01"}


def test_a_vm_holding_its_host_not_yet_measured_shows_its_configured_memory() -> None:
    for state in ("runn", "susp", "shut", "unkn"):
        _, _, _, cpu, mem, _, _ = vm_row(_vm(state, info={}), now=T0)
        assert (cpu, mem) == ("0", "2G")


def test_a_vm_that_is_not_running_uses_nothing_even_with_stale_numbers() -> None:
    stale = {"cpu_usage": 90, "mem_usage": 2048}
    for state in ("pend", "hold", "prol", "stop", "fail"):
        _, _, stat, cpu, mem, _, _ = vm_row(_vm(state, info=stale), now=T0)
        assert (stat, cpu, mem) == (state, "0", "0")


def test_a_done_vm_time_stops_when_it_stopped() -> None:
    done = _vm("done", stopped_at=T0 + 120)
    assert vm_row(done, now=T0 + 99999)[-1] == "00 00:02:00"
    assert vm_row(_vm("runn"), now=T0 + 120)[-1] == "00 00:02:00"
    assert vm_row(_vm("runn"), now=T0 + 121)[-1] == "00 00:02:01"


def test_service_counts_running_and_members_but_not_done_or_strangers() -> None:
    web = Service(1, "web", None, None, 1, 4, 3, {})
    idle = Service(2, "idle", None, None, 0, 2, 0, {})
    vms = [_vm("runn", {"service": 1}), _vm("runn", {"service": "1"}),
           _vm("pend", {"service": 1}), _vm("done", {"service": 1}),
           _vm("runn", {"service": 9}), _vm("runn", {})]
    counts = service_counts([web, idle], vms)
    assert counts == {1: (2, 3), 2: (0, 0)}
    assert service_row(web, *counts[1]) == ("1", "web", "1", "4", "3", "2", "3")


def test_table_pads_columns_and_right_aligns_the_numeric_ones() -> None:
    text = table(("ID", "NAME", "MEM"), [(7, "web-0", "2G"), (12, "db", "512M")],
                 right={"ID", "MEM"})
    assert text.splitlines() == [
        "ID NAME   MEM",
        " 7 web-0   2G",
        "12 db    512M",
    ]


def test_table_without_rows_is_the_header_without_trailing_blanks() -> None:
    assert table(("ID", "NAME", "HOSTNAME"), []) == "ID NAME HOSTNAME"
    assert table(("NAME", "HOST"), [("a", "")]).splitlines()[1] == "a"


def test_pairs_align_the_colons() -> None:
    assert pairs([("ID", 1), ("LCM STATE", "RUNNING"), ("IP", "")]).splitlines() == [
        "ID        : 1",
        "LCM STATE : RUNNING",
        "IP        : ",
    ]
    assert pairs([]) == ""


def test_stamp_is_local_month_day_and_time_or_a_dash_for_never() -> None:
    t = time.mktime((2024, 7, 21, 15, 42, 47, 0, 0, -1))
    assert stamp(t) == "07/21 15:42:47"
    assert stamp(None) == stamp(0) == "-"


# --- what a script asks of a table: columns, filters, CSV -------------------------------

HEADERS = ("ID", "NAME", "STAT", "MEM")
NUM = {"ID", "MEM"}
ROWS = [("1", "web-0", "runn", "512M"), ("2", "web-1", "pend", "0"),
        ("10", "db", "runn", "1.5G"), ("11", "lb", "hold", "-")]


def kept(*terms: str) -> list[str]:
    filters = [parse_filter(t, HEADERS, NUM) for t in terms]
    return [r[1] for r in ROWS if all(f.keep(r) for f in filters)]


def test_quantity_reads_numbers_and_memory_as_human_mb_writes_it() -> None:
    assert [quantity(t) for t in ("650", "1.5G", "512M", "2g", "0", " 7 ")] == [
        650, 1536, 512, 2048, 0, 7]
    assert [quantity(t) for t in ("-", "", "runn", "nan", "inf", "G")] == [None] * 6


def test_filters_match_as_onevm_list_filter_does() -> None:
    assert kept("STAT=runn") == ["web-0", "db"]
    assert kept("stat=runn", "NAME!=db") == ["web-0"]  # column names in any case
    assert kept("NAME~web") == ["web-0", "web-1"]
    assert kept("STAT=run") == []  # = is the whole cell; ~ is a part
    assert kept("ID>2") == ["db", "lb"]  # as numbers: 10 > 2, not "10" < "2"
    assert kept("ID<=2") == ["web-0", "web-1"]
    assert kept("MEM>=1G") == ["db"]  # memory cells compare in MB
    assert kept("MEM<1G") == ["web-0", "web-1"]  # `-` (unknown) is never ordered
    assert kept("MEM!=512") == ["web-1", "db", "lb"]
    assert kept("NAME=a=b") == []  # the first operator splits


def test_a_bad_filter_is_one_line_saying_what_was_expected() -> None:
    with pytest.raises(UserError, match=r"--filter 'NAME': expected COLUMN=VALUE"):
        parse_filter("NAME", HEADERS, NUM)
    with pytest.raises(UserError, match=r"--filter '=runn': expected COLUMN=VALUE"):
        parse_filter("=runn", HEADERS, NUM)
    with pytest.raises(UserError, match=r"no column 'HOST'; expected one of ID, NAME, STAT"):
        parse_filter("HOST=ursa03", HEADERS, NUM)
    with pytest.raises(UserError, match=r"'NAME>a': > compares numbers.*\(ID, MEM\)"):
        parse_filter("NAME>a", HEADERS, NUM)
    with pytest.raises(UserError, match=r"'ID<x': < compares numbers"):
        parse_filter("ID<x", HEADERS, NUM)


def test_pick_columns_in_the_order_asked_any_case_spaces_as_underscores() -> None:
    assert pick_columns(HEADERS, "name,Id") == (1, 0)
    assert pick_columns(("SEAT", "VM STATE"), "vm_state") == (1,)
    with pytest.raises(UserError, match=r"-l/--list: no column 'HOSTNAME'; expected one "
                                        r"of ID, NAME, STAT, MEM"):
        pick_columns(HEADERS, "NAME,HOSTNAME")
    with pytest.raises(UserError, match=r"-l/--list ',': expected column names"):
        pick_columns(HEADERS, ",")


def test_csv_quotes_as_rfc_4180_and_reads_back_the_same_cells() -> None:
    rows = [("1", 'say "hi", then go', "a\nb"), ("2", "plain", "")]
    text = csv_text(("ID", "NAME", "NOTE"), rows)
    assert text.splitlines()[:2] == ["ID,NAME,NOTE", '1,"say ""hi"", then go","a']
    assert list(csv.reader(io.StringIO(text))) == [["ID", "NAME", "NOTE"],
                                                   *[list(r) for r in rows]]
    assert csv_text(("ID",), [("1",)], header=False) == "1\n"


def test_sorting_a_column_reads_numbers_sizes_and_ages_as_numbers() -> None:
    def ordered(column: str, values: list[str]) -> list[str]:
        return sorted(values, key=lambda v: sort_key(column, v))

    assert ordered("ID", ["10", "9", "100", "1"]) == ["1", "9", "10", "100"]
    assert ordered("#", ["13", "9", "1"]) == ["1", "9", "13"]  # any column's plain numbers
    assert ordered("MEM", ["2G", "1.5G", "512M", "-", "0"]) == ["-", "0", "512M", "1.5G", "2G"]
    assert ordered("TIME", ["100 00:00:00", "09 23:59:59", "10 00:00:01"]) == [
        "09 23:59:59", "10 00:00:01", "100 00:00:00"]
    assert ordered("NAME", ["web-b", "Web-a", "", "db"]) == ["", "db", "Web-a", "web-b"]
