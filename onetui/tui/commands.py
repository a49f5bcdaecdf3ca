"""Every dashboard action in the command palette (`:` or ctrl+p), listed as soon as it
opens, and k9s's view switching: `vm`, `host`, `svc`, `sge`, `events` focus that pane,
`lab` opens the Labs screen. The provider belongs to the dashboard (its `COMMANDS`): the
palette opened over another screen does not offer actions on panes that are not there, nor
the actions the caller's role may not use (the screen's `check_action`, which hides their
keys too)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.actions import parse
from textual.command import DiscoveryHit, Hit, Hits, Provider

ACTIONS = (
    ("Create VMs from a template", "create", "c"),
    ("Add EC2 workers", "add_workers", "e"),
    ("Labs: seats, logins, hand-outs, SSH into a seat", "labs", "L"),
    ("Shut down the selected VM", "vm_action('shutdown')", "s"),
    ("Suspend the selected VM (pause it in memory)", "vm_action('suspend')", ""),
    ("Stop the selected VM (save it to disk, free its host)", "vm_action('stop')", ""),
    ("Resume the selected VM (suspended, stopped or powered off)", "vm_action('resume')", ""),
    ("Reboot the selected VM", "vm_action('reboot')", ""),
    ("Power the selected VM off (keeps its disks and host)", "vm_action('poweroff')", ""),
    ("Reschedule the selected VM to a better host", "vm_action('resched')", ""),
    ("Delete the selected VM", "vm_delete", "d, ctrl+d"),
    ("Hold or release the selected VM", "vm_hold", "h"),
    ("SSH into the selected VM", "vm_ssh", "x"),
    ("Copy the selected id", "copy_id", "y"),
    ("Show details of the selection", "details", "enter"),
    ("Scale the selected service +1", "scale(1)", "+"),
    ("Scale the selected service -1", "scale(-1)", "-"),
    ("Filter the focused table", "filter", "/"),
    ("Enable or disable the selected host", "toggle_host", "D"),
    ("Pick a theme", "app.change_theme", "t"),
    ("Show all keys", "app.help", "?"),
    ("Quit", "app.quit", "q"),
)

# k9s's `:vm`: the word typed alone (or after a `:`) → what it shows, and the id of the
# dashboard's pane it focuses ("": the Labs screen, opened instead)
VIEWS = {
    "vm": ("the VMs pane", "vms"),
    "host": ("the Hosts pane", "hosts"),
    "svc": ("the Services pane", "services"),
    "sge": ("the SGE queues pane", "queues"),
    "events": ("the Events pane", "events"),
    "lab": ("the Labs screen", ""),
}
EXACT = 1e9  # above any fuzzy score: the view whose word was typed comes first


class ActionsProvider(Provider):
    def _run(self, action: str) -> Callable[[], object]:
        # run on the screen the palette was opened over (the dashboard)
        return partial(self.screen.run_action, action)

    def _offered(self) -> list[tuple[str, str, str]]:
        """The actions this role may use (the app's own, `app.…`, are everyone's)."""
        out = []
        for title, action, key in ACTIONS:
            namespace, name, params = parse(action)
            if namespace or self.screen.check_action(name, params) is not False:
                out.append((title, action, key))
        return out

    @staticmethod
    def _help(key: str) -> str:
        return f"key: {key}" if key else "palette only"

    async def discover(self) -> Hits:
        """What the palette lists before anything is typed: every action, then the
        views."""
        for title, action, key in self._offered():
            yield DiscoveryHit(title, self._run(action), help=self._help(key))
        for word, (shows, _pane) in VIEWS.items():
            yield DiscoveryHit(f"{word}: {shows}", self._run(f"view('{word}')"),
                               help=f"type {word}")

    async def search(self, query: str) -> Hits:
        word = query.strip().removeprefix(":").strip().lower()
        matcher = self.matcher(query)
        for view, (shows, _pane) in VIEWS.items():
            text = f"{view}: {shows}"
            score = EXACT if word == view else matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), self._run(f"view('{view}')"),
                          help=f"type {view}")
        for title, action, key in self._offered():
            score = matcher.match(f"{title} {key}")
            if score > 0:
                yield Hit(score, matcher.highlight(title), self._run(action),
                          help=self._help(key))
