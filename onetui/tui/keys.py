"""The line of keys at the bottom of the console's full screens.

Textual's Footer builds its keys again after every change of the screen's bindings, and
they change several times while a screen starts (its panes mount, the focus lands, the
bindings settle) without a key shown changing; each rebuild mounts a dozen widgets and
restyles each twice. `Keys` rebuilds only when what it would show differs from what it
shows."""

from __future__ import annotations

from typing import Any

from textual.widgets import Footer


class Keys(Footer):
    """Textual's Footer, rebuilt only when the keys it shows (or their state) change."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._shown: tuple[object, ...] | None = None  # what the last build showed

    def _wanted(self) -> tuple[object, ...]:
        """What a build would show now: the shown bindings, whether each is enabled and
        its tooltip, the palette's key, and the footer's own switches."""
        palette = self.app.COMMAND_PALETTE_BINDING
        return (self.compact, self.show_command_palette, self._bindings_ready,
                tuple((key, binding, enabled, tooltip) for key, (_node, binding, enabled, tooltip)
                      in self.screen.active_bindings.items()
                      if binding.show or key == palette))

    async def recompose(self) -> None:
        if not self.is_attached:
            return
        wanted = self._wanted()
        if wanted == self._shown:
            return
        self._shown = wanted
        await super().recompose()
