"""Bad rocm input is refused in one line, naming the variable and the fix, before any change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run_role_locally

DEBIAN_12 = {
    "ansible_distribution": "Debian",
    "ansible_distribution_major_version": "12",
    "ansible_distribution_version": "12.7",
    "ansible_distribution_release": "bookworm",
    "ansible_os_family": "Debian",
}
FEDORA_40 = {
    "ansible_distribution": "Fedora",
    "ansible_distribution_major_version": "40",
    "ansible_distribution_version": "40",
    "ansible_distribution_release": "",
    "ansible_os_family": "RedHat",
}
UBUNTU_2204 = {
    "ansible_distribution": "Ubuntu",
    "ansible_distribution_major_version": "22",
    "ansible_distribution_version": "22.04",
    "ansible_distribution_release": "jammy",
    "ansible_os_family": "Debian",
}

CASES = [
    pytest.param(
        {"rocm_source": "rocky"},
        None,
        "rocm_source must be one of: amd, distro, got: rocky",
        id="unknown-source",
    ),
    pytest.param(
        {"rocm_source": "amd"},
        DEBIAN_12,
        "rocm_source=amd: AMD does not support Debian 12.7 with ROCm 6.2",
        id="amd-on-debian-12",
    ),
    pytest.param(
        {"rocm_source": "amd", "rocm_version": "6.1.3"},
        FEDORA_40,
        "rocm_source=amd: AMD does not support Fedora 40 with ROCm 6.1",
        id="amd-on-fedora",
    ),
    pytest.param(
        {"rocm_source": "amd", "rocm_version": "7.0.1"},
        UBUNTU_2204,
        "no entry for 7.0 in rocm_amd_support_matrix",
        id="amd-series-not-in-matrix",
    ),
    pytest.param(
        {"rocm_source": "distro", "rocm_version": "6.2.4"},
        DEBIAN_12,
        "rocm_version=6.2.4 is not what Debian 12 ships for rocm_source=distro (5.2.3): "
        'set rocm_version: "5.2.3"',
        id="distro-version-not-shipped",
    ),
    pytest.param(
        {"rocm_source": "distro", "rocm_version": "5.2.1"},
        DEBIAN_12,
        "rocm_version=5.2.1 is not what Debian 12 ships",
        id="distro-patch-version-not-shipped",
    ),
    pytest.param(
        {"rocm_source": "distro", "rocm_version": "5.2.3"},
        FEDORA_40,
        "the role knows the ROCm packages of Debian 12, Debian 13, not Fedora 40",
        id="distro-on-fedora",
    ),
    pytest.param(
        {"rocm_gpu_targets": ["gfx90a", "sm_80"]},
        None,
        "rocm_gpu_targets=gfx90a,sm_80 holds no target or one that is not an offload arch (sm_80)",
        id="target-not-gfx",
    ),
    pytest.param(
        {"rocm_gpu_targets": ["GFX90A"]},
        None,
        "is not an offload arch (GFX90A)",
        id="target-upper-case",
    ),
    pytest.param(
        {"rocm_gpu_targets": ["gfx90g"]},
        None,
        "is not an offload arch (gfx90g)",
        id="target-not-hex",
    ),
    pytest.param(
        {"rocm_gpu_targets": []},
        None,
        "rocm_gpu_targets= holds no target",
        id="no-target",
    ),
    pytest.param(
        {"rocm_version": "6.2-latest"},
        None,
        "rocm_version=6.2-latest is not a ROCm release number",
        id="version-not-a-number",
    ),
    pytest.param(
        {"rocm_driver_install": "sometimes"},
        None,
        "rocm_driver_install must be one of",
        id="driver-switch-unknown",
    ),
    pytest.param(
        {"rocm_source": "amd", "rocm_driver_install": True},
        {**UBUNTU_2204, "ansible_kernel": "6.99.0-42-generic"},
        "amdgpu-dkms of ROCm 6.2 is not built for kernel 6.99.0-42-generic",
        id="dkms-kernel-unsupported",
    ),
    pytest.param(
        {"rocm_source": "distro", "rocm_version": "5.2.3", "rocm_users": ["rocm-ghost-user"]},
        DEBIAN_12,
        "rocm_users/rocm_runner_user name rocm-ghost-user, absent on this host",
        id="user-absent",
    ),
]


@pytest.mark.parametrize(("role_vars", "facts", "message"), CASES)
def test_bad_input_is_refused_before_any_change(
    tmp_path: Path, role_vars: dict[str, Any], facts: dict[str, str] | None, message: str
) -> None:
    """Each mistake stops the play with one line that names the variable, and nothing changed."""
    result = run_role_locally(tmp_path, "rocm", role_vars, facts=facts)
    assert result.rc != 0
    assert message in result.output
    assert "changed=0" in result.output
    assert "TASK [rocm : Install" not in result.output


def _past_preflight(tmp_path: Path, role_vars: dict[str, Any], facts: dict[str, str]) -> str:
    """Run the amd path in check mode, the key on local disk (no network); return the output."""
    key = tmp_path / "rocm.gpg.key"
    key.write_text("-----BEGIN PGP PUBLIC KEY BLOCK-----\n-----END PGP PUBLIC KEY BLOCK-----\n")
    role_vars = {
        "rocm_source": "amd",
        "rocm_driver_install": False,
        "rocm_amd_key_url": key.as_uri(),
        **role_vars,
    }
    output = run_role_locally(tmp_path, "rocm", role_vars, facts=facts).output
    return " ".join(output.split())


def test_override_lets_amd_go_on_unsupported_distribution(tmp_path: Path) -> None:
    """rocm_allow_unsupported_distribution turns the refusal into a warning (as in molecule/amd)."""
    output = _past_preflight(tmp_path, {"rocm_allow_unsupported_distribution": True}, DEBIAN_12)
    assert "rocm_source=amd: AMD does not support" not in output
    assert "rocm_allow_unsupported_distribution=true: installing ROCm 6.2.4 from AMD" in output
    assert "jammy repository on Debian 12.7, which AMD does not support" in output
    assert "TASK [rocm : Install the packages that fetch and read AMD's signing key]" in output


def test_supported_distribution_passes_the_preflight(tmp_path: Path) -> None:
    """The support check is no blanket refusal: Ubuntu 22.04 with ROCm 6.2 passes, no warning."""
    output = _past_preflight(tmp_path, {}, UBUNTU_2204)
    assert "rocm_source=amd: AMD does not support" not in output
    assert "rocm_allow_unsupported_distribution=true" not in output
    assert "TASK [rocm : Install the packages that fetch and read AMD's signing key]" in output
