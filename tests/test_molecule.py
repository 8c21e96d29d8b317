"""Run every molecule scenario: converge, idempotence and testinfra verify on container hosts.

Scenarios live in ``roles/<role>/molecule/<scenario>`` (one role) and ``molecule/<scenario>``
(several roles together). Each gets its own container name so that scenarios never share a
host, even when run in parallel with ``pytest -n``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import PROJECT, ansible_env

# molecule/windows scenarios need a real Windows host (MLCOPS_WINRM_*): they run, or are
# skipped with the reason, from tests/windows/test_molecule_windows.py.
SCENARIOS = sorted(
    p
    for p in [
        *PROJECT.glob("roles/*/molecule/*/molecule.yml"),
        *PROJECT.glob("molecule/*/molecule.yml"),
    ]
    if p.parent.name != "windows"
)


def _scenario_id(path: Path) -> str:
    rel = path.parent.relative_to(PROJECT).parts
    return f"{rel[1]}-{rel[3]}" if rel[0] == "roles" else f"project-{rel[1]}"


@pytest.mark.slow
@pytest.mark.parametrize("molecule_yml", SCENARIOS, ids=[_scenario_id(p) for p in SCENARIOS])
def test_molecule_scenario(molecule_yml: Path) -> None:
    """Each role converges, converges again with no change, and passes its verifier."""
    scenario_dir = molecule_yml.parent
    project_dir = scenario_dir.parent.parent
    env = ansible_env(MLCOPS_MOLECULE_HOST=f"mlcops-mol-{_scenario_id(molecule_yml)}")
    env.pop("ANSIBLE_CONFIG", None)  # molecule writes its own ansible.cfg per scenario
    env.pop("ANSIBLE_STDOUT_CALLBACK", None)
    proc = subprocess.run(
        ["molecule", "test", "-s", scenario_dir.name],
        cwd=project_dir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        log = (proc.stdout + proc.stderr).splitlines()
        pytest.fail("molecule test failed:\n" + "\n".join(log[-120:]), pytrace=False)


def test_every_role_has_a_default_scenario() -> None:
    """A role without a molecule scenario is a role nobody has seen converge."""
    roles = sorted(p.name for p in (PROJECT / "roles").iterdir() if p.is_dir())
    scenario = "molecule/default/molecule.yml"
    missing = [r for r in roles if not (PROJECT / "roles" / r / scenario).is_file()]
    windows_only = {"windows_toolchain"}
    assert [r for r in missing if r not in windows_only] == []
    assert os.path.isfile(PROJECT / ".config/molecule/config.yml")
