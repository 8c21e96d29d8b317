"""The ``mlcops`` command line: one clear line and an exit code for every failure."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import sys
import urllib.parse
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from mlcops import __version__
from mlcops import inventory as inv
from mlcops import report as run_report
from mlcops.errors import MlcopsError, UsageError
from mlcops.fleet import cli as fleet_cli
from mlcops.github_args import add_scope_arguments
from mlcops.runner import PlaybookRun, find_run, is_secret_name, state_dir

if TYPE_CHECKING:
    # Imported where used: each costs start-up time that a play command does not need.
    from mlcops import github as gh
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


def _cmd_base_image(args: argparse.Namespace) -> int:
    from mlcops.local import hosts as local_hosts

    print(local_hosts.ensure_base_image(mirror=args.mirror))
    return EXIT_OK


def _selected(args: argparse.Namespace) -> list[local_hosts.LocalHost]:
    from mlcops.local import hosts as local_hosts

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
    from mlcops.local import hosts as local_hosts

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
    from mlcops.local import hosts as local_hosts

    removed = local_hosts.down(None if args.all else _selected(args))
    for name in removed:
        print(f"{name}: removed")
    return EXIT_OK


def _github_client(api_url: str, *, insecure: bool) -> gh.GitHubClient:
    """Build a client from the environment's credentials (never from the command line)."""
    from mlcops import github as gh

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
    from mlcops import github as gh

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


#: Play commands: the playbook each runs and whether it builds MLC-LLM (takes --ref/--repo-url).
PLAYS: dict[str, tuple[str, bool, str]] = {
    "provision": ("site.yml", False, "provision the runners of an inventory (site.yml)"),
    "build": ("build.yml", True, "build MLC-LLM on the build hosts"),
    "test": ("test.yml", True, "test the MLC-LLM build"),
    "wheel": ("wheel.yml", True, "build the MLC-LLM wheel"),
    "image": ("image.yml", False, "build and push the MLC-LLM container image"),
    "release": ("release.yml", True, "build, test and publish a release (needs --ref)"),
    "deregister": ("deregister.yml", False, "remove the runners from GitHub and the hosts"),
}
_EXTRA = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REF = re.compile(r"^[A-Za-z0-9._/+@-]+$")


def _extravars(args: argparse.Namespace) -> dict[str, str]:
    """Merge ``-e KEY=VALUE``, ``--ref`` and ``--repo-url`` into extra variables."""
    extra: dict[str, str] = {}
    for item in args.extra or []:
        key, sep, value = item.partition("=")
        if not sep or not _EXTRA.match(key):
            raise UsageError(f"-e {item!r}: write it as KEY=VALUE with KEY a variable name")
        if is_secret_name(key):
            raise UsageError(
                f"-e {key}=...: a secret on the command line lands in process lists and logs; "
                f"pass it in the environment instead (see `mlcops doctor`)"
            )
        extra[key] = value
    for option, var in (("ref", "mlc_llm_ref"), ("repo_url", "mlc_llm_repo")):
        value = getattr(args, option, None)
        if value is None:
            continue
        flag = "--" + option.replace("_", "-")
        if var in extra and extra[var] != value:
            raise UsageError(f"{flag} {value} conflicts with -e {var}={extra[var]}: give one")
        if option == "ref" and (not _REF.match(value) or value.startswith("-")):
            raise UsageError(f"--ref {value!r} is not a git ref: use a tag, branch or commit")
        extra[var] = value
    return extra


def _progress_mode(args: argparse.Namespace) -> str:
    if args.json and args.progress not in ("auto", "none"):
        raise UsageError(
            f"--json with --progress {args.progress}: JSON goes to stdout alone; "
            "drop --progress or --json"
        )
    if args.json:
        return "none"
    if args.progress == "auto":
        return "live" if sys.stdout.isatty() else "plain"
    return str(args.progress)


def run_play(args: argparse.Namespace, playbook: str) -> int:
    """Run one playbook with the common options; print progress and the report."""
    from mlcops.progress import LiveProgress, PlainProgress

    path = project_dir() / "playbooks" / playbook
    extra = _extravars(args)
    mode = _progress_mode(args)
    if args.keep < 1:
        raise UsageError(f"--keep {args.keep}: keep at least 1 run directory")
    if not args.inventory.exists():
        raise UsageError(f"--inventory {args.inventory}: no such file or directory")
    if not path.is_file():
        raise UsageError(f"playbook {path} does not exist: is this checkout complete?")
    run = PlaybookRun(
        path,
        args.inventory,
        limit=args.limit,
        tags=args.tags,
        check=args.check,
        extravars=extra,
        project_dir=project_dir(),
        keep=args.keep,
    )
    view: Any = contextlib.nullcontext()
    if mode == "live":
        view = LiveProgress(run.state)
    elif mode == "plain":
        view = PlainProgress()
    if mode in ("live", "plain"):
        run.listeners.append(view)
    with view:
        state = run.run()
    if state.status == "failed" and not state.hosts:
        # ansible-playbook stopped before its first play: when the inventory or --limit is
        # why (the run checks them, at no cost), say so in one line and exit 2.
        try:
            # Ansible reads its configuration when it is first imported (by inv.resolve).
            os.environ.setdefault("ANSIBLE_CONFIG", str(project_dir() / "ansible.cfg"))
            inv.resolve(args.inventory, args.limit)
        except UsageError:
            shutil.rmtree(run.run_dir, ignore_errors=True)
            raise
    report = run_report.write(state, run.run_dir, secrets=run.secret_values)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        failed = [f"{f['host']}: {f['task']}: {f['msg']}" for f in report["failed"]]
        for line in failed[:10]:
            print(f"FAILED {line}")
        if not state.hosts:  # stopped before any host: Ansible's own error says why
            for error in report["errors"][:3]:
                print(f"ERROR {' '.join(error.split())[:300]}")
        counts = ", ".join(
            f"{name} ok={h['ok']} changed={h['changed']} failed={h['failed']}"
            for name, h in report["hosts"].items()
        )
        print(f"run {state.run_id}: {state.status} ({counts or 'no host ran'})")
        print(f"report: {run.run_dir / 'report.md'}")
    if state.status == "cancelled":
        return EXIT_CANCELLED
    return EXIT_OK if state.status == "ok" else EXIT_FAILED


