"""The real grid engine of the test bed (scripts/testbed/sge.sh), reached over its sshd."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import tomli_w

from tests.conftest import ROOT

BED = Path(os.environ.get("ONETUI_TESTBED_DIR", "/var/tmp/onetui-testbed")) / "sge"
KEY = BED / "ssh" / "id_ed25519"
HOST_KEY = BED / "ssh" / "ssh_host_ed25519_key.pub"
PORT, USER = 2222, "onetui-sge"


def bed(*args: str) -> str:
    return subprocess.run(["bash", str(ROOT / "scripts/testbed/sge.sh"), *args], check=True,
                          capture_output=True, text=True).stdout


@pytest.fixture(scope="session")
def sge_bed() -> Path:
    if subprocess.run(["bash", str(ROOT / "scripts/testbed/sge.sh"), "status"]).returncode:
        pytest.skip("the SGE test bed is not running (scripts/testbed/sge.sh up)")
    return BED


@pytest.fixture
def known_hosts(tmp_path: Path) -> Path:
    """A known_hosts file that holds the test sshd's real key, as an admin's would."""
    path = tmp_path / "known_hosts"
    key_type, key, *_ = HOST_KEY.read_text().split()
    path.write_text(f"[127.0.0.1]:{PORT} {key_type} {key}\n")
    return path


@pytest.fixture
def sge_config(sge_bed: Path, known_hosts: Path, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> dict:
    cfg = {"sge": {"host": "127.0.0.1", "port": PORT, "user": USER, "key_file": str(KEY),
                   "known_hosts": [str(known_hosts)], "drain_timeout": 60,
                   "ssh_config": str(tmp_path / "no-ssh-config")}}
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(cfg))
    monkeypatch.setenv("ONETUI_CONFIG", str(path))
    return cfg
