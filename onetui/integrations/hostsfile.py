"""Keeping a marked block of /etc/hosts (or any such file) in step, touching nothing else.

The file is rewritten through a temporary file in the same directory and a rename, so a
reader sees the old file or the new one, never half of one; its mode is kept.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from onetui.errors import UserError


def markers(name: str) -> tuple[str, str]:
    return f"# BEGIN onetui {name}", f"# END onetui {name}"


def replace_block(text: str, name: str, lines: list[str]) -> str:
    """`text` with the block named `name` holding `lines`; everything else byte for byte.
    A file without the block gets it appended."""
    begin, end = markers(name)
    block = "".join(f"{line}\n" for line in [begin, *lines, end])
    start = text.find(begin + "\n")
    if start != -1 and (start == 0 or text[start - 1] == "\n"):
        stop = text.find(end, start)
        if stop == -1:
            raise UserError(f"the block '{begin}' has no '{end}' line")
        after = stop + len(end)
        if text[after:after + 1] == "\n":
            after += 1
        return text[:start] + block + text[after:]
    if text and not text.endswith("\n"):
        text += "\n"
    return text + block


def write_block(path: Path, name: str, lines: list[str]) -> None:
    try:
        old = path.read_bytes().decode("utf-8") if path.exists() else ""
        mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read: {exc}") from None
    new = replace_block(old, name, lines)
    if new == old:
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(new)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UserError(f"{path}: cannot write: {exc.strerror}") from None
