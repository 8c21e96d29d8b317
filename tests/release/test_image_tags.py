"""Image tags from git refs, as docker/metadata-action makes them (roles/mlc_llm_image filters)."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest
from ansible.errors import AnsibleFilterError

from tests.helpers import PROJECT

SHA = "1dc9b89d6c6dc0ac97b597704e81591840154b04"


def _plugin() -> ModuleType:
    path = PROJECT / "roles/mlc_llm_image/filter_plugins/image_tags.py"
    spec = importlib.util.spec_from_file_location("mlc_llm_image_tags", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tags = _plugin()


@pytest.mark.parametrize(
    ("ref", "kind", "expected"),
    [
        ("v1.2.3", "tag", ["v1.2.3", "latest", "sha-1dc9b89"]),
        ("v1.2.3-rc.1", "tag", ["v1.2.3-rc.1", "sha-1dc9b89"]),
        ("v0.20.0+build.5", "tag", ["v0.20.0", "latest", "sha-1dc9b89"]),
        ("main", "branch", ["main", "sha-1dc9b89"]),
        ("feature/Vulkan_Fix", "branch", ["feature-vulkan_fix", "sha-1dc9b89"]),
        ("refs/heads/release/v1.x", "branch", ["release-v1.x", "sha-1dc9b89"]),
        (SHA, "commit", ["sha-1dc9b89"]),
    ],
)
def test_tags(ref: str, kind: str, expected: list[str]) -> None:
    assert tags.image_tags(ref, kind, SHA) == expected


def test_latest_can_be_turned_off() -> None:
    assert tags.image_tags("v1.2.3", "tag", SHA, latest=False) == ["v1.2.3", "sha-1dc9b89"]


@pytest.mark.parametrize(
    "tag", ["1.2.3", "v1.2", "v01.2.3", "release-1", "v1.2.3-", "v1.2.3-rc..1"]
)
def test_a_non_semver_release_tag_is_refused(tag: str) -> None:
    assert not tags.semver(tag)["valid"]
    with pytest.raises(AnsibleFilterError, match=r"not a release tag vX\.Y\.Z\[-PRERELEASE\]"):
        tags.image_tags(tag, "tag", SHA)


def test_semver_parts() -> None:
    assert tags.semver("v0.20.0-rc.1") == {
        "valid": True,
        "version": "0.20.0-rc.1",
        "prerelease": True,
    }
    assert tags.semver("v0.20.0") == {"valid": True, "version": "0.20.0", "prerelease": False}


def test_bad_revision_kind_and_branch() -> None:
    with pytest.raises(AnsibleFilterError, match="not a commit id"):
        tags.image_tags("main", "branch", "HEAD")
    with pytest.raises(AnsibleFilterError, match="expected tag, branch or commit"):
        tags.image_tags("main", "remote", SHA)
    with pytest.raises(AnsibleFilterError, match="empty image tag"):
        tags.branch_tag("---")
    assert len(tags.branch_tag("x" * 300)) == 128
