"""Run the checks of :mod:`mlcops.verify.checks` on every host, in parallel, and render them.

Hosts are reached through testinfra's ansible backend. ``ansible-inventory --list`` does
not render Jinja, so connection variables such as
``ansible_host: "mlcops-{{ inventory_hostname }}"``
are rendered here first and handed to testinfra in a private copy of the inventory that
holds the connection variables only.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml

from mlcops import inventory as inv
from mlcops.errors import UsageError
from mlcops.verify.checks import HostReport, probe

#: Host variables testinfra needs to connect; no other variable leaves the inventory.
CONNECTION_VARS = (
    "ansible_connection",
    "ansible_host",
    "ansible_port",
    "ansible_user",
    "ansible_become",
    "ansible_become_user",
    "ansible_ssh_private_key_file",
    "ansible_ssh_common_args",
    "ansible_ssh_extra_args",
    "ansible_docker_extra_args",
)
#: Columns of the software report, in the order GitHub's runner-images READMEs use.
COLUMNS = (
    "cmake",
    "ninja",
    "gcc",
    "g++",
    "git",
    "ccache",
    "rust",
    "cargo",
    "python",
    "cuda",
    "nvidia-driver",
    "vulkan",
    "rocm",
    "docker",
)


def _render(value: Any, hostvars: Mapping[str, Any], host: str) -> Any:
    """Render the Jinja in one connection variable with the host's variables."""
    if not isinstance(value, str) or "{{" not in value:
        return value
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)  # noqa: S701
    try:
        return env.from_string(value).render({**hostvars, "inventory_hostname": host})
    except jinja2.TemplateError as exc:
        raise UsageError(f"host {host}: cannot render {value!r}: {exc}") from None


def connection_inventory(data: Mapping[str, Any], hosts: list[str]) -> dict[str, Any]:
    """Return a YAML inventory of ``hosts`` with their rendered connection variables only."""
    hostvars: Mapping[str, Any] = (data.get("_meta") or {}).get("hostvars") or {}
    out: dict[str, Any] = {}
    for host in hosts:
        own = hostvars.get(host) or {}
        out[host] = {key: _render(own[key], own, host) for key in CONNECTION_VARS if key in own}
        out[host].setdefault("ansible_connection", "ssh")
    return {"all": {"hosts": out}}


def _probe_one(inventory_file: str, host: str, hostvars: dict[str, Any]) -> HostReport:
    import testinfra

    cmake_range = (
        str(hostvars.get("toolchain_cmake_min_version", "3.24")),
        str(hostvars.get("toolchain_cmake_max_version", "4.0")),
    )
    try:
        target = testinfra.get_host(f"ansible://{host}", ansible_inventory=inventory_file)
        return probe(target, host, hostvars, cmake_range=cmake_range)
    except Exception as exc:
        report = HostReport(host, reachable=False)
        report.error = (str(exc).strip().splitlines() or [type(exc).__name__])[-1][:200]
        return report


def verify(inventory: Path, hosts: list[str], *, workers: int = 8) -> dict[str, Any]:
    """Check every host; return the report (``ok`` is false when any host fails)."""
    if workers < 1:
        raise UsageError(f"--workers {workers}: check at least 1 host at a time")
    data = inv.load(inventory)
    hostvars: Mapping[str, Any] = (data.get("_meta") or {}).get("hostvars") or {}
    conn = connection_inventory(data, hosts)
    with tempfile.TemporaryDirectory(prefix="mlcops-verify-") as tmp:
        path = os.path.join(tmp, "hosts.yml")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            yaml.safe_dump(conn, f)
        with ThreadPoolExecutor(max_workers=min(workers, len(hosts)) or 1) as pool:
            futures = [
                pool.submit(_probe_one, path, host, dict(hostvars.get(host) or {}))
                for host in hosts
            ]
            reports = [f.result() for f in futures]
    return {
        "inventory": str(inventory),
        "ok": all(r.ok for r in reports),
        "hosts": {r.host: {**asdict(r), "ok": r.ok} for r in reports},
    }


def _cell(item: Mapping[str, Any]) -> str:
    if not item["found"]:
        return "-"
    text = item["version"] or "yes"
    if item["works"] is False:
        text += " (broken)"
    return text


def text(result: Mapping[str, Any]) -> str:
    """Render the report as plain text for a terminal."""
    out: list[str] = []
    for name, h in result["hosts"].items():
        out.append(f"{name}: {'ok' if h['ok'] else 'FAILED'}")
        if not h["reachable"]:
            out.append(f"  unreachable: {h['error']}")
            continue
        out.append(f"  os: {h['os']} (kernel {h['kernel']})")
        for key in COLUMNS:
            item = h["items"][key]
            extra = f"  [{item['detail']}]" if item["detail"] and item["found"] else ""
            out.append(f"  {key:<14}{_cell(item)}{extra}")
        if h["vulkan_devices"]:
            out.append(f"  vulkan devices: {', '.join(h['vulkan_devices'])}")
        if h["gpus"]:
            out.append(f"  gpus: {', '.join(h['gpus'])}")
        for unit, state in h["services"].items():
            out.append(f"  service {unit}: {state}")
        out.append(f"  labels: {', '.join(h['labels']) or '(none)'}")
        for p in h["problems"]:
            out.append(f"  PROBLEM [{p['label']}] {p['message']}")
    return "\n".join(out) + "\n"


def markdown(result: Mapping[str, Any]) -> str:
    """Render a Markdown software report per host, like GitHub's runner-images READMEs."""
    out = [f"# Runner software report ({result['inventory']})", ""]
    for name, h in result["hosts"].items():
        out += [f"## {name}: {'ok' if h['ok'] else 'FAILED'}", ""]
        if not h["reachable"]:
            out += [f"Unreachable: {h['error']}", ""]
            continue
        out += [f"- OS: {h['os']}", f"- Kernel: {h['kernel']}"]
        out.append(f"- Labels: {', '.join(f'`{x}`' for x in h['labels']) or '(none)'}")
        out += ["", "| Tool | Version | Notes |", "|---|---|---|"]
        for key in COLUMNS:
            item = h["items"][key]
            notes = item["detail"].replace("|", "\\|") if item["found"] else "not found"
            out.append(f"| {key} | {_cell(item)} | {notes} |")
        if h["vulkan_devices"] or h["gpus"]:
            out += ["", "### Devices", ""]
            out += [f"- Vulkan: {d}" for d in h["vulkan_devices"]]
            out += [f"- GPU: {g}" for g in h["gpus"]]
        if h["services"]:
            out += ["", "### Runner services", "", "| Service | State |", "|---|---|"]
            out += [f"| {u} | {s} |" for u, s in h["services"].items()]
        if h["problems"]:
            out += ["", "### Problems", ""]
            out += [f"- **{p['label']}**: {p['message']}" for p in h["problems"]]
        out.append("")
    return "\n".join(out)
