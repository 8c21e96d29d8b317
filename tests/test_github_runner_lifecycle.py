"""The github_runner lifecycle on a container host against the fake GitHub API.

Register two runners, re-run (no change), change labels (a change, synced on GitHub), go
ephemeral (one job, then gone), deregister with playbooks/deregister.yml; and the faults a
real network brings: a flaky download, a 500 from the API, an expired registration token, a
wrong checksum, and a run that stopped between download and registration.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes.github_api import FakeGitHub, build_runner_tarball
from tests.helpers import PROJECT, ansible_env

pytestmark = pytest.mark.slow

TOKEN = "mlcops-lifecycle-pat"
REPO = "mlc-ai/mlc-llm"
SCOPE = f"repos/{REPO}"
APP_ID = "424242"
APP_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
APP_KEY_PEM = APP_KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
APP_PUBLIC_PEM = (
    APP_KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)
RECAP = re.compile(
    r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M
)


class Host:
    """One local container host and the plays run against it."""

    def __init__(self, name: str, workdir: Path, fake: FakeGitHub) -> None:
        self.name = name
        self.container = f"mlcops-{name}"
        self.inventory = workdir / "hosts.yml"
        self.fake = fake
        members = {name: None}
        groups = {"local_containers": {"hosts": members}, "linux_runners": {"hosts": members}}
        self.inventory.write_text(json.dumps({"all": {"children": groups}}))
        (workdir / "group_vars").mkdir()
        for f in (PROJECT / "inventory/local/group_vars").glob("*.yml"):
            (workdir / "group_vars" / f.name).write_text(f.read_text())

    def mlcops(self, *args: str) -> None:
        """Run an mlcops subcommand on this host's inventory."""
        cmd = [sys.executable, "-m", "mlcops", *args, "-i", str(self.inventory)]
        subprocess.run(cmd, check=True, cwd=PROJECT, capture_output=True)

    def play(
        self,
        playbook: str = "playbooks/github_runner.yml",
        env: dict[str, str] | None = None,
        **overrides: Any,
    ) -> tuple[int, int, str]:
        """Run a playbook with the fake's settings; return rc, changed count and the output."""
        extra = {
            "github_url": self.fake.url,
            "github_api_insecure": True,
            "github_repo": REPO,
            "github_runner_name": "gpu",
            "github_runner_count": 2,
            "github_runner_labels": ["mlc-llm", "build"],
            **overrides,
        }
        proc = subprocess.run(
            ["ansible-playbook", "-i", str(self.inventory), playbook, "-e", json.dumps(extra)],
            cwd=PROJECT,
            env=ansible_env(**(env or {"GITHUB_TOKEN": TOKEN})),
            capture_output=True,
            text=True,
            check=False,
        )
        output = proc.stdout + proc.stderr
        recap = {m[0]: int(m[2]) for m in RECAP.findall(proc.stdout)}
        return proc.returncode, recap.get(self.name, -1), output

    def run(self, command: str) -> subprocess.CompletedProcess[str]:
        """Run a shell command in the container."""
        return subprocess.run(
            ["docker", "exec", self.container, "bash", "-c", command],
            capture_output=True,
            text=True,
            check=False,
        )


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    """A fake GitHub API on 127.0.0.1 (the container hosts share the host's network)."""
    with FakeGitHub(tokens=(TOKEN,), app_id=APP_ID, app_public_key_pem=APP_PUBLIC_PEM) as server:
        yield server


@pytest.fixture
def host(tmp_path: Path, fake: FakeGitHub, request: pytest.FixtureRequest) -> Iterator[Host]:
    """A fresh container host for one test."""
    h = Host(f"ghr-{request.node.name[5:25].replace('_', '-')}", tmp_path, fake)
    h.mlcops("down")
    h.mlcops("up")
    try:
        yield h
    finally:
        h.mlcops("down")


def runners(fake: FakeGitHub) -> dict[str, dict[str, Any]]:
    """The fake's runners of the scope, by name."""
    return {r["name"]: r for r in fake.runners(SCOPE)}


def labels(runner: dict[str, Any]) -> set[str]:
    """A runner's label names."""
    return {label["name"] for label in runner["labels"]}


