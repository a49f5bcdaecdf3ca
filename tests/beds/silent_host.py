"""A hypervisor that hangs: a TCP listener on 127.0.0.1 that accepts every connection and
never says a word (used as `qemu+tcp://127.0.0.1:PORT/system`)."""

from __future__ import annotations

import socket
import threading


class SilentHost:
    def __init__(self) -> None:
        self._srv = socket.socket()
        self._srv.bind(("127.0.0.1", 0))
        self._srv.listen(16)
        self._srv.settimeout(0.2)
        self.port = self._srv.getsockname()[1]
        self.uri = f"qemu+tcp://127.0.0.1:{self.port}/system"
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                self._held.append(self._srv.accept()[0])
            except OSError:
                continue

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for conn in self._held:
            conn.close()
        self._srv.close()
