"""``fleet list``, ``fleet down`` and ``fleet reap``: never an orphan, never a busy runner killed.

The order is always: decide from one paginated listing of instances and one of runners, then
deregister, then terminate only what was deregistered (or never registered), then clean up the
instances' SSM parameters. A runner that is busy keeps its instance, whatever its age.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError, WaiterError  # type: ignore[import-untyped]

from mlcops import github as gh
from mlcops.errors import UsageError
from mlcops.fleet import aws as awsmod
from mlcops.fleet import config as cfg
from mlcops.fleet import github_glue
from mlcops.fleet.pricing import PriceTable


@dataclass(frozen=True)
class FleetInstance:
    """A fleet instance as its tags and EC2 describe it."""

    instance_id: str
    fleet: str
    owner: str
    state: str
    instance_type: str
    gpu: str
    market: str
    launched: datetime
    expires: datetime | None
    runner_name: str

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> FleetInstance:
        """Build from a DescribeInstances instance."""
        tags = awsmod.tags(data)
        instance_id = str(data["InstanceId"])
        launched = data.get("LaunchTime")
        if not isinstance(launched, datetime):
            launched = datetime.now(UTC)
        prefix = tags.get(cfg.TAG_RUNNER_PREFIX) or cfg.runner_prefix(tags.get(cfg.TAG_FLEET, ""))
        return cls(
            instance_id=instance_id,
            fleet=tags.get(cfg.TAG_FLEET, ""),
            owner=tags.get(cfg.TAG_OWNER, ""),
            state=str(data.get("State", {}).get("Name", "")),
            instance_type=str(data.get("InstanceType", "")),
            gpu=tags.get(cfg.TAG_GPU, cfg.gpu_for(str(data.get("InstanceType", "")))),
            market=tags.get(cfg.TAG_MARKET, str(data.get("InstanceLifecycle") or "on-demand")),
            launched=launched if launched.tzinfo else launched.replace(tzinfo=UTC),
            expires=cfg.parse_iso_utc(tags.get(cfg.TAG_EXPIRES, "")),
            runner_name=cfg.runner_name(prefix, instance_id),
        )


@dataclass
class Action:
    """One decision: terminate an instance, keep it (and why), or remove a stale runner."""

    action: str  # terminate | keep | remove-runner
    reason: str
    instance_id: str | None = None
    runner_name: str | None = None
    fleet: str | None = None
    instance_type: str | None = None
    usd_per_hour: float | None = None
    done: bool = False
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON view."""
        return asdict(self)


def fleet_filters(fleet: str | None, states: Iterable[str]) -> list[dict[str, Any]]:
    """DescribeInstances filters for the project's (one fleet's) instances in ``states``."""
    filters: list[dict[str, Any]] = [
        {"Name": f"tag:{cfg.TAG_PROJECT}", "Values": [cfg.PROJECT]},
        {"Name": "instance-state-name", "Values": list(states)},
    ]
    if fleet:
        filters.append({"Name": f"tag:{cfg.TAG_FLEET}", "Values": [fleet]})
    return filters


def list_instances(
    aws: awsmod.Aws,
    fleet: str | None = None,
    states: Iterable[str] = cfg.PRESENT_STATES,
    *,
    page_size: int = 100,
) -> list[FleetInstance]:
    """Every fleet instance (paginated), oldest first."""
    found = [
        FleetInstance.from_api(i)
        for i in awsmod.instances(aws, fleet_filters(fleet, states), page_size=page_size)
    ]
    return sorted(found, key=lambda i: (i.launched, i.instance_id))


def _price(prices: PriceTable, instance: FleetInstance) -> float | None:
    return prices.hourly(instance.instance_type, spot=instance.market == "spot")


def _terminate_action(instance: FleetInstance, reason: str, prices: PriceTable) -> Action:
    return Action(
        "terminate",
        reason,
        instance.instance_id,
        instance.runner_name,
        instance.fleet,
        instance.instance_type,
        _price(prices, instance),
    )


def _keep(instance: FleetInstance, reason: str, prices: PriceTable) -> Action:
    action = _terminate_action(instance, reason, prices)
    action.action = "keep"
    return action


def _deregister_then_decide(
    action: Action,
    runner: gh.Runner | None,
    github: gh.GitHubClient,
    where: gh.Scope,
    *,
    force: bool,
    dry_run: bool,
) -> None:
    """Deregister the instance's runner; turn the action into ``keep`` when that fails."""
    if runner is None or dry_run:
        return
    why = github_glue.deregister(github, where, runner)
    if why is None:
        action.reason += "; runner deregistered"
    elif force:
        action.reason += f"; deregistration failed, terminated anyway (--force): {why}"
    else:
        action.action, action.error = "keep", why
        action.reason += "; deregistration failed, instance kept"