def wait_for(predicate: Any, what: str, timeout: float = 60) -> None:
    """Poll until predicate() is true."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(1)


def assert_ok(result: tuple[int, int, str], changed: int | None = None) -> None:
    """The play succeeded (and changed as many tasks as expected)."""
    rc, n, output = result
    assert rc == 0, output[-3000:]
    if changed is not None:
        assert n == changed, output[-3000:]


def test_register_relabel_ephemeral_deregister(host: Host, fake: FakeGitHub) -> None:
    """The whole life of a host's runners, each step converging and each re-run a no-op."""
    assert_ok(host.play())
    found = runners(fake)
    assert sorted(found) == ["gpu-1", "gpu-2"]
    assert all(r["status"] == "online" and not r["ephemeral"] for r in found.values())
    assert all({"mlc-llm", "build", "self-hosted"} <= labels(r) for r in found.values())
    assert_ok(host.play(), changed=0)

    # Labels: one removed, one added; GitHub follows, the play says it changed.
    rc, changed, output = host.play(github_runner_labels=["mlc-llm", "cuda-smoke"])
    assert_ok((rc, changed, output))
    assert changed == 2
    for runner in runners(fake).values():
        assert "cuda-smoke" in labels(runner)
        assert "build" not in labels(runner)
    assert_ok(host.play(github_runner_labels=["mlc-llm", "cuda-smoke"]), changed=0)

    # Ephemeral: the persistent runners go, JIT runners serve one job each.
    eph = {"github_runner_mode": "ephemeral", "github_runner_labels": ["mlc-llm"]}
    assert_ok(host.play(**eph))
    found = runners(fake)
    assert sorted(found) == ["gpu-1", "gpu-2"]
    assert all(r["ephemeral"] for r in found.values())
    assert host.run("ls /opt/actions-runner/gpu-1/.service").returncode != 0
    wait_for(
        lambda: all(r["status"] == "online" for r in runners(fake).values()), "JIT runners online"
    )
    assert_ok(host.play(**eph), changed=0)
    job = fake.add_job(SCOPE, "gpu-1", run="id -un")
    wait_for(lambda: fake.job(job)["status"] == "completed", "the job")
    assert fake.job(job)["output"].split()[0] == "github-runner"
    wait_for(lambda: "gpu-1" not in runners(fake), "the ephemeral runner to leave GitHub")
    wait_for(
        lambda: (
            host.run("systemctl is-active github-runner-ephemeral@gpu-1").stdout.strip() != "active"
        ),
        "the ephemeral unit to stop",
    )
    rc, changed, output = host.play(**eph)
    assert_ok((rc, changed, output))
    assert changed > 0
    assert sorted(runners(fake)) == ["gpu-1", "gpu-2"]

    # Deregister: nothing left on GitHub or on the host.
    assert_ok(host.play("playbooks/deregister.yml"))
    assert runners(fake) == {}
    assert host.run("ls -A /opt/actions-runner | grep -v '^.cache$'").stdout.strip() == ""
    units = host.run(
        "systemctl list-units --all --no-legend 'actions.runner.*' 'github-runner-ephemeral@*'"
    )
    assert units.stdout.strip() == ""
    assert_ok(host.play("playbooks/deregister.yml"), changed=0)


def test_faults_are_retried_or_fail_cleanly(host: Host, fake: FakeGitHub) -> None:
    """Flaky downloads, 500s and expired tokens are survived; a bad checksum stops cleanly."""
    # A wrong pinned checksum: the play fails naming it, and leaves no package or runner.
    bad = {"github_runner_sha256": "0" * 64, "github_runner_count": 1}
    rc, _, output = host.play(**bad)
    assert rc != 0
    assert "did not match" in output or "checksum" in output.lower()
    assert host.run("ls /opt/actions-runner/.cache/*.tar.gz").returncode != 0
    assert host.run("test -e /opt/actions-runner/gpu/config.sh").returncode != 0
    assert runners(fake) == {}

    # Stopped between download and registration (GitHub refuses once): the re-run converges.
    fake.fail("POST", r"/registration-token$", 401, count=1)
    rc, _, output = host.play(github_runner_count=1)
    assert rc != 0
    assert "401" in output
    assert host.run("test -e /opt/actions-runner/gpu/config.sh").returncode == 0
    assert runners(fake) == {}

    # The re-run meets a flaky download server, a 500 and an expired registration token.
    host.run("rm -f /opt/actions-runner/.cache/*.tar.gz")
    fake.fail("GET", r"^/_downloads/", 500, count=2)
    fake.fail("POST", r"/registration-token$", 500, count=1)
    fake.expire_next_tokens(1)
    assert_ok(host.play(github_runner_count=1))
    assert runners(fake)["gpu"]["status"] == "online"
    downloads = [r for r in fake.requests if r[0] == "GET" and r[1].startswith("/_downloads/")]
    assert [status for *_, status in downloads][-3:] == [500, 500, 200]
    tokens = [r[2] for r in fake.requests if r[1].endswith("/registration-token")]
    assert tokens[-3:] == [500, 201, 201], "a 500 retried, then a fresh token after the expired one"
    assert_ok(host.play(github_runner_count=1), changed=0)


def test_air_gapped_mirror_with_a_github_app(host: Host, fake: FakeGitHub, tmp_path: Path) -> None:
    """A controller mirror and a pinned digest: no download at all; a GitHub App, no PAT."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    package, sha256 = build_runner_tarball(mirror, "2.329.0")
    fake.fail("GET", r"^/_downloads/", 404, count=1000)
    settings = {
        "github_runner_count": 1,
        "github_runner_version": "2.329.0",
        "github_runner_sha256": sha256,
        "github_runner_mirror_dir": str(mirror),
    }
    app = {"GITHUB_TOKEN": "", "GITHUB_APP_ID": APP_ID, "GITHUB_APP_PRIVATE_KEY": APP_KEY_PEM}
    assert_ok(host.play(env=app, **settings))
    assert runners(fake)["gpu"]["status"] == "online"
    assert not [
        r for r in fake.requests if r[1].startswith("/_downloads/") or r[1].endswith("/downloads")
    ]
    assert any(r[1].endswith("/access_tokens") for r in fake.requests), "the App's token was used"
    assert (
        host.run(f"sha256sum /opt/actions-runner/.cache/{package.name}").stdout.split()[0] == sha256
    )
    assert_ok(host.play(env=app, **settings), changed=0)
