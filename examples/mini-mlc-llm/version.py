"""Version stamping, in the style of TVM's and MLC-LLM's ``version.py``.

``python version.py``                 print the version recorded in python/mlc_llm/libinfo.py
``python version.py --git-describe``  derive the version from ``git describe --tags`` and
                                      write it into libinfo.py (only when it changes), then
                                      print it

``v0.1.0`` gives ``0.1.0``; ``v0.1.0-3-gabc1234`` gives ``0.1.0.dev3+gabc1234`` (PEP 440).
Without git or tags the recorded version is kept, with a warning on stderr; exit status 0.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

PROJ_ROOT = Path(__file__).resolve().parent
LIBINFO = PROJ_ROOT / "python" / "mlc_llm" / "libinfo.py"
VERSION_RE = re.compile(r'^__version__ = "([^"]*)"', re.MULTILINE)


def recorded_version() -> str:
    """Return the version currently written in libinfo.py."""
    match = VERSION_RE.search(LIBINFO.read_text(encoding="utf-8"))
    if match is None:
        raise SystemExit(f"version.py: no __version__ line in {LIBINFO}")
    return match.group(1)


def describe_to_version(describe: str) -> str:
    """Convert ``git describe --tags`` output to a PEP 440 version."""
    parts = describe.strip().split("-")
    if parts[0].startswith("v"):
        parts[0] = parts[0][1:]
    if len(parts) == 1:
        return parts[0]
    if len(parts) != 3:
        raise ValueError(f"unexpected git describe output: {describe!r}")
    base, distance, sha = parts
    dev = base.find(".dev")
    if dev != -1:
        base = base[:dev]
    return f"{base}.dev{distance}+{sha}"


def git_describe() -> str | None:
    """Return ``git describe --tags`` of the checkout, or None (with a warning)."""
    try:
        out = subprocess.run(
            ["git", "describe", "--tags"],
            cwd=PROJ_ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as exc:
        print(f"version.py: warning: cannot run git: {exc}", file=sys.stderr)
        return None
    if out.returncode != 0:
        print(
            f"version.py: warning: git describe --tags failed: {out.stderr.strip()}",
            file=sys.stderr,
        )
        return None
    return out.stdout.strip()


def stamp(version: str) -> bool:
    """Write version into libinfo.py; return whether the file changed."""
    text = LIBINFO.read_text(encoding="utf-8")
    new = VERSION_RE.sub(f'__version__ = "{version}"', text, count=1)
    if new == text:
        return False
    LIBINFO.write_text(new, encoding="utf-8")
    return True


def main() -> int:
    """Parse the arguments and print (and with --git-describe, stamp) the version."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--git-describe",
        action="store_true",
        help="stamp the version from `git describe --tags` into python/mlc_llm/libinfo.py",
    )
    args = parser.parse_args()
    version = recorded_version()
    if args.git_describe:
        describe = git_describe()
        if describe is not None:
            version = describe_to_version(describe)
            if stamp(version):
                print(f"version.py: updated {LIBINFO.relative_to(PROJ_ROOT)}", file=sys.stderr)
    print(version)
    return 0


if __name__ == "__main__":
    sys.exit(main())
