"""What a command loads: `onetui vm list` starts without the cloud, SSH, hypervisor and
console libraries (each is imported by the command that needs it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("boto3", "botocore", "paramiko", "libvirt", "textual", "cryptography",
         "xml.etree.ElementTree")

PROBE = """
import json, sys
from onetui.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)), file=sys.stderr)
"""


def loaded(tmp_path: Path, *args: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *args],
                          capture_output=True, text=True, timeout=120,
                          env={"ONETUI_STATE": str(tmp_path / "s"), "PATH": "/usr/bin:/bin",
                               "HOME": str(tmp_path)})
    return list(json.loads(done.stderr.strip().splitlines()[-1]))


def test_importing_the_cli_loads_no_heavy_library(tmp_path: Path) -> None:
    assert loaded(tmp_path, "--version") == []


def test_vm_and_host_lists_load_no_heavy_library(tmp_path: Path) -> None:
    assert loaded(tmp_path, "vm", "list", "--json") == []
    assert loaded(tmp_path, "host", "list") == []
    assert loaded(tmp_path, "template", "list", "--csv") == []


def test_the_console_gets_textual_when_it_starts(tmp_path: Path) -> None:
    assert "textual" in loaded(tmp_path, "--theme", "nosuch")  # refused after the import
