"""Bad input to release.yml: one clear line, and the play stops before anything changes.

Each case runs the real playbook on this controller with otherwise good settings; the build
stage must not start (no ``mlc_llm`` task), and nothing may be written to the artifacts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import PROJECT, ansible_env

GOOD = {
    "ansible_python_interpreter": sys.executable,
    "mlc_llm_ref": "v1.2.3",
    "mlc_llm_repo": "https://git.invalid/mini-mlc-llm.git",
    "github_repo": "mlcops-test/mini-mlc-llm",
    "github_url": "http://127.0.0.1:9",
    "github_api_insecure": True,
    "mlc_llm_image_registry": "127.0.0.1:9",
    "mlc_llm_image_registry_username": "mlcops",
}
ENV = {"GITHUB_TOKEN": "not-a-real-token", "MLCOPS_REGISTRY_PASSWORD": "not-a-real-password"}


def run_release(
    tmp_path: Path, variables: dict[str, object], env: dict[str, str | None], inventory: str
) -> tuple[int, str]:
    environ = ansible_env()
    for key in ("GITHUB_TOKEN", "MLCOPS_REGISTRY_PASSWORD", "GITHUB_APP_ID"):
        environ.pop(key, None)
    environ.update({k: v for k, v in {**ENV, **env}.items() if v is not None})
    for key, value in env.items():
        if value is None:
            environ.pop(key, None)
    artifacts = tmp_path / "artifacts"
    extra = {**GOOD, "mlc_llm_artifacts_dir": str(artifacts), **variables}
    proc = subprocess.run(
        [
            *("ansible-playbook", "-i", inventory, "-c", "local"),
            "-e",
            json.dumps(extra),
            "playbooks/release.yml",
        ],
        cwd=PROJECT,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert not artifacts.exists(), "bad input must stop the play before anything is written"
    return proc.returncode, proc.stdout + proc.stderr


CASES = {
    "non-semver-tag": (
        {"mlc_llm_ref": "release-1.2"},
        {},
        "github_release_tag=release-1.2 is not a release tag vX.Y.Z[-PRERELEASE]",
    ),
    "uppercase-image-name": (
        {"mlc_llm_image_name": "MLC-LLM"},
        {},
        "image mlcops-test/MLC-LLM has upper-case letters: registries take lower-case repository "
        "names only; use mlcops-test/mlc-llm",
    ),
    "missing-registry-token": (
        {},
        {"MLCOPS_REGISTRY_PASSWORD": None},
        "no password for registry 127.0.0.1:9: export MLCOPS_REGISTRY_PASSWORD",
    ),
    "missing-github-token": (
        {},
        {"GITHUB_TOKEN": None},
        "no GitHub credentials: export GITHUB_TOKEN",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_clear_line_before_anything(tmp_path: Path, case: str) -> None:
    variables, env, message = CASES[case]
    rc, out = run_release(tmp_path, variables, env, "localhost,")
    assert rc != 0
    assert message in " ".join(out.split()), out[-3000:]
    assert "TASK [mlc_llm :" not in out and "TASK [mlc_llm_image : Build" not in out


def test_an_empty_build_hosts_group_is_refused(tmp_path: Path) -> None:
    """A dynamic inventory that found no build host must not quietly build on the controller."""
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        json.dumps(
            {
                "all": {
                    "hosts": {"localhost": {"ansible_connection": "local"}},
                    "children": {"build_hosts": {"hosts": {}}},
                }
            }
        )
    )
    rc, out = run_release(tmp_path, {}, {}, str(inventory))
    assert rc != 0
    assert "the inventory's build_hosts group has no hosts" in out, out[-3000:]
    assert "TASK [mlc_llm :" not in out
