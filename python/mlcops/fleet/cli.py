"""The ``mlcops fleet`` subcommands."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import (  # type: ignore[import-untyped]
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    WaiterError,
)

from mlcops import github as gh
from mlcops.errors import UsageError
from mlcops.fleet import aws as awsmod
from mlcops.fleet import config as cfg
from mlcops.fleet import github_glue, launch, manage
from mlcops.fleet.pricing import PriceTable, money

EXIT_OK, EXIT_PARTIAL = 0, 1


def _log(message: str) -> None:
    print(f"mlcops fleet: {message}", file=sys.stderr)


def _default_owner() -> str:
    try:
        raw = os.environ.get("MLCOPS_OWNER") or getpass.getuser()
    except (OSError, KeyError):  # no USER and no passwd entry (some containers)
        raw = "unknown"
    return re.sub(r"[^a-z0-9-]+", "-", raw.lower()).strip("-")[:32] or "unknown"


def _connect(args: argparse.Namespace) -> awsmod.Aws:
    return awsmod.connect(region=args.region, profile=args.profile, endpoint_url=args.endpoint_url)


def _github(args: argparse.Namespace, *, required: bool) -> tuple[gh.GitHubClient, gh.Scope] | None:
    if not github_glue.has_scope(args):
        if required:
            raise UsageError(
                f"fleet {args.action} needs the runners' scope: --repo OWNER/REPO, --org ORG "
                "or --enterprise ENT"
            )
        return None
    where = github_glue.scope(args)
    return github_glue.client(args), where


def _guard(func: Any) -> Any:
    """Turn AWS failures into one line and exit code 1 (bad input is a UsageError already)."""

    def wrapped(args: argparse.Namespace) -> int:
        try:
            code: int = func(args)
        except NoCredentialsError:
            raise UsageError(
                "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
                "AWS_PROFILE (or --profile)"
            ) from None
        except (ClientError, WaiterError) as exc:
            raise awsmod.AwsError(awsmod.describe(exc)) from None
        except BotoCoreError as exc:
            raise awsmod.AwsError(f"AWS: {exc}") from None
        return code

    return wrapped


def _table(rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _print_actions(actions: list[manage.Action], *, dry_run: bool, as_json: bool) -> int:
    total = sum(a.usd_per_hour or 0.0 for a in actions if a.action == "terminate")
    failed = [a for a in actions if a.error]
    if as_json:
        body = {
            "dry_run": dry_run,
            "actions": [a.as_dict() for a in actions],
            "usd_per_hour_saved": round(total, 4),
        }
        print(json.dumps(body, indent=2, default=str))
        return EXIT_PARTIAL if failed else EXIT_OK
    verb = "would " if dry_run else ""
    if not actions:
        print("nothing to do")
    for a in actions:
        what = a.instance_id if a.action != "remove-runner" else a.runner_name
        state = f" FAILED: {a.error}" if a.error else ""
        cost = f" ({money(a.usd_per_hour)})" if a.action != "remove-runner" else ""
        print(f"{verb}{a.action} {what}{cost}: {a.reason}{state}")
    if any(a.action == "terminate" for a in actions):
        print(f"{'would save' if dry_run else 'saves'} {money(total)}")
    return EXIT_PARTIAL if failed else EXIT_OK


@_guard
def _cmd_up(args: argparse.Namespace) -> int:
    spec = cfg.LaunchSpec(
        fleet=cfg.check_name("--fleet", args.fleet),
        owner=cfg.check_name("--owner", args.owner),
        count=args.count,
        instance_type=cfg.check_instance_type(args.instance_type),
        ami=args.ami or "",
        ttl=cfg.parse_ttl(args.ttl),
        spot=args.spot,
        spot_fallback=not args.no_fallback,
        ephemeral=args.ephemeral,
        subnet=args.subnet,
        security_groups=tuple(args.security_group or ()),
        key_name=args.key_name,
        instance_profile=args.instance_profile,
        tenancy=args.tenancy,
        capacity_reservation=args.capacity_reservation,
        volume_size=args.volume_size,
        hop_limit=args.metadata_hop_limit,
        batch_size=args.batch_size,
        labels=tuple(args.label or ()),
        runner_group=args.runner_group,
        runner_dir=args.runner_dir,
        runner_user=args.runner_user,
    )
    cfg.check_launch(spec, max_per_fleet=args.max_per_fleet, max_total=args.max_total)
    if args.no_fallback and not args.spot:
        raise UsageError("--no-fallback only applies to --spot: drop it or add --spot")
    if not spec.ami:
        raise UsageError("--ami is required (or set MLCOPS_FLEET_AMI): an image with the runner")
    prices = PriceTable.load(args.prices)
    github = _github(args, required=not args.dry_run)
    aws = _connect(args)
    result = launch.launch(
        aws,
        spec,
        github=github[0] if github else None,
        where=github[1] if github else None,
        api_url=args.api_url,
        max_per_fleet=args.max_per_fleet,
        max_total=args.max_total,
        prices=prices,
        dry_run=args.dry_run,
        wait=not args.no_wait,
        log=_log,
    )
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
        return EXIT_OK
    market = "spot" if spec.spot else "on-demand"
    head = "would launch" if args.dry_run else "launched"
    calls = len(result.requests)
    print(
        f"{head} {spec.count} x {spec.instance_type} ({spec.gpu}, {market}) in fleet "
        f"{spec.fleet}, {aws.region}, in {calls} RunInstances request(s); expires "
        f"{result.expires_at}; {money(result.hourly)}"
    )
    if result.instances:
        rows = [("INSTANCE", "MARKET", "RUNNER")]
        rows += [(i.instance_id, i.market, i.runner_name) for i in result.instances]
        _table(rows)
    return EXIT_OK


@_guard
def _cmd_list(args: argparse.Namespace) -> int:
    fleet = cfg.check_name("--fleet", args.fleet) if args.fleet else None
    prices = PriceTable.load(args.prices)
    github = _github(args, required=False)
    aws = _connect(args)
    found = manage.list_instances(aws, fleet)
    runners = github_glue.by_name(github[0].runners(github[1])) if github else {}

    def runner_state(i: manage.FleetInstance) -> str:
        if not github:
            return "-"
        runner = runners.get(i.runner_name)
        if runner is None:
            return "none"
        return f"{runner.status}{', busy' if runner.busy else ''}"

    hourly = [prices.hourly(i.instance_type, spot=i.market == "spot") for i in found]
    if args.json:
        items = [
            {
                "instance_id": i.instance_id,
                "fleet": i.fleet,
                "owner": i.owner,
                "state": i.state,
                "instance_type": i.instance_type,
                "gpu": i.gpu,
                "market": i.market,
                "launched": cfg.iso_utc(i.launched),
                "expires_at": cfg.iso_utc(i.expires) if i.expires else None,
                "runner": i.runner_name,
                "runner_state": runner_state(i),
                "usd_per_hour": h,
            }
            for i, h in zip(found, hourly, strict=True)
        ]
        print(json.dumps(items, indent=2))
        return EXIT_OK
    rows = [("INSTANCE", "FLEET", "TYPE", "GPU", "MARKET", "STATE", "EXPIRES", "RUNNER", "COST")]
    for i, h in zip(found, hourly, strict=True):
        expires = cfg.iso_utc(i.expires) if i.expires else "?"
        rows.append(
            (
                i.instance_id,
                i.fleet,
                i.instance_type,
                i.gpu,
                i.market,
                i.state,
                expires,
                runner_state(i),
                money(h),
            )
        )
    _table(rows)
    live = sum(h or 0.0 for i, h in zip(found, hourly, strict=True) if i.state in cfg.LIVE_STATES)
    print(f"{len(found)} instance(s); {money(live)} while running")
    return EXIT_OK


@_guard
def _cmd_down(args: argparse.Namespace) -> int:
    fleet = cfg.check_name("--fleet", args.fleet) if args.fleet else None
    ids = cfg.check_instance_ids(list(args.ids))
    if args.all == bool(ids):
        raise UsageError("fleet down: give instance ids or --all (not both, not neither)")
    prices = PriceTable.load(args.prices)
    github = _github(args, required=True)
    assert github is not None
    aws = _connect(args)
    actions = manage.down(
        aws,
        github=github[0],
        where=github[1],
        fleet=fleet,
        instance_ids=ids,
        everything=args.all,
        force=args.force,
        dry_run=args.dry_run,
        prices=prices,
        log=_log,
    )
    code = _print_actions(actions, dry_run=args.dry_run, as_json=args.json)
    kept = any(a.action == "keep" for a in actions)
    return EXIT_PARTIAL if kept else code


@_guard
def _cmd_reap(args: argparse.Namespace) -> int:
    fleet = cfg.check_name("--fleet", args.fleet) if args.fleet else None
    grace = cfg.parse_ttl(args.grace) if args.grace != "0" else timedelta(0)
    prices = PriceTable.load(args.prices)
    github = _github(args, required=True)
    assert github is not None
    aws = _connect(args)
    actions = manage.reap(
        aws,
        github=github[0],
        where=github[1],
        fleet=fleet,
        grace=grace,
        dry_run=args.dry_run,
        prices=prices,
        page_size=args.page_size,
        log=_log,
    )
    return _print_actions(actions, dry_run=args.dry_run, as_json=args.json)


def _common(p: argparse.ArgumentParser, *, github: bool = True) -> None:
    aws = p.add_argument_group("AWS (credentials from the standard chain, never flags)")
    aws.add_argument("--region", help="AWS region (default: $AWS_REGION / $AWS_DEFAULT_REGION)")
    aws.add_argument("--profile", help="AWS profile (default: $AWS_PROFILE or the chain)")
    aws.add_argument(
        "--endpoint-url", help="EC2/SSM endpoint (default: $AWS_ENDPOINT_URL or AWS's own)"
    )
    p.add_argument("--dry-run", action="store_true", help="change nothing; say what would happen")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--prices", type=Path, help="JSON/YAML price overrides (USD per hour)")
    if github:
        where = p.add_argument_group(
            "GitHub (credentials from GITHUB_TOKEN or GITHUB_APP_* in the environment)"
        ).add_mutually_exclusive_group()
        where.add_argument("--repo", metavar="OWNER/REPO", help="a repository's runners")
        where.add_argument("--org", metavar="ORG", help="an organization's runners")
        where.add_argument("--enterprise", metavar="ENT", help="an enterprise's runners")
        p.add_argument(
            "--api-url",
            default=os.environ.get("GITHUB_API_URL") or "https://api.github.com",
            help="GitHub API base (default: $GITHUB_API_URL or https://api.github.com)",
        )
        p.add_argument(
            "--insecure", action="store_true", help="allow http:// and skip TLS verification"
        )


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register ``mlcops fleet`` and its actions on the top-level subparsers."""
    p_fleet = sub.add_parser("fleet", help="EC2 GPU runner fleets")
    actions = p_fleet.add_subparsers(dest="action", required=True, metavar="ACTION")

    p_up = actions.add_parser("up", help="launch runner instances")
    _common(p_up)
    p_up.add_argument("--count", type=int, required=True, help="instances to launch")
    p_up.add_argument("--instance-type", required=True, help="e.g. g5.xlarge")
    p_up.add_argument("--ami", default=os.environ.get("MLCOPS_FLEET_AMI"), help="runner image")
    p_up.add_argument("--fleet", default="default", help="fleet name (default: default)")
    p_up.add_argument("--owner", default=_default_owner(), help="owner tag (default: $USER)")
    p_up.add_argument("--ttl", default="8h", help="lifetime before reaping, e.g. 8h, 1h30m")
    p_up.add_argument("--spot", action="store_true", help="spot, falling back to on-demand")
    p_up.add_argument("--no-fallback", action="store_true", help="with --spot: never on-demand")
    p_up.add_argument(
        "--ephemeral", action="store_true", help="JIT runners: one job, then the instance ends"
    )
    p_up.add_argument("--subnet", help="subnet id")
    p_up.add_argument("--security-group", action="append", help="security group id (repeat)")
    p_up.add_argument("--key-name", help="EC2 key pair (for Ansible over SSH)")
    p_up.add_argument("--instance-profile", help="IAM instance profile (needs ssm:GetParameter)")
    p_up.add_argument("--tenancy", choices=("default", "dedicated", "host"), default="default")
    p_up.add_argument("--capacity-reservation", help="on-demand capacity reservation id")
    p_up.add_argument("--volume-size", type=int, default=200, help="root volume GiB")
    p_up.add_argument("--metadata-hop-limit", type=int, default=2, help="IMDSv2 hop limit")
    p_up.add_argument("--batch-size", type=int, help="instances per RunInstances (default: all)")
    p_up.add_argument("--label", action="append", help="extra runner label (repeat)")
    p_up.add_argument("--runner-group", default="Default", help="runner group (JIT runners)")
    p_up.add_argument("--runner-dir", default="/opt/actions-runner", help="runner dir on the AMI")
    p_up.add_argument("--runner-user", default="runner", help="user the runner runs as")
    p_up.add_argument(
        "--max-per-fleet", type=int, default=cfg.DEFAULT_MAX_PER_FLEET, help="cap per fleet"
    )
    p_up.add_argument("--max-total", type=int, default=cfg.DEFAULT_MAX_TOTAL, help="cap per region")
    p_up.add_argument("--no-wait", action="store_true", help="do not wait for 'running'")
    p_up.set_defaults(func=_cmd_up)

    p_list = actions.add_parser("list", help="list fleet instances (and their runners)")
    _common(p_list)
    p_list.add_argument("--fleet", help="one fleet only")
    p_list.set_defaults(func=_cmd_list)

    p_down = actions.add_parser("down", help="deregister runners, then terminate instances")
    _common(p_down)
    p_down.add_argument("ids", nargs="*", metavar="INSTANCE_ID", help="instances to terminate")
    p_down.add_argument("--all", action="store_true", help="every instance (of --fleet)")
    p_down.add_argument("--fleet", help="one fleet only")
    p_down.add_argument("--force", action="store_true", help="terminate busy runners too")
    p_down.set_defaults(func=_cmd_down)

    p_reap = actions.add_parser("reap", help="terminate expired/orphaned instances")
    _common(p_reap)
    p_reap.add_argument("--fleet", help="one fleet only")
    p_reap.add_argument("--grace", default="10m", help="boot grace before 'no runner' counts")
    p_reap.add_argument("--page-size", type=int, default=100, help="DescribeInstances page size")
    p_reap.set_defaults(func=_cmd_reap)