def _cmd_report(args: argparse.Namespace) -> int:
    run_dir = find_run(args.run, args.runs_dir)
    if args.json:
        print(json.dumps(run_report.load(run_dir), indent=2))
    else:
        print(run_report.markdown(run_report.load(run_dir)), end="")
    return EXIT_OK


def _cmd_verify(args: argparse.Namespace) -> int:
    from mlcops.verify import report as verify_report

    if args.json and args.markdown:
        raise UsageError("--json and --markdown both given: choose one output format")
    hosts = inv.resolve(args.inventory, args.limit)
    result = verify_report.verify(args.inventory, hosts, workers=args.workers)
    if args.json:
        print(json.dumps(result, indent=2))
    elif args.markdown:
        print(verify_report.markdown(result), end="")
    else:
        print(verify_report.text(result), end="")
    return EXIT_OK if result["ok"] else EXIT_FAILED


def _cmd_doctor(args: argparse.Namespace) -> int:
    from mlcops import doctor

    if not args.inventory.exists():
        raise UsageError(f"--inventory {args.inventory}: no such file or directory")
    checks = doctor.run_checks(args.inventory, project_dir())
    if args.json:
        print(json.dumps([asdict(c) for c in checks], indent=2))
    else:
        for c in checks:
            mark = "ok  " if c.ok else "FAIL"
            line = f"{mark} {c.name}: {c.detail}"
            print(line if c.ok else f"{line}\n     fix: {c.fix}")
    return EXIT_OK if all(c.ok for c in checks) else EXIT_FAILED


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of every subcommand."""
    parser = _Parser(prog="mlcops", description=__doc__)
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

    p_base = sub.add_parser("base-image", help="build the local hosts' base image if needed")
    p_base.add_argument("--mirror", help="Debian mirror for debootstrap")
    p_base.set_defaults(func=_cmd_base_image)

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
    add_scope_arguments(p_list, required=True)
    p_list.add_argument("--json", action="store_true", help="print a JSON list")
    p_list.set_defaults(func=_cmd_runners_list)

    for name, (playbook, builds, help_text) in PLAYS.items():
        p_play = sub.add_parser(name, help=help_text)
        with_inventory(p_play)
        p_play.add_argument("-t", "--tags", help="run only tasks with these tags (comma-separated)")
        p_play.add_argument("--check", action="store_true", help="check mode: change nothing")
        p_play.add_argument(
            "-e",
            "--extra",
            action="append",
            metavar="KEY=VALUE",
            help="an extra variable (repeatable); never a secret: those come from the environment",
        )
        if builds:
            p_play.add_argument(
                "--ref", required=name == "release", help="MLC-LLM git ref (mlc_llm_ref)"
            )
            p_play.add_argument("--repo-url", help="MLC-LLM git repository (mlc_llm_repo)")
        p_play.add_argument("--json", action="store_true", help="print the run report as JSON")
        p_play.add_argument(
            "--progress",
            choices=("auto", "live", "plain", "none"),
            default="auto",
            help="live table on a terminal, plain lines otherwise (default: auto)",
        )
        p_play.add_argument(
            "--keep", type=int, default=10, help="run directories to keep (default: 10)"
        )
        p_play.set_defaults(func=lambda a, _p=playbook: run_play(a, _p))

    p_report = sub.add_parser("report", help="print the report of a run again")
    p_report.add_argument("run", nargs="?", default="LAST", help="a run id, or LAST (default)")
    p_report.add_argument("--json", action="store_true", help="print report.json")
    p_report.add_argument(
        "--runs-dir",
        type=Path,
        default=None,
        help=f"where runs are kept (default: {state_dir() / 'runs'})",
    )
    p_report.set_defaults(func=_cmd_report)

    p_verify = sub.add_parser(
        "verify", help="check every host with testinfra and print its software report"
    )
    with_inventory(p_verify)
    p_verify.add_argument("--json", action="store_true", help="print the report as JSON")
    p_verify.add_argument("--markdown", action="store_true", help="print the report as Markdown")
    p_verify.add_argument("--workers", type=int, default=8, help="hosts checked at once")
    p_verify.set_defaults(func=_cmd_verify)

    p_doctor = sub.add_parser("doctor", help="check this controller before running plays")
    p_doctor.add_argument(
        "-i",
        "--inventory",
        type=Path,
        default=_default_inventory(),
        help="inventory to check (default: inventory/local)",
    )
    p_doctor.add_argument("--json", action="store_true", help="print the checks as JSON")
    p_doctor.set_defaults(func=_cmd_doctor)

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
