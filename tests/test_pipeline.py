"""build -> test -> wheel on container hosts, on the example project shaped like MLC-LLM.

One host builds for Vulkan (Mesa's lavapipe), one for CUDA (Debian's toolkit, no GPU). Both are
provisioned by playbooks/linux_runner.yml first, exactly as a user's runners are. The example
is served over git:// on 127.0.0.1 by examples/publish.py.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import PROJECT, ansible_env, free_port, load_example_publisher

pytestmark = pytest.mark.slow

RECAP = re.compile(
    r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M
)
# Where the wheel stage installed the wheel on each host, for a check away from the source.
WORKSPACES = "/srv/mlcops/workspaces"
VERIFY_PYTHON = f"{WORKSPACES}/main/results/verify-venv/bin/python"
HOSTS = {
    "pipe-vulkan": {"runner_toolchains": ["vulkan"], "mlc_llm_backends": ["vulkan"]},
    "pipe-cuda": {
        "runner_toolchains": ["cuda"],
        "mlc_llm_backends": ["cuda"],
        "mlc_llm_cuda_archs": ["80", "86"],
    },
}


class Pipeline:
    """Two provisioned build hosts and the plays run against them."""

    def __init__(self, workdir: Path, repo: str) -> None:
        self.workdir = workdir
        self.repo = repo
        self.artifacts = workdir / "artifacts"
        self.inventory = workdir / "inventory"
        members = dict.fromkeys(HOSTS)
        groups = {
            g: {"hosts": members} for g in ("local_containers", "linux_runners", "build_hosts")
        }
        (self.inventory / "host_vars").mkdir(parents=True)
        (self.inventory / "hosts.yml").write_text(json.dumps({"all": {"children": groups}}))
        (self.inventory / "group_vars").mkdir()
        for f in (PROJECT / "inventory/local/group_vars").glob("*.yml"):
            (self.inventory / "group_vars" / f.name).write_text(f.read_text())
        for host, variables in HOSTS.items():
            (self.inventory / "host_vars" / f"{host}.yml").write_text(json.dumps(variables))

    def mlcops(self, *args: str) -> None:
        cmd = [sys.executable, "-m", "mlcops", *args, "-i", str(self.inventory)]
        subprocess.run(cmd, check=True, cwd=PROJECT, capture_output=True)

    def play(
        self, playbook: str, limit: str | None = None, **extra: Any
    ) -> tuple[int, dict[str, int], str]:
        """Run a playbook; return rc, changed count per host, and the output."""
        variables = {
            "mlc_llm_repo": self.repo,
            "mlc_llm_artifacts_dir": str(self.artifacts),
            "mlc_llm_min_disk_gib": 2,
            "mlc_llm_workspace_root": WORKSPACES,
            "runner_docker": False,
            **extra,
        }
        cmd = ["ansible-playbook", "-i", str(self.inventory), "-e", json.dumps(variables)]
        cmd += [*(["--limit", limit] if limit else []), f"playbooks/{playbook}"]
        proc = subprocess.run(
            cmd, cwd=PROJECT, env=ansible_env(), capture_output=True, text=True, check=False
        )
        changed = {m[0]: int(m[2]) for m in RECAP.findall(proc.stdout)}
        return proc.returncode, changed, proc.stdout + proc.stderr

    def sh(self, host: str, command: str) -> str:
        """Run a shell command in a host's container."""
        proc = subprocess.run(
            ["docker", "exec", f"mlcops-{host}", "bash", "-c", command],
            capture_output=True,
            text=True,
            check=True,
        )
        return proc.stdout.strip()


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """Serve the example, bring up both hosts and provision them as runners."""
    publisher = load_example_publisher()
    git = tmp_path_factory.mktemp("git")
    publisher.publish(git)
    port = free_port()
    daemon = publisher.serve(git, port)
    pipe = Pipeline(tmp_path_factory.mktemp("pipeline"), f"git://127.0.0.1:{port}/mini-mlc-llm.git")
    try:
        pipe.mlcops("down")
        pipe.mlcops("up")
        rc, _, out = pipe.play("linux_runner.yml")
        assert rc == 0, out[-4000:]
        yield pipe
    finally:
        pipe.mlcops("down")
        daemon.terminate()
        daemon.wait(timeout=10)


def test_build_test_wheel_on_vulkan_and_cuda_hosts(pipeline: Pipeline) -> None:
    rc, _, out = pipeline.play("wheel.yml", mlc_llm_ref="main")
    assert rc == 0, out[-6000:]
    for host, variables in HOSTS.items():
        results = pipeline.artifacts / "main" / host
        wheels = sorted(results.glob("*.whl"))
        assert len(wheels) == 1, sorted(results.iterdir())
        sums = dict(
            reversed(line.split()) for line in (results / "SHA256SUMS").read_text().splitlines()
        )
        assert sums == {wheels[0].name: hashlib.sha256(wheels[0].read_bytes()).hexdigest()}
        suite = ET.parse(results / "junit.xml").getroot().find("testsuite")
        assert suite is not None and int(suite.get("tests", "0")) > 0
        assert int(suite.get("failures", "1")) == 0
        # The wheel, installed in a clean venv on the host by the role, runs the backend.
        python = VERIFY_PYTHON
        backends = pipeline.sh(
            host, f"cd / && {python} -c 'import mlc_llm; print(mlc_llm.backends())'"
        )
        assert variables["mlc_llm_backends"][0] in backends
    archs = pipeline.sh(
        "pipe-cuda",
        f"cd / && {VERIFY_PYTHON} -c 'import mlc_llm.base as b; print(b.cuda_archs())'",
    )
    assert "80" in archs and "86" in archs

    rc, changed, out = pipeline.play("wheel.yml", mlc_llm_ref="main")
    assert rc == 0 and changed == dict.fromkeys(HOSTS, 0), out[-6000:]


