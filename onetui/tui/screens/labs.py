"""The Labs screen (the console's SSH pane): labs on the left, the selected lab's seats on
the right with their logins; reveal, copy, reset, hand-outs, and SSH into a seat.

Like the dashboard it reads through the API in a thread worker whose result re-arms the
next read (`ConsoleScreen.poll`), so polls never overlap; it goes on under a dialog and
pauses while the terminal is handed to `ssh`. Passwords are asked for (`lab.reveal`) only
for the rows the admin revealed; keys the caller's role may not use on the selected lab
(labstaff: only on their own labs; a viewer: none) are not offered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import var
from textual.widgets import Button, Input, Label, Select, Static

from onetui.access import ADMIN
from onetui.errors import UserError
from onetui.integrations.accounts import USER_RE
from onetui.model import expand_name, has_index
from onetui.ops import labs
from onetui.store.records import check_object_name
from onetui.tui.keys import Keys
from onetui.tui.messages import Notice
from onetui.tui.panes import FilterBar, LivePane
from onetui.tui.screens.base import ConsoleScreen
from onetui.tui.screens.dialogs import Form, Prompt, answering
from onetui.view import handout
from onetui.view.live import LabSnapshot, LabView
from onetui.view.rows import LAB_COLUMNS, SEAT_COLUMNS

NO_LABS = "no labs yet: n makes one (or `onetui lab create`)"
# the Labs screen's actions → the operation of onetui.access.OPS each asks for (on the
# selected lab: labstaff may on their own); `ssh(True)`, as the seat's admin: admins only
ACTION_OPS = {"new_lab": "lab.create", "reveal": "lab.reveal", "reveal_all": "lab.reveal",
              "copy": "lab.reveal", "ssh": "lab.ssh", "reset_password": "lab.reset-password",
              "reset_seat": "lab.reset-seat", "handout": "lab.handout",
              "extend": "lab.extend", "destroy": "lab.destroy"}


class LabsPane(LivePane):
    COLUMNS = LAB_COLUMNS
    TITLE = "Labs"


class SeatsPane(LivePane):
    COLUMNS = SEAT_COLUMNS
    # what an admin reads out to a student first; the VM's side after
    PRIORITY = ("SEAT", "USER", "PASSWORD", "READY", "STATE", "ADDRESS", "VM STATE", "VM")
    ORDER = SEAT_COLUMNS
    KEEP = 5
    TITLE = "Seats"


# -- what the Labs screen's workers post back (to the screen itself) ------------------------

class LabRows(Message, bubble=False):
    """One poll's reading; None when the read failed (the app reported why)."""

    def __init__(self, snapshot: LabSnapshot | None) -> None:
        super().__init__()
        self.snapshot = snapshot


class SeatLogin(Message, bubble=False):
    """The `ssh` command line into a seat, to hand the terminal to, and the line shown
    while it connects."""

    def __init__(self, argv: list[str], banner: str) -> None:
        super().__init__()
        self.argv = argv
        self.banner = banner


class LabChoices(Message, bubble=False):
    """What the new-lab form offers: master templates and networks."""

    def __init__(self, templates: list[str], networks: list[str]) -> None:
        super().__init__()
        self.templates = templates
        self.networks = networks


class LabMade(Message, bubble=False):
    def __init__(self, lab_id: int) -> None:
        super().__init__()
        self.lab_id = lab_id


