"""Every dashboard action in the command palette (`:` or ctrl+p). The provider belongs to
the dashboard (its `COMMANDS`): the palette opened over another screen does not offer
actions on panes that are not there."""

from __future__ import annotations

from functools import partial

from textual.command import Hit, Hits, Provider

ACTIONS = (
    ("Create VMs from a template", "create", "c"),
    ("Add EC2 workers", "add_workers", "e"),
    ("Labs: seats, logins, hand-outs, SSH into a seat", "labs", "L"),
    ("Shut down the selected VM", "vm_action('shutdown')", "s"),
    ("Delete the selected VM", "vm_delete", "d"),
    ("Hold or release the selected VM", "vm_hold", "h"),
    ("SSH into the selected VM", "vm_ssh", "x"),
    ("Copy the selected id", "copy_id", "y"),
    ("Show details of the selection", "details", "enter"),
    ("Filter the focused table", "filter", "/"),
    ("Enable or disable the selected host", "toggle_host", "D"),
    ("Pick a theme", "app.change_theme", "t"),
    ("Show all keys", "app.help", "?"),
    ("Quit", "app.quit", "q"),
)


class ActionsProvider(Provider):
    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, action, key in ACTIONS:
            score = matcher.match(f"{title} {key}")
            if score > 0:
                # run on the screen the palette was opened over (the dashboard)
                yield Hit(score, matcher.highlight(title),
                          partial(self.screen.run_action, action), help=f"key: {key}")
