"""Where onetui keeps its state and configuration, and reading/writing the config file.

State (the SQLite store) lives in ``$XDG_DATA_HOME/onetui`` unless ``--state DIR`` or
``ONETUI_STATE`` says otherwise; configuration in ``$XDG_CONFIG_HOME/onetui/config.toml``
(``ONETUI_CONFIG`` overrides the file). Both are resolved at call time, not import time,
so tests and the demo can point them elsewhere through the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from onetui.errors import UserError

APP = "onetui"
STORE_FILE = "onetui.db"


def state_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The directory that holds the store: --state, then ONETUI_STATE, then XDG data home."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("ONETUI_STATE")
    if env:
        return Path(env).expanduser()
    import platformdirs  # imported when used: most runs name the state (or config) directory

    return Path(platformdirs.user_data_dir(APP, appauthor=False))


def store_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    return state_dir(explicit) / STORE_FILE


def config_path() -> Path:
    env = os.environ.get("ONETUI_CONFIG")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir(APP, appauthor=False)) / "config.toml"


def load_config(path: Path | None = None) -> dict[str, Any]:
    """The parsed config file, or {} when there is none. A broken file is a UserError."""
    import tomllib  # the config file is read by the console and a few commands, not all

    path = path or config_path()
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: {exc}") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from None


def save_config(data: dict[str, Any], path: Path | None = None) -> None:
    """Write the config atomically (temp file + rename), mode 0600: it may name key files."""
    import tomli_w

    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        tomli_w.dump(data, fh)
    os.replace(tmp, path)