class LabsScreen(ConsoleScreen):
    CSS_PATH = "labs.tcss"
    # below 110 columns the labs list goes above the seats: the seats get the whole width
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("L", "app.pop_screen", "Back", show=False),
        Binding("n", "new_lab", "New lab"),
        Binding("r", "reveal", "Reveal/hide"),
        Binding("R", "reveal_all", "Reveal all"),
        Binding("y", "copy", "Copy login"),
        Binding("s", "ssh(False)", "SSH as student"),
        Binding("a", "ssh(True)", "SSH as admin"),
        Binding("p", "reset_password", "New password"),
        Binding("m", "reset_seat", "Reset to master"),
        Binding("o", "handout", "Hand-outs"),
        Binding("plus", "extend", "Extend"),
        Binding("D", "destroy", "Destroy lab"),
        Binding("slash", "filter", "Filter"),
    ]

    lab_id: var[int | None] = var(None, init=False)
    """The selected lab: the one whose seats show (chosen in the list, or the first)."""

    def __init__(self) -> None:
        super().__init__()
        self.view: LabView | None = None
        self.current: dict[str, Any] | None = None  # the selected lab, as lab.show says
        self.revealed: set[int] = set()
        self.reveal_all = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="labs-body"):
            yield LabsPane(id="labs-list")
            with Vertical(id="labs-right"):
                yield Static(NO_LABS, id="lab-header", markup=False)
                yield SeatsPane(id="seats")
        yield FilterBar(id="filter")
        yield Keys()

    def on_mount(self) -> None:
        self.view = LabView(self.console.client)
        self.query_one(SeatsPane).focus()
        self.poll()

    def action_back(self) -> None:
        """Escape: the help, the filter, the zoom first (`step_back`); then the dashboard."""
        if not self.step_back():
            self.app.pop_screen()

    def watch_lab_id(self) -> None:
        """Another lab: its seats start masked, and the last lab's rows go at once."""
        self.revealed.clear()
        self.reveal_all = False
        self.query_one(SeatsPane).apply({}, full=True)

    # -- live rows ---------------------------------------------------------------------

    @work(thread=True, group="labs", exit_on_error=False)
    def read(self) -> None:
        rows = LabRows(None)
        try:
            assert self.view is not None
            rows = LabRows(self.view.poll(self.lab_id, set(self.revealed), self.reveal_all))
        finally:
            # also after a failure (the app reports it): the handler re-arms the poll
            self.post_message(rows)

    def on_lab_rows(self, message: LabRows) -> None:
        if message.snapshot is not None:
            self.show(message.snapshot)
        self.polled(message.snapshot is not None)

    def show(self, snap: LabSnapshot) -> None:
        labs_pane, seats = self.query_one(LabsPane), self.query_one(SeatsPane)
        owner = self.current.get("owner") if self.current else None
        self.current = snap.lab
        if (snap.lab.get("owner") if snap.lab else None) != owner:
            self.refresh_bindings()  # another owner: the keys the role may use change
        gone = {i: None for i in labs_pane.rows_by_id if i not in snap.labs}
        labs_pane.apply({**snap.labs, **gone})
        shown = snap.lab["id"] if snap.lab else None
        if shown != self.lab_id:
            self.lab_id = shown  # the lab asked for is gone, or none was chosen yet
            seats.apply(snap.seats, full=True)
        else:
            seats.apply({**snap.seats, **{i: None for i in seats.rows_by_id
                                          if i not in snap.seats}})
        self.query_one("#lab-header", Static).update(snap.header or NO_LABS)

    def on_table_row_highlighted(self, event: LivePane.RowHighlighted) -> None:
        if event.table.id == "labs-list" and event.row_key is not None:
            chosen = int(event.row_key)
            if chosen != self.lab_id:
                self.lab_id = chosen
                self.poll_now()

    # -- who may -----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A key the role may not use (on the selected lab) is not offered; a lab's admin
        account (`a`) is for admins alone."""
        op = ACTION_OPS.get(action)
        if op is None:
            return True
        if action == "ssh" and parameters and parameters[0]:
            return self.console.role == ADMIN
        mine = self.current is not None and self.current.get("owner") == self.console.user
        return self.console.may(op, owns_lab=mine)

    # -- selection -----------------------------------------------------------------------

    def _lab(self) -> dict[str, Any] | None:
        """The selected lab as the last poll saw it (no read on the event loop)."""
        if self.current is None or self.current["id"] != self.lab_id:
            self.notify("no lab selected", severity="warning")
            return None
        return self.current

    def _seat(self) -> int | None:
        seat = self.query_one(SeatsPane).selected_id()
        if seat is None:
            self.notify("no seat selected", severity="warning")
        return seat

    # -- keys ----------------------------------------------------------------------------

    def action_reveal(self) -> None:
        seat = self._seat()
        if seat is not None:
            self.revealed ^= {seat}
            self.poll_now()

    def action_reveal_all(self) -> None:
        self.reveal_all = not self.reveal_all
        self.revealed.clear()
        self.poll_now()

    def action_copy(self) -> None:
        lab, seat = self._lab(), self._seat()
        if lab is not None and seat is not None:
            self._copy(lab, seat)

    @work(thread=True, group="lab-action", exit_on_error=False)
    def _copy(self, lab: dict[str, Any], number: int) -> None:
        client = self.console.client
        seat = next((row for row in client.call("lab.show", ref=lab["id"])["seat_list"]
                     if row["seat"] == number), None)
        if seat is None:
            raise UserError(f"lab {lab['name']} has no seat {number}")
        password = client.call("lab.reveal", ref=lab["id"], seats=[number]).get(str(number))
        text = f"{seat['ssh']}\npassword: {password}\n"
        self.app.post_message(Notice(f"copied the login of seat {number} ({seat['user']}) "
                                     "to the clipboard", clipboard=text))

    def action_ssh(self, admin: bool) -> None:
        lab, seat = self._lab(), self._seat()
        if lab is not None and seat is not None:
            self._ssh(lab, seat, admin)

    @work(thread=True, group="lab-action", exit_on_error=False)
    def _ssh(self, lab: dict[str, Any], seat: int, admin: bool) -> None:
        from onetui.view.handout import seat_login

        argv = seat_login(self.console.client.call("lab.ssh_argv", ref=lab["id"], seat=seat,
                                                  admin=admin))
        self.post_message(SeatLogin(argv, f"connecting to {argv[-1]} (seat {seat} of lab "
                                          f"{lab['name']})… Ctrl-C gives up and returns to "
                                          "onetui"))

    def on_seat_login(self, message: SeatLogin) -> None:
        # the terminal is handed over from the event loop, where suspend() must run
        self.console.ssh(message.argv[1:], message.banner)  # argv[0] is `ssh`

    def action_reset_password(self) -> None:
        lab, seat = self._lab(), self._seat()
        if lab is not None and seat is not None:
            self._ask(f"Give seat {seat} of lab {lab['name']} a new password? The old one "
                      "stops working.",
                      lambda: self._do("lab.reset_password", lab, ref=lab["name"], seat=seat))

    def action_reset_seat(self) -> None:
        lab, seat = self._lab(), self._seat()
        if lab is not None and seat is not None:
            self._ask(f"Reset seat {seat} of lab {lab['name']} to the master disk? The "
                      "student's files on it are lost; the login stays.",
                      lambda: self._do("lab.reset_seat", lab, ref=lab["name"], seat=seat))

    def action_destroy(self) -> None:
        lab = self._lab()
        if lab is not None:
            self._ask(f"Destroy lab {lab['name']}: all {lab['seats']} seats, their disks and "
                      "logins?", lambda: self._do("lab.destroy", lab, ref=lab["name"]))

    def _ask(self, question: str, then: Any) -> None:
        self.console.confirm(question, then)

    def action_extend(self) -> None:
        lab = self._lab()
        if lab is not None:
            self._prompt(f"Extend lab {lab['name']} (expires "
                         f"{handout.when(lab['expires_at'])}): +1d, +12h or a date", "+1d",
                         lambda text: self._do("lab.extend", lab, ref=lab["name"],
                                               until=text))

    def action_handout(self) -> None:
        lab = self._lab()
        if lab is not None:
            self._prompt("Write the hand-out slips to (.md for Markdown; 0600)",
                         str(Path.cwd() / f"{lab['name']}-handout.txt"),
                         lambda path: self._write_handout(lab, path))

    def _prompt(self, label: str, value: str, then: Any) -> None:
        """One line from the admin; `then` gets it stripped, unless it was left empty."""
        def done(text: str | None) -> None:
            if text and text.strip():
                then(text.strip())
        self.app.push_screen(Prompt(label, value), done)

    @work(thread=True, group="lab-action", exit_on_error=False)
    def _write_handout(self, lab: dict[str, Any], path: str) -> None:
        """The slips come from the daemon (a credential hand-out it audits); the file is
        written here, with the console user's own rights, 0600."""
        fmt = "md" if path.endswith(".md") else "text"
        slips = self.console.client.call("lab.handout", ref=lab["id"], format=fmt)["text"]
        try:
            written = handout.write_private(path, slips)
        except OSError as exc:
            raise UserError(f"{path}: {exc.strerror}") from exc  # short, as the app shows it
        self.app.post_message(Notice(f"wrote {lab['seats']} slip(s) to {written}"))

    @work(thread=True, group="lab-action", exit_on_error=False)
    def _do(self, op: str, lab: dict[str, Any], **fields: Any) -> None:
        """A lab operation; its one-line answer as a notice. A new password is asked for
        again when its seat is revealed."""
        result = self.console.client.call(op, **fields)
        if self.view is not None and op == "lab.reset_password":
            self.view.forget(lab["id"], fields.get("seat"))
        self.app.post_message(Notice(str(result)))

    def action_new_lab(self) -> None:
        self._lab_choices()

    @work(thread=True, group="lab-action", exit_on_error=False)
    def _lab_choices(self) -> None:
        client = self.console.client
        self.post_message(LabChoices([t["name"] for t in client.call("template.list")],
                                     [n["name"] for n in client.call("net.list")]))

    def on_lab_choices(self, message: LabChoices) -> None:
        if isinstance(self.app.screen, LabForm):
            return  # `n` pressed twice

        self.app.push_screen(LabForm(message.templates, message.networks, self._create))

    @work(thread=True, group="lab-create", exit_on_error=False)
    def _create(self, form: Form[labs.LabSpec], spec: labs.LabSpec) -> None:
        """The form's lab: the form closes once it was made, and shows why not when it was
        refused (a name taken, too few addresses, no room)."""
        with answering(form):
            client = self.console.client
            client.call("lab.create", name=spec.name, template=spec.template,
                        seats=spec.seats, network=spec.network, user=spec.user,
                        expires=spec.expires)  # owned by the caller, as the daemon sees them
            made = client.call("lab.show", ref=spec.name)
            self.post_message(LabMade(made["id"]))
            self.app.post_message(Notice(f"lab {made['name']}: {made['seats']} seat(s) "
                                         "created; they come up here"))

    def on_lab_made(self, message: LabMade) -> None:
        self.lab_id = message.lab_id


