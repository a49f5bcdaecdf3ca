"""`onetui service …` as an admin types it."""

from __future__ import annotations

from pathlib import Path

import pytest

from onetui.data import TEMPLATES
from tests.beds.cli import onetui, onetui_json


@pytest.mark.slow
def test_service_commands_and_bad_input(tmp_path: Path) -> None:
    state = tmp_path / "s"
    for name in ("xen.local01", "ec2.template"):
        onetui("template", "import", str(TEMPLATES / name), state=state)
    conf = tmp_path / "nginx.conf"
    conf.write_text((TEMPLATES / "nginx.conf").read_text())
    out = onetui("service", "create", "web", "--template", "xen.local01", "--burst-template",
                 "ec2", "--min", "2", "--max", "8", "--lb-conf", str(conf), state=state).stdout
    assert out == "ID: 1\n"
    assert onetui("service", "scale", "web", "4", state=state).stdout == (
        "service web: desired 4\n")
    onetui("service", "rule", "add", "web", "--when", "REQUESTS_PER_S > 200", "--for", "60",
           "--change", "+2", state=state)
    shown = onetui("service", "show", "web", state=state).stdout
    assert "SIZE          : 4 (min 2, max 8)" in shown
    assert "0: REQUESTS_PER_S > 200 for 60 s → +2 (cooldown 300 s)" in shown
    listed = onetui_json("service", "list", state=state)
    assert listed == [{"id": 1, "name": "web", "min": 2, "max": 8, "desired": 4,
                       "running": 0, "members": 0}]
    cases = [
        (("service", "scale", "web", "9"), "onetui: service web: size 9 is outside 2..8\n"),
        (("service", "rule", "add", "web", "--when", "ACTIVE <", "--change", "-1"),
         "onetui: --when 'ACTIVE <': column 9: expected a value after '<', found end of "
         "expression\n"),
        (("service", "rule", "delete", "web", "3"),
         "onetui: service web has no rule 3 (it has 1)\n"),
        (("service", "create", "db", "--template", "nope"),
         "onetui: no template 'nope' (see `onetui template list`)\n"),
        (("service", "create", "db", "--template", "xen.local01", "--min", "3", "--max", "2"),
         "onetui: service db: expected 0 <= --min (3) <= --max (2)\n"),
    ]
    for args, err in cases:
        proc = onetui(*args, state=state, check=False)
        assert (proc.returncode, proc.stderr) == (2, err), args
    onetui("service", "rule", "delete", "web", "0", state=state)
    onetui("service", "delete", "web", state=state)
    assert onetui_json("service", "list", state=state) == []
