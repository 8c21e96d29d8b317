"""Bad input for the Windows paths is refused in one line that names the variable and the fix.

The plays pose as a Windows Server host on this Linux controller; nothing may change, and no
Windows module may be reached, before the refusal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.windows.play import run_as_windows

TOOLCHAIN_OK: dict[str, Any] = {}  # the defaults pass pre-flight

TOOLCHAIN_CASES = [
    pytest.param(
        {"windows_toolchain_vs_workloads": ["Microsoft.VisualStudio.Workload.VCToolz"]},
        {},
        "windows_toolchain_vs_workloads has Microsoft.VisualStudio.Workload.VCToolz, not a Visual "
        "Studio Build Tools workload",
        id="bogus-workload",
    ),
    pytest.param(
        {"windows_toolchain_vs_components": ["VC.Tools.x86.x64"]},
        {},
        "windows_toolchain_vs_components has VC.Tools.x86.x64, not a component id",
        id="bogus-component",
    ),
    pytest.param(
        {},
        {"ansible_distribution": "Microsoft Windows Server 2012 R2 Standard"},
        "windows_toolchain supports Microsoft Windows Server 2022, Microsoft Windows Server 2025 "
        "on x64 (this host's ansible_distribution is Microsoft Windows Server 2012 R2 Standard",
        id="unsupported-windows",
    ),
    pytest.param(
        {},
        {"ansible_os_family": "Debian", "ansible_distribution": "Debian"},
        "this host's ansible_distribution is Debian",
        id="not-windows",
    ),
    pytest.param(
        {"windows_toolchain_cmake_version": "4.1.0"},
        {},
        "windows_toolchain_cmake_version=4.1.0 is outside [3.24, 4.0)",
        id="cmake-out-of-range",
    ),
    pytest.param(
        {"windows_toolchain_vulkan_sha256": ""},
        {},
        "windows_toolchain_vulkan_sha256 must be the SHA-256 LunarG publishes",
        id="vulkan-without-checksum",
    ),
    pytest.param(
        {"windows_toolchain_python_source": "miniconda", "windows_toolchain_miniconda_sha256": "x"},
        {},
        "windows_toolchain_miniconda_sha256 must be the SHA-256 published for "
        "Miniconda3-py312_24.9.2-0-Windows-x86_64.exe",
        id="miniconda-without-checksum",
    ),
    pytest.param(
        {"windows_toolchain_python_source": "msys2"},
        {},
        "windows_toolchain_python_source must be one of: chocolatey, miniconda, got: msys2",
        id="bad-python-source",
    ),
    pytest.param(
        {"windows_toolchain_defender_paths": ["build"]},
        {},
        "windows_toolchain_defender_paths has build: give absolute paths",
        id="relative-defender-path",
    ),
    pytest.param(
        {"windows_toolchain_http_proxy": "proxy:3128"},
        {},
        "windows_toolchain_http_proxy=proxy:3128 is not a proxy URL",
        id="bad-proxy",
    ),
    pytest.param(
        {"windows_toolchain_extra_packages": [{"name": "7zip"}]},
        {},
        "missing required arguments: version found in windows_toolchain_extra_packages",
        id="unpinned-extra-package",
    ),
]


def _refused_before_any_change(output: str) -> None:
    assert "changed=0" in output
    assert "win_" not in output.split("fatal:")[0].split("TASK [")[-1]


@pytest.mark.parametrize(("role_vars", "facts", "message"), TOOLCHAIN_CASES)
def test_windows_toolchain_refuses_bad_input(
    tmp_path: Path, role_vars: dict[str, Any], facts: dict[str, Any], message: str
) -> None:
    """Each mistake stops windows_toolchain in its pre-flight with one line naming it."""
    result = run_as_windows(tmp_path, "windows_toolchain", {**TOOLCHAIN_OK, **role_vars}, facts)
    assert result.rc != 0
    assert message in result.output
    assert "changed=0" in result.output
    assert "TASK [windows_toolchain : Enable Win32 long paths" not in result.output


def test_windows_toolchain_good_input_passes_preflight(tmp_path: Path) -> None:
    """Valid input gets past the pre-flight to the first Windows module (which cannot run here)."""
    result = run_as_windows(tmp_path, "windows_toolchain", TOOLCHAIN_OK)
    assert "TASK [windows_toolchain : Enable Win32 long paths (LongPathsEnabled)]" in result.output
    assert "Assert the role's inputs are usable" in result.output
    assert "windows_toolchain supports" not in result.output


RUNNER_OK: dict[str, Any] = {
    "github_repo": "mlc-ai/mlc-llm",
    "github_token": "not-a-real-token",
    "github_app_id": "",
    "github_runner_windows_password": "not-a-real-password",
}

RUNNER_CASES = [
    pytest.param(
        {"github_runner_windows_password": ""},
        "github_runner_windows_password is empty: the runner service account github-runner "
        "needs a password",
        id="no-service-password",
    ),
    pytest.param(
        {"github_runner_mode": "ephemeral"},
        "github_runner_mode=ephemeral is not served on Windows hosts yet",
        id="ephemeral-on-windows",
    ),
    pytest.param(
        {"github_runner_windows_user": "Administrator"},
        "github_runner_windows_user must be a dedicated local account, not 'Administrator'",
        id="admin-account",
    ),
    pytest.param(
        {"github_runner_windows_dir": "actions-runner"},
        "github_runner_windows_dir actions-runner is not an absolute path",
        id="relative-dir",
    ),
    pytest.param(
        {"github_org": "mlc-ai"},
        "(given: github_repo, github_org)",
        id="shared-checks-still-apply",
    ),
]


@pytest.mark.parametrize(("role_vars", "message"), RUNNER_CASES)
def test_github_runner_on_windows_refuses_bad_input(
    tmp_path: Path, role_vars: dict[str, Any], message: str
) -> None:
    """The Windows runner's own checks, and the shared ones, stop it before any change."""
    result = run_as_windows(tmp_path, "github_runner", {**RUNNER_OK, **role_vars})
    assert result.rc != 0
    assert message in result.output
    assert "changed=0" in result.output
    assert "TASK [github_runner : Create the runner service account]" not in result.output


