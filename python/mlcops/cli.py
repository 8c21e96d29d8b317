"""The ``mlcops`` command line: one clear line and an exit code for every failure."""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.parse
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from mlcops import __version__
from mlcops import github as gh
from mlcops.errors import MlcopsError, UsageError
from mlcops.fleet import cli as fleet_cli
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


def _github_client(api_url: str, *, insecure: bool) -> gh.GitHubClient:
    """Build a client from the environment's credentials (never from the command line)."""
    if urllib.parse.urlsplit(api_url).scheme == "http" and not insecure:
        raise UsageError(f"--api-url {api_url} is plain http: use https or pass --insecure")
    env = os.environ
    token = env.get("GITHUB_TOKEN") or None
    app_id = env.get("GITHUB_APP_ID") or None
    key = env.get("GITHUB_APP_PRIVATE_KEY") or None
    key_file = env.get("GITHUB_APP_PRIVATE_KEY_FILE") or None
    installation = env.get("GITHUB_APP_INSTALLATION_ID") or None
    if token and app_id:
        raise UsageError("both GITHUB_TOKEN and GITHUB_APP_ID are set: unset one of them")
    if not token and not app_id:
        raise UsageError(
            "no GitHub credentials: set GITHUB_TOKEN, or GITHUB_APP_ID with "
            "GITHUB_APP_PRIVATE_KEY (PEM text) or GITHUB_APP_PRIVATE_KEY_FILE"
        )
    if app_id and not key:
        if not key_file:
            raise UsageError(
                "GITHUB_APP_ID needs GITHUB_APP_PRIVATE_KEY or GITHUB_APP_PRIVATE_KEY_FILE"
            )
        try:
            key = Path(key_file).read_text()
        except OSError as exc:
            raise UsageError(f"GITHUB_APP_PRIVATE_KEY_FILE {key_file}: {exc.strerror}") from None
    if installation is not None and not installation.isdigit():
        raise UsageError(f"GITHUB_APP_INSTALLATION_ID {installation!r} is not a number")
    return gh.GitHubClient(
        api_url,
        token=token,
        app_id=app_id,
        app_private_key=key if app_id else None,
        app_installation_id=int(installation) if installation else None,
        insecure=insecure,
    )


def _cmd_runners_list(args: argparse.Namespace) -> int:
    scope = gh.Scope.parse(repo=args.repo, org=args.org, enterprise=args.enterprise)
    runners = _github_client(args.api_url, insecure=args.insecure).runners(scope)
    if args.json:
        print(json.dumps([asdict(r) for r in runners], indent=2))
        return EXIT_OK
    rows = [("NAME", "STATUS", "BUSY", "LABELS")]
    rows += [(r.name, r.status, "yes" if r.busy else "no", ",".join(r.labels)) for r in runners]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        padded = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*padded, row[3]]))
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

    p_runners = sub.add_parser("runners", help="GitHub self-hosted runners")
    runners_sub = p_runners.add_subparsers(dest="action", required=True, metavar="ACTION")
    p_list = runners_sub.add_parser(
        "list",
        help="list the runners of a repository, organization or enterprise",
        description="Credentials come from the environment: GITHUB_TOKEN, or GITHUB_APP_ID "
        "with GITHUB_APP_PRIVATE_KEY or GITHUB_APP_PRIVATE_KEY_FILE "
        "(and optionally GITHUB_APP_INSTALLATION_ID).",
    )
    where = p_list.add_mutually_exclusive_group(required=True)
    where.add_argument("--repo", metavar="OWNER/REPO", help="a repository's runners")
    where.add_argument("--org", metavar="ORG", help="an organization's runners")
    where.add_argument("--enterprise", metavar="ENT", help="an enterprise's runners")
    p_list.add_argument(
        "--api-url",
        default=os.environ.get("GITHUB_API_URL") or "https://api.github.com",
        help="GitHub API base (default: $GITHUB_API_URL or https://api.github.com)",
    )
    p_list.add_argument(
        "--insecure", action="store_true", help="allow http:// and skip TLS verification"
    )
    p_list.add_argument("--json", action="store_true", help="print a JSON list")
    p_list.set_defaults(func=_cmd_runners_list)

    fleet_cli.add_parser(sub)
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
