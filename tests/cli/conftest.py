"""Fixtures of the CLI tests: a private state directory and small projects to run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

PLAYBOOKS = Path(__file__).resolve().parent / "playbooks"
INVENTORY_DIR = Path(__file__).resolve().parent / "inventory"


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point MLCOPS_STATE_DIR at a fresh directory; yield it."""
    path = tmp_path / "state"
    monkeypatch.setenv("MLCOPS_STATE_DIR", str(path))
    yield path


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project checkout whose playbooks are the small test playbooks.

    ``provision`` runs ``events.yml``, ``build`` runs ``fail.yml``, ``test`` runs
    ``sleep.yml``; the inventory has two hosts reached with the local connection.
    """
    root = tmp_path / "project"
    (root / "playbooks").mkdir(parents=True)
    (root / "inventory").mkdir()
    for name, source in {
        "site.yml": "events.yml",
        "build.yml": "fail.yml",
        "test.yml": "sleep.yml",
    }.items():
        (root / "playbooks" / name).write_text((PLAYBOOKS / source).read_text())
    (root / "inventory" / "hosts.yml").write_text((INVENTORY_DIR / "hosts.yml").read_text())
    monkeypatch.setenv("MLCOPS_PROJECT_DIR", str(root))
    return root
