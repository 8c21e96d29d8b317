"""Run a role's Windows path on this Linux controller, posing as a Windows host.

Windows modules cannot run here, so these plays only reach the argument spec and the
pre-flight: bad input must be refused there, before the first ``win_*`` module.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.helpers import PROJECT, PlayResult, ansible_env

WINDOWS_2022 = {
    "ansible_os_family": "Windows",
    "ansible_distribution": "Microsoft Windows Server 2022 Datacenter",
    "ansible_architecture": "64-bit",
    "ansible_env": {"TEMP": "C:\\Windows\\Temp"},
    "ansible_processor_vcpus": 8,
    "ansible_memtotal_mb": 32768,
    "ansible_user_dir": "C:\\Users\\mlcops-admin",
}


def run_as_windows(
    tmp_path: Path, role: str, role_vars: dict[str, Any], facts: dict[str, Any] | None = None
) -> PlayResult:
    """Run ``role`` against localhost in check mode with Windows facts, no fact gathering.

    Returns:
        The exit code and the output, whitespace folded so that wrapped messages match.
    """
    play = [
        {
            "name": f"Exercise the Windows path of {role}",
            "hosts": "all",
            "gather_facts": False,
            "pre_tasks": [
                {
                    "name": "Pose as a Windows Server host",
                    "ansible.builtin.set_fact": {
                        **WINDOWS_2022,
                        **(facts or {}),
                        "cacheable": True,
                    },
                }
            ],
            "roles": [{"role": role, **role_vars}],
        }
    ]
    playbook = tmp_path / f"play-windows-{role}.yml"
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    cmd = [
        "ansible-playbook",
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        f"ansible_python_interpreter={sys.executable}",
        "--check",
        str(playbook),
    ]
    proc = subprocess.run(
        cmd, cwd=PROJECT, env=ansible_env(), capture_output=True, text=True, check=False
    )
    return PlayResult(proc.returncode, " ".join((proc.stdout + proc.stderr).split()))
