"""What a thread worker tells the app when it is done. A worker never touches a widget:
it posts a typed message (posting is thread-safe) and the handler, on the event loop,
puts the result on screen. A worker that fails raises; the app's one
`on_worker_state_changed` handler reports it, so no failure is lost."""

from __future__ import annotations

from textual.message import Message
from textual.notifications import SeverityLevel


class Notice(Message, bubble=False):
    """A line for the admin (a toast): the outcome of an action, or a problem the engine
    reported and went on from. Posted to the app, not to a screen, so it still shows when
    the admin left the screen the action started on."""

    def __init__(self, text: str, severity: SeverityLevel = "information",
                 clipboard: str | None = None) -> None:
        super().__init__()
        self.text = text
        self.severity: SeverityLevel = severity
        self.clipboard = clipboard  # put on the clipboard as well (a seat's login)
