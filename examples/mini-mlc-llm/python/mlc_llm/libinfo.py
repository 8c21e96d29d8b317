"""Library information: the version and where the native libraries are.

``__version__`` is stamped by ``python version.py --git-describe`` at the repository root and
read by CMake (compiled into libmlc_llm) and by scikit-build-core (the wheel version).
"""

from __future__ import annotations

import os
from pathlib import Path

__version__ = "0.1.dev0"

LIB_NAMES = ("libmlc_llm.so", "libtvm_runtime.so")


def get_dll_directories() -> list[Path]:
    """Return the directories searched for the native libraries, in order.

    1. ``$MLC_LIBRARY_PATH`` (``os.pathsep``-separated);
    2. the package directory (an installed wheel);
    3. ``<source>/build`` and ``<source>/build/lib`` (a source checkout).
    """
    dirs: list[Path] = []
    env = os.environ.get("MLC_LIBRARY_PATH", "")
    dirs.extend(Path(p) for p in env.split(os.pathsep) if p)
    package_dir = Path(__file__).resolve().parent
    dirs.append(package_dir)
    source_dir = package_dir.parent.parent
    dirs.extend([source_dir / "build", source_dir / "build" / "lib"])
    return dirs


def find_lib_path(name: str = "libmlc_llm.so", optional: bool = False) -> list[Path]:
    """Return the existing files called ``name`` in the search directories, in order.

    Raises RuntimeError when none exists, unless ``optional``.
    """
    dirs = get_dll_directories()
    found = [d / name for d in dirs if (d / name).is_file()]
    if not found and not optional:
        searched = "\n  ".join(str(d) for d in dirs)
        raise RuntimeError(
            f"Cannot find {name}. Build the native libraries first "
            f"(cmake -S . -B build -G Ninja && cmake --build build), or point "
            f"MLC_LIBRARY_PATH at the directory that holds them. Searched:\n  {searched}"
        )
    return found
