"""The command line: python -m mlc_llm."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.unittest


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlc_llm", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_chat_help() -> None:
    """`mlc_llm chat -h` prints help and exits 0."""
    out = _run("chat", "-h")
    assert out.returncode == 0, out.stderr
    assert "usage: mlc_llm chat" in out.stdout


def test_chat_without_model() -> None:
    """`mlc_llm chat` without a model stops with a clear error."""
    out = _run("chat")
    assert out.returncode == 2
    assert "no model given" in out.stderr


def test_no_compile_subcommand() -> None:
    """Fail on `mlc_llm compile -h`: this build has no model compiler."""
    out = _run("compile", "-h")
    assert out.returncode != 0
    assert "invalid choice: 'compile'" in out.stderr