# -- the new-lab form ------------------------------------------------------------------------

@dataclass(frozen=True)
class _Field:
    id: str
    label: str
    placeholder: str  # grey, and gone at the first key: an example, never a value
    value: str = ""  # a real default, there to keep or change


FIELDS = (
    _Field("name", "Lab name", "e.g. linux1"),
    _Field("seats", "Seats (students)", "e.g. 10", "10"),
    _Field("user", "User names (%i = seat number)", "e.g. student%02i", labs.DEFAULT_USER),
    _Field("expires", "Expires (optional; empty: never)", "e.g. +14d or 2026-12-18"),
)


def check_lab_form(values: dict[str, str]) -> dict[str, str]:
    """Field → what is wrong with it (empty: all fine). Pure, tested without a screen;
    capacity and addresses are checked by `lab.create` itself."""
    errors: dict[str, str] = {}
    name = values.get("name", "").strip()
    try:
        check_object_name("lab", name)
    except UserError:
        errors["name"] = "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
    if not values.get("template"):
        errors["template"] = "choose the master template"
    seats = values.get("seats", "").strip()
    if not seats.isdigit() or not 1 <= int(seats) <= labs.MAX_SEATS:
        errors["seats"] = f"expected a whole number from 1 to {labs.MAX_SEATS}"
    user = values.get("user", "").strip()
    if seats.isdigit() and int(seats) > 1 and not has_index(user):
        errors["user"] = f"{seats} seats need %i in the pattern (e.g. student%02i)"
    else:
        try:
            first = expand_name(user, 1)
        except UserError as exc:  # a bad %i part (%99i)
            errors["user"] = str(exc)
        else:
            if not USER_RE.fullmatch(first):
                errors["user"] = "lower-case letters, digits, '_' or '-', starting with a " \
                                 "letter"
    expires = values.get("expires", "").strip()
    if expires:
        try:
            labs.parse_expiry(expires)
        except UserError as exc:
            errors["expires"] = str(exc).removeprefix("--expires ")
    return errors


