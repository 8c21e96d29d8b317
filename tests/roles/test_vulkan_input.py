"""Bad vulkan input is refused in one line, naming the variable and the fix, before any change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run_role_locally

SHA256 = "0123456789abcdef" * 4
SDK_URL = (
    "https://sdk.lunarg.com/sdk/download/1.4.321.1/linux/vulkansdk-linux-x86_64-1.4.321.1.tar.xz"
)
# An aarch64 host stops the SDK path at the last pre-flight check, after the URL and checksum
# checks passed: the positive control for them, with no download and no package touched.
AARCH64 = {"ansible_architecture": "aarch64"}
FEDORA_40 = {
    "ansible_distribution": "Fedora",
    "ansible_distribution_major_version": "40",
    "ansible_os_family": "RedHat",
}

CASES = [
    pytest.param(
        {"vulkan_source": "lunarg"},
        None,
        "vulkan_source must be one of: distro, sdk, got: lunarg",
        id="unknown-source",
    ),
    pytest.param(
        {"vulkan_source": "sdk"},
        None,
        "vulkan_source=sdk needs vulkan_sdk_sha256",
        id="sdk-without-sha256",
    ),
    pytest.param(
        {"vulkan_source": "sdk", "vulkan_sdk_sha256": "deadbeef"},
        None,
        "vulkan_source=sdk needs vulkan_sdk_sha256",
        id="sdk-sha256-too-short",
    ),
    pytest.param(
        {
            "vulkan_source": "sdk",
            "vulkan_sdk_sha256": SHA256,
            "vulkan_sdk_url": "sdk.lunarg.com/x.tar.xz",
        },
        None,
        "vulkan_sdk_url=sdk.lunarg.com/x.tar.xz is not a URL",
        id="sdk-url-not-a-url",
    ),
    pytest.param(
        {"vulkan_software_rasterizer": "sometimes"},
        None,
        "vulkan_software_rasterizer",
        id="rasterizer-not-a-bool",
    ),
    pytest.param(
        {},
        FEDORA_40,
        "the vulkan role supports Debian and Ubuntu, not Fedora",
        id="unsupported-distribution",
    ),
]


@pytest.mark.parametrize(("role_vars", "facts", "message"), CASES)
def test_bad_input_is_refused_before_any_change(
    tmp_path: Path, role_vars: dict[str, Any], facts: dict[str, str] | None, message: str
) -> None:
    """Each mistake stops the play with one line that names the variable, and nothing changed."""
    result = run_role_locally(tmp_path, "vulkan", role_vars, facts=facts)
    assert result.rc != 0
    assert message in result.output
    assert "changed=0" in result.output
    assert "TASK [vulkan : Install" not in result.output


def test_sdk_with_checksum_and_url_passes_those_checks(tmp_path: Path) -> None:
    """A checksum and a URL are enough for the SDK path: only the architecture check is left."""
    role_vars = {"vulkan_source": "sdk", "vulkan_sdk_sha256": SHA256, "vulkan_sdk_url": SDK_URL}
    result = run_role_locally(tmp_path, "vulkan", role_vars, facts=AARCH64)
    assert result.rc != 0
    assert "needs vulkan_sdk_sha256" not in result.output
    assert "is not a URL" not in result.output
    assert (
        "vulkan_source=sdk installs LunarG's x86_64 Linux SDK, this host is aarch64"
        in result.output
    )
    assert "changed=0" in result.output