def _execute(
    aws: awsmod.Aws, actions: list[Action], *, dry_run: bool, log: Callable[[str], None]
) -> None:
    """Terminate the instances of the ``terminate`` actions and delete their parameters."""
    targets = [a for a in actions if a.action == "terminate" and a.instance_id]
    if dry_run or not targets:
        return
    ids = [str(a.instance_id) for a in targets]
    log(f"terminating {len(ids)} instance(s)")
    try:
        awsmod.terminate(aws, ids)
    except (ClientError, WaiterError) as exc:
        for action in targets:
            action.error = awsmod.describe(exc)
        return
    for action in targets:
        action.done = True
    # Parameters the instances never read (they normally delete their own on boot).
    wanted = {cfg.parameter_name(str(a.fleet), str(a.instance_id)) for a in targets}
    leftover = [n for n in awsmod.existing_parameters(aws, cfg.PARAMETER_ROOT) if n in wanted]
    awsmod.delete_parameters(aws, leftover)


def down(
    aws: awsmod.Aws,
    *,
    github: gh.GitHubClient,
    where: gh.Scope,
    fleet: str | None,
    instance_ids: list[str],
    everything: bool,
    force: bool,
    dry_run: bool,
    prices: PriceTable,
    log: Callable[[str], None] = lambda _: None,
) -> list[Action]:
    """Deregister and terminate fleet instances (given ids, or all of a fleet / the project).

    Raises:
        UsageError: An id that is not a live mlcops fleet instance.

    """
    found = list_instances(aws, fleet)
    if not everything:
        wanted = set(instance_ids)
        found = [i for i in found if i.instance_id in wanted]
        missing = wanted - {i.instance_id for i in found}
        if missing:
            where_ = f"fleet {fleet}" if fleet else "an mlcops fleet"
            raise UsageError(
                f"{', '.join(sorted(missing))}: not a live instance of {where_} in {aws.region} "
                "(see mlcops fleet list); nothing was changed"
            )
    runners = github_glue.by_name(github.runners(where))
    actions: list[Action] = []
    for instance in found:
        runner = runners.get(instance.runner_name)
        if runner is not None and runner.busy and not force:
            actions.append(_keep(instance, "runner is busy (wait, or use --force)", prices))
            continue
        reason = "requested" if runner is not None else "requested; runner never registered"
        action = _terminate_action(instance, reason, prices)
        _deregister_then_decide(action, runner, github, where, force=force, dry_run=dry_run)
        actions.append(action)
    _execute(aws, actions, dry_run=dry_run, log=log)
    return actions


def reap(
    aws: awsmod.Aws,
    *,
    github: gh.GitHubClient,
    where: gh.Scope,
    fleet: str | None,
    grace: timedelta,
    dry_run: bool,
    prices: PriceTable,
    page_size: int = 100,
    now: datetime | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> list[Action]:
    """Terminate expired and runner-less instances, and remove runners whose instance is gone.

    Expired: past the expiry tag (or the tag is unreadable). Runner-less: no GitHub runner of its
    name ``grace`` after launch. A busy runner's instance is never reaped. An offline fleet runner
    (name ``mlcops-<fleet>-<instance id>``, labelled with this region) whose instance is no longer
    present is removed from GitHub.
    """
    moment = now or datetime.now(UTC)
    present = list_instances(aws, fleet, page_size=page_size)
    runners = github.runners(where)
    by_name = github_glue.by_name(runners)
    actions: list[Action] = []
    for instance in present:
        if instance.state not in (*cfg.LIVE_STATES, "stopped"):
            continue  # on its way out already
        runner = by_name.get(instance.runner_name)
        expired = instance.expires is None or instance.expires <= moment
        if expired:  # a stopped instance past its expiry still bills for its volumes
            if runner is not None and runner.busy:
                actions.append(_keep(instance, "expired, but its runner is busy", prices))
                continue
            when = cfg.iso_utc(instance.expires) if instance.expires else "unreadable expiry"
            action = _terminate_action(instance, f"expired ({when})", prices)
            _deregister_then_decide(action, runner, github, where, force=False, dry_run=dry_run)
            actions.append(action)
        elif (
            runner is None
            and instance.state in cfg.LIVE_STATES
            and instance.launched + grace <= moment
        ):
            age = cfg.format_duration(moment - instance.launched)
            actions.append(
                _terminate_action(instance, f"no GitHub runner {age} after launch", prices)
            )
    present_ids = {i.instance_id for i in present}
    region_label = f"aws-{aws.region}"
    for runner in runners:
        parsed = cfg.instance_of_runner(runner.name)
        if parsed is None or (fleet and parsed[0] != fleet) or parsed[1] in present_ids:
            continue
        if runner.busy or runner.status != "offline" or region_label not in runner.labels:
            continue
        action = Action("remove-runner", "offline; its instance is gone", parsed[1], runner.name)
        action.fleet = parsed[0]
        if not dry_run:
            action.error = github_glue.deregister(github, where, runner)
            action.done = action.error is None
        actions.append(action)
    _execute(aws, actions, dry_run=dry_run, log=log)
    return actions
