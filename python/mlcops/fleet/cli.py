"""The ``mlcops fleet`` subcommands: their arguments (the work is in :mod:`.commands`)."""

from __future__ import annotations

import argparse
import getpass
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlcops.fleet import config as cfg
from mlcops.github_args import add_scope_arguments


def _default_owner() -> str:
    try:
        raw = os.environ.get("MLCOPS_OWNER") or getpass.getuser()
    except (OSError, KeyError):  # no USER and no passwd entry (some containers)
        raw = "unknown"
    return re.sub(r"[^a-z0-9-]+", "-", raw.lower()).strip("-")[:32] or "unknown"


def _lazy(name: str) -> Callable[[argparse.Namespace], int]:
    """Return a command that imports :mod:`.commands` (boto3 and all) only when it runs."""

    def run(args: argparse.Namespace) -> int:
        from mlcops.fleet import commands

        code: int = getattr(commands, name)(args)
        return code

    return run


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
        add_scope_arguments(
            p,
            required=False,
            title="GitHub (credentials from GITHUB_TOKEN or GITHUB_APP_* in the environment)",
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
    p_up.set_defaults(func=_lazy("cmd_up"))

    p_list = actions.add_parser("list", help="list fleet instances (and their runners)")
    _common(p_list)
    p_list.add_argument("--fleet", help="one fleet only")
    p_list.set_defaults(func=_lazy("cmd_list"))

    p_down = actions.add_parser("down", help="deregister runners, then terminate instances")
    _common(p_down)
    p_down.add_argument("ids", nargs="*", metavar="INSTANCE_ID", help="instances to terminate")
    p_down.add_argument("--all", action="store_true", help="every instance (of --fleet)")
    p_down.add_argument("--fleet", help="one fleet only")
    p_down.add_argument("--force", action="store_true", help="terminate busy runners too")
    p_down.set_defaults(func=_lazy("cmd_down"))

    p_reap = actions.add_parser("reap", help="terminate expired/orphaned instances")
    _common(p_reap)
    p_reap.add_argument("--fleet", help="one fleet only")
    p_reap.add_argument("--grace", default="10m", help="boot grace before 'no runner' counts")
    p_reap.add_argument("--page-size", type=int, default=100, help="DescribeInstances page size")
    p_reap.set_defaults(func=_lazy("cmd_reap"))
