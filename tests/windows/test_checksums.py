"""Every download on a Windows host is checked: a SHA-256 or a pinned Chocolatey package.

``win_get_url`` must carry ``checksum`` with ``checksum_algorithm: sha256``; ``win_package``
installs only from a local path that such a download wrote (never from a URL, which it would
not verify); ``win_chocolatey`` pins a version (Chocolatey then checks the checksums the
package embeds).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import PROJECT

WINDOWS_TASK_FILES = sorted(
    [
        *PROJECT.glob("roles/windows_toolchain/tasks/*.yml"),
        *PROJECT.glob("roles/windows_toolchain/molecule/windows/*.yml"),
        *PROJECT.glob("roles/github_runner/tasks/windows*.yml"),
        *PROJECT.glob("roles/mlc_llm/tasks/windows/*.yml"),
    ]
)


def _tasks(items: Any) -> Iterator[dict[str, Any]]:
    for item in items or []:
        if not isinstance(item, dict):
            continue
        if "tasks" in item or "pre_tasks" in item:  # a play
            for key in ("pre_tasks", "tasks", "post_tasks"):
                yield from _tasks(item.get(key))
            continue
        yield item
        for key in ("block", "rescue", "always"):
            yield from _tasks(item.get(key))


def _module(task: dict[str, Any], *names: str) -> dict[str, Any] | None:
    for name in names:
        for key in (name, f"ansible.windows.{name}", f"chocolatey.chocolatey.{name}"):
            if key in task:
                args = task[key]
                return args if isinstance(args, dict) else {"_raw": args}
    return None


def download_problems(tasks: list[dict[str, Any]]) -> list[str]:
    """Return one line per download in ``tasks`` that nothing verifies."""
    problems = []
    for task in _tasks(tasks):
        name = task.get("name", "?")
        get_url = _module(task, "win_get_url")
        if get_url is not None and not (
            (get_url.get("checksum") and get_url.get("checksum_algorithm") == "sha256")
            or get_url.get("checksum_url")
        ):
            problems.append(f"{name}: win_get_url without checksum + checksum_algorithm: sha256")
        package = _module(task, "win_package")
        if package is not None:
            path = str(package.get("path", ""))
            if "://" in path or re.match(r"^\{\{\s*\w+_url\b", path):
                problems.append(
                    f"{name}: win_package from a URL ({path}); download it checked first"
                )
        choco = _module(task, "win_chocolatey")
        if choco is not None and choco.get("name") != "chocolatey" and not choco.get("version"):
            problems.append(f"{name}: win_chocolatey without a pinned version")
        include = task.get("ansible.builtin.include_tasks")
        if include == "download.yml" and not task.get("vars", {}).get("__download", {}).get(
            "sha256"
        ):
            problems.append(f"{name}: download.yml without __download.sha256")
    return problems


def test_there_are_windows_task_files() -> None:
    """The glob finds the Windows paths (a rename must not turn this check into a no-op)."""
    names = {p.name for p in WINDOWS_TASK_FILES}
    assert {"download.yml", "vs.yml", "vulkan.yml", "windows-package.yml", "wheel.yml"} <= names


@pytest.mark.parametrize(
    "path", WINDOWS_TASK_FILES, ids=[str(p.relative_to(PROJECT)) for p in WINDOWS_TASK_FILES]
)
def test_every_download_is_verified(path: Path) -> None:
    """No Windows task fetches or installs a file that no checksum covers."""
    assert download_problems(yaml.safe_load(path.read_text())) == []


def test_downloads_exist_and_each_has_a_checksum() -> None:
    """The role's real downloads are the ones checked above (and they are checksummed)."""
    tasks = [
        t
        for p in WINDOWS_TASK_FILES
        for t in _tasks(yaml.safe_load(p.read_text()))
        if _module(t, "win_get_url") is not None
    ]
    assert len(tasks) >= 2
    assert all(_module(t, "win_get_url").get("checksum") for t in tasks)  # type: ignore[union-attr]


def test_the_check_catches_unverified_downloads() -> None:
    """The checker itself fails on each way a download can go unverified."""
    bad = [
        {
            "name": "a",
            "ansible.windows.win_get_url": {"url": "https://x/y.exe", "dest": "C:\\y.exe"},
        },
        {
            "name": "b",
            "block": [{"name": "c", "ansible.windows.win_package": {"path": "https://x/y.msi"}}],
            "rescue": [{"name": "c2", "ansible.windows.win_package": {"path": "{{ x_url }}"}}],
        },
        {"name": "d", "chocolatey.chocolatey.win_chocolatey": {"name": "cmake"}},
        {"name": "e", "ansible.builtin.include_tasks": "download.yml", "vars": {"__download": {}}},
    ]
    assert [p.split(":")[0] for p in download_problems(bad)] == ["a", "c", "c2", "d", "e"]
