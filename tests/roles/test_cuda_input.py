"""Bad cuda input is refused in one line, naming the variable and the fix, before any change.

A release that NVIDIA's repository does not offer can only be told by that repository: that
case is covered against the signed test double in roles/cuda/molecule/nvidia
(test_release_not_offered_is_refused). Everything else is decided here, in check mode.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import PROJECT, run_role_locally

ROLE = PROJECT / "roles/cuda"
DEFAULTS: dict[str, Any] = yaml.safe_load((ROLE / "defaults/main.yml").read_text())


def host(distribution: str, version: str, release: str, family: str = "Debian") -> dict[str, str]:
    """Facts that make localhost pose as another distribution."""
    return {
        "ansible_distribution": distribution,
        "ansible_distribution_major_version": version.split(".")[0],
        "ansible_distribution_version": version,
        "ansible_distribution_release": release,
        "ansible_os_family": family,
    }


DEBIAN_12 = host("Debian", "12.7", "bookworm")
UBUNTU_2204 = host("Ubuntu", "22.04", "jammy")
UBUNTU_2404 = host("Ubuntu", "24.04", "noble")

CASES = [
    pytest.param(
        {"cuda_source": "conda"},
        None,
        "cuda_source must be one of: nvidia, distro, got: conda",
        id="unknown-source",
    ),
    pytest.param(
        {"cuda_driver_install": True},
        None,
        "cuda_driver_install must be one of: auto, always, never, got: True",
        id="driver-install-not-a-mode",
    ),
    pytest.param(
        {"cuda_source": "distro", "cuda_version": "12.4"},
        DEBIAN_12,
        "cuda_version=12.4 with cuda_source=distro: Debian 12 ships CUDA 11.8: "
        'set cuda_version: "11.8", or cuda_source: nvidia for 12.4.',
        id="distro-debian12-not-12.4",
    ),
    pytest.param(
        {"cuda_source": "distro", "cuda_version": "11.8"},
        UBUNTU_2204,
        "cuda_version=11.8 with cuda_source=distro: Ubuntu 22 ships CUDA 11.5",
        id="distro-jammy-not-11.8",
    ),
    pytest.param(
        {"cuda_version": "12.7"},
        DEBIAN_12,
        "cuda_version=12.7 is not in cuda_supported_archs and cuda_gcc_max_major",
        id="release-unknown-to-the-role",
    ),
    pytest.param(
        {"cuda_version": "12"},
        DEBIAN_12,
        'cuda_version=12 is not "major.minor"',
        id="version-without-minor",
    ),
    pytest.param(
        {"cuda_source": "distro", "cuda_version": "11.8", "cuda_archs": ["80", "100", "120"]},
        DEBIAN_12,
        "cuda_archs: CUDA 11.8 cannot compile for sm_100, sm_120",
        id="arch-beyond-11.8",
    ),
    pytest.param(
        {"cuda_version": "13.0", "cuda_archs": ["70", "90"]},
        DEBIAN_12,
        "cuda_archs: CUDA 13.0 cannot compile for sm_70",
        id="arch-dropped-by-13.0",
    ),
    pytest.param(
        {"cuda_archs": ["sm_80"]},
        DEBIAN_12,
        "cuda_archs=sm_80 is not a list of architectures as CMake writes them",
        id="arch-spelled-sm_80",
    ),
    pytest.param(
        {"cuda_repo_url": "ftp://mirror.example.com/cuda/repos/debian12/x86_64"},
        DEBIAN_12,
        "cuda_repo_url=ftp://mirror.example.com/cuda/repos/debian12/x86_64 is not an http(s) URL",
        id="repo-url-ftp",
    ),
    pytest.param(
        {"cuda_repo_url": "developer.download.nvidia.com/compute/cuda/repos/debian12/x86_64"},
        DEBIAN_12,
        "cuda_repo_url=developer.download.nvidia.com/compute/cuda/repos/debian12/x86_64 "
        "is not an http(s) URL",
        id="repo-url-without-scheme",
    ),
    pytest.param(
        {"cuda_keyring_checksum": "d93190d50b98ad4699ff40f4f7af50f1"},
        DEBIAN_12,
        'cuda_keyring_checksum=d93190d50b98ad4699ff40f4f7af50f1 is not "<algorithm>:<hex digest>"',
        id="checksum-without-algorithm",
    ),
    pytest.param(
        {"cuda_version": "12.2"},
        UBUNTU_2404,
        "cuda_version=12.2 accepts gcc up to 12, and Ubuntu 24's gcc is 13",
        id="gcc-too-new-for-12.2",
    ),
    pytest.param(
        {"cuda_driver_packages": ["cuda-drivers; rm -rf /"]},
        DEBIAN_12,
        "cuda_driver_packages=cuda-drivers; rm -rf / holds something that is not a Debian package",
        id="driver-package-not-a-name",
    ),
    pytest.param(
        {},
        host("Debian", "11.9", "bullseye"),
        "Debian 11.9 is not supported by the cuda role (Debian 12, Ubuntu 22.04, Ubuntu 24.04)",
        id="debian-11",
    ),
    pytest.param(
        {},
        host("Fedora", "40", "", family="RedHat"),
        "Fedora 40 is not supported by the cuda role",
        id="fedora",
    ),
]


@pytest.mark.parametrize(("role_vars", "facts", "message"), CASES)
def test_bad_input_is_refused_before_any_change(
    tmp_path: Path, role_vars: dict[str, Any], facts: dict[str, str] | None, message: str
) -> None:
    """Each mistake stops the play with one message that names the variable and the fix."""
    result = run_role_locally(tmp_path, "cuda", role_vars, facts=facts)
    output = " ".join(result.output.split())
    assert result.rc != 0
    assert message in output
    assert "changed=0" in output
    assert "Pre-flight |" in output or "Validating arguments" in output


@pytest.mark.parametrize(
    ("role_vars", "facts"),
    [
        pytest.param(
            {"cuda_source": "distro", "cuda_version": "11.8", "cuda_archs": ["80", "90"]},
            DEBIAN_12,
            id="distro-11.8-on-debian12",
        ),
        pytest.param(
            {"cuda_source": "distro", "cuda_version": "12.0", "cuda_archs": ["89", "90"]},
            UBUNTU_2404,
            id="distro-12.0-on-noble",
        ),
    ],
)
def test_right_input_gets_past_the_preflight(
    tmp_path: Path, role_vars: dict[str, Any], facts: dict[str, str]
) -> None:
    """Right input passes the pre-flight, so the cases above fail for the reason they name.

    Past the pre-flight the role may still stop in check mode on this machine (nothing is
    installed here), but not in a pre-flight task or the argument spec.
    """
    result = run_role_locally(tmp_path, "cuda", role_vars, facts=facts)
    lines = result.output.splitlines()
    preflight = [line for line in lines if line.startswith("TASK [cuda : Pre-flight |")]
    assert len(preflight) >= 8, result.output[-3000:]
    failed_in = [lines[i - 1] for i, line in enumerate(lines) if line.startswith("fatal:")]
    failed_in += [
        lines[i - 2] for i, line in enumerate(lines) if line.startswith("fatal:") and i >= 2
    ]
    assert not any("Pre-flight |" in line or "Validating" in line for line in failed_in), (
        result.output[-3000:]
    )


def test_version_maps_cover_the_same_releases() -> None:
    """Every release in one compatibility map is in the other: the pre-flight needs both."""
    assert set(DEFAULTS["cuda_supported_archs"]) == set(DEFAULTS["cuda_gcc_max_major"])


def test_default_archs_are_supported_by_the_default_release() -> None:
    """The defaults pass their own pre-flight."""
    supported = DEFAULTS["cuda_supported_archs"][DEFAULTS["cuda_version"]]
    assert set(DEFAULTS["cuda_archs"]) <= set(supported)


@pytest.mark.parametrize("vars_file", sorted((ROLE / "vars").glob("*-*.yml")), ids=lambda p: p.stem)
def test_distro_release_is_in_the_maps(vars_file: Path) -> None:
    """The release each supported distribution ships is one the maps know."""
    os_vars = yaml.safe_load(vars_file.read_text())
    assert os_vars["__cuda_distro_version"] in DEFAULTS["cuda_supported_archs"]
    assert os_vars["__cuda_gcc_default_major"] > 0


def test_argument_spec_defaults_equal_role_defaults() -> None:
    """The spec's defaults document defaults/main.yml: they must not drift apart."""
    spec = yaml.safe_load((ROLE / "meta/argument_specs.yml").read_text())
    options = spec["argument_specs"]["main"]["options"]
    assert set(options) == set(DEFAULTS)
    assert {k: v.get("default") for k, v in options.items()} == DEFAULTS
