"""The ``mlcops`` command line: one clear line and an exit code for every failure."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from mlcops import __version__
from mlcops.errors import MlcopsError, UsageError
from mlcops.local import hosts as local_hosts

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130


def project_dir() -> Path:
    """Return the project checkout (where playbooks/ and inventory/ live)."""
    env = os.environ.get("MLCOPS_PROJECT_DIR")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "playbooks").is_dir() and (parent / "inventory").is_dir():
            return parent
    return Path.cwd()


def _default_inventory() -> Path:
    return project_dir() / "inventory" / "local"


def _cmd_image(args: argparse.Namespace) -> int:
    print(local_hosts.ensure_base_image(mirror=args.mirror))
    return EXIT_OK


def _selected(args: argparse.Namespace) -> list[local_hosts.LocalHost]:
    found = local_hosts.inventory_hosts(args.inventory)
    if not args.limit:
        return found
    wanted = set(args.limit.split(","))
    unknown = wanted - {h.name for h in found}
    if unknown:
        raise UsageError(
            f"--limit {','.join(sorted(unknown))}: not in the {local_hosts.LOCAL_GROUP} group "
            f"of {args.inventory}; add the host there or fix the name"
        )
    return [h for h in found if h.name in wanted]


def _cmd_up(args: argparse.Namespace) -> int:
    selected = _selected(args)
    if not selected:
        raise UsageError(
            f"--inventory {args.inventory} has no host in group {local_hosts.LOCAL_GROUP}"
        )
    image = local_hosts.ensure_base_image(mirror=args.mirror)
    started = local_hosts.up(selected, image=image)
    for host in selected:
        state = "started" if host.name in started else "already running"
        print(f"{host.name}: {state} ({host.container}, {image})")
    return EXIT_OK


def _cmd_down(args: argparse.Namespace) -> int:
    removed = local_hosts.down(None if args.all else _selected(args))
    for name in removed:
        print(f"{name}: removed")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="mlcops", description=__doc__)
    parser.add_argument("--version", action="version", version=f"mlcops {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_inventory(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "-i",
            "--inventory",
            type=Path,
            default=_default_inventory(),
            help="inventory file or directory (default: inventory/local)",
        )
        p.add_argument("-l", "--limit", help="comma-separated host names")

    p_image = sub.add_parser("image", help="build the local hosts' base image if needed")
    p_image.add_argument("--mirror", help="Debian mirror for debootstrap")
    p_image.set_defaults(func=_cmd_image)

    p_up = sub.add_parser("up", help="start the local container hosts of an inventory")
    with_inventory(p_up)
    p_up.add_argument("--mirror", help="Debian mirror for debootstrap")
    p_up.set_defaults(func=_cmd_up)

    p_down = sub.add_parser("down", help="remove the local container hosts")
    with_inventory(p_down)
    p_down.add_argument("--all", action="store_true", help="every mlcops container host")
    p_down.set_defaults(func=_cmd_down)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except UsageError as exc:
        print(f"mlcops: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except MlcopsError as exc:
        print(f"mlcops: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("mlcops: cancelled", file=sys.stderr)
        return EXIT_CANCELLED
    return code


if __name__ == "__main__":
    sys.exit(main())
