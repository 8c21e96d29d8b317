"""Shared fixtures of the mini-mlc-llm tests."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SOURCE_DIR = Path(__file__).resolve().parents[2]


def build_config() -> dict[str, str]:
    """Return the set(KEY VALUE) pairs of build/config.cmake (or config.cmake), if any."""
    for path in (SOURCE_DIR / "build" / "config.cmake", SOURCE_DIR / "config.cmake"):
        if path.is_file():
            pairs = re.findall(r"^\s*set\((\w+)\s+(.*?)\)\s*$", path.read_text(), re.MULTILINE)
            return {key: value.strip().strip('"') for key, value in pairs}
    return {}


@pytest.fixture(scope="session")
def config() -> dict[str, str]:
    """Return the build configuration the library was built from ({} when unknown)."""
    return build_config()
