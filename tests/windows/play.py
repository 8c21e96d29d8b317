"""Run a role's Windows path on this Linux controller, posing as a Windows host.

Windows modules cannot run here, so these plays only reach the argument spec and the
pre-flight: bad input must be refused there, before the first ``win_*`` module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.helpers import PlayResult, run_role_locally

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
    result = run_role_locally(
        tmp_path, role, role_vars, facts={**WINDOWS_2022, **(facts or {})}, gather_facts=False
    )
    return PlayResult(result.rc, " ".join(result.output.split()))
