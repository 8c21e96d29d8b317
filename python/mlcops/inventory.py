"""Read an inventory the way ansible-playbook will, before anything runs."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from mlcops.errors import UsageError


def load(inventory: Path, *, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Return ``ansible-inventory --list`` of an inventory.

    Raises:
        UsageError: the inventory is missing or does not parse.

    """
    if not inventory.exists():
        raise UsageError(f"--inventory {inventory}: no such file or directory")
    run_env = dict(os.environ if env is None else env)
    # A source no plugin can parse is an error, not a warning and an empty inventory.
    run_env["ANSIBLE_INVENTORY_UNPARSED_FAILED"] = "true"
    result = subprocess.run(
        ["ansible-inventory", "-i", str(inventory), "--list"],
        check=False,
        capture_output=True,
        text=True,
        env=run_env,
    )
    if result.returncode != 0:
        raise UsageError(f"--inventory {inventory} does not parse: {_why(result.stderr)}")
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _why(stderr: str) -> str:
    """Pick the most telling line of ansible-inventory's errors (and where it happened)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    reason = next(
        (x.split(": ", 1)[1] for x in lines if x.startswith("[WARNING]: Failed to parse")),
        lines[-1] if lines else "no output",
    )
    origin = next((x[8:] for x in lines if x.startswith("Origin: ") and ":" in x[8:]), "")
    reason = reason[:200]
    return f"{reason} (at {origin})" if origin else reason


def _group_hosts(data: dict[str, Any], group: str, seen: set[str] | None = None) -> list[str]:
    seen = seen if seen is not None else set()
    if group in seen:
        return []
    seen.add(group)
    entry = data.get(group) or {}
    hosts = list(entry.get("hosts", []))
    for child in entry.get("children", []):
        hosts += _group_hosts(data, child, seen)
    return hosts


def all_hosts(data: dict[str, Any]) -> list[str]:
    """Every host of a ``--list`` result, in inventory order, once each."""
    return list(dict.fromkeys(_group_hosts(data, "all")))


def _parse_in_process(inventory: Path, limit: str | None) -> tuple[list[str], list[str]]:
    """Ask Ansible's own InventoryManager: every host, and those ``limit`` selects.

    In-process, with Ansible's semantics for patterns (groups, ``!``, ``&``, globs, regexes)
    and without a second Python starting up. Ansible's warnings are kept off the terminal:
    a failure is explained by :func:`load` instead.
    """
    import contextlib
    import io

    from ansible.inventory.manager import InventoryManager  # type: ignore[import-untyped]
    from ansible.parsing.dataloader import DataLoader  # type: ignore[import-untyped]

    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        manager = InventoryManager(loader=DataLoader(), sources=[str(inventory)])
        # str(): Ansible 2.19 hands out tagged strings that yaml.safe_dump refuses.
        hosts = [str(h.name) for h in manager.get_hosts("all")]
        if not limit:
            return hosts, hosts
        manager.subset(limit)
        try:
            selected = [str(h.name) for h in manager.get_hosts("all")]
        except Exception:
            selected = []
    return hosts, selected


def resolve(inventory: Path, limit: str | None) -> list[str]:
    """Return the hosts a run would touch: the inventory's hosts matched by ``limit``.

    ``limit`` is an Ansible ``--limit`` pattern: host or group names, globs, ``!`` to
    exclude and ``&`` to intersect.

    Raises:
        UsageError: the inventory does not parse or has no host, or the limit matches none.

    """
    if not inventory.exists():
        raise UsageError(f"--inventory {inventory}: no such file or directory")
    hosts, selected = _parse_in_process(inventory, limit)
    # load() raises with the parser's reason when the inventory does not parse.
    if not hosts and not all_hosts(load(inventory)):
        raise UsageError(f"--inventory {inventory} has no host: add hosts to it")
    if not selected:
        raise UsageError(
            f"--limit {limit} matches no host of {inventory}: "
            f"its hosts are {', '.join(hosts[:8])}{' ...' if len(hosts) > 8 else ''}"
        )
    return selected