def test_rebuild_reuses_checkout_and_ccache(pipeline: Pipeline) -> None:
    rc, _, out = pipeline.play("build.yml", "pipe-vulkan", mlc_llm_ref="main")
    assert rc == 0, out[-6000:]
    pipeline.sh("pipe-vulkan", "ccache -z")
    rc, _, out = pipeline.play(
        "build.yml", "pipe-vulkan", mlc_llm_ref="main", mlc_llm_clean_build=True
    )
    assert rc == 0, out[-6000:]
    assert re.search(r"TASK \[mlc_llm : Fetch and check out[^\n]*\nskipping", out), (
        "checkout was redone"
    )
    stats = dict(
        line.split("\t", 1)
        for line in pipeline.sh("pipe-vulkan", "ccache --print-stats").splitlines()
    )
    hits = int(stats["direct_cache_hit"]) + int(stats["preprocessed_cache_hit"])
    assert hits > 0 and int(stats["cache_miss"]) < hits, stats


def test_root_owned_leftovers_are_given_back_to_a_non_root_build_user(pipeline: Pipeline) -> None:
    """A runner builds as its own user; files an earlier root job left must not block it."""
    pipeline.sh(
        "pipe-vulkan",
        "command -v sudo >/dev/null || (apt-get update -qq && apt-get install -yqq sudo);"
        " id builder >/dev/null 2>&1 || useradd -m builder;"
        " echo 'builder ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/builder;"
        f" mkdir -p {WORKSPACES}/main/src/build && touch {WORKSPACES}/main/src/build/root-leftover",
    )
    rc, _, out = pipeline.play(
        "build.yml",
        "pipe-vulkan",
        mlc_llm_ref="main",
        ansible_user="builder",
        ansible_become_method="sudo",
    )
    assert rc == 0, out[-6000:]
    assert re.search(r"TASK \[mlc_llm : Give leftovers[^\n]*\nchanged", out), out[-6000:]
    owners = pipeline.sh("pipe-vulkan", f"find {WORKSPACES} ! -user builder | head -5")
    assert owners == ""


def test_failing_test_stops_the_pipeline_before_the_wheel(pipeline: Pipeline) -> None:
    rc, _, out = pipeline.play("wheel.yml", "pipe-vulkan", mlc_llm_ref="failing-test")
    assert rc != 0
    assert "test(s) failed on pipe-vulkan" in out, out[-6000:]
    assert "Build the wheel with pip wheel" not in out
    results = pipeline.artifacts / "failing-test" / "pipe-vulkan"
    suite = ET.parse(results / "junit.xml").getroot().find("testsuite")
    assert suite is not None and int(suite.get("failures", "0")) >= 1
    assert not list(results.glob("*.whl"))


def test_empty_test_selection_fails(pipeline: Pipeline) -> None:
    rc, _, out = pipeline.play(
        "test.yml", "pipe-vulkan", mlc_llm_ref="main", mlc_llm_test_markers="nosuchmarker"
    )
    assert rc != 0
    assert "pytest collected no test with -m 'nosuchmarker'" in out, out[-4000:]


def test_cuda_arch_the_toolkit_lacks_is_refused(pipeline: Pipeline) -> None:
    rc, changed, out = pipeline.play(
        "build.yml", "pipe-cuda", mlc_llm_ref="main", mlc_llm_cuda_archs=["80", "120"]
    )
    assert rc != 0 and changed == {"pipe-cuda": 0}
    assert "mlc_llm_cuda_archs has 120, which nvcc 11.8" in out, out[-4000:]


def test_a_repository_that_moved_is_followed_by_the_submodules_too(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    """A mirror or a new server: the reused checkout must fetch its submodules from there too.

    Submodule URLs are resolved against origin when they are first initialised; without a
    sync they keep pointing at the old server, which may be gone.
    """
    publisher = load_example_publisher()
    publisher.publish(tmp_path / "git")
    port = free_port()
    daemon = publisher.serve(tmp_path / "git", port)
    moved = f"git://127.0.0.1:{port}/mini-mlc-llm.git"
    try:
        rc, _, out = pipeline.play("build.yml", "pipe-vulkan", mlc_llm_ref="main")
        assert rc == 0, out[-6000:]
        rc, _, out = pipeline.play(
            "build.yml", "pipe-vulkan", mlc_llm_ref="main", mlc_llm_repo=moved
        )
        assert rc == 0, out[-6000:]
        assert re.search(r"TASK \[mlc_llm : Point an existing checkout[^\n]*\nchanged", out)
        urls = pipeline.sh(
            "pipe-vulkan",
            f"cd {WORKSPACES}/main/src && git config --get remote.origin.url &&"
            " git submodule foreach --recursive --quiet 'git config --get remote.origin.url'",
        ).splitlines()
        assert len(urls) >= 3 and all(f":{port}/" in url for url in urls), urls
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)
