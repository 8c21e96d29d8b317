"""The run report: ``report.json`` and ``report.md`` in each run directory.

A report holds the hosts with their counts and per-role durations, the changed and failed
tasks with their messages, what the run published (every ``set_stats`` record, such as
image digests, wheel SHA-256s and the release URL) and the versions the roles found
(their ``*_info`` facts). It never holds a secret: values of secret variables are
replaced before anything is written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mlcops.runner import REDACTED, RunState, is_secret_name


def build(state: RunState) -> dict[str, Any]:
    """Return the report of a run as plain JSON-able data."""
    durations = state.role_durations()
    hosts: dict[str, Any] = {}
    for name, host in sorted(state.hosts.items()):
        hosts[name] = {
            "status": host.status,
            "ok": host.ok,
            "changed": host.changed,
            "failed": host.failed,
            "skipped": host.skipped,
            "unreachable": host.unreachable,
            "elapsed_s": round(host.elapsed, 1),
            "roles_s": {role: round(s, 1) for role, s in durations.get(name, {}).items()},
        }
    extravars = {k: (REDACTED if is_secret_name(k) else v) for k, v in state.extravars.items()}
    return {
        "run_id": state.run_id,
        "status": state.status,
        "rc": state.rc,
        "playbook": state.playbook,
        "inventory": state.inventory,
        "limit": state.limit,
        "tags": state.tags,
        "check": state.check,
        "extravars": extravars,
        "started_at": state.started_at,
        "duration_s": round(state.duration, 1),
        "hosts": hosts,
        "changed": [
            {"host": r.host, "role": r.role, "task": r.task} for r in state.results if r.changed
        ],
        "failed": [
            {"host": r.host, "role": r.role, "task": r.task, "status": r.status, "msg": r.message}
            for r in state.results
            if r.status in ("failed", "unreachable")
        ],
        "published": state.published,
        "versions": state.facts,
        "warnings": state.warnings,
        "errors": state.errors,
    }


def _redact(obj: Any, secrets: list[str]) -> Any:
    """Replace every secret value inside strings, keys included, in nested data."""
    if isinstance(obj, str):
        for value in secrets:
            obj = obj.replace(value, REDACTED)
        return obj
    if isinstance(obj, Mapping):
        return {_redact(str(k), secrets): _redact(v, secrets) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_redact(v, secrets) for v in obj]
    return obj


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text.replace("|", "\\|").replace("\n", " ")


def _flat(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in data.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            rows += _flat(value, name)
        else:
            rows.append((name, value))
    return rows


def markdown(report: Mapping[str, Any]) -> str:
    """Render a report as Markdown, ready to attach to a ticket."""
    out = [
        f"# mlcops run {report['run_id']}: {report['status']}",
        "",
        f"- playbook: `{report['playbook']}`",
        f"- inventory: `{report['inventory']}`",
    ]
    for key in ("limit", "tags"):
        if report.get(key):
            out.append(f"- {key}: `{report[key]}`")
    if report.get("check"):
        out.append("- check mode")
    for key, value in (report.get("extravars") or {}).items():
        out.append(f"- `-e {key}={value}`")
    out += [f"- started {report['started_at']}, took {report['duration_s']} s", ""]
    out += ["## Hosts", "", "| host | status | ok | changed | failed | skipped | time (s) |"]
    out.append("|---|---|---:|---:|---:|---:|---:|")
    for name, h in report["hosts"].items():
        out.append(
            f"| {name} | {h['status']} | {h['ok']} | {h['changed']} | {h['failed']} "
            f"| {h['skipped']} | {h['elapsed_s']} |"
        )
    out += ["", "## Time per role", "", "| host | role | seconds |", "|---|---|---:|"]
    for name, h in report["hosts"].items():
        for role, secs in sorted(h["roles_s"].items(), key=lambda kv: -kv[1]):
            out.append(f"| {name} | {role} | {secs} |")
    if report.get("errors"):  # absent from reports written before errors were kept
        out += ["", "## Errors", ""]
        out += [f"- {_cell(' '.join(e.split()))}" for e in report["errors"]]
    if report["failed"]:
        out += ["", "## Failed", "", "| host | role | task | message |", "|---|---|---|---|"]
        for f in report["failed"]:
            out.append(f"| {f['host']} | {f['role']} | {_cell(f['task'])} | {_cell(f['msg'])} |")
    if report["changed"]:
        out += ["", "## Changed", "", "| host | role | task |", "|---|---|---|"]
        for c in report["changed"]:
            out.append(f"| {c['host']} | {c['role']} | {_cell(c['task'])} |")
    if report["published"]:
        out += ["", "## Published", "", "| what | value |", "|---|---|"]
        for key, value in _flat(report["published"]):
            out.append(f"| {key} | `{_cell(value)}` |")
    if report["versions"]:
        out += ["", "## Versions found", "", "| host | what | value |", "|---|---|---|"]
        for host, facts in report["versions"].items():
            for key, value in _flat(facts):
                out.append(f"| {host} | {key} | {_cell(value)} |")
    return "\n".join(out) + "\n"


def write(state: RunState, run_dir: Path, *, secrets: Iterable[str] = ()) -> dict[str, Any]:
    """Write ``report.json`` and ``report.md`` (mode 0600) into the run directory.

    Args:
        state: the finished run.
        run_dir: the run's directory.
        secrets: values that must not appear; each is replaced by ``<redacted>``.

    Returns:
        The report, as written to ``report.json``.

    """
    values = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)
    plain = json.loads(json.dumps(build(state), default=str))
    report: dict[str, Any] = _redact(plain, values)
    text = json.dumps(report, indent=2)
    run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    for name, content in (("report.md", markdown(report)), ("report.json", text + "\n")):
        path = run_dir / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(content)
    return report


def load(run_dir: Path) -> dict[str, Any]:
    """Read a run's ``report.json``."""
    data: dict[str, Any] = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    return data
