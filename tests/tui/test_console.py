"""The console under Textual's test harness (App.run_test): real store, real engine in its
worker, libvirt's test driver underneath."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.screen import Screen
from textual.widgets import Input, Label

from onetui import config
from onetui.data import TEMPLATES
from onetui.ops import instantiate
from onetui.store import Store
from onetui.tui.app import OnetuiApp
from onetui.tui.panes import EventsPane, HostsPane, QueuesPane, ServicesPane, VmsPane
from onetui.tui.screens.dialogs import Confirm, Detail, Ec2Prompt, InstantiateForm


def app_for(path: Path, **kw) -> OnetuiApp:  # type: ignore[no-untyped-def]
    return OnetuiApp(path, cfg={}, engine_interval=0.1, **kw)


async def until(pilot, check: Callable[[], bool], tries: int = 100) -> None:  # type: ignore[no-untyped-def]
    for _ in range(tries):
        if check():
            return
        await pilot.pause(0.1)
    raise AssertionError("the console never showed it")


def state_of(app: OnetuiApp, vm_id: int) -> str | None:
    row = app.query_one(VmsPane).rows_by_id.get(vm_id)
    return row[2] if row else None


async def test_a_vm_walks_to_runn_live(seeded: Path) -> None:
    app = app_for(seeded)
    async with app.run_test(size=(140, 42)) as pilot:
        await until(pilot, lambda: app.query_one(HostsPane).row_count == 2)
        with Store(seeded) as store:
            (vid,) = instantiate.create(store, "xen.local01", name="web-0")
        await until(pilot, lambda: state_of(app, vid) == "runn")
        assert app.query_one(VmsPane).rows_by_id[vid][5] == "ursa03"
        events = app.query_one(EventsPane)
        await until(pilot, lambda: any("boot → runn" in row[2]
                                       for row in events.rows_by_id.values()))
        assert "engine: this console" in str(app.query_one("#status").render())


async def test_create_form_validates_inline_and_creates(seeded: Path) -> None:
    app = app_for(seeded)
    async with app.run_test(size=(140, 60)) as pilot:
        await pilot.press("c")
        # the templates are read in a worker: the form comes a moment later
        await until(pilot, lambda: isinstance(app.screen, InstantiateForm)
                    and bool(app.screen.query("#count")))
        form = app.screen
        form.query_one("#count", Input).value = "3"
        form.query_one("#name", Input).value = "web"
        form.query_one("#cpu", Input).value = "-1"
        await pilot.pause()
        form.action_submit()
        await pilot.pause()
        assert isinstance(app.screen, InstantiateForm)  # refused, with reasons in place
        assert "need %i" in str(form.query_one("#name-error", Label).render())
        assert "CPU: expected a positive number" in str(form.query_one("#cpu-error", Label)
                                                        .render())
        assert "choose a template" in str(form.query_one("#template-error", Label).render())
        form.query_one("#template").value = "xen.local01"
        form.query_one("#name", Input).value = "web-%i"
        form.query_one("#cpu", Input).value = ""
        form.query_one("#requirements", Input).value = 'HOSTNAME = "ursa04"'
        await pilot.pause()
        assert "/boot/vmlinuz" in str(form.query_one("#preview").render())  # its text shows
        form.action_submit()
        await until(pilot, lambda: len(app.query_one(VmsPane).rows_by_id) == 3)
        await until(pilot, lambda: {r[5] for r in app.query_one(VmsPane).rows_by_id.values()}
                    == {"ursa04"})
        assert sorted(r[1] for r in app.query_one(VmsPane).rows_by_id.values()) == [
            "web-0", "web-1", "web-2"]


async def test_create_form_keeps_everything_when_refused(seeded: Path) -> None:
    """A bad name is said under its field before anything is sent; what the store refuses
    (the template was deleted meanwhile) shows under the form, which stays open with
    everything typed; it closes once the VMs were written."""
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(140, 60)) as pilot:
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, InstantiateForm)
                    and bool(app.screen.query("#count")))
        form = app.screen
        form.query_one("#template").value = "xen.local01"
        form.query_one("#name", Input).value = "bad name!"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause(0.3)
        assert app.screen is form
        assert "expected 1-64 letters" in label(form, "name-error")
        form.query_one("#name", Input).value = "web-%i"
        form.query_one("#count", Input).value = "2"
        form.query_one("#cpu", Input).value = "0.5"
        with Store(seeded) as store:  # another admin deletes the template meanwhile
            store.templates.delete("xen.local01")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "no template 'xen.local01'" in label(form, "template-error"))
        assert app.screen is form
        assert [form.query_one(f"#{f}", Input).value for f in ("name", "count", "cpu")] == [
            "web-%i", "2", "0.5"]
        with Store(seeded) as store:
            assert store.vms.list() == []
            store.templates.add("xen.local01", (TEMPLATES / "xen.local01").read_text())
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, InstantiateForm))
        await until(pilot, lambda: sorted(r[1] for r in app.query_one(VmsPane).rows_by_id
                                          .values()) == ["web-0", "web-1"])


async def test_ec2_form_says_why_under_its_fields_and_stays(seeded: Path) -> None:
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(140, 50)) as pilot:
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, Ec2Prompt)
                    and bool(app.screen.query("#count")))
        form = app.screen
        await pilot.press("backspace", "x", "enter")
        await pilot.pause(0.3)
        assert app.screen is form and "at least 1" in label(form, "count-error")
        await pilot.press("backspace", "2")
        with Store(seeded) as store:  # gone before Enter: the store refuses it
            store.templates.delete("ec2")
        await pilot.press("enter")
        await until(pilot, lambda: "no template 'ec2'" in label(form, "template-error"))
        assert app.screen is form and form.query_one("#count", Input).value == "2"
        assert label(form, "count-error") == ""


def label(screen: Screen, widget_id: str) -> str:
    return str(screen.query_one(f"#{widget_id}", Label).render())


@pytest.mark.slow
async def test_delete_asks_first_and_hold_release(seeded: Path) -> None:
    with Store(seeded) as store:
        (held,) = instantiate.create(store, "xen.local01", name="later", hold=True)
    app = app_for(seeded)
    async with app.run_test(size=(140, 42)) as pilot:
        vms = app.query_one(VmsPane)
        await until(pilot, lambda: state_of(app, held) == "hold")
        vms.focus()
        await pilot.press("h")  # release
        await until(pilot, lambda: state_of(app, held) == "runn")
        await pilot.press("d")
        assert isinstance(app.screen, Confirm)
        await pilot.press("n")
        await pilot.pause(0.5)
        assert state_of(app, held) == "runn"
        await pilot.press("d")
        await pilot.press("y")
        await until(pilot, lambda: state_of(app, held) is None)  # done: gone from the pane


@pytest.mark.slow
async def test_details_ssh_palette_help_and_tab(seeded: Path) -> None:
    with Store(seeded) as store:
        (_vid,) = instantiate.create(store, "xen.local01", name="web-0", hold=True)
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(140, 42)) as pilot:
        vms = app.query_one(VmsPane)
        await until(pilot, lambda: vms.row_count == 1)
        vms.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, Detail))
        assert "VIRTUAL MACHINE" in app.screen.body and "LCM STATE" in app.screen.body
        await pilot.press("escape")
        await pilot.press("x")  # no address yet: says so
        await until(pilot, lambda: any("no address" in n.message for n in app._notifications))
        await pilot.press("colon")
        await pilot.pause()
        await pilot.press(*"Create VMs", "enter")
        await until(pilot, lambda: isinstance(app.screen, InstantiateForm))
        await pilot.press("escape")
        await pilot.press("question_mark")
        await until(pilot, lambda: bool(app.screen.query("KeyPanel")))
        await pilot.press("tab")
        await pilot.pause()
        assert isinstance(app.focused, QueuesPane | EventsPane | HostsPane | ServicesPane)
        await pilot.press("q")


async def test_ssh_hands_over_the_terminal_or_says_how(seeded: Path) -> None:
    with Store(seeded) as store:
        (vid,) = instantiate.create(store, "xen.local01", name="web-0", hold=True)
        store.vms.update(vid, ip="127.0.0.1")
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(140, 42)) as pilot:
        await until(pilot, lambda: app.query_one(VmsPane).row_count == 1)
        app.query_one(VmsPane).focus()
        await pilot.press("x")
        await until(pilot, lambda: any("run: ssh -o ConnectTimeout=10 127.0.0.1" in n.message
                                       for n in app._notifications))


async def test_theme_from_files_state_colours_and_saved_choice(seeded: Path) -> None:
    app = app_for(seeded, run_engine=False, theme="ursa")
    async with app.run_test(size=(140, 42)) as pilot:
        assert app.theme == "ursa"
        assert {"onetui", "onetui-light", "ursa"} <= set(app.available_themes)
        assert app.theme_variables["state-runn"] == "#859900"
        app.theme = "onetui-light"
        await pilot.pause()
        saved = tomllib.loads(config.config_path().read_text())
        assert saved["console"]["theme"] == "onetui-light"
        await pilot.press("t")
        await pilot.pause()
        assert "CommandPalette" in type(app.screen).__name__


async def test_sge_pane_says_how_to_configure(seeded: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The console's own config has an [sge] table, the config the answer comes from has
    none: the pane says the latter's line (its file under the home folder as ~/…)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    app = app_for(seeded, run_engine=False)
    app.cfg["sge"] = {"host": "127.0.0.1", "port": 1, "user": "nobody"}  # not asked
    async with app.run_test(size=(140, 42)) as pilot:
        queues = app.query_one(QueuesPane)
        await until(pilot, lambda: queues.note == "not configured")
        shown = [str(queues.get_row_at(i)[0]) for i in range(queues.row_count)]
        assert shown[0] == "no SGE master configured:"
        assert " ".join(shown[1:]) == ("add an [sge] table (host, user, key_file) to "
                                       "~/xdg-config/onetui/config.toml")


@pytest.mark.slow
async def test_add_ec2_workers_with_e(moto: str, seeded: Path) -> None:
    with Store(seeded) as store:
        store.hosts.add("ec2", "ec2", {"region": "us-east-1", "endpoint_url": moto,
                                       "max_instances": 10, "max_cpu": 1000,
                                       "max_memory": 17000})
    app = app_for(seeded)
    async with app.run_test(size=(140, 42)) as pilot:
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, Ec2Prompt)
                    and bool(app.screen.query("#count")))
        await pilot.press("backspace", "2", "enter")  # two workers of the default template
        await until(pilot, lambda: [r[2] for r in app.query_one(VmsPane).rows_by_id.values()]
                    == ["runn", "runn"], tries=200)
        assert {r[5] for r in app.query_one(VmsPane).rows_by_id.values()} == {"ec2"}
        saved = tomllib.loads(config.config_path().read_text())
        assert saved["console"]["last_ec2_template"] == "ec2"


@pytest.mark.slow
async def test_services_pane_scales_with_plus_and_minus(seeded: Path) -> None:
    with Store(seeded) as store:
        tpl = store.templates.get("xen.local01")
        svc = store.services.add("web", tpl.id, None, 1, 3, {})
    app = app_for(seeded)
    async with app.run_test(size=(140, 50)) as pilot:
        pane = app.query_one(ServicesPane)
        await until(pilot, lambda: pane.row_count == 1)
        await until(pilot, lambda: pane.rows_by_id[svc.id][5] == "1")  # one member runs
        pane.focus()
        await pilot.press("plus", "plus")
        await until(pilot, lambda: pane.rows_by_id[svc.id][4] == "3"
                    and pane.rows_by_id[svc.id][5] == "3", tries=150)
        await pilot.press("plus")  # beyond max: refused, and said why
        await pilot.pause(0.5)
        assert any("outside 1..3" in n.message for n in app._notifications)
        await pilot.press("minus")
        await until(pilot, lambda: pane.rows_by_id[svc.id][4] == "2")


async def test_disable_a_host_with_D(seeded: Path) -> None:
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(140, 50)) as pilot:
        hosts = app.query_one(HostsPane)
        await until(pilot, lambda: hosts.row_count == 2)
        hosts.focus()
        await pilot.press("D")
        with Store(seeded) as store:
            await until(pilot, lambda: not store.hosts.get(1).enabled)
        await until(pilot, lambda: hosts.rows_by_id[1][hosts.index["STAT"]] == "dsbl")
