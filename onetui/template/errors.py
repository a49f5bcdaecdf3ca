"""The one error the template language raises: it always says where and what was expected."""

from __future__ import annotations


class TemplateError(Exception):
    """A problem in a template (or a REQUIREMENTS/RANK expression), at `source:line:col`."""

    def __init__(self, message: str, source: str = "<string>", line: int = 1,
                 col: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.source = source
        self.line = line
        self.col = col

    def __str__(self) -> str:
        return f"{self.source}:{self.line}:{self.col}: {self.message}"
