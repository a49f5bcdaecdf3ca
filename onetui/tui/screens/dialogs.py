"""Modal screens: details, the instantiate form, the add-EC2-workers prompt, a confirmation,
and the filter prompt. They never touch drivers: they return what the admin asked for.

A form (`Form`) stays open until what it asked for was done: it hands the request to the
screen's worker, which answers (`answering`) with success (the form closes) or the reason
it was refused (the form shows it under its fields and keeps everything typed)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from onetui.client import ApiError
from onetui.drivers.base import error_line
from onetui.errors import UserError
from onetui.model import expand_name, has_index
from onetui.store.records import check_name
from onetui.template import TemplateError, parse_requirements
from onetui.tui.messages import failure_line

ResultT = TypeVar("ResultT")


class Dialog(ModalScreen[ResultT]):
    """A box in the middle of the screen over the dimmed one below: every dialog of the
    console (the Labs form too). The boxes are found by id: a large one for details and
    forms (`#detail`, `#form`), a small one for a question or a line (`#confirm`,
    `#prompt`)."""

    DEFAULT_CSS = """
    Dialog { align: center middle; }
    Dialog #detail { width: 90%; height: 90%; border: round $accent; background: $surface;
                     padding: 0 1; }
    Dialog #form { width: 90%; height: 90%; border: round $accent; background: $surface;
                   padding: 0 1; }
    Dialog #confirm { width: 84; max-width: 100%; height: auto; border: round $accent;
                      background: $surface; padding: 1 2; }
    Dialog #prompt { width: 84; max-width: 100%; height: auto; border: round $accent;
                     background: $surface; padding: 1 2; }
    /* a question is wrapped to the box, never cut at its edge */
    Dialog #confirm Label { width: 100%; }
    /* Label's own `.error` variant (a muted background) stays: only its colour is ours */
    Dialog Label.error { color: $error; height: auto; }
    Dialog .hint { color: $text-muted; }
    Dialog .buttons { height: auto; margin-top: 1; }
    """


class Detail(Dialog[None]):
    """Everything about one object, as `vm show` / `host show` print it."""

    BINDINGS = [Binding("escape,q,enter", "dismiss", "Close")]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text = title
        self.body = text

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail") as box:
            box.border_title = self.title_text
            yield Static(self.body, id="detail-body", markup=False)

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)


class Confirm(Dialog[bool]):
    """A yes/no question; the question wraps inside the box at any terminal size."""

    BINDINGS = [Binding("escape,n", "no", "No"), Binding("y", "yes", "Yes")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Label(self.question, id="question")
            with Horizontal(classes="buttons"):
                yield Button("Yes (y)", id="yes", variant="error")
                yield Button("No (n)", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_yes(self) -> None:
        self.dismiss(True)

    def action_no(self) -> None:
        self.dismiss(False)


class Prompt(Dialog[str | None]):
    """One line of input (the `/` filter)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, label: str, value: str = "") -> None:
        super().__init__()
        self.label, self.value = label, value

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt"):
            yield Label(self.label)
            yield Input(value=self.value, id="prompt-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class TrustKey(Dialog[bool]):
    """An SSH host key onetui does not know: show its fingerprint; trust it only when the
    admin says it is the host's own (never automatically)."""

    BINDINGS = [Binding("escape,n", "no", "Not now")]

    def __init__(self, host: str, key_type: str, fingerprint: str) -> None:
        super().__init__()
        self.host, self.key_type, self.fingerprint = host, key_type, fingerprint

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm") as box:
            box.border_title = "Unknown SSH host key"
            yield Label(f"{self.host} presents a key onetui does not know:")
            yield Label(f"{self.key_type} {self.fingerprint}", id="fingerprint")
            yield Label("Compare it on the host (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub)."
                        " Trust it?", classes="hint")
            with Horizontal(classes="buttons"):
                yield Button("It is the host's key: trust", id="trust", variant="warning")
                yield Button("Not now (n)", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "trust")

    def action_no(self) -> None:
        self.dismiss(False)


RequestT = TypeVar("RequestT")


class Answered(Message, bubble=False):
    """The worker's answer to a form's request: None when it was done, else why not."""

    def __init__(self, refusal: str | None) -> None:
        super().__init__()
        self.refusal = refusal


@contextlib.contextmanager
def answering(form: Form[RequestT]) -> Iterator[None]:
    """Around the write a form asked for, in the screen's worker: the form learns whether
    it was done (it closes) or refused (it says why and stays open). A failure other than
    bad input still raises, for the app to report, and the form is let go for a retry."""
    try:
        yield
    except UserError as exc:
        form.post_message(Answered(error_line(exc)))
    except ApiError as exc:
        if exc.status >= 500:  # the daemon failed, or is gone: the app reports it
            form.post_message(Answered("not done: see the notice"))
            raise
        form.post_message(Answered(failure_line(exc)))  # refused: bad input, a role
    except BaseException:
        form.post_message(Answered("not done: see the notice"))
        raise
    else:
        form.post_message(Answered(None))


class Form(Dialog[RequestT | None], Generic[RequestT]):
    """A dialog that asks for a request and stays open until it was carried out. `act`
    (the screen's worker, which wraps its write in `answering`) gets the request; the form
    closes with it only when it was done. A refusal shows in red under the fields
    (`#form-error`), with everything the admin typed still there."""

    def __init__(self, act: Callable[[Form[RequestT], RequestT], object]) -> None:
        super().__init__()
        self.act = act
        self.pending: RequestT | None = None  # handed over, no answer yet

    def send(self, request: RequestT) -> None:
        """Hand a checked request over (once: a second Enter while it runs does nothing)."""
        if self.pending is None:
            self.pending = request
            self.show_error("")
            self.act(self, request)

    # a refusal that starts with one of these (the CLI's words for the field) → the field
    # it shows under; anything else shows under the form
    REFUSALS: tuple[tuple[str, str], ...] = ()

    def on_answered(self, message: Answered) -> None:
        request, self.pending = self.pending, None
        if message.refusal is None:
            self.dismiss(request)
            return
        text, field = message.refusal, "form"
        for start, named in self.REFUSALS:
            if text.startswith(start):
                field = named
                if start.startswith("--"):  # under the field, its option name says nothing
                    text = text.removeprefix(start).lstrip(": ")
                break
        self.query_one(f"#{field}-error", Label).update(text)

    def show_error(self, message: str) -> None:
        self.query_one("#form-error", Label).update(message)

    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True)
