"""Bad input to the build plays is refused with one line naming the variable, before any change.

The plays run against this machine with ``-i localhost, -c local`` (as a GitHub Actions job on a
runner does) in check mode, on the example project published as git repositories in a temporary
directory.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import PROJECT, PlayResult, ansible_env, load_example_publisher


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The example project as a git repository, reached by file:// URL."""
    dest = tmp_path_factory.mktemp("git")
    load_example_publisher().publish(dest)
    return f"file://{dest}/mini-mlc-llm.git"


def play(
    tmp_path: Path, playbook: str, extra: dict[str, Any], env: dict[str, str] | None = None
) -> PlayResult:
    """Run a build play on localhost in check mode with the given extra vars."""
    variables = {
        "ansible_python_interpreter": sys.executable,
        "mlc_llm_workspace_root": str(tmp_path / "ws"),
        "mlc_llm_artifacts_dir": str(tmp_path / "artifacts"),
        **extra,
    }
    cmd = ["ansible-playbook", "-i", "localhost,", "-c", "local", "--check"]
    cmd += ["-e", json.dumps(variables), f"playbooks/{playbook}"]
    proc = subprocess.run(
        cmd,
        cwd=PROJECT,
        env=ansible_env(**(env or {})),
        capture_output=True,
        text=True,
        check=False,
    )
    return PlayResult(proc.returncode, proc.stdout + proc.stderr)


def refused(result: PlayResult, *words: str) -> None:
    """The play failed in pre-flight with a message holding every word, and changed nothing."""
    assert result.rc != 0, result.output[-3000:]
    for word in words:
        assert word in result.output, result.output[-3000:]
    assert "changed=0" in result.output, result.output[-3000:]


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"mlc_llm_backends": ["cuda", "tpu"]}, ["mlc_llm_backends", "Got no match for: tpu"]),
        ({"mlc_llm_ref": "v9.9.9"}, ["mlc_llm_ref=v9.9.9 is not a branch, a tag or a commit"]),
        ({"mlc_llm_repo": "/etc"}, ["mlc_llm_repo=/etc is not a git repository"]),
        ({"mlc_llm_repo": "not a url"}, ["mlc_llm_repo=not a url is not a git URL"]),
        (
            {"mlc_llm_repo": "https://x-access-token:ghs_secret@github.com/mlc-ai/mlc-llm.git"},
            ["carries credentials in its URL"],
        ),
        ({"mlc_llm_cuda_archs": ["sm_80"], "mlc_llm_backends": ["cuda"]}, ["must hold SM numbers"]),
        ({"mlc_llm_jobs": -1}, ["mlc_llm_jobs must be >= 0"]),
    ],
    ids=["unknown-backend", "missing-ref", "not-git", "not-a-url", "token-in-url", "arch", "jobs"],
)
def test_build_refuses(tmp_path: Path, repo: str, extra: dict[str, Any], words: list[str]) -> None:
    refused(play(tmp_path, "build.yml", {"mlc_llm_repo": repo, **extra}), *words)


def test_empty_test_selection_is_refused(tmp_path: Path, repo: str) -> None:
    result = play(tmp_path, "test.yml", {"mlc_llm_repo": repo, "mlc_llm_test_paths": []})
    refused(result, "mlc_llm_test_paths is empty")


def test_wheel_without_tests_is_refused(tmp_path: Path, repo: str) -> None:
    result = play(
        tmp_path, "wheel.yml", {"mlc_llm_repo": repo, "mlc_llm_stages": ["build", "wheel"]}
    )
    refused(result, "has wheel without test: the tests gate the wheel")


def test_stray_tvm_home_is_refused(tmp_path: Path, repo: str) -> None:
    result = play(tmp_path, "build.yml", {"mlc_llm_repo": repo}, env={"TVM_HOME": "/opt/tvm"})
    refused(result, "TVM_HOME is set on localhost")
