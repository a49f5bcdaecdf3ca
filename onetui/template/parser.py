"""Reading OpenNebula templates: `NAME = value`, quoted values, vector attributes.

A hand-written scanner rather than regular expressions, because every error must say
where it is and what was expected, and a vector may span many lines.
"""

from __future__ import annotations

import os

from onetui.template.errors import TemplateError
from onetui.template.model import Attribute, Template, Value, Vector

BLANKS = " \t\r\f\v"
NAME_START = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
NAME_CHARS = NAME_START | set("0123456789.-")


def _show(ch: str) -> str:
    return "end of file" if ch == "" else ("end of line" if ch == "\n" else repr(ch))


class _Scanner:
    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        self.pos = 0
        self.line = 1
        self.col = 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def advance(self) -> str:
        ch = self.peek()
        self.pos += 1
        if ch == "\n":
            self.line += 1
            self.col = 1
        else:
            self.col += 1
        return ch

    def error(self, message: str, at: tuple[int, int] | None = None) -> TemplateError:
        line, col = at or (self.line, self.col)
        return TemplateError(message, self.source, line, col)

    def here(self) -> tuple[int, int]:
        return self.line, self.col

    def skip_blanks(self) -> None:
        while self.peek() and self.peek() in BLANKS:
            self.advance()

    def skip_comment(self) -> None:
        if self.peek() == "#":
            while self.peek() not in ("", "\n"):
                self.advance()

    def skip_space(self) -> None:
        """Blanks, newlines and comments (between attributes, and inside vectors)."""
        while True:
            ch = self.peek()
            if ch and (ch in BLANKS or ch == "\n"):
                self.advance()
            elif ch == "#":
                self.skip_comment()
            else:
                return

    def name(self, what: str) -> str:
        if self.peek() not in NAME_START or self.peek() == "":
            raise self.error(f"expected {what}, found {_show(self.peek())}")
        start = self.pos
        while self.peek() and self.peek() in NAME_CHARS:
            self.advance()
        return self.text[start:self.pos].upper()

    def quoted(self) -> str:
        """A "double" (with \\" and \\\\ escapes) or 'single' quoted value; may span lines."""
        start = self.here()
        quote = self.advance()
        out: list[str] = []
        while True:
            ch = self.advance()
            if ch == "":
                raise self.error(f"unterminated string started at {start[0]}:{start[1]}",
                                 start)
            if ch == quote:
                return "".join(out)
            if ch == "\\" and quote == '"' and self.peek() in ('"', "\\"):
                out.append(self.advance())
            else:
                out.append(ch)

    def bare(self, stops: str) -> str:
        start = self.pos
        while self.peek() and self.peek() not in stops:
            self.advance()
        return self.text[start:self.pos].strip(BLANKS)


def _vector(sc: _Scanner, name: str, opened: tuple[int, int]) -> Vector:
    close = f"expected ']' to close the vector attribute {name} opened at {opened[0]}:{opened[1]}"
    sc.advance()  # '['
    items: list[tuple[str, str]] = []
    while True:
        sc.skip_space()
        if sc.peek() == "]":
            sc.advance()
            return Vector(tuple(items))
        if sc.peek() == "" or sc.peek() not in NAME_START:
            found = _show(sc.peek())
            raise sc.error(close if sc.peek() in ("", "[") else f"{close}, found {found}")
        key = sc.name(f"a key in the vector attribute {name}")
        sc.skip_space()
        if sc.peek() != "=":
            raise sc.error(f"expected '=' after {key} in the vector attribute {name}, "
                           f"found {_show(sc.peek())}")
        sc.advance()
        sc.skip_blanks()
        if sc.peek() in ('"', "'"):
            value = sc.quoted()
        elif sc.peek() == "[":
            raise sc.error(f"{close} (vector attributes do not nest)")
        else:
            value = sc.bare(",]#\n[ \t")  # a bare value in a vector is one word
            if sc.peek() == "[":
                raise sc.error(f"{close}, found {_show(sc.peek())}")
        items.append((key, value))
        sc.skip_space()
        if sc.peek() == ",":
            sc.advance()
        elif sc.peek() != "]":
            found = _show(sc.peek())
            raise sc.error(close if sc.peek() == "" else
                           f"expected ',' or ']' in the vector attribute {name} opened at "
                           f"{opened[0]}:{opened[1]}, found {found}")


def _value(sc: _Scanner, name: str, opened: tuple[int, int]) -> tuple[Value, tuple[int, int]]:
    sc.skip_blanks()
    if sc.peek() == "[":
        return _vector(sc, name, opened), sc.here()
    if sc.peek() in ('"', "'"):
        where = (sc.line, sc.col + 1)
        value = sc.quoted()
        sc.skip_blanks()
        sc.skip_comment()
        if sc.peek() not in ("", "\n"):
            raise sc.error(f"unexpected {_show(sc.peek())} after the value of {name}")
        return value, where
    where = sc.here()
    return sc.bare("#\n"), where


def parse(text: str, source: str = "<string>") -> Template:
    """Parse template text; any problem is a TemplateError at source:line:col."""
    sc = _Scanner(text, source)
    attributes: list[Attribute] = []
    while True:
        sc.skip_space()
        if sc.peek() == "":
            return Template(attributes, source)
        line, col = sc.here()
        name = sc.name("an attribute name")
        sc.skip_blanks()
        if sc.peek() != "=":
            raise sc.error(f"expected '=' after {name}, found {_show(sc.peek())}")
        sc.advance()
        value, (vline, vcol) = _value(sc, name, (line, col))
        if isinstance(value, Vector):
            sc.skip_blanks()
            sc.skip_comment()
            if sc.peek() not in ("", "\n"):
                raise sc.error(f"unexpected {_show(sc.peek())} after the vector attribute "
                               f"{name}")
        attributes.append(Attribute(name, value, line, col, vline, vcol))


MAX_BYTES = 256 * 1024  # a template file (the seed's are under 1 KiB)


def load(path: str | os.PathLike[str]) -> Template:
    """Read and parse a template file; unreadable files are TemplateErrors too."""
    source = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise TemplateError("no such file", source, 0, 0) from None
    except OSError as exc:
        raise TemplateError(f"cannot read: {(exc.strerror or str(exc)).lower()}", source,
                            0, 0) from None
    if len(raw) > MAX_BYTES:
        raise TemplateError(f"larger than {MAX_BYTES // 1024} KiB; a template is at most that",
                            source, 0, 0)
    raw = raw.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 BOM, as some editors write it
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[:exc.start]
        line = before.count(b"\n") + 1
        col = len(before) - (before.rfind(b"\n") + 1) + 1
        raise TemplateError("not UTF-8 text", source, line, col) from None
    return parse(text, source)
