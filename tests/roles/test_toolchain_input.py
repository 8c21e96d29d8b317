"""Bad toolchain input is refused in one line, naming the variable, before any change."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import run_role_locally

CASES = [
    pytest.param(
        {"toolchain_cmake_min_version": "3.20"},
        "toolchain_cmake_min_version=3.20",
        id="cmake-pinned-below-3.24",
    ),
    pytest.param(
        {"toolchain_cmake_source": "pypi", "toolchain_cmake_pypi_version": "4.1.0"},
        "toolchain_cmake_pypi_version=4.1.0 is outside",
        id="pypi-cmake-above-range",
    ),
    pytest.param(
        {"toolchain_cmake_source": "brew"},
        "toolchain_cmake_source",
        id="unknown-cmake-source",
    ),
    pytest.param(
        {"toolchain_https_proxy": "proxy.example.com:3128"},
        "toolchain_https_proxy=proxy.example.com:3128 is not a proxy URL",
        id="proxy-not-a-url",
    ),
    pytest.param(
        {"toolchain_ca_bundle": "/nonexistent/corp-ca.pem"},
        "toolchain_ca_bundle=/nonexistent/corp-ca.pem is not a file on the controller",
        id="missing-ca-bundle",
    ),
    pytest.param(
        {"toolchain_rust_source": "rustup"},
        "toolchain_rust_source=rustup needs toolchain_rustup_sha256",
        id="rustup-without-checksum",
    ),
]


@pytest.mark.parametrize(("role_vars", "message"), CASES)
def test_bad_input_is_refused_before_any_change(
    tmp_path: Path, role_vars: dict[str, str], message: str
) -> None:
    """Each mistake stops the play with a message that names the variable."""
    result = run_role_locally(tmp_path, "toolchain", role_vars)
    assert result.rc != 0
    assert message in result.output
    assert "changed=0" in result.output


def test_unsupported_distribution_is_named(tmp_path: Path) -> None:
    """A distribution the role has no package names for is refused, not half-provisioned."""
    result = run_role_locally(
        tmp_path,
        "toolchain",
        {},
        facts={"ansible_os_family": "RedHat", "ansible_distribution": "Fedora"},
    )
    assert result.rc != 0
    assert "Fedora" in result.output
    assert "is not supported by the toolchain role" in result.output
