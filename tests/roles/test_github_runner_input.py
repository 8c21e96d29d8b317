"""Bad github_runner input is refused in one line, naming the variable and the fix.

Nothing may change before the refusal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run_role_locally

VALID = {"github_repo": "mlc-ai/mlc-llm", "github_token": "not-a-real-token", "github_app_id": ""}

CASES = [
    pytest.param(
        {"github_repo": ""},
        "set exactly one of github_repo (owner/repo), github_org or",
        id="no-scope",
    ),
    pytest.param({"github_org": "mlc-ai"}, "(given: github_repo, github_org)", id="repo-and-org"),
    pytest.param(
        {"github_repo": "mlc-llm"}, "github_repo mlc-llm is not owner/repo", id="bad-repo"
    ),
    pytest.param(
        {"github_url": "http://ghe.example.com"},
        "github_api_url http://ghe.example.com/api/v3 is not https",
        id="http-api",
    ),
    pytest.param(
        {"github_token": ""}, "no GitHub credential: set github_token", id="no-credential"
    ),
    pytest.param(
        {"github_runner_count": 0}, "github_runner_count is 0: give 1 or more", id="count-0"
    ),
    pytest.param(
        {"github_runner_name": "gpu box"}, "runner name(s) gpu box are not 1-64", id="name-space"
    ),
    pytest.param({"github_runner_name": "r" * 65}, "are not 1-64 letters", id="name-too-long"),
    pytest.param(
        {"github_runner_labels": ["cuda", "has space"]},
        'github_runner_labels: "has space"',
        id="label-space",
    ),
    pytest.param(
        {"github_runner_labels": ["a,b"]}, 'github_runner_labels: "a,b"', id="label-comma"
    ),
    pytest.param(
        {"github_runner_labels": [f"l{i}" for i in range(101)]},
        "github_runner_labels: 101 labels",
        id="too-many-labels",
    ),
    pytest.param(
        {"github_runner_version": "v2.329"},
        "github_runner_version must be latest or X.Y.Z",
        id="bad-version",
    ),
    pytest.param(
        {"github_runner_sha256": "abc"},
        "github_runner_sha256 empty or 64 hex digits",
        id="bad-sha256",
    ),
    pytest.param(
        {"github_runner_user": "root"}, "github_runner_user must be a dedicated non-root", id="root"
    ),
    pytest.param(
        {"github_runner_mode": "oneshot"},
        "github_runner_mode must be one of: persistent, ephemeral, got: oneshot",
        id="bad-mode",
    ),
    pytest.param(
        {"github_runner_mirror_dir": "/nonexistent/mirror"},
        "github_runner_mirror_dir /nonexistent/mirror is not a directory on the controller",
        id="missing-mirror",
    ),
]


@pytest.mark.parametrize(("role_vars", "message"), CASES)
def test_bad_input_is_refused_before_any_change(
    tmp_path: Path, role_vars: dict[str, Any], message: str
) -> None:
    """Each mistake stops the play with one line that names the variable, and nothing changed."""
    result = run_role_locally(tmp_path, "github_runner", {**VALID, **role_vars})
    assert result.rc != 0
    assert message in result.output
    assert "changed=0" in result.output
    assert "TASK [github_runner : Install" not in result.output


def test_http_api_allowed_when_insecure_is_asked(tmp_path: Path) -> None:
    """github_api_insecure lets a test server through; only the host check is left here."""
    role_vars = {**VALID, "github_url": "http://127.0.0.1:1", "github_api_insecure": True}
    result = run_role_locally(tmp_path, "github_runner", role_vars)
    assert "is not https" not in result.output
    # This machine has no systemd as PID 1: the last pre-flight check stops it, nothing else.
    assert "the Linux runner needs systemd as PID 1" in result.output
    assert "changed=0" in result.output


def test_token_never_printed_when_refused(tmp_path: Path) -> None:
    """A refusal shows the variable names, never the credential's value."""
    result = run_role_locally(tmp_path, "github_runner", {**VALID, "github_org": "x"})
    assert result.rc != 0
    assert VALID["github_token"] not in result.output
