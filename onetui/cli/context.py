"""What every subcommand shares: the state directory and a lazily opened store."""

from __future__ import annotations

from onetui.store import Store


class Context:
    def __init__(self, state: str | None, theme: str | None = None, *,
                 init: bool = False) -> None:
        self.state = state
        self.theme = theme
        self.init = init
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store.open(self.state, init=self.init)
        return self._store
