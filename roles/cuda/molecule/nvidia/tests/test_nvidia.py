"""Verify NVIDIA's repository path against the signed test double of that repository.

Expected values come from the double's spec (tests/fakes/repos/nvidia-cuda-debian12.yml),
from what the double reported when it started (its state.json), from converge.yml and from
the role's own variables.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

SCENARIO = Path(__file__).resolve().parents[1]
ROLE = SCENARIO.parents[1]
PROJECT = ROLE.parents[1]
ROLE_VARS: dict[str, Any] = yaml.safe_load((ROLE / "vars/main.yml").read_text())
OS_VARS: dict[str, Any] = yaml.safe_load((ROLE / "vars/Debian-12.yml").read_text())
DEFAULTS: dict[str, Any] = yaml.safe_load((ROLE / "defaults/main.yml").read_text())
SPEC: dict[str, Any] = yaml.safe_load(
    (PROJECT / "tests/fakes/repos/nvidia-cuda-debian12.yml").read_text()
)
SPEC_VERSIONS = {p["name"]: p["version"] for p in SPEC["packages"]}
CONVERGE: dict[str, Any] = yaml.safe_load((SCENARIO / "converge.yml").read_text())[0]["roles"][0][
    "vars"
]

CUDA_VERSION: str = CONVERGE["cuda_version"]
RELEASE_TAG = CUDA_VERSION.replace(".", "-")  # "12-4", as NVIDIA's package names spell it
TOOLKIT = f"cuda-toolkit-{RELEASE_TAG}"
BIN_DIR = f"/usr/local/cuda-{CUDA_VERSION}/bin"
KEYRING = "/usr/share/keyrings/cuda-archive-keyring.gpg"
SOURCES_LIST = "/etc/apt/sources.list.d/cuda-debian12-x86_64.list"


@pytest.fixture(scope="module")
def fake_repo() -> dict[str, Any]:
    """What the double reported when prepare started it."""
    state = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "fake-nvidia-repo/state.json"
    return json.loads(state.read_text())["info"]


@pytest.fixture(scope="module")
def cuda_info(host: Any) -> dict[str, Any]:
    """The facts the role recorded (ansible_local.cuda)."""
    return json.loads(host.file(DEFAULTS["cuda_facts_file"]).content_string)


def test_keyring_package_installed(host: Any) -> None:
    """cuda-keyring is installed at the version the role pins."""
    package = host.package("cuda-keyring")
    assert package.is_installed
    assert package.version == DEFAULTS["cuda_keyring_version"]


def test_keyring_is_the_repository_key(host: Any, fake_repo: dict[str, Any]) -> None:
    """The keyring on the host is the key that signs the repository, nothing else."""
    expected = hashlib.sha256(Path(fake_repo["key_path_binary"]).read_bytes()).hexdigest()
    keyring = host.file(KEYRING)
    assert keyring.sha256sum == expected
    assert keyring.user == "root"
    assert keyring.mode == 0o644


def test_keyring_download_kept_with_checksum(host: Any, fake_repo: dict[str, Any]) -> None:
    """The downloaded cuda-keyring .deb is the one the repository serves (checksum checked)."""
    deb = host.file(f"{DEFAULTS['cuda_download_dir']}/cuda-keyring_1.1-1_all.deb")
    assert deb.sha256sum == fake_repo["sha256"]["cuda-keyring"]


def test_apt_source_is_signed_by_the_keyring(host: Any, fake_repo: dict[str, Any]) -> None:
    """The one apt source of the repository trusts only the CUDA keyring."""
    line = host.file(SOURCES_LIST).content_string.strip()
    assert line == f"deb [signed-by={KEYRING}] {fake_repo['url']}/ /"
    others = host.run("grep -rl %s /etc/apt/sources.list /etc/apt/sources.list.d", fake_repo["url"])
    assert others.stdout.split() == [SOURCES_LIST]


def test_apt_trusts_the_repository(host: Any, fake_repo: dict[str, Any]) -> None:
    """apt reads the repository as signed (a trusted origin, not [trusted=yes])."""
    policy = host.check_output("apt-cache policy %s", TOOLKIT)
    assert fake_repo["url"] in policy
    assert "trusted=yes" not in host.check_output("cat %s", SOURCES_LIST)
    assert host.run("apt-get update -o APT::Update::Error-Mode=any -qq").rc == 0


def test_pinned_toolkit_installed(host: Any) -> None:
    """cuda-toolkit-X-Y is installed at the version the repository offers for cuda_version."""
    package = host.package(TOOLKIT)
    assert package.is_installed
    assert package.version == SPEC_VERSIONS[TOOLKIT]


OTHER_RELEASES = sorted(
    name for name in SPEC_VERSIONS if name != "cuda-keyring" and RELEASE_TAG not in name
)


@pytest.mark.parametrize("other", OTHER_RELEASES)
def test_other_releases_not_installed(host: Any, other: str) -> None:
    """The other release in the repository stays out: the meta package pins the release."""
    assert not host.package(other).is_installed


def test_nvcc_reports_the_release(host: Any) -> None:
    """The installed nvcc (the double's script) reports the requested release."""
    out = host.check_output("%s/nvcc --version", BIN_DIR)
    assert f"release {CUDA_VERSION}," in out


def test_login_shell_finds_nvcc(host: Any) -> None:
    """/etc/profile.d/cuda.sh puts the release's bin on PATH, once even when read twice."""
    assert host.check_output("bash -lc 'command -v nvcc'") == f"{BIN_DIR}/nvcc"
    path = host.check_output("bash -lc '. /etc/profile.d/cuda.sh; echo $PATH'")
    assert path.split(":").count(BIN_DIR) == 1
    script = host.file(ROLE_VARS["__cuda_profile_script"])
    assert script.mode == 0o644
    assert script.content_string.startswith("#")


def test_facts_recorded(cuda_info: dict[str, Any]) -> None:
    """cuda_info says what the installed nvcc says."""
    assert cuda_info["source"] == "nvidia"
    assert cuda_info["version"] == CUDA_VERSION
    nvcc_package = SPEC_VERSIONS[f"cuda-nvcc-{RELEASE_TAG}"]
    assert cuda_info["version_full"] == nvcc_package.split("-")[0]
    assert cuda_info["nvcc"] == f"{BIN_DIR}/nvcc"
    assert cuda_info["archs"] == CONVERGE["cuda_archs"]
    assert cuda_info["gcc_major"] == OS_VARS["__cuda_gcc_default_major"]
    assert cuda_info["gcc_max_major"] == DEFAULTS["cuda_gcc_max_major"][CUDA_VERSION]


@pytest.mark.parametrize("package", ["cuda-drivers", "nvidia-open", "nvidia-driver"])
def test_driver_not_installed(host: Any, package: str, cuda_info: dict[str, Any]) -> None:
    """No GPU in the container: no driver from either source, and the facts say why."""
    assert not host.package(package).is_installed
    assert cuda_info["driver"]["present"] is False
    assert "container" in cuda_info["driver"]["skipped_reason"]


def run_role(tmp_path: Path, role_vars: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """Run the role against the converged host, as converge.yml does but with other vars."""
    play = yaml.safe_load((SCENARIO / "converge.yml").read_text())
    play[0]["roles"][0]["vars"] |= role_vars
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump(play))
    return subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(playbook)],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("role_vars", "expected"),
    [
        ({"cuda_version": "12.5"}, "does not offer cuda-toolkit-12-5; it offers CUDA 12.4, 12.6"),
        (
            {"cuda_toolkit_package_version": "12.4.0-1"},
            "does not offer cuda-toolkit-12-4=12.4.0-1; it offers CUDA 12.4, 12.6 "
            "(cuda-toolkit-12-4: 12.4.1-1)",
        ),
    ],
)
def test_release_not_offered_is_refused(
    host: Any, tmp_path: Path, role_vars: dict[str, Any], expected: str
) -> None:
    """A release the repository lacks stops the role with the list of those it offers.

    The check asks apt after the repository is configured: only the repository knows what
    it offers. Nothing is installed or changed on the way.
    """
    result = run_role(tmp_path, role_vars)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert expected in output
    assert "changed=0" in output
    assert not host.package("cuda-toolkit-12-5").is_installed
