"""Shell completion with click's own mechanism (`_ONETUI_COMPLETE=bash_source onetui`):
the names and ids an argument takes come from the store, opened read-only, and a TAB
never fails loudly or leaves anything behind: on any error it completes nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import click

from onetui.store import Store

if TYPE_CHECKING:  # click.shell_completion is imported by a TAB, not by every command
    from click.shell_completion import CompletionItem

SHELLS = ("bash", "zsh")
Completer = Callable[[click.Context, click.Parameter, str], "list[CompletionItem]"]


def _from_store(names: Callable[[Store], Iterable[tuple[str, str]]],
                files: bool = False) -> Completer:
    """A shell_complete callback offering `names(store)` — (value, help) pairs — that
    start with what was typed; `files` adds the shell's own file completion."""

    def complete(ctx: click.Context, _param: click.Parameter,
                 incomplete: str) -> list[CompletionItem]:
        from click.shell_completion import CompletionItem

        items = [CompletionItem(incomplete, type="file")] if files else []
        try:
            state = ctx.find_root().params.get("state")
            with Store.open(state, read_only=True) as store:
                pairs = list(names(store))
        except Exception:  # a TAB must never print a traceback into the command line
            return items
        seen: set[str] = set()
        for value, about in pairs:
            if value.startswith(incomplete) and value not in seen:
                seen.add(value)
                items.append(CompletionItem(value, help=about or None))
        return items

    return complete


def _vms(store: Store) -> Iterable[tuple[str, str]]:
    vms = store.vms.list(include_done=False)
    yield from ((str(v.id), f"{v.name} ({v.state})") for v in vms)
    yield from ((v.name, f"VM {v.id} ({v.state})") for v in vms if v.name)


def _hosts(store: Store) -> Iterable[tuple[str, str]]:
    return ((h.name, f"{h.driver}, {h.stat}") for h in store.hosts.list())


def _templates(store: Store) -> Iterable[tuple[str, str]]:
    return ((t.name, "template") for t in store.templates.list())


def _labs(store: Store) -> Iterable[tuple[str, str]]:
    return ((lab.name, "lab") for lab in store.labs.list())


def _networks(store: Store) -> Iterable[tuple[str, str]]:
    return ((n.name, "network") for n in store.networks.list())


def _services(store: Store) -> Iterable[tuple[str, str]]:
    return ((s.name, "service") for s in store.services.list())


vm_ids = _from_store(_vms)
host_names = _from_store(_hosts)
template_names = _from_store(_templates)
template_names_or_files = _from_store(_templates, files=True)
lab_names = _from_store(_labs)
network_names = _from_store(_networks)
service_names = _from_store(_services)


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the bash or zsh completion script.

    Load it from ~/.bashrc with `eval "$(onetui completion bash)"`, or from ~/.zshrc with
    `eval "$(onetui completion zsh)"` (after compinit)."""
    from click.shell_completion import get_completion_class

    root = ctx.find_root()
    cls = get_completion_class(shell)
    if cls is None:  # click knows both SHELLS; a click without one is a broken install
        raise click.UsageError(f"this click cannot complete for {shell}")
    click.echo(cls(root.command, {}, root.info_name or "onetui", "_ONETUI_COMPLETE").source())