class Instantiate:
    template: str
    count: int
    name: str | None
    hold: bool
    overrides: dict[str, str]


def _positive(value: str, kind: type, what: str) -> str:
    if not value.strip():
        return ""
    try:
        if kind(value) <= 0:
            raise ValueError
    except ValueError:
        return f"{what}: expected a positive {'whole ' if kind is int else ''}number"
    return ""


def check_form(values: dict[str, str]) -> dict[str, str]:
    """Field → message for every field that is wrong (empty: all fine). Pure, so the form's
    rules are tested without a screen."""
    errors: dict[str, str] = {}
    if not values.get("template"):
        errors["template"] = "choose a template"
    count = values.get("count", "1").strip() or "1"
    if not count.isdigit() or int(count) < 1:
        errors["count"] = "count: expected a whole number, at least 1"
    name = values.get("name", "").strip()
    if name and count.isdigit() and int(count) > 1 and not has_index(name):
        errors["name"] = f"{count} VMs need %i in the name (e.g. web-%i)"
    elif name:
        try:  # the store's own rule, on the first name the pattern makes
            check_name("VM", expand_name(name, 0))
        except UserError as exc:
            errors["name"] = str(exc)
    for field, kind, what in (("cpu", float, "CPU"), ("memory", int, "MEMORY (MB)")):
        problem = _positive(values.get(field, ""), kind, what)
        if problem:
            errors[field] = problem
    requirements = values.get("requirements", "").strip()
    if requirements:
        try:
            parse_requirements(requirements, "REQUIREMENTS")
        except TemplateError as exc:
            errors["requirements"] = f"col {exc.col}: {exc.message}"
    return errors


def overrides_from(values: dict[str, str]) -> dict[str, str]:
    out = {}
    if values.get("cpu", "").strip():
        out["CPU"] = values["cpu"].strip()
    if values.get("memory", "").strip():
        out["MEMORY"] = values["memory"].strip()
    clauses = []
    if values.get("host"):
        clauses.append(f'HOSTNAME = "{values["host"]}"')
    if values.get("requirements", "").strip():
        clauses.append(f"({values['requirements'].strip()})")
    if clauses:
        out["REQUIREMENTS"] = " & ".join(clauses)
    return out


