"""Templates as OpenNebula keeps them: an ordered list of attributes, names upper-case,
values kept exactly as written (unquoted). A name may repeat (two DISKs), order matters."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


def _collect(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """OpenNebula's JSON convention: a name given more than once maps to a list of its
    values in order; a name given once maps to its value."""
    counts: dict[str, int] = {}
    for name, _ in pairs:
        counts[name] = counts.get(name, 0) + 1
    out: dict[str, Any] = {}
    for name, value in pairs:
        if counts[name] > 1:
            out.setdefault(name, []).append(value)
        else:
            out[name] = value
    return out


@dataclass(frozen=True)
class Vector:
    """A vector attribute `NAME = [K = V, …]`: ordered (KEY, value) pairs."""

    items: tuple[tuple[str, str], ...] = ()

    def get(self, key: str, default: str | None = None) -> str | None:
        key = key.upper()
        return next((v for k, v in self.items if k == key), default)

    def get_all(self, key: str) -> list[str]:
        key = key.upper()
        return [v for k, v in self.items if k == key]

    def keys(self) -> list[str]:
        return list(dict.fromkeys(k for k, _ in self.items))

    def to_dict(self) -> dict[str, Any]:
        return _collect(list(self.items))


Value = str | Vector


@dataclass
class Attribute:
    name: str
    value: Value
    line: int = field(default=0, compare=False)
    col: int = field(default=0, compare=False)
    value_line: int = field(default=0, compare=False)
    value_col: int = field(default=0, compare=False)


class Template:
    """An ordered list of attributes read from `source` (a file name, for messages)."""

    def __init__(self, attributes: list[Attribute] | None = None,
                 source: str = "<string>") -> None:
        self.attributes: list[Attribute] = list(attributes or [])
        self.source = source

    def __iter__(self) -> Iterator[Attribute]:
        return iter(self.attributes)

    def __len__(self) -> int:
        return len(self.attributes)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Template):
            return NotImplemented
        return self.pairs() == other.pairs()

    def __repr__(self) -> str:
        return f"Template({self.pairs()!r}, source={self.source!r})"

    def pairs(self) -> list[tuple[str, Value]]:
        return [(a.name, a.value) for a in self.attributes]

    def attribute(self, name: str) -> Attribute | None:
        name = name.upper()
        return next((a for a in self.attributes if a.name == name), None)

    def get(self, name: str, default: Value | None = None) -> Value | None:
        attr = self.attribute(name)
        return attr.value if attr else default

    def get_all(self, name: str) -> list[Value]:
        name = name.upper()
        return [a.value for a in self.attributes if a.name == name]

    def names(self) -> list[str]:
        return list(dict.fromkeys(a.name for a in self.attributes))

    def add(self, name: str, value: Value) -> None:
        self.attributes.append(Attribute(name.upper(), value))

    def set(self, name: str, value: Value) -> None:
        """One attribute of that name, in the place of the first (or appended)."""
        name = name.upper()
        out: list[Attribute] = []
        placed = False
        for attr in self.attributes:
            if attr.name != name:
                out.append(attr)
            elif not placed:
                out.append(Attribute(name, value, attr.line, attr.col))
                placed = True
        if not placed:
            out.append(Attribute(name, value))
        self.attributes = out

    def remove(self, name: str) -> None:
        name = name.upper()
        self.attributes = [a for a in self.attributes if a.name != name]

    def copy(self) -> Template:
        return Template([Attribute(a.name, a.value, a.line, a.col, a.value_line, a.value_col)
                         for a in self.attributes], self.source)

    def to_json_obj(self) -> dict[str, Any]:
        return _collect([(a.name, a.value.to_dict() if isinstance(a.value, Vector) else a.value)
                         for a in self.attributes])
