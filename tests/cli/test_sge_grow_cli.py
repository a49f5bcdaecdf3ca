"""`onetui sge grow` / `sge shrink` as an admin types them: the exec-host tier they keep,
and bad input refused in one line with exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from onetui.data import TEMPLATES
from tests.beds.cli import onetui, onetui_json

WORKER = 'CPU = 1\nMEMORY = 64\nSGE = [ QUEUE = "all.q", SLOTS = 1 ]\n'


@pytest.mark.slow
def test_grow_and_shrink_keep_the_tier_and_refuse_bad_input(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "s"
    conf = tmp_path / "config.toml"
    monkeypatch.setenv("ONETUI_CONFIG", str(conf))
    worker = tmp_path / "worker.template"
    worker.write_text(WORKER)
    onetui("template", "import", str(worker), "--name", "sgebase", state=state)
    onetui("template", "import", str(worker), "--name", "web", state=state)
    onetui("template", "import", str(TEMPLATES / "xen.local01"), state=state)
    onetui("service", "create", "web", "--template", "xen.local01", state=state)
    cases = [
        (("sge", "grow", "0", "--template", "sgebase"),
         "onetui: sge grow 0: expected a number of exec hosts of 1 or more\n"),
        (("sge", "grow", "two", "--template", "sgebase"),
         "onetui: sge grow 'two': expected a number of exec hosts of 1 or more\n"),
        (("sge", "grow", "-1", "--template", "sgebase"),  # not click's usage block
         "onetui: sge grow '-1': expected a number of exec hosts of 1 or more\n"),
        (("sge", "grow", "1_0", "--template", "sgebase"),  # int() would take these two
         "onetui: sge grow '1_0': expected a number of exec hosts of 1 or more\n"),
        (("sge", "grow", " +3 ", "--template", "sgebase"),
         "onetui: sge grow ' +3 ': expected a number of exec hosts of 1 or more\n"),
        (("sge", "shrink", "-2"),
         "onetui: sge shrink '-2': expected a number of exec hosts of 1 or more\n"),
        (("sge", "grow", "1", "--template", "nope"),
         "onetui: no template 'nope' (see `onetui template list`)\n"),
        (("sge", "grow", "1", "--template", "xen.local01"),
         "onetui: template xen.local01 has no SGE section, so its clones would not join the "
         'grid: expected SGE = [ QUEUE = "all.q", HOSTGROUP = "@allhosts", SLOTS = 1 ]\n'),
        (("sge", "grow", "300", "--template", "sgebase"),
         "onetui: sge grow 300: service sgebase: size 300 is outside 0..256\n"),
        (("sge", "grow", "1", "--template", "web"),
         "onetui: service web exists and is not an exec-host tier (made by `sge grow`): "
         "rename it, or scale it with `service scale`\n"),
        (("sge", "shrink", "1"),
         "onetui: sge shrink: no exec hosts were grown (`sge grow N --template T`)\n"),
    ]
    proc = onetui("sge", "grow", "1", "--template", "sgebase", state=state, check=False)
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        2, "", "onetui: sge grow: no SGE master configured, so the exec hosts could not join "
        f"it: add an [sge] table (host, user, key_file) to {conf}\n")
    conf.write_text('[sge]\nhost = "127.0.0.1"\nport = 2222\n')  # read, not reached
    for args, err in cases:
        proc = onetui(*args, state=state, check=False)
        assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", err), args
    assert [s["name"] for s in onetui_json("service", "list", state=state)] == ["web"]

    assert onetui("sge", "grow", "2", "--template", "sgebase", state=state).stdout.startswith(
        "exec hosts of sgebase: 0 → 2;")
    assert onetui("sge", "grow", "1", "--template", "sgebase", state=state).stdout.startswith(
        "exec hosts of sgebase: 2 → 3;")
    tier = onetui_json("service", "list", state=state)[1]
    assert (tier["name"], tier["min"], tier["desired"]) == ("sgebase", 0, 3)
    for args, err in [
        (("sge", "shrink", "4"),
         "onetui: sge shrink 4: service sgebase: size -1 is outside 0..256\n"),
        (("sge", "shrink", "1", "--template", "web"),
         "onetui: --template web: no exec hosts were grown from it (tiers: sgebase)\n"),
        (("sge", "grow", "1", "--template", "xen.local01"),
         "onetui: template xen.local01 has no SGE section, so its clones would not join the "
         'grid: expected SGE = [ QUEUE = "all.q", HOSTGROUP = "@allhosts", SLOTS = 1 ]\n')]:
        proc = onetui(*args, state=state, check=False)
        assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", err), args
    assert onetui("sge", "shrink", "2", state=state).stdout.startswith(
        "exec hosts of sgebase: 3 → 1; the engine drains each leaving host")
    assert onetui_json("service", "list", state=state)[1]["desired"] == 1