class InstantiateForm(Form[Instantiate]):
    """Choose a stored template (with its text), name pattern, count, host or REQUIREMENTS,
    CPU/MEMORY, hold. Each field says what is wrong with it, under it; what the store
    refuses shows under the form, which stays open."""

    DEFAULT_CSS = """
    InstantiateForm #preview { color: $text-muted; border: dashed $primary 30%; height: auto;
                               max-height: 12; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "submit", "Create")]
    REFUSALS = (("no template", "template"), ("VM name", "name"))

    def __init__(self, templates: dict[str, str], hosts: list[str],
                 act: Callable[[Form[Instantiate], Instantiate], object],
                 selected: str | None = None) -> None:
        super().__init__(act)
        self.templates = templates
        self.hosts = hosts
        self.selected = selected if selected in templates else None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="form") as box:
            box.border_title = "Instantiate a template"
            yield Label("Template")
            yield Select([(n, n) for n in self.templates], id="template",
                         value=self.selected or Select.NULL, prompt="choose…")
            yield Label("", id="template-error", classes="error")
            yield Static("", id="preview", markup=False)
            for field, label, placeholder in (
                    ("name", "Name (%i = index)", "web-%i"), ("count", "Count", "1"),
                    ("requirements", "REQUIREMENTS (optional)", 'RACK = "r1"'),
                    ("cpu", "CPU (optional override)", "e.g. 0.5"),
                    ("memory", "MEMORY in MB (optional override)", "e.g. 512")):
                yield Label(label)
                yield Input(placeholder=placeholder, id=field,
                            value="1" if field == "count" else "")
                yield Label("", id=f"{field}-error", classes="error")
            yield Label("Host (optional)")
            yield Select([(h, h) for h in self.hosts], id="host", prompt="any host")
            yield Checkbox("Create on hold", id="hold")
            yield Label("", id="form-error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Create (ctrl+s)", id="create", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self._preview()
        # the first field takes the keys at once (the form is meant for the keyboard)
        self.query_one("#name" if self.selected else "#template").focus()

    def values(self) -> dict[str, str]:
        def sel(widget_id: str) -> str:
            value = self.query_one(f"#{widget_id}", Select).value
            return "" if value is Select.NULL or value is None else str(value)

        out = {f: self.query_one(f"#{f}", Input).value
               for f in ("name", "count", "requirements", "cpu", "memory")}
        return {**out, "template": sel("template"), "host": sel("host")}

    def _preview(self) -> None:
        name = self.values()["template"]
        self.query_one("#preview", Static).update(self.templates.get(name, ""))

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "template":
            self._preview()
        self._show_errors(check_form(self.values()), only=event.select.id)

    def on_input_changed(self, event: Input.Changed) -> None:
        self._show_errors(check_form(self.values()), only=event.input.id)

    def _show_errors(self, errors: dict[str, str], only: str | None = None) -> None:
        for field in ("template", "name", "count", "requirements", "cpu", "memory"):
            if only is None or field == only:
                self.query_one(f"#{field}-error", Label).update(errors.get(field, ""))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "create":
            self.action_submit()
        else:
            self.action_cancel()

    def on_input_submitted(self, _: Input.Submitted) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        values = self.values()
        errors = check_form(values)
        self._show_errors(errors)
        if errors:
            return
        self.send(Instantiate(values["template"], int(values["count"] or 1),
                              values["name"].strip() or None,
                              self.query_one("#hold", Checkbox).value,
                              overrides_from(values)))


@dataclass(frozen=True)
class AddWorkers:
    template: str
    count: int


class Ec2Prompt(Form[AddWorkers]):
    """`e`: how many EC2 workers (1) of which template (the last used); Enter accepts. What
    is wrong shows under its field; what the store refuses, under the form."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    REFUSALS = (("no template", "template"),)

    def __init__(self, templates: list[str], last: str | None,
                 act: Callable[[Form[AddWorkers], AddWorkers], object]) -> None:
        super().__init__(act)
        self.templates = templates
        self.last = last if last in templates else (templates[0] if templates else None)

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt") as box:
            box.border_title = "Add EC2 workers"
            yield Label("How many?")
            yield Input(value="1", id="count")
            yield Label("", id="count-error", classes="error")
            yield Label("Template")
            yield Select([(t, t) for t in self.templates], id="template",
                         value=self.last or Select.NULL, prompt="no EC2 template")
            yield Label("", id="template-error", classes="error")
            yield Label("", id="form-error", classes="error")
            yield Label("Enter adds them, Esc cancels", classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip() or "1"
        template = self.query_one("#template", Select).value
        count_ok = text.isdigit() and int(text) >= 1
        self.query_one("#count-error", Label).update(
            "" if count_ok else "expected a whole number, at least 1")
        chosen = template is not Select.NULL and template is not None
        self.query_one("#template-error", Label).update(
            "" if chosen else "no EC2 template: import one (onetui template import "
                              "ec2.template)")
        if count_ok and chosen:
            self.send(AddWorkers(str(template), int(text)))
