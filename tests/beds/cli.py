"""Run the real `onetui` command in a subprocess: real exit codes, real stdout/stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def onetui(*args: str, state: Path | None = None, check: bool = True,
           timeout: float = 120, **kw: Any) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    if state is not None:
        env["ONETUI_STATE"] = str(state)
    proc = subprocess.run([sys.executable, "-m", "onetui", *args], capture_output=True,
                          text=True, env=env, timeout=timeout, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"onetui {' '.join(args)} exited {proc.returncode}:\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def onetui_json(*args: str, state: Path | None = None) -> Any:
    return json.loads(onetui(*args, "--json", state=state).stdout)
