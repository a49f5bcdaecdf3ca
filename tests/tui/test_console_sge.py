"""The console's SGE pane on the real grid: an unknown host key is asked about (with its
fingerprint), trusted only on the admin's word, then the queues show."""

from __future__ import annotations

from pathlib import Path

from onetui.tui.app import OnetuiApp
from onetui.tui.panes import QueuesPane
from onetui.tui.screens.dialogs import TrustKey
from tests.beds.sge import HOST_KEY
from tests.tui.test_console import until


async def test_unknown_key_dialog_then_live_queues(sge_config: dict, tmp_path: Path,
                                                   state_dir: Path) -> None:
    empty = tmp_path / "fresh_known_hosts"
    cfg = {"sge": {**sge_config["sge"], "known_hosts": [str(empty)]}}
    app = OnetuiApp(state_dir / "onetui.db", cfg=cfg, run_engine=False)
    async with app.run_test(size=(140, 42)) as pilot:
        # pushed is not yet composed: wait for its buttons
        await until(pilot, lambda: isinstance(app.screen, TrustKey)
                    and bool(app.screen.query("#trust")))
        dialog = app.screen
        assert dialog.host == "[127.0.0.1]:2222"
        assert dialog.fingerprint.startswith("SHA256:")
        assert not empty.exists()  # nothing trusted yet
        dialog.query_one("#trust").press()  # the admin compared it and says yes
        await until(pilot, lambda: empty.exists())
        assert HOST_KEY.read_text().split()[1] in empty.read_text()
        queues = app.query_one(QueuesPane)
        await until(pilot, lambda: queues.grid is not None
                    and queues.grid.instance("all.q@node2") is not None, tries=150)
        assert queues.border_subtitle == ""  # live, not stale
