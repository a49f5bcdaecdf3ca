"""Shared fixtures: every test gets its own state and config directories; the test beds'
fixtures come from tests/beds/, and a test that needs a bed is marked for it (`qemu`, `sge`,
`nginx`) by the fixtures it uses, so `make test-fast` can leave it out."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from onetui.store import Store

ROOT = Path(__file__).resolve().parent.parent

pytest_plugins = ["tests.beds.virt", "tests.beds.node", "tests.beds.sge", "tests.beds.nginx",
                  "tests.beds.users"]

# fixture → the marker of the test bed it needs
_BEDS = {"qemu": "qemu", "remote_node": "qemu", "sge_bed": "sge", "nginx": "nginx"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture, marker in _BEDS.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(marker)


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Never touch the real ~/.local/share/onetui or ~/.config/onetui from a test, nor
    the daemon's socket in /run/onetui (a test's socket is in a short /tmp directory of
    its own: a Unix socket's path has at most 107 bytes)."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.delenv("ONETUI_STATE", raising=False)
    monkeypatch.delenv("ONETUI_CONFIG", raising=False)
    sockets = tempfile.mkdtemp(prefix="onetui-t")
    monkeypatch.setenv("ONETUI_SOCKET", f"{sockets}/onetui.sock")
    monkeypatch.setenv("XDG_RUNTIME_DIR", sockets)
    yield
    shutil.rmtree(sockets, ignore_errors=True)


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def store(state_dir: Path):
    with Store.open(state_dir) as s:
        yield s


def env_with_state(state_dir: Path) -> dict[str, str]:
    return {**os.environ, "ONETUI_STATE": str(state_dir)}


# --- a real EC2 endpoint: moto's server on 127.0.0.1, reached through boto3 as AWS is ----

AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="session")
def moto_server():
    from moto.server import ThreadedMotoServer

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def moto(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The endpoint, emptied for this test, with dummy credentials in the environment."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset",
                                                  method="POST"), timeout=10).read()
    for key, value in AWS_ENV.items():
        monkeypatch.setenv(key, value)
    return moto_server
