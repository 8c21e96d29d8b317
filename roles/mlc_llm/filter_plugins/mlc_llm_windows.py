"""Filters of the mlc_llm role's Windows path: the MSVC developer environment and SHA256SUMS.

Unit-tested in ``tests/windows/test_filters.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# Variables of the cmd.exe that captured the environment, not of the build.
_SHELL_ONLY = {"PROMPT", "ERRORLEVEL", "CMDCMDLINE", "=EXITCODE", "=EXITCODEASCII"}


def msvc_environment(set_output: str, drop_path_suffixes: Iterable[str] = ()) -> dict[str, str]:
    r"""Turn the output of ``vcvarsall.bat x64 >nul && set`` into an environment dict.

    PATH entries that end with one of ``drop_path_suffixes`` (case-insensitive) are left out:
    conda's ``Library\usr\bin`` holds a GNU ``link.exe`` that shadows MSVC's linker.

    Args:
        set_output: The ``set`` listing, one ``NAME=value`` per line.
        drop_path_suffixes: PATH entries ending with these are removed.

    Returns:
        The environment, without cmd.exe's own variables.

    Raises:
        ValueError: The listing has no INCLUDE, LIB or PATH, so vcvarsall.bat did not run.

    """
    env: dict[str, str] = {}
    for line in str(set_output).splitlines():
        name, sep, value = line.partition("=")
        if not sep or not name or name.upper() in _SHELL_ONLY or name.startswith("="):
            continue
        env[name] = value.rstrip("\r")
    upper = {k.upper(): k for k in env}
    missing = [k for k in ("INCLUDE", "LIB", "PATH") if k not in upper]
    if missing:
        names = ", ".join(missing)
        raise ValueError(f"vcvarsall.bat set no {names}: is the MSVC x64 toolset installed?")
    drops = tuple(s.lower().rstrip("\\") for s in drop_path_suffixes)
    path_key = upper["PATH"]
    kept = [
        p
        for p in env[path_key].split(";")
        if p and not (drops and p.lower().rstrip("\\").endswith(drops))
    ]
    env[path_key] = ";".join(dict.fromkeys(kept))
    return env


def sha256sums(hashes: dict[str, Any]) -> str:
    r"""Write a SHA256SUMS file body in ``sha256sum`` format from name -> hash.

    Args:
        hashes: File name to SHA-256 (any case).

    Returns:
        ``"<hash>  <name>\n"`` lines sorted by name, LF line ends (as on Linux hosts).

    """
    return "".join(f"{str(h).lower()}  {n}\n" for n, h in sorted(hashes.items()))


class FilterModule:
    """Register the filters."""

    def filters(self) -> dict[str, Any]:
        """Return the filter table."""
        return {"mlc_llm_msvc_environment": msvc_environment, "mlc_llm_sha256sums": sha256sums}
