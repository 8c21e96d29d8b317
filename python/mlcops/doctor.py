"""``mlcops doctor``: pre-flight of this controller, each problem with its fix."""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from mlcops import inventory as inv
from mlcops.errors import UsageError

#: Collections the roles and playbooks use.
COLLECTIONS = ("community.docker", "community.general", "ansible.posix", "amazon.aws")
#: The oldest Python and ansible-core the project supports.
MIN_PYTHON = (3, 11)
MIN_ANSIBLE = (2, 19)


@dataclass
class Check:
    """One pre-flight check: what it found and, when it failed, how to fix it."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


def _version_tuple(text: str) -> tuple[int, ...]:
    parts: list[int] = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def check_python() -> Check:
    """Check that Python on the controller is new enough."""
    found = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info[:2] >= MIN_PYTHON
    return Check(
        "python",
        ok,
        f"{found} ({sys.executable})",
        "" if ok else "run mlcops from a Python 3.11+ virtualenv: python3.11 -m venv .venv",
    )


def check_ansible() -> Check:
    """Check that ansible-core is installed, new enough, and on PATH."""
    try:
        version = importlib.metadata.version("ansible-core")
    except importlib.metadata.PackageNotFoundError:
        return Check("ansible-core", False, "not installed", "pip install -e . (pins ansible-core)")
    if _version_tuple(version)[:2] < MIN_ANSIBLE:
        return Check(
            "ansible-core", False, version, "pip install -e . to get the pinned ansible-core"
        )
    missing = [c for c in ("ansible-playbook", "ansible-inventory") if not shutil.which(c)]
    if missing:
        return Check(
            "ansible-core",
            False,
            f"{version}, but {', '.join(missing)} not on PATH",
            f"add {Path(sys.executable).parent} to PATH",
        )
    return Check("ansible-core", True, version)


def check_collections() -> list[Check]:
    """Check that the Ansible collections the roles use are installed."""
    result = subprocess.run(
        ["ansible-galaxy", "collection", "list", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    found: dict[str, str] = {}
    if result.returncode == 0:
        try:
            for entries in json.loads(result.stdout).values():
                for name, info in entries.items():
                    found.setdefault(name, str(info.get("version", "?")))
        except (ValueError, AttributeError):
            pass
    checks = []
    for name in COLLECTIONS:
        if name in found:
            checks.append(Check(f"collection {name}", True, found[name]))
        else:
            checks.append(
                Check(
                    f"collection {name}",
                    False,
                    "not installed",
                    f"ansible-galaxy collection install {name} (or pip install -e .)",
                )
            )
    return checks


def check_docker(needed: bool) -> Check:
    """Check that the Docker engine answers (needed for local container hosts)."""
    import docker
    import docker.errors

    try:
        client = docker.from_env()
        version = str(client.version().get("Version", "?"))
    except docker.errors.DockerException as exc:
        detail = f"not reachable ({str(exc).splitlines()[0][:120]})"
        if not needed:
            return Check("docker", True, f"{detail}; the inventory has no local hosts")
        return Check(
            "docker",
            False,
            detail,
            "start the engine (make engine, or `systemctl start docker`) and check DOCKER_HOST",
        )
    return Check("docker", True, f"engine {version}")


def check_credentials(environ: dict[str, str]) -> list[Check]:
    """Check that GitHub and AWS credentials are set (never printing their values)."""
    checks = []
    token, app = environ.get("GITHUB_TOKEN"), environ.get("GITHUB_APP_ID")
    if token and app:
        checks.append(
            Check("github credentials", False, "both set", "unset GITHUB_TOKEN or GITHUB_APP_ID")
        )
    elif token:
        checks.append(Check("github credentials", True, "GITHUB_TOKEN is set"))
    elif app:
        key = environ.get("GITHUB_APP_PRIVATE_KEY") or environ.get("GITHUB_APP_PRIVATE_KEY_FILE")
        checks.append(
            Check(
                "github credentials",
                bool(key),
                "GITHUB_APP_ID is set" + ("" if key else " without a private key"),
                "" if key else "set GITHUB_APP_PRIVATE_KEY or GITHUB_APP_PRIVATE_KEY_FILE",
            )
        )
    else:
        checks.append(
            Check(
                "github credentials",
                False,
                "none set (registering runners and releasing need them)",
                "export GITHUB_TOKEN (a PAT with repo admin), or GITHUB_APP_ID with "
                "GITHUB_APP_PRIVATE_KEY_FILE",
            )
        )
    user, password = (
        environ.get("MLCOPS_REGISTRY_USERNAME"),
        environ.get("MLCOPS_REGISTRY_PASSWORD"),
    )
    if bool(user) != bool(password):
        checks.append(
            Check(
                "registry credentials",
                False,
                "only one of MLCOPS_REGISTRY_USERNAME and MLCOPS_REGISTRY_PASSWORD is set",
                "set both (for ghcr.io: your user and a token with write:packages), or neither",
            )
        )
    else:
        checks.append(
            Check(
                "registry credentials",
                True,
                "set" if user else "not set (only `mlcops image` and `release` push images)",
            )
        )
    key_id, secret = environ.get("AWS_ACCESS_KEY_ID"), environ.get("AWS_SECRET_ACCESS_KEY")
    if bool(key_id) != bool(secret):
        checks.append(
            Check(
                "aws credentials",
                False,
                "only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set",
                "set both, or neither and use AWS_PROFILE",
            )
        )
    else:
        where = "keys in the environment" if key_id else (environ.get("AWS_PROFILE") or "default")
        checks.append(Check("aws credentials", True, f"{where} (only `mlcops fleet` needs them)"))
    return checks


def check_inventory(inventory: Path) -> tuple[Check, bool]:
    """Check that the inventory parses and has hosts; tell whether it has local hosts."""
    try:
        data = inv.load(inventory)
    except UsageError as exc:
        return Check("inventory", False, str(exc), "fix the file named above"), False
    hosts = inv.all_hosts(data)
    local = bool((data.get("local_containers") or {}).get("hosts"))
    if not hosts:
        return Check("inventory", False, f"{inventory} has no host", "add hosts to it"), local
    return Check("inventory", True, f"{inventory}: {len(hosts)} host(s)"), local


def run_checks(
    inventory: Path, project: Path, environ: dict[str, str] | None = None
) -> list[Check]:
    """Run every pre-flight check, in the order a problem should be fixed."""
    env = dict(os.environ if environ is None else environ)
    checks = [check_python(), check_ansible(), *check_collections()]
    config = project / "ansible.cfg"
    checks.append(
        Check("ansible.cfg", config.is_file(), str(config), "run mlcops from the project checkout")
    )
    inv_check, local = check_inventory(inventory)
    checks.append(inv_check)
    checks.append(check_docker(local))
    checks += check_credentials(env)
    return checks
