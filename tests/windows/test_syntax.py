"""Every Windows play and task file parses, with modules that resolve, on this controller."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.helpers import PROJECT, ansible_env

INVENTORY = """\
all:
  children:
    linux_runners:
      hosts:
        linux-1:
    build_hosts:
      children:
        linux_runners:
    windows_build_hosts:
      hosts:
        win-1:
          ansible_connection: winrm
"""

PLAYBOOKS = ["windows_host.yml", "build.yml", "test.yml", "wheel.yml", "site.yml", "release.yml"]
TASK_FILES = sorted(
    [
        *PROJECT.glob("roles/windows_toolchain/tasks/*.yml"),
        *PROJECT.glob("roles/github_runner/tasks/windows*.yml"),
        *PROJECT.glob("roles/mlc_llm/tasks/windows/*.yml"),
    ]
)


def _syntax_check(tmp_path: Path, playbook: Path) -> subprocess.CompletedProcess[str]:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(INVENTORY)
    return subprocess.run(
        ["ansible-playbook", "--syntax-check", "-i", str(inventory), str(playbook)],
        cwd=PROJECT,
        # The role's own action plugin, as the role would load it.
        env=ansible_env(ANSIBLE_ACTION_PLUGINS=str(PROJECT / "roles/github_runner/action_plugins")),
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("name", PLAYBOOKS)
def test_playbook_with_windows_hosts_parses(tmp_path: Path, name: str) -> None:
    """The playbooks that reach windows_build_hosts pass ansible-playbook --syntax-check."""
    proc = _syntax_check(tmp_path, PROJECT / "playbooks" / name)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_playbooks_have_windows_plays() -> None:
    """build, test and wheel each run the role on windows_build_hosts after the Linux play."""
    for name in ("build.yml", "test.yml", "wheel.yml"):
        plays = yaml.safe_load((PROJECT / "playbooks" / name).read_text())
        assert [p["hosts"] for p in plays][-1] == "windows_build_hosts", name
        assert all(p.get("any_errors_fatal") for p in plays), name


def test_every_windows_task_file_parses(tmp_path: Path) -> None:
    """Task files included dynamically are imported statically here, so each is parsed and
    every module name resolves (a typo in an FQCN fails here, not on a Windows host)."""
    roles = {p.parts[len(PROJECT.parts) + 1] for p in TASK_FILES}
    play = [
        {
            "name": "Parse the Windows task files",
            "hosts": "windows_build_hosts",
            "gather_facts": False,
            "tasks": [
                {"name": f"Import {p.relative_to(PROJECT)}", "ansible.builtin.import_tasks": str(p)}
                for p in TASK_FILES
            ],
        }
    ]
    playbook = tmp_path / "windows-tasks.yml"
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    proc = _syntax_check(tmp_path, playbook)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert roles == {"windows_toolchain", "github_runner", "mlc_llm"}
