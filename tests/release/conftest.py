"""Fixtures of the release tests: a real registry for GHCR, the fake GitHub, the served example.

Secrets are canaries: the GitHub token and the registry password are unique values that must
never show up in anything a run writes (searched by ``test_release.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.github_api import FakeGitHub
from tests.helpers import PROJECT, ansible_env, free_port, load_example_publisher
from tests.release.registry import Registry

GITHUB_REPO = "mlcops-test/mini-mlc-llm"
REGISTRY_USER = "mlcops"
CARGO_BIN = Path.home() / ".cargo/bin"


@dataclass(frozen=True)
class Canaries:
    """The planted secrets."""

    github_token: str
    registry_password: str

    def all(self) -> list[str]:
        """Both values."""
        return [self.github_token, self.registry_password]


@pytest.fixture(scope="session")
def canaries() -> Canaries:
    return Canaries(
        github_token=f"mlcops-canary-ghtoken-{uuid.uuid4().hex}",
        registry_password=f"mlcops-canary-regpass-{uuid.uuid4().hex}",
    )


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, canaries: Canaries) -> Iterator[Registry]:
    """docker-registry on 127.0.0.1 with TLS (test CA) and htpasswd auth; the engine trusts it."""
    if not shutil.which("docker-registry") or not shutil.which("htpasswd"):
        pytest.skip("needs docker-registry and htpasswd (make engine installs them)")
    reg = Registry(tmp_path_factory.mktemp("registry"), REGISTRY_USER, canaries.registry_password)
    with reg:
        yield reg
    images = subprocess.run(
        ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}", f"{reg.host}/*/*"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    if images:
        subprocess.run(["docker", "rmi", "-f", *images], capture_output=True, check=False)


@pytest.fixture(scope="module")
def github(canaries: Canaries) -> Iterator[FakeGitHub]:
    """The fake GitHub (test double) accepting the canary token only."""
    with FakeGitHub(tokens=(canaries.github_token,)) as fake:
        yield fake


@dataclass
class Example:
    """The example project served over git://, with a release tag on the failing branch."""

    git_dir: Path
    url: str
    info: dict[str, Any]
    failing_tag: str = "v0.2.0"


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Example]:
    publisher = load_example_publisher()
    git_dir = tmp_path_factory.mktemp("git")
    info = publisher.publish(git_dir)
    # A release tag whose tests fail: the gate must stop it before the image and the release.
    repo = git_dir / "mini-mlc-llm.git"
    subprocess.run(
        ["git", "--git-dir", str(repo), "tag", "v0.2.0", info["commits"]["failing_branch"]],
        check=True,
        capture_output=True,
    )
    port = free_port()
    daemon = publisher.serve(git_dir, port)
    try:
        yield Example(git_dir, f"git://127.0.0.1:{port}/mini-mlc-llm.git", info)
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)


@dataclass
class Run:
    """One ansible-playbook run."""

    rc: int
    output: str
    changed: int = field(default=-1)


@dataclass
class Release:
    """Runs release.yml on this controller (as a runner does: -i localhost, -c local)."""

    workdir: Path
    registry: Registry
    github: FakeGitHub
    example: Example
    canaries: Canaries
    runs: list[Run] = field(default_factory=list)

    @property
    def artifacts(self) -> Path:
        return self.workdir / "artifacts"

    def variables(self, **extra: Any) -> dict[str, Any]:
        return {
            "ansible_python_interpreter": sys.executable,
            "mlc_llm_repo": self.example.url,
            "mlc_llm_workspace_root": str(self.workdir / "ws"),
            "mlc_llm_artifacts_dir": str(self.artifacts),
            "mlc_llm_python": sys.executable,
            "mlc_llm_ccache": shutil.which("ccache") is not None,
            "mlc_llm_min_disk_gib": 1,
            "mlc_llm_extra_path": [str(CARGO_BIN)],
            "github_url": self.github.url,
            "github_api_insecure": True,
            "github_repo": GITHUB_REPO,
            "mlc_llm_image_registry": self.registry.host,
            "mlc_llm_image_registry_username": REGISTRY_USER,
            "mlc_llm_image_registry_ca_cert": str(self.registry.ca_cert),
            "mlc_llm_image_base": "mlcops/debian12-systemd:current",
            "mlc_llm_image_variant": "vulkan",
            "mlc_llm_image_network": "host",
            "mlc_llm_image_secrets": [{"id": "ca", "src": "/etc/ssl/certs/ca-certificates.crt"}],
            "mlc_llm_image_work_dir": str(self.workdir / "image"),
            **extra,
        }

    def play(
        self,
        playbook: str = "release.yml",
        *,
        env: dict[str, str] | None = None,
        inventory: str = "localhost,",
        **extra: Any,
    ) -> Run:
        """Run a playbook with the canaries in the environment; keep the output."""
        environ = ansible_env(
            GITHUB_TOKEN=self.canaries.github_token,
            MLCOPS_REGISTRY_PASSWORD=self.canaries.registry_password,
            HOME=os.environ.get("HOME", "/root"),
        )
        for key, value in (env or {}).items():
            if value is None:
                environ.pop(key, None)
            else:
                environ[key] = value
        cmd = ["ansible-playbook", "-i", inventory, "-c", "local"]
        cmd += ["-e", json.dumps(self.variables(**extra)), f"playbooks/{playbook}"]
        proc = subprocess.run(
            cmd, cwd=PROJECT, env=environ, capture_output=True, text=True, check=False
        )
        output = proc.stdout + proc.stderr
        changed = sum(
            int(part.split("=")[1])
            for line in output.splitlines()
            if " : ok=" in line
            for part in line.split()
            if part.startswith("changed=")
        )
        run = Run(proc.returncode, output, changed)
        self.runs.append(run)
        (self.workdir / f"play-{len(self.runs)}.log").write_text(output)
        return run


@pytest.fixture(scope="module")
def release(
    tmp_path_factory: pytest.TempPathFactory,
    registry: Registry,
    github: FakeGitHub,
    example: Example,
    canaries: Canaries,
) -> Release:
    path = f"{os.environ.get('PATH', '')}:{CARGO_BIN}"
    missing = [
        t for t in ("git", "cmake", "ninja", "g++", "cargo") if not shutil.which(t, path=path)
    ]
    if missing:
        pytest.skip(f"this controller cannot build the example: no {', '.join(missing)}")
    from mlcops.local.hosts import ensure_base_image

    ensure_base_image()
    return Release(tmp_path_factory.mktemp("release"), registry, github, example, canaries)
