"""The plays as a GitHub Actions job runs them on a runner: `-i localhost, -c local`.

This controller stands in for the runner: it has git, CMake, Ninja, g++ and cargo (the test is
skipped with the reason where it does not). The example project is served over git:// on
127.0.0.1, built for the CPU, tested, packaged, and built again with nothing to do.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import PROJECT, ansible_env, free_port, load_example_publisher

pytestmark = pytest.mark.slow

CARGO_HOME_BIN = Path.home() / ".cargo/bin"


def test_wheel_play_runs_on_the_runner_itself(tmp_path: Path) -> None:
    path = f"{os.environ.get('PATH', '')}:{CARGO_HOME_BIN}"
    missing = [
        t for t in ("git", "cmake", "ninja", "g++", "cargo") if not shutil.which(t, path=path)
    ]
    if missing:
        pytest.skip(f"this controller cannot stand in for a runner: no {', '.join(missing)}")
    publisher = load_example_publisher()
    publisher.publish(tmp_path / "git")
    port = free_port()
    daemon = publisher.serve(tmp_path / "git", port)
    variables = {
        "ansible_python_interpreter": sys.executable,
        "mlc_llm_repo": f"git://127.0.0.1:{port}/mini-mlc-llm.git",
        "mlc_llm_ref": "v0.1.0",
        "mlc_llm_workspace_root": str(tmp_path / "ws"),
        "mlc_llm_artifacts_dir": str(tmp_path / "artifacts"),
        "mlc_llm_python": sys.executable,
        "mlc_llm_ccache": shutil.which("ccache") is not None,
        "mlc_llm_min_disk_gib": 1,
        "mlc_llm_extra_path": [str(CARGO_HOME_BIN)],
    }
    cmd = ["ansible-playbook", "-i", "localhost,", "-c", "local", "-e", json.dumps(variables)]
    try:
        runs = [
            subprocess.run(
                [*cmd, "playbooks/wheel.yml"],
                cwd=PROJECT,
                env=ansible_env(),
                capture_output=True,
                text=True,
                check=False,
            )
            for _ in range(2)
        ]
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)
    for proc in runs:
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert re.search(r"localhost\s+:\s+ok=\d+\s+changed=0\s", runs[1].stdout), runs[1].stdout[
        -3000:
    ]
    results = tmp_path / "artifacts/v0.1.0/localhost"
    wheels = [p.name for p in results.glob("*.whl")]
    assert wheels and wheels[0].startswith("mlc_llm-0.1.0-py3-none-manylinux_"), wheels
    assert (results / "junit.xml").is_file() and (results / "SHA256SUMS").is_file()
