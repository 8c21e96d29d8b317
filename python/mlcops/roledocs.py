"""Generate role READMEs' variable tables and the sample inventory from the argument specs.

The argument spec is the one source of truth for a role's inputs; the README table
between the ``BEGIN/END ARGUMENT SPEC`` markers and ``inventory/sample/group_vars/all/<role>.yml``
(every knob, commented) are generated from it, never typed twice.
Run ``python -m mlcops.roledocs --write`` (``make docs``) after changing a spec;
``--check`` exits 1 when a README is stale.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import yaml

BEGIN = "<!-- BEGIN ARGUMENT SPEC -->"
END = "<!-- END ARGUMENT SPEC -->"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = (value or '""') if isinstance(value, str) else json.dumps(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _type(option: dict[str, Any]) -> str:
    kind = str(option.get("type", "str"))
    if kind == "list" and "elements" in option:
        kind = f"list of {option['elements']}"
    return kind


def table(spec: dict[str, Any]) -> str:
    """Return the Markdown table of one entry point's options."""
    lines = [
        "| Variable | Type | Default | Choices | Description |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, option in sorted(spec.get("options", {}).items()):
        required = bool(option.get("required", False))
        default = "**required**" if required else f"`{_cell(option.get('default'))}`"
        description = option.get("description", "")
        if isinstance(description, list):
            description = " ".join(description)
        choices = ", ".join(f"`{c}`" for c in option.get("choices", []))
        lines.append(
            f"| `{name}` | {_type(option)} | {default} | {choices} | {_cell(description)} |"
        )
    return "\n".join(lines)


def render(role_dir: Path) -> str | None:
    """Return the README text with a fresh table, or None when the role has no markers."""
    readme = role_dir / "README.md"
    specs_file = role_dir / "meta" / "argument_specs.yml"
    if not readme.is_file() or not specs_file.is_file():
        return None
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        return None
    specs = yaml.safe_load(specs_file.read_text())["argument_specs"]
    parts = []
    for entry, spec in specs.items():
        if len(specs) > 1:
            parts.append(f"### Entry point `{entry}`\n")
        parts.append(table(spec))
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n" + "\n\n".join(parts) + f"\n{END}{tail}"


def sample(role_dir: Path) -> str | None:
    """Return the commented sample group_vars of a role: every option with its default."""
    specs_file = role_dir / "meta" / "argument_specs.yml"
    if not specs_file.is_file():
        return None
    spec = yaml.safe_load(specs_file.read_text())["argument_specs"]["main"]
    lines = [
        "---",
        f"# {role_dir.name}: {spec.get('short_description', '')}".rstrip(),
        f"# Generated from roles/{role_dir.name}/meta/argument_specs.yml by `make docs`.",
        "# Uncomment and change what this inventory needs.",
    ]
    for name, option in sorted(spec.get("options", {}).items()):
        description = option.get("description", "")
        if isinstance(description, list):
            description = " ".join(description)
        lines.append("")
        lines.extend(f"# {line}" for line in textwrap.wrap(str(description), 96))
        if option.get("choices"):
            lines.append(f"# One of: {', '.join(str(c) for c in option['choices'])}.")
        if option.get("required"):
            lines.append(f"# {name}:  # required")
            continue
        dumped = yaml.safe_dump({name: option.get("default")}, default_flow_style=False, width=96)
        lines.extend(f"# {line}" for line in dumped.rstrip().splitlines())
    return "\n".join(lines) + "\n"


def _outputs(roles: Path, inventory: Path) -> dict[Path, str]:
    outputs: dict[Path, str] = {}
    for role_dir in sorted(p for p in roles.iterdir() if p.is_dir()):
        readme = render(role_dir)
        if readme is not None:
            outputs[role_dir / "README.md"] = readme
        commented = sample(role_dir)
        if commented is not None:
            outputs[inventory / "group_vars" / "all" / f"{role_dir.name}.yml"] = commented
    return outputs


def main(argv: list[str] | None = None) -> int:
    """Write or check every role README under roles/."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--roles", type=Path, default=Path("roles"))
    parser.add_argument("--inventory", type=Path, default=Path("inventory/sample"))
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    stale = []
    for path, fresh in _outputs(args.roles, args.inventory).items():
        if not path.is_file() or path.read_text() != fresh:
            if args.write:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(fresh)
            stale.append(path)
    for path in stale:
        print(f"{'updated' if args.write else 'stale'}: {path}")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
