"""The one error the template language raises: it always says where and what was expected."""

from __future__ import annotations

from onetui.errors import UserError


class TemplateError(UserError):
    """A problem in a template (or a REQUIREMENTS/RANK expression), at `source:line:col`:
    the user's input, so everything that handles a UserError handles it."""

    def __init__(self, message: str, source: str = "<string>", line: int = 1,
                 col: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.source = source
        self.line = line
        self.col = col

    def __str__(self) -> str:
        if not self.line:  # about the file as a whole (missing, too large): no position
            return f"{self.source}: {self.message}"
        return f"{self.source}:{self.line}:{self.col}: {self.message}"