class LabForm(Form[labs.LabSpec]):
    """`n`: a new lab. Each field says what is wrong with it, under it; what `lab create`
    refuses (a name taken, too few addresses, no room) shows under the form, which stays
    open with everything typed."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "submit", "Create")]
    REFUSALS = (("--user", "user"), ("--expires", "expires"), ("--seats", "seats"),
                ("--network", "network"), ("no template", "template"), ("lab '", "name"))

    def __init__(self, templates: list[str], networks: list[str],
                 act: Callable[[Form[labs.LabSpec], labs.LabSpec], object]) -> None:
        super().__init__(act)
        self.templates, self.networks = templates, networks

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="form") as box:
            box.border_title = "New lab"
            yield Label("Master template")
            yield Select([(t, t) for t in self.templates], id="template", prompt="choose…")
            yield Label("", id="template-error", classes="error")
            yield Label("Network (default: the template's NIC network)")
            yield Select([(n, n) for n in self.networks], id="network",
                         prompt="the template's")
            yield Label("", id="network-error", classes="error")
            for f in FIELDS:
                yield Label(f.label)
                yield Input(value=f.value, placeholder=f.placeholder, id=f.id)
                yield Label("", id=f"{f.id}-error", classes="error")
            yield Label("", id="form-error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Create (ctrl+s)", id="create", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#template", Select).focus()

    def values(self) -> dict[str, str]:
        out = {f.id: self.query_one(f"#{f.id}", Input).value for f in FIELDS}
        for sel in ("template", "network"):
            value = self.query_one(f"#{sel}", Select).value
            out[sel] = "" if value is Select.NULL or value is None else str(value)
        return out

    def _show(self, errors: dict[str, str], only: str | None = None) -> None:
        for fid in ("template", *(f.id for f in FIELDS)):
            if only is None or fid == only:
                self.query_one(f"#{fid}-error", Label).update(errors.get(fid, ""))

    def on_input_changed(self, event: Input.Changed) -> None:
        self._show(check_lab_form(self.values()), only=event.input.id)

    def on_select_changed(self, event: Select.Changed) -> None:
        self._show(check_lab_form(self.values()), only=event.select.id)

    def on_input_submitted(self, _: Input.Submitted) -> None:
        self.action_submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "create":
            self.action_submit()
        else:
            self.action_cancel()

    def action_submit(self) -> None:
        values = self.values()
        errors = check_lab_form(values)
        self._show(errors)
        if errors:
            return
        self.send(labs.LabSpec(values["name"].strip(), values["template"],
                               int(values["seats"]), values["network"] or None,
                               values["user"].strip(), values["expires"].strip() or None))
