"""What ``mlcops fleet`` does: imported only when a fleet command runs (it loads boto3)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import timedelta
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
def cmd_up(args: argparse.Namespace) -> int:
    """Launch runner instances (``mlcops fleet up``)."""
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
def cmd_list(args: argparse.Namespace) -> int:
    """List the fleet's instances and their runners (``mlcops fleet list``)."""
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
def cmd_down(args: argparse.Namespace) -> int:
    """Deregister runners, then terminate their instances (``mlcops fleet down``)."""
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
def cmd_reap(args: argparse.Namespace) -> int:
    """Terminate expired and orphaned instances (``mlcops fleet reap``)."""
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
