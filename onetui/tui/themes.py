"""Themes are TOML files (Textual's Theme fields plus `variables`): those onetui ships
(onetui/data/themes) and the user's `$XDG_CONFIG_HOME/onetui/themes/`. State colours are
theme variables (`state-runn`, …), so a theme decides them, not the code."""

from __future__ import annotations

import tomllib
from pathlib import Path

from textual.theme import BUILTIN_THEMES, Theme

from onetui import config
from onetui.data import THEMES

DEFAULT = "onetui"
_FIELDS = ("primary", "secondary", "accent", "foreground", "background", "surface", "panel",
           "boost", "warning", "error", "success", "dark")


def theme_dirs() -> list[Path]:
    return [THEMES, config.config_path().parent / "themes"]


def load_themes() -> tuple[list[Theme], list[str]]:
    """Every readable theme file; problems are returned as messages, not raised."""
    themes, problems = [], []
    for folder in theme_dirs():
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
                themes.append(Theme(name=str(data.get("name", path.stem)),
                                    **{k: data[k] for k in _FIELDS if k in data},
                                    variables={str(k): str(v) for k, v in
                                               data.get("variables", {}).items()}))
            except (OSError, tomllib.TOMLDecodeError, TypeError, ValueError) as exc:
                problems.append(f"theme {path}: {exc}")
    return themes, problems


def theme_names() -> list[str]:
    """Every theme `--theme` may name: Textual's own, onetui's and the user's."""
    return sorted({*BUILTIN_THEMES, *(t.name for t in load_themes()[0])})
