"""Verify the rocm role's vendor path against the double of AMD's repositories.

Expected values come from the doubles' specs (repos/*.yml), the scenario's converge.yml
and the role's vars, so that the test follows them when versions move.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

SCENARIO = Path(__file__).resolve().parents[1]
ROLE = SCENARIO.parents[1]
CONVERGE_VARS = yaml.safe_load((SCENARIO / "converge.yml").read_text())[0]["vars"]
ROLE_VARS = yaml.safe_load((ROLE / "vars/main.yml").read_text())
ROCM_SPEC = yaml.safe_load((SCENARIO / "repos/rocm.yml").read_text())
AMDGPU_SPEC = yaml.safe_load((SCENARIO / "repos/amdgpu.yml").read_text())
VERSIONS = {p["name"]: str(p["version"]) for p in ROCM_SPEC["packages"] + AMDGPU_SPEC["packages"]}
ROCM_VERSION = CONVERGE_VARS["rocm_version"]
CODENAME = ROLE_VARS["__rocm_amd_codenames"]["Debian-12"]
KEYRING = ROLE_VARS["__rocm_keyring"]
PIN_FILE = ROLE_VARS["__rocm_pin_file"]
USERS = [*CONVERGE_VARS["rocm_users"], CONVERGE_VARS["rocm_runner_user"]]
GROUPS = ROLE_VARS["__rocm_device_groups"]


@pytest.fixture(scope="module")
def repo() -> dict:
    """Where prepare.yml served the doubles (server URL, key fingerprint)."""
    state = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "amd_repo.json"
    return json.loads(state.read_text())


def _rocm_fact(host) -> dict:
    return json.loads(host.file("/etc/ansible/facts.d/rocm.fact").content_string)


def test_keyring_is_the_dearmored_repository_key(host, repo):
    """apt trusts exactly the key that signs the repository, as a binary keyring apt can read."""
    keyring = host.file(KEYRING)
    assert keyring.is_file
    assert keyring.user == "root"
    assert keyring.mode == 0o644
    assert not keyring.content.startswith(b"-----BEGIN"), "the keyring is still armored"
    show = host.run(f"gpg --batch --with-colons --show-keys {KEYRING}")
    assert show.rc == 0, show.stderr
    fingerprints = [
        line.split(":")[9] for line in show.stdout.splitlines() if line.startswith("fpr:")
    ]
    assert fingerprints[0] == repo["fingerprint"]


@pytest.mark.parametrize(
    ("list_file", "path"),
    [
        ("/etc/apt/sources.list.d/rocm.list", f"rocm/apt/{ROCM_VERSION}"),
        ("/etc/apt/sources.list.d/amdgpu.list", f"amdgpu/{ROCM_VERSION}/ubuntu"),
    ],
)
def test_repository_list_is_signed_by_the_keyring(host, repo, list_file, path):
    """Each list trusts only the keyring (signed-by), amd64 only, with AMD's Ubuntu suite."""
    lines = [
        line
        for line in host.file(list_file).content_string.splitlines()
        if line and not line.startswith("#")
    ]
    assert lines == [
        f"deb [arch=amd64 signed-by={KEYRING}] {repo['server_url']}/{path} {CODENAME} main"
    ]


def test_pin_file_prefers_amd(host):
    """AMD's origin is pinned at 600, above the distribution's 500."""
    content = host.file(PIN_FILE).content_string
    assert "Package: *" in content
    assert f"Pin: release o={ROCM_SPEC['origin']}" in content
    assert "Pin-Priority: 600" in content


@pytest.mark.parametrize("package", ["rocm", "rocm-hip-sdk", "rocm-core", "hipcc", "rocminfo"])
def test_amd_package_installed_at_repository_version(host, package):
    """rocm and what it pulls in come from AMD's repository at its pinned version."""
    pkg = host.package(package)
    assert pkg.is_installed
    assert pkg.version == VERSIONS[package]


def test_pin_beats_the_distribution(host):
    """Debian's hipcc (5.2.3-8) sorts above AMD's (1.0.0.60103...): only the pin makes AMD's win."""
    policy = host.run("apt-cache policy hipcc").stdout
    assert "5.2.3" in policy, "Debian's hipcc is not visible, so this check proves nothing"
    assert f"Installed: {VERSIONS['hipcc']}" in policy
    assert f" 600 {ROCM_SPEC['origin']}" in policy or " 600 http://127.0.0.1" in policy


def test_hipcc_runs_from_opt_rocm(host):
    """hipcc answers from /opt/rocm (rocm-core's alternative) with the release's HIP version."""
    cmd = host.run("/opt/rocm/bin/hipcc --version")
    assert cmd.rc == 0, cmd.stderr
    assert f"HIP version: {ROCM_VERSION.rsplit('.', 1)[0]}." in cmd.stdout


def test_no_driver_on_a_gpu_less_host(host):
    """amdgpu-dkms is in the repository (the check can fail) but stays off a host without a GPU."""
    policy = host.run("apt-cache policy amdgpu-dkms").stdout
    assert VERSIONS["amdgpu-dkms"].split(":", 1)[-1] in policy, policy
    assert not host.package("amdgpu-dkms").is_installed


@pytest.mark.parametrize("user", USERS)
@pytest.mark.parametrize("group", GROUPS)
def test_user_in_device_group(host, user, group):
    """Build and runner users need render and video to open /dev/kfd and /dev/dri."""
    assert group in host.user(user).groups


def test_rocm_info_fact(host):
    """rocm_info reports AMD's versions, no GPU agent, and that this hipcc compiles nothing."""
    info = _rocm_fact(host)
    assert info["source"] == "amd"
    assert info["version"] == ROCM_VERSION
    assert info["bin_dir"] == "/opt/rocm/bin"
    assert info["hip_version"].startswith(ROCM_VERSION.rsplit(".", 1)[0] + ".")
    assert info["hipcc_version"].startswith("AMD clang version 17")
    assert info["rocminfo_present"] is True
    assert info["gpu_agents"] == []
    assert info["gpu_agents_error"] == "ROCk module is NOT loaded, possibly no GPU devices"
    # The double compiles nothing: every target is reported unsupported, with its reason.
    assert info["gpu_targets_supported"] == []
    assert set(info["gpu_targets_unsupported"]) == set(info["gpu_targets_requested"])
    reasons = set(info["gpu_targets_unsupported"].values())
    assert reasons == {"hipcc (test double of ROCm 6.1.3): error: this double compiles nothing"}
    assert info["driver_wanted"] is False
    assert info["driver_installed"] is False
