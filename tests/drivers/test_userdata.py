"""The EC2 bootstrap of one launch: each worker finds its own line by its launch index."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from onetui.drivers.base import DriverError
from onetui.drivers.userdata import LIMIT, UserDataTooLarge, Worker, render

WORKERS = [Worker(11, "sge-0", "node01", "10.8.0.11"), Worker(12, "sge-1", "node02", "10.8.0.12"),
           Worker(13, "sge-2")]  # no network: its VM name, no VPN address
VARS = {"vpn_server": "vpn.example.org", "nfs_server": "10.0.0.2", "sge_master": "master01"}


def bash_n(script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "userdata.sh"
    path.write_text(script)
    return subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, check=False)


def test_every_worker_has_its_line_by_launch_index() -> None:
    lines = render(WORKERS).splitlines()
    assert "  0) VM_ID=11 NAME=node01 VPN_IP=10.8.0.11 ;;" in lines
    assert "  1) VM_ID=12 NAME=node02 VPN_IP=10.8.0.12 ;;" in lines
    assert "  2) VM_ID=13 NAME=sge-2 VPN_IP= ;;" in lines


def test_each_instance_takes_its_own_identity_when_run(tmp_path: Path) -> None:
    template = tmp_path / "mine.sh"
    template.write_text('IDX=$1\ncase "$IDX" in\n@@entries\nesac\n'
                        'echo "$VM_ID|$NAME|$VPN_IP|@@sge_master|@@@@"\n')
    script = tmp_path / "out.sh"
    script.write_text(render(WORKERS, {"sge_master": "master01"}, str(template)))
    seen = [subprocess.run(["sh", str(script), str(i)], capture_output=True, text=True,
                           check=True).stdout for i in range(3)]
    assert seen == ["11|node01|10.8.0.11|master01|@@\n", "12|node02|10.8.0.12|master01|@@\n",
                    "13|sge-2||master01|@@\n"]


def test_userdata_vars_reach_the_commands_that_use_them() -> None:
    script = render(WORKERS, VARS)
    assert "@@" not in script
    assert 'sed -i "s/^remote .*/remote vpn.example.org 1194/"' in script
    assert "mount -t nfs 10.0.0.2:/home /home" in script  # the export and mount defaults
    assert 'echo "master01" > /var/lib/gridengine/default/common/act_qmaster' in script


def test_without_vars_each_step_is_skipped_by_an_empty_test() -> None:
    script = render(WORKERS)
    assert "@@" not in script
    for guard in ('[ -n "" ] && command -v openvpn', 'if [ -n "" ]; then'):
        assert guard in script


@pytest.mark.parametrize("workers,variables", [(WORKERS, VARS), (WORKERS, None), ([], None)])
def test_the_rendered_script_is_valid_shell(tmp_path: Path, workers: list[Worker],
                                            variables: dict[str, str] | None) -> None:
    script = render(workers, variables)
    assert script.startswith("#!/bin/sh\n")
    checked = bash_n(script, tmp_path)
    assert checked.returncode == 0, checked.stderr


def test_too_many_workers_for_one_launch_is_refused() -> None:
    many = [Worker(i, f"sge-{i}", f"node{i:04d}", f"10.8.{i // 250}.{i % 250 + 1}")
            for i in range(1000)]
    with pytest.raises(UserDataTooLarge, match=f"1000 worker.*EC2 allows {LIMIT}"):
        render(many)
    assert len(render(many[:100]).encode()) <= LIMIT


def test_the_limit_counts_bytes_not_characters(tmp_path: Path) -> None:
    template = tmp_path / "wide.sh"
    template.write_text("# " + "é" * (LIMIT // 2 + 10) + "\n@@entries\n", encoding="utf-8")
    with pytest.raises(UserDataTooLarge):
        render(WORKERS, template_path=str(template))


def test_a_broken_or_missing_custom_template_is_a_driver_error(tmp_path: Path) -> None:
    template = tmp_path / "bad.sh"
    template.write_text("echo @@no_such_value\n")
    with pytest.raises(DriverError, match="unknown or bad placeholder"):
        render(WORKERS, template_path=str(template))
    with pytest.raises(DriverError, match=r"userdata template .*missing\.sh"):
        render(WORKERS, template_path=str(tmp_path / "missing.sh"))
