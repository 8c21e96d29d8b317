"""verify's label logic and its failure path on this controller; doctor's checks."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlcops import cli, doctor
from mlcops.verify.checks import derive_labels
from mlcops.verify.report import connection_inventory
from tests.helpers import PROJECT


def test_labels_follow_the_github_runner_role() -> None:
    """The labels verify holds a host to are the ones github_runner derives from facts."""
    facts = {
        "cuda": {"version": "11.8", "archs": ["80", "90"], "driver": {"present": False}},
        "vulkan": {"devices": ["llvmpipe"]},
        "docker_engine": {"daemon_running": False},
        "rocm": {"version": ""},
    }
    assert derive_labels(facts, ["Build"]) == [
        "build",
        "cuda",
        "cuda-11.8",
        "sm_80",
        "sm_90",
        "vulkan",
    ]
    assert derive_labels({}, []) == []


def test_connection_variables_are_rendered_and_nothing_else_kept() -> None:
    """ansible-inventory leaves Jinja unrendered; testinfra gets rendered connection vars only."""
    data = {
        "_meta": {
            "hostvars": {
                "h1": {
                    "ansible_connection": "community.docker.docker",
                    "ansible_host": "mlcops-{{ inventory_hostname }}",
                    "github_token": "must-not-be-copied",
                }
            }
        }
    }
    assert connection_inventory(data, ["h1"]) == {
        "all": {
            "hosts": {
                "h1": {"ansible_connection": "community.docker.docker", "ansible_host": "mlcops-h1"}
            }
        }
    }


@pytest.mark.skipif(shutil.which("hipcc") is not None, reason="this controller has hipcc")
def test_verify_exits_1_when_a_label_is_not_kept(tmp_path: Path) -> None:
    """This controller labelled rocm without hipcc: verify says so and exits 1."""
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        json.dumps(
            {
                "all": {
                    "hosts": {
                        "controller": {
                            "ansible_connection": "local",
                            "github_runner_labels": ["rocm"],
                        }
                    }
                }
            }
        )
    )
    proc = subprocess.run(
        [sys.executable, "-m", "mlcops", "verify", "-i", str(inventory), "--json"],
        capture_output=True,
        text=True,
        check=False,
        cwd=PROJECT,
    )
    assert proc.returncode == 1, proc.stderr
    host = json.loads(proc.stdout)["hosts"]["controller"]
    assert host["reachable"] and not host["ok"]
    assert host["labels"] == ["rocm"]
    assert any(p["label"] == "rocm" and "hipcc" in p["message"] for p in host["problems"])
    assert host["os"] and host["kernel"]


def test_doctor_names_each_problem_with_its_fix(tmp_path: Path) -> None:
    """Broken inventory and conflicting credentials are problems with fixes; no secret shown."""
    broken = tmp_path / "broken.yml"
    broken.write_text("all: [unclosed\n")
    env = {"GITHUB_TOKEN": "canary-doctor-token", "GITHUB_APP_ID": "1"}
    checks = {c.name: c for c in doctor.run_checks(broken, PROJECT, environ=env)}
    assert checks["python"].ok and checks["ansible-core"].ok
    assert not checks["inventory"].ok and "does not parse" in checks["inventory"].detail
    assert not checks["github credentials"].ok and "unset" in checks["github credentials"].fix
    assert all(c.fix for c in checks.values() if not c.ok)
    assert "canary-doctor-token" not in repr(list(checks.values()))


def test_doctor_cli_exit_codes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A problem is exit 1 with its fix printed; a missing --inventory path is bad input (2)."""
    monkeypatch.setenv("GITHUB_TOKEN", "canary-doctor-token")
    monkeypatch.setenv("MLCOPS_REGISTRY_USERNAME", "someone")
    monkeypatch.delenv("MLCOPS_REGISTRY_PASSWORD", raising=False)
    assert cli.main(["doctor", "-i", str(PROJECT / "inventory" / "local")]) == 1
    out = capsys.readouterr().out
    assert "FAIL registry credentials" in out and "fix: set both" in out
    assert "canary-doctor-token" not in out
    assert cli.main(["doctor", "-i", str(tmp_path / "missing")]) == 2
    assert "--inventory" in capsys.readouterr().err
