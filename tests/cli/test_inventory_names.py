"""Host names from a YAML inventory are plain strings the reports can write."""

from __future__ import annotations

from pathlib import Path

import yaml

from mlcops import inventory as inv
from tests.helpers import PROJECT


def test_resolved_names_are_plain_strings_yaml_can_dump(tmp_path: Path) -> None:
    """Ansible 2.19 tags the strings it parses; yaml.safe_dump refuses them (mlcops verify)."""
    hosts = inv.resolve(PROJECT / "inventory/local", None)
    assert hosts == ["linux-runner-1"]
    assert all(type(h) is str for h in hosts)
    yaml.safe_dump({h: {} for h in hosts}, (tmp_path / "out.yml").open("w"))
