"""The user data script that turns a fresh instance into a runner (no secret inside)."""

from __future__ import annotations

import re
from importlib import resources

from mlcops.errors import UsageError

_SAFE = re.compile(r"^[A-Za-z0-9_./:-]+$")
_PLACEHOLDER = re.compile(r"@@([a-z_]+)@@")


def render(
    *, region: str, parameter_root: str, runner_dir: str, runner_user: str, ephemeral: bool
) -> str:
    """Render ``userdata.sh`` for one fleet.

    Every value lands inside single quotes in a shell script, so each must be plain (letters,
    digits, ``_ . / : -``); anything else is refused rather than escaped.

    Raises:
        UsageError: A value that is not plain.

    """
    values = {
        "region": region,
        "parameter_root": parameter_root,
        "runner_dir": runner_dir,
        "runner_user": runner_user,
        "ephemeral": "true" if ephemeral else "false",
    }
    for key, value in values.items():
        if not _SAFE.match(value):
            option = f"--{key.replace('_', '-')}"
            raise UsageError(f"{option} {value!r}: use letters, digits and _ . / : - only")
    template = resources.files("mlcops.fleet").joinpath("userdata.sh").read_text()
    script = _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)
    if len(script.encode()) > 16 * 1024:  # EC2's user data limit (before base64)
        raise AssertionError("user data is over 16 KiB")
    return script
