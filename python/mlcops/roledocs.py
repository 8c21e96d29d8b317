"""Generate each role README's variable table from its ``meta/argument_specs.yml``.

The argument spec is the one source of truth for a role's inputs; the README table
between the ``BEGIN/END ARGUMENT SPEC`` markers is generated from it, never typed twice.
Run ``python -m mlcops.roledocs --write`` (``make docs``) after changing a spec;
``--check`` exits 1 when a README is stale.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

BEGIN = "<!-- BEGIN ARGUMENT SPEC -->"
END = "<!-- END ARGUMENT SPEC -->"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        text = value if value else '""'
    else:
        text = yaml.safe_dump(value, default_flow_style=True).strip()
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


def main(argv: list[str] | None = None) -> int:
    """Write or check every role README under roles/."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--roles", type=Path, default=Path("roles"))
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    stale = []
    for role_dir in sorted(p for p in args.roles.iterdir() if p.is_dir()):
        fresh = render(role_dir)
        if fresh is None:
            continue
        readme = role_dir / "README.md"
        if readme.read_text() != fresh:
            if args.write:
                readme.write_text(fresh)
            stale.append(readme)
    for path in stale:
        print(f"{'updated' if args.write else 'stale'}: {path}")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
