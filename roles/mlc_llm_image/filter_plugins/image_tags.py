"""Filters of the mlc_llm_image role: image tags from a git ref, as docker/metadata-action does.

* ``ref | mlc_llm_image_tags(kind, revision)``: the tags to push.
  A release tag ``v1.2.3`` gives ``v1.2.3``, ``latest`` and ``sha-<7>``; a pre-release
  ``v1.2.3-rc.1`` gives no ``latest``; a branch gives its sanitized name (``feature/X`` ->
  ``feature-x``) and ``sha-<7>``; a bare commit gives ``sha-<7>``.
* ``tag | mlc_llm_image_semver``: ``{"valid", "version", "prerelease"}`` of a ``vX.Y.Z[-PRE]`` tag.
* ``ref | mlc_llm_image_branch_tag``: a branch name made a valid image tag.

Errors are ``AnsibleFilterError`` with one line that names the variable and the fix.
"""

from __future__ import annotations

import re
from typing import Any

from ansible.errors import AnsibleFilterError

# Semantic Versioning 2.0.0, with the leading v of git tags.
SEMVER = re.compile(
    r"^v(?P<version>(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*))"
    r"(?:-(?P<pre>(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)"
    r"(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
# An image tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} (the distribution spec).
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
REVISION = re.compile(r"^[0-9a-f]{7,64}$")


def semver(tag: str) -> dict[str, Any]:
    """Parse a release tag ``vX.Y.Z[-PRERELEASE][+BUILD]``.

    Args:
        tag: The git tag.

    Returns:
        ``valid``, ``version`` (without the v and the build part) and ``prerelease`` (bool).

    """
    match = SEMVER.match(str(tag))
    if not match:
        return {"valid": False, "version": "", "prerelease": False}
    version = match.group("version") + (f"-{match.group('pre')}" if match.group("pre") else "")
    return {"valid": True, "version": version, "prerelease": bool(match.group("pre"))}


def branch_tag(ref: str) -> str:
    """Turn a branch name into an image tag as docker/metadata-action does.

    Lower case, every character outside ``[a-z0-9_.-]`` (``/`` included) becomes ``-``, no
    leading ``.`` or ``-``, at most 128 characters.
    """
    name = re.sub(r"^refs/heads/", "", str(ref)).lower()
    name = re.sub(r"[^a-z0-9_.-]", "-", name).lstrip(".-")[:128]
    if not name:
        raise AnsibleFilterError(f"branch {ref!r} gives an empty image tag: name another ref")
    return name


def image_tags(ref: str, kind: str, revision: str, latest: bool = True) -> list[str]:
    """Return the tags to push for a git ref.

    Args:
        ref: The branch, tag or commit (``mlc_llm_ref``).
        kind: ``tag``, ``branch`` or ``commit``.
        revision: The commit the ref points to (hex, at least 7 digits).
        latest: Add ``latest`` to a release (non pre-release) tag.

    Raises:
        AnsibleFilterError: A tag that is not ``vX.Y.Z[-PRE]``, a bad revision or kind.

    """
    revision = str(revision).lower()
    if not REVISION.match(revision):
        raise AnsibleFilterError(
            f"revision {revision!r} is not a commit id (hex): check mlc_llm_image_revision"
        )
    sha = f"sha-{revision[:7]}"
    if kind == "tag":
        parsed = semver(ref)
        if not parsed["valid"]:
            raise AnsibleFilterError(
                f"mlc_llm_ref {ref!r} is a tag but not a release tag vX.Y.Z[-PRERELEASE] "
                "(e.g. v0.20.0, v0.20.0-rc.1): tag the release so, or build a branch"
            )
        tag = str(ref).split("+", 1)[0]  # build metadata is not valid in an image tag
        return [tag, *(["latest"] if latest and not parsed["prerelease"] else []), sha]
    if kind == "branch":
        return [branch_tag(ref), sha]
    if kind == "commit":
        return [sha]
    raise AnsibleFilterError(f"ref kind {kind!r}: expected tag, branch or commit")


class FilterModule:
    """The role's filters."""

    def filters(self) -> dict[str, Any]:
        """Map filter names to functions."""
        return {
            "mlc_llm_image_tags": image_tags,
            "mlc_llm_image_semver": semver,
            "mlc_llm_image_branch_tag": branch_tag,
        }
