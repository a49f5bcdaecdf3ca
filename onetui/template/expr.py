"""REQUIREMENTS (boolean) and RANK (arithmetic) over host attributes, as OpenNebula's
scheduler reads them.

REQUIREMENTS: `VAR = v`, `!=`, `>`, `<`, `>=`, `<=`, `@>` (contains), `&`, `|`, `!`,
parentheses. Strings compare with shell wildcards; a missing attribute makes a comparison
false. RANK: `+ - * /`, unary minus, parentheses, numbers and variables (missing = 0).
Errors carry the file position of the expression inside its template.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, TypeVar

from onetui.template.errors import TemplateError

MAX_DEPTH = 100
_T = TypeVar("_T")
# What a compiled RANK reads a variable with: its name -> a function of the ranked object.
Lookup = Callable[[str], Callable[[Any], Any]]
_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<unterminated>"(?:[^"\\]|\\.)*)
  | (?P<var>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>@>|!=|>=|<=|[=<>&|!()+\-*/])
""", re.VERBOSE)
_COMPARE = ("=", "!=", ">", "<", ">=", "<=", "@>")


@dataclass(frozen=True)
class _Tok:
    kind: str  # num, str, var, op, end
    text: str
    start: int
    end: int


class _Parser:
    def __init__(self, text: str, source: str, line: int, col: int) -> None:
        self.text, self.source, self.line, self.col = text, source, line, col
        self.toks = self._lex()
        self.i = 0
        self.depth = 0

    def where(self, offset: int) -> tuple[int, int]:
        before = self.text[:offset]
        newlines = before.count("\n")
        if not newlines:
            return self.line, self.col + offset
        return self.line + newlines, offset - before.rfind("\n")

    def error(self, message: str, offset: int) -> TemplateError:
        line, col = self.where(offset)
        return TemplateError(message, self.source, line, col)

    def _lex(self) -> list[_Tok]:
        toks, pos = [], 0
        while pos < len(self.text):
            m = _TOKEN.match(self.text, pos)
            if m is None:
                raise self.error(f"unexpected {self.text[pos]!r}", pos)
            kind = m.lastgroup or ""
            if kind == "unterminated":
                raise self.error("unterminated string", pos)
            if kind != "ws":
                toks.append(_Tok(kind, m.group(), m.start(), m.end()))
            pos = m.end()
        toks.append(_Tok("end", "", len(self.text), len(self.text)))
        return toks

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def is_op(self, *ops: str) -> bool:
        tok = self.peek()
        return tok.kind == "op" and tok.text in ops

    def expect_end(self) -> None:
        tok = self.peek()
        if tok.kind != "end":
            raise self.error(f"unexpected {tok.text!r}", tok.start)

    def nest(self, offset: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error("expression nested too deeply", offset)


def _found(tok: _Tok) -> str:
    return "end of expression" if tok.kind == "end" else repr(tok.text)


# --- REQUIREMENTS -----------------------------------------------------------------------

@dataclass(frozen=True)
class _Cmp:
    var: str
    op: str
    value: float | str
    numeric: bool
    text: str

    def evaluate(self, attrs: Mapping[str, Any]) -> bool:
        actual = attrs.get(self.var)
        if actual is None:
            return False
        if self.op == "@>":
            items = actual if isinstance(actual, list | tuple | set) else str(actual).split(",")
            return any(_compare(item, "=", self.value, self.numeric) for item in items)
        return _compare(actual, self.op, self.value, self.numeric)

    def explain(self, attrs: Mapping[str, Any]) -> list[str]:
        return [] if self.evaluate(attrs) else [self.text]


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def _compare(actual: Any, op: str, expected: float | str, numeric: bool) -> bool:
    if isinstance(actual, str):
        actual = actual.strip()
    num = _number(actual) if numeric else None
    if numeric and num is not None:
        a, b = num, float(expected)
    elif op in ("=", "!="):
        matched = fnmatchcase(str(actual), str(expected))
        return matched if op == "=" else not matched
    else:
        return _order(op, str(actual), str(expected))
    return _order(op, a, b)


def _order(op: str, a: Any, b: Any) -> bool:
    return bool({"=": a == b, "!=": a != b, ">": a > b, "<": a < b, ">=": a >= b,
                 "<=": a <= b}[op])


@dataclass(frozen=True)
class _Not:
    inner: Any
    text: str

    def evaluate(self, attrs: Mapping[str, Any]) -> bool:
        return not self.inner.evaluate(attrs)

    def explain(self, attrs: Mapping[str, Any]) -> list[str]:
        return [] if self.evaluate(attrs) else [self.text]


@dataclass(frozen=True)
class _BoolOp:
    op: str  # & or |
    parts: tuple[Any, ...]

    def evaluate(self, attrs: Mapping[str, Any]) -> bool:
        if self.op == "&":
            return all(p.evaluate(attrs) for p in self.parts)
        return any(p.evaluate(attrs) for p in self.parts)

    def explain(self, attrs: Mapping[str, Any]) -> list[str]:
        if self.evaluate(attrs):
            return []
        return [text for p in self.parts for text in p.explain(attrs)]


class _Always:
    def evaluate(self, attrs: Mapping[str, Any]) -> bool:
        return True

    def explain(self, attrs: Mapping[str, Any]) -> list[str]:
        return []


@dataclass(frozen=True)
class Requirement:
    """A parsed REQUIREMENTS expression."""

    text: str
    root: Any

    def evaluate(self, attrs: Mapping[str, Any]) -> bool:
        return bool(self.root.evaluate(attrs))

    def explain(self, attrs: Mapping[str, Any]) -> list[str]:
        """The clauses that made it false (empty when it holds): "why not this host"."""
        return list(self.root.explain(attrs))


class _ReqParser(_Parser):
    def parse(self) -> Any:
        if self.peek().kind == "end":
            return _Always()
        node = self.or_()
        self.expect_end()
        return node

    def or_(self) -> Any:
        parts = [self.and_()]
        while self.is_op("|"):
            self.take()
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else _BoolOp("|", tuple(parts))

    def and_(self) -> Any:
        parts = [self.unary()]
        while self.is_op("&"):
            self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else _BoolOp("&", tuple(parts))

    def unary(self) -> Any:
        tok = self.peek()
        self.nest(tok.start)
        try:
            if self.is_op("!"):
                self.take()
                inner = self.unary()
                return _Not(inner, self.text[tok.start:self.toks[self.i - 1].end].strip())
            if self.is_op("("):
                self.take()
                inner = self.or_()
                if not self.is_op(")"):
                    raise self.error(f"expected ')' to close '(' at "
                                     f"{':'.join(map(str, self.where(tok.start)))}, found "
                                     f"{_found(self.peek())}", self.peek().start)
                self.take()
                return inner
            return self.comparison()
        finally:
            self.depth -= 1

    def comparison(self) -> _Cmp:
        var = self.take()
        if var.kind != "var":
            raise self.error(f"expected an attribute name, found {_found(var)}", var.start)
        op = self.take()
        if op.kind != "op" or op.text not in _COMPARE:
            raise self.error(f"expected a comparison (=, !=, >, <, @>) after {var.text}, "
                             f"found {_found(op)}", op.start)
        val = self.take()
        if val.kind == "op" and val.text == "-" and self.peek().kind == "num":
            num = self.take()
            value: float | str = -float(num.text)
            numeric, end = True, num.end
        elif val.kind == "num":
            value, numeric, end = float(val.text), True, val.end
        elif val.kind == "str":
            value, numeric, end = _unquote(val.text), False, val.end
        elif val.kind == "var":
            value, numeric, end = val.text, False, val.end
        else:
            raise self.error(f"expected a value after '{op.text}', found {_found(val)}",
                             val.start)
        return _Cmp(var.text.upper(), op.text, value, numeric,
                    self.text[var.start:end])


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def parse_requirements(text: str, source: str = "<string>", line: int = 1,
                       col: int = 1) -> Requirement:
    return Requirement(text.strip(), _ReqParser(text, source, line, col).parse())


# --- RANK -------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Num:
    value: float

    def evaluate(self, attrs: Mapping[str, Any]) -> float:
        return self.value

    def compile(self, lookup: Lookup) -> Callable[[Any], float]:
        value = self.value
        return lambda _: value

    def trend(self, rising: Set[str], falling: Set[str]) -> int | None:
        return 0


@dataclass(frozen=True)
class _Var:
    name: str

    def evaluate(self, attrs: Mapping[str, Any]) -> float:
        return _number(attrs.get(self.name)) or 0.0

    def compile(self, lookup: Lookup) -> Callable[[Any], float]:
        get = lookup(self.name)

        def var(obj: Any) -> float:
            value = get(obj)
            kind = type(value)
            if kind is float or kind is int:  # what evaluate's _number does, minus the checks
                return float(value) or 0.0
            return _number(value) or 0.0
        return var

    def trend(self, rising: Set[str], falling: Set[str]) -> int | None:
        return 1 if self.name in rising else -1 if self.name in falling else 0


@dataclass(frozen=True)
class _Neg:
    inner: Any

    def evaluate(self, attrs: Mapping[str, Any]) -> float:
        return -float(self.inner.evaluate(attrs))

    def compile(self, lookup: Lookup) -> Callable[[Any], float]:
        inner = self.inner.compile(lookup)
        return lambda obj: -inner(obj)

    def trend(self, rising: Set[str], falling: Set[str]) -> int | None:
        inner: int | None = self.inner.trend(rising, falling)
        return None if inner is None else -inner


@dataclass(frozen=True)
class _Arith:
    op: str
    left: Any
    right: Any

    def evaluate(self, attrs: Mapping[str, Any]) -> float:
        a, b = float(self.left.evaluate(attrs)), float(self.right.evaluate(attrs))
        if self.op == "+":
            return a + b
        if self.op == "-":
            return a - b
        if self.op == "*":
            return a * b
        return a / b if b else 0.0

    def compile(self, lookup: Lookup) -> Callable[[Any], float]:
        left, right = self.left.compile(lookup), self.right.compile(lookup)
        if self.op == "/":
            def divide(obj: Any) -> float:
                a, b = left(obj), right(obj)
                return a / b if b else 0.0
            return divide
        op = _ARITH[self.op]
        return lambda obj: op(left(obj), right(obj))

    def trend(self, rising: Set[str], falling: Set[str]) -> int | None:
        left: int | None = self.left.trend(rising, falling)
        right: int | None = self.right.trend(rising, falling)
        if left is None or right is None:
            return None
        if self.op in "+-":
            return _together(left, right if self.op == "+" else -right)
        if left == right == 0:
            return 0
        by = _sign(self.right)  # x * 2, x / -4 (x / 0 is 0)
        if by is not None:
            return left * by
        by = _sign(self.left) if self.op == "*" else None
        return None if by is None else right * by  # None: a factor of unknown sign


def _sign(node: Any) -> int | None:
    """The sign of a constant (a number, maybe negated), or None for anything else."""
    if isinstance(node, _Neg):
        inner = _sign(node.inner)
        return None if inner is None else -inner
    if isinstance(node, _Num):
        return (node.value > 0) - (node.value < 0)
    return None


def _together(a: int, b: int) -> int | None:
    """The trend of a sum whose terms go the ways `a` and `b`."""
    if a == 0 or a == b:
        return b
    return a if b == 0 else None


_ARITH: dict[str, Callable[[float, float], float]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul}


@dataclass(frozen=True)
class Rank:
    """A parsed RANK expression: higher is better."""

    text: str
    root: Any

    def evaluate(self, attrs: Mapping[str, Any]) -> float:
        try:
            return float(self.root.evaluate(attrs))
        except OverflowError:
            return 0.0

    def compile(self, lookup: Callable[[str], Callable[[_T], Any]]) -> Callable[[_T], float]:
        """The same value as `evaluate` from one Python function built once from the parsed
        tree (never from the text): `lookup` gives, per variable name, how to read it from
        the ranked object. The scheduler ranks a host this way thousands of times a pass
        without building a dict of its variables or walking the tree each time."""
        root = self.root.compile(lookup)

        def rank(obj: _T) -> float:
            try:
                return float(root(obj))
            except OverflowError:
                return 0.0
        return rank

    def trend(self, rising: Set[str], falling: Set[str]) -> int | None:
        """Which way the value can go when the variables in `rising` only grow and those in
        `falling` only shrink (the rest stay put): 1 up or level, -1 down or level, 0
        level, None either way. What the scheduler knows of a RANK before a placement
        changes a host."""
        trend: int | None = self.root.trend(rising, falling)
        return trend


class _RankParser(_Parser):
    def parse(self) -> Any:
        if self.peek().kind == "end":
            return _Num(0.0)
        node = self.sum()
        self.expect_end()
        return node

    def sum(self) -> Any:
        return self._left(self.product, "+", "-")

    def product(self) -> Any:
        return self._left(self.factor, "*", "/")

    def _left(self, operand: Callable[[], Any], *ops: str) -> Any:
        """`operand (op operand)*`, grouped from the left: `a - b - c` is `(a - b) - c`."""
        node = operand()
        while self.is_op(*ops):
            op = self.take().text
            node = _Arith(op, node, operand())
        return node

    def factor(self) -> Any:
        tok = self.take()
        self.nest(tok.start)
        try:
            if tok.kind == "op" and tok.text == "-":
                return _Neg(self.factor())
            if tok.kind == "num":
                return _Num(float(tok.text))
            if tok.kind == "var":
                return _Var(tok.text.upper())
            if tok.kind == "op" and tok.text == "(":
                inner = self.sum()
                if not self.is_op(")"):
                    raise self.error(f"expected ')' to close '(' at "
                                     f"{':'.join(map(str, self.where(tok.start)))}, found "
                                     f"{_found(self.peek())}", self.peek().start)
                self.take()
                return inner
            raise self.error(f"expected a number, an attribute or '(', found {_found(tok)}",
                             tok.start)
        finally:
            self.depth -= 1


def parse_rank(text: str, source: str = "<string>", line: int = 1, col: int = 1) -> Rank:
    return Rank(text.strip(), _RankParser(text, source, line, col).parse())
