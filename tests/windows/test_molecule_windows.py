"""molecule/windows: converge, idempotence and verify on a real Windows Server 2022 host.

There is no Windows host on the Linux CI machines; the scenario runs where one is given
(``MLCOPS_WINRM_HOST``, ``MLCOPS_WINRM_USER``, ``MLCOPS_WINRM_PASSWORD``: an administrator
reached over WinRM), e.g. in the workflow job on ``windows-latest``, and is skipped otherwise.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.helpers import PROJECT, ansible_env

REQUIRED = ("MLCOPS_WINRM_HOST", "MLCOPS_WINRM_USER", "MLCOPS_WINRM_PASSWORD")


@pytest.mark.slow
def test_windows_toolchain_scenario() -> None:
    """windows_toolchain converges a Windows host, changes nothing the second time, verifies."""
    missing = [name for name in REQUIRED if not os.environ.get(name)]
    if missing:
        pytest.skip(
            f"molecule/windows needs a real Windows Server 2022 host: set {', '.join(missing)} "
            "(an administrator reached over WinRM)"
        )
    env = ansible_env()
    env.pop("ANSIBLE_CONFIG", None)  # molecule writes its own ansible.cfg per scenario
    env.pop("ANSIBLE_STDOUT_CALLBACK", None)
    proc = subprocess.run(
        ["molecule", "test", "-s", "windows"],
        cwd=PROJECT / "roles" / "windows_toolchain",
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        log = (proc.stdout + proc.stderr).splitlines()
        pytest.fail("molecule test -s windows failed:\n" + "\n".join(log[-120:]), pytrace=False)
