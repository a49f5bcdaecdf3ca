"""What a thread worker tells the app when it is done. A worker never touches a widget:
it posts a typed message (posting is thread-safe) and the handler, on the event loop,
puts the result on screen. A worker that fails raises; the app's one
`on_worker_state_changed` handler reports it, so no failure is lost."""

from __future__ import annotations

from textual.message import Message
from textual.notifications import SeverityLevel

from onetui.client import ApiError
from onetui.drivers.base import error_line


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


class DaemonWait(Message, bubble=False):
    """The daemon went away (killed, restarting): the client waits for it to answer again,
    and says so (posted from the worker thread that is waiting)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


def failure_line(exc: BaseException) -> str:
    """A failed request (or worker) as one line: the daemon's own words; a refusal also
    names the role it needs (when its words do not already)."""
    if isinstance(exc, ApiError):
        text = str(exc).splitlines()[0] if str(exc) else f"failed ({exc.status})"
        if exc.status == 403 and exc.needs and "needs" not in text:
            text += f" (needs {exc.needs})"
        return text
    return error_line(exc)
