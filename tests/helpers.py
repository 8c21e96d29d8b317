"""Shared helpers of the test suite: running plays and roles the way users do."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PROJECT = Path(__file__).resolve().parents[1]
EXAMPLES = PROJECT / "examples"


@dataclass
class PlayResult:
    """What ansible-playbook returned."""

    rc: int
    output: str


def ansible_env(**extra: str) -> dict[str, str]:
    """Return the environment for ansible-playbook run from the project."""
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"),
        ANSIBLE_ROLES_PATH=str(PROJECT / "roles"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
    )
    env.update(extra)
    return env


def run_role_locally(
    tmp_path: Path,
    role: str,
    role_vars: dict[str, Any],
    *,
    facts: dict[str, Any] | None = None,
    check: bool = True,
    gather_facts: bool = True,
) -> PlayResult:
    """Run one role against localhost in check mode, for input-validation tests.

    Bad input must be refused by the argument spec or the pre-flight before any task can
    change anything; check mode is a second guard so that a regression cannot change this
    machine. ``facts`` are set before the role runs, to pose as another distribution.
    """
    play = [
        {
            "name": f"Exercise role {role}",
            "hosts": "all",
            "gather_facts": gather_facts,
            "pre_tasks": [
                {
                    "name": "Pose as another host",
                    "ansible.builtin.set_fact": {**facts, "cacheable": True},
                }
            ]
            if facts
            else [],
            "roles": [{"role": role, **role_vars}],
        }
    ]
    playbook = tmp_path / f"play-{role}.yml"
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    cmd = [
        "ansible-playbook",
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        f"ansible_python_interpreter={sys.executable}",
        str(playbook),
    ]
    if check:
        cmd.append("--check")
    proc = subprocess.run(
        cmd, cwd=PROJECT, env=ansible_env(), capture_output=True, text=True, check=False
    )
    return PlayResult(proc.returncode, proc.stdout + proc.stderr)


def dedent(text: str) -> str:
    """Dedent a YAML snippet written inline in a test."""
    return textwrap.dedent(text).lstrip()


def load_example_publisher() -> Any:
    """Import examples/publish.py, which builds and serves the example git repositories."""
    spec = importlib.util.spec_from_file_location("mlcops_example_publish", EXAMPLES / "publish.py")
    assert spec and spec.loader
    module = sys.modules.get(spec.name)
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return module


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
