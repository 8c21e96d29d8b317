"""Import, version and build information."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import mlc_llm
import pytest
from mlc_llm import base, libinfo

pytestmark = pytest.mark.unittest

PLACEHOLDER = "0.1.dev0"
SOURCE_DIR = Path(__file__).resolve().parents[2]


def _git_describe() -> str | None:
    try:
        out = subprocess.run(
            ["git", "describe", "--tags"],
            cwd=SOURCE_DIR,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def test_import_loads_libraries() -> None:
    """Importing mlc_llm finds and loads libmlc_llm and libtvm_runtime."""
    assert base.LIB_PATH.name == "libmlc_llm.so"
    assert base.LIB_PATH.is_file()
    assert mlc_llm.__version__ == libinfo.__version__


def test_version_is_pep440_and_compiled_in() -> None:
    """The version is PEP 440, and the library was built from the same stamp."""
    assert re.fullmatch(r"\d+\.\d+(\.\d+)?(\.dev\d+)?(\+g[0-9a-f]{4,40})?", mlc_llm.__version__)
    assert base.lib_version() == mlc_llm.__version__, (
        "libmlc_llm was built from another version stamp: rebuild after version.py"
    )


def test_version_matches_git_describe() -> None:
    """Once stamped, the version is what version.py derives from `git describe --tags`."""
    if mlc_llm.__version__ == PLACEHOLDER:
        pytest.skip("version not stamped (run: python version.py --git-describe)")
    describe = _git_describe()
    if describe is None:
        pytest.skip("not a git checkout with tags")
    tag, _, rest = describe.lstrip("v").partition("-")
    if not rest:
        assert mlc_llm.__version__ == tag
    else:
        distance, sha = rest.split("-")
        assert mlc_llm.__version__ == f"{tag}.dev{distance}+{sha}", describe


def test_backends_match_build_config(config: dict[str, str]) -> None:
    """The backends the library reports are the USE_* switches it was configured with."""
    reported = base.backends()
    assert reported[0] == "cpu"
    assert set(reported) <= {"cpu", "vulkan", "cuda", "rocm", "opencl"}
    if not config:
        pytest.skip("no config.cmake next to the sources")
    on = {k for k, v in config.items() if v.upper() in ("ON", "1", "TRUE", "YES")}
    expected = ["cpu"] + [
        name
        for name, switch in (
            ("vulkan", "USE_VULKAN"),
            ("cuda", "USE_CUDA"),
            ("rocm", "USE_ROCM"),
            ("opencl", "USE_OPENCL"),
        )
        if switch in on
    ]
    assert reported == expected


def test_runtime_and_registry() -> None:
    """libmlc_llm runs on libtvm_runtime and registers its functions there."""
    assert re.fullmatch(r"tvm \d+\.\d+\.dev\d+, dlpack \d+", base.runtime_info())
    funcs = base.global_funcs()
    assert {"mlc.llm.version", "mlc.llm.backends", "runtime.GetVersion"} <= set(funcs)


def test_library_search_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """$MLC_LIBRARY_PATH comes first, then the package dir, then build/ and build/lib."""
    monkeypatch.setenv("MLC_LIBRARY_PATH", str(tmp_path))
    dirs = libinfo.get_dll_directories()
    assert dirs[0] == tmp_path
    assert dirs[1] == Path(libinfo.__file__).resolve().parent
    assert dirs[-2:] == [dirs[-2], dirs[-2] / "lib"]
    assert dirs[-2].name == "build"