def test_github_runner_on_windows_hides_the_password(tmp_path: Path) -> None:
    """Neither the token nor the service password shows, refused or not."""
    for extra in ({"github_org": "x"}, {}):
        result = run_as_windows(tmp_path, "github_runner", {**RUNNER_OK, **extra})
        assert RUNNER_OK["github_runner_windows_password"] not in result.output
        assert RUNNER_OK["github_token"] not in result.output


def test_github_runner_on_windows_skips_the_linux_host_checks(tmp_path: Path) -> None:
    """A Windows host is not told it needs systemd: it reaches the Windows tasks."""
    result = run_as_windows(tmp_path, "github_runner", RUNNER_OK)
    assert "needs systemd" not in result.output
    assert "TASK [github_runner : Create the runner service account]" in result.output


MLC_OK: dict[str, Any] = {"mlc_llm_repo": "https://github.com/mlc-ai/mlc-llm.git"}

MLC_CASES = [
    pytest.param(
        {"mlc_llm_backends": ["rocm"]},
        "mlc_llm_backends=['rocm'] has rocm, which Windows builds do not have",
        id="rocm-on-windows",
    ),
    pytest.param(
        {"mlc_llm_stages": ["build", "compile"]},
        "mlc_llm_stages has compile: the smoke compile runs on Linux build hosts only",
        id="compile-on-windows",
    ),
    pytest.param(
        {"mlc_llm_stages": ["build", "wheel"]},
        "has wheel without test: the tests gate the wheel",
        id="wheel-without-test",
    ),
    pytest.param(
        {"mlc_llm_windows_workspace_root": "/srv/mlcops"},
        "mlc_llm_windows_workspace_root=/srv/mlcops is not an absolute path such as C:",
        id="posix-workspace",
    ),
    pytest.param(
        {"mlc_llm_windows_vs_arch": "x86"},
        "mlc_llm_windows_vs_arch must be one of: x64, amd64, got: x86",
        id="bad-vs-arch",
    ),
]


@pytest.mark.parametrize(("role_vars", "message"), MLC_CASES)
def test_mlc_llm_on_windows_refuses_bad_input(
    tmp_path: Path, role_vars: dict[str, Any], message: str
) -> None:
    """The Windows build stops in its pre-flight, before reaching the host."""
    result = run_as_windows(tmp_path, "mlc_llm", {**MLC_OK, **role_vars})
    assert result.rc != 0
    assert message in result.output
    assert "changed=0" in result.output
    assert "Read the tool versions and resolve the ref" not in result.output
