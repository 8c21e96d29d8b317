"""End to end on a local container host: ``mlcops provision`` then ``mlcops verify``.

Cheap on purpose: one host, only the toolchain and Vulkan roles (tags), then the health
check must find cmake, ninja and gcc and a working Vulkan device (Mesa's lavapipe); and a
host whose labels promise CUDA without an nvcc must make verify fail.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import PROJECT

pytestmark = pytest.mark.slow

HOST = "cli-e2e"


def write_inventory(directory: Path, **hostvars: object) -> Path:
    """An inventory of the one container host, reusing inventory/local's group_vars."""
    directory.mkdir(parents=True, exist_ok=True)
    members = {HOST: hostvars or None}
    groups = {"local_containers": {"hosts": members}, "linux_runners": {"hosts": {HOST: None}}}
    (directory / "hosts.yml").write_text(json.dumps({"all": {"children": groups}}))
    shutil.copytree(
        PROJECT / "inventory/local/group_vars", directory / "group_vars", dirs_exist_ok=True
    )
    return directory / "hosts.yml"


def mlcops(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlcops", *args],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh container host, removed afterwards."""
    path = write_inventory(
        tmp_path_factory.mktemp("e2e"), runner_toolchains=["vulkan"], runner_docker=False
    )
    mlcops("down", "-i", str(path))
    up = mlcops("up", "-i", str(path))
    assert up.returncode == 0, up.stderr
    try:
        yield path
    finally:
        mlcops("down", "-i", str(path))


def test_provision_then_verify(
    inventory: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """provision (toolchain + vulkan) succeeds; verify finds the tools and a Vulkan device."""
    monkeypatch.setenv("MLCOPS_STATE_DIR", str(tmp_path / "state"))
    proc = mlcops("provision", "-i", str(inventory), "-t", "toolchain,vulkan", "--json")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    report = json.loads(proc.stdout)
    assert report["status"] == "ok"
    assert report["hosts"][HOST]["failed"] == 0
    assert {"toolchain_info", "vulkan_info"} <= set(report["versions"][HOST])
    assert {"toolchain", "vulkan"} <= set(report["hosts"][HOST]["roles_s"])

    proc = mlcops("verify", "-i", str(inventory), "--json")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    host = json.loads(proc.stdout)["hosts"][HOST]
    assert host["ok"] and host["reachable"]
    assert host["os"].startswith("Debian GNU/Linux 12")
    for tool in ("cmake", "ninja", "gcc", "python"):
        assert host["items"][tool]["found"], tool
    assert host["items"]["cmake"]["works"] is True
    assert "vulkan" in host["labels"]
    assert any("llvmpipe" in d for d in host["vulkan_devices"]), host["vulkan_devices"]
    assert not host["items"]["cuda"]["found"]

    md = mlcops("verify", "-i", str(inventory), "--markdown")
    assert md.returncode == 0
    assert f"## {HOST}: ok" in md.stdout and "| vulkan |" in md.stdout


def test_verify_fails_when_labels_promise_cuda_without_nvcc(
    inventory: Path, tmp_path: Path
) -> None:
    """A host labelled cuda with no nvcc makes verify exit 1 and say why."""
    promised = write_inventory(tmp_path / "cuda", github_runner_labels=["cuda"])
    proc = mlcops("verify", "-i", str(promised), "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    host = json.loads(proc.stdout)["hosts"][HOST]
    assert not host["ok"]
    assert any(p["label"] == "cuda" and "nvcc" in p["message"] for p in host["problems"])
