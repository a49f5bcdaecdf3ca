"""Small things an admin hit on the first day: words that say what happened."""

from __future__ import annotations

from pathlib import Path

from onetui.ops import instantiate
from onetui.ops import vm_actions as actions
from onetui.store import Store
from onetui.view.rows import vm_row
from tests.beds.cli import onetui


def test_delete_says_delete_and_a_typo_in_lab_destroy_is_an_error(store: Store,
                                                                  state_dir: Path) -> None:
    store.templates.add("web", "CPU = 1\nMEMORY = 64\n")
    (vid,) = instantiate.create(store, "web")
    store.db.conn.execute("UPDATE vms SET state = 'runn' WHERE id = ?", (vid,))
    assert actions.delete(store, vid) == f"VM {vid}: delete requested"
    said = onetui("lab", "destroy", "typo", state=state_dir, check=False)
    assert (said.returncode, said.stderr) == (2, "onetui: no lab 'typo' (see `onetui lab "
                                                 "list`)\n")


def test_a_paused_vm_uses_no_cpu(store: Store) -> None:
    store.templates.add("web", "CPU = 1\nMEMORY = 64\n")
    (vid,) = instantiate.create(store, "web")
    store.db.conn.execute("UPDATE vms SET state = 'susp', info = '{\"cpu_usage\": 100, "
                          "\"mem_usage\": 64}' WHERE id = ?", (vid,))
    row = vm_row(store.vms.get(vid))
    assert (row[2], row[3], row[4]) == ("susp", "0", "64M")


def test_an_unknown_theme_is_refused_before_the_console_starts(tmp_path: Path) -> None:
    done = onetui("--theme", "nosuch", state=tmp_path / "s", check=False)
    assert done.returncode == 2
    assert "no theme 'nosuch'" in done.stderr
    assert "onetui-light" in done.stderr and "dracula" in done.stderr  # ours and Textual's
