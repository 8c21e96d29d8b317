"""``fleet up``: check, launch in as few requests as possible, hand each instance its secret.

One RunInstances request per batch with ``MinCount = MaxCount = batch`` (all of the fleet in one
request by default): EC2 launches all of a request or none of it, so a request never leaves a
partial batch, and ``--count 50`` is one call, not fifty. Anything that fails after the first
instance exists (a later batch, a GitHub call, an SSM write, Ctrl-C) terminates every instance
this command started, deletes the parameters it wrote and the runners it registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import (  # type: ignore[import-untyped]
    BotoCoreError,
    ClientError,
    WaiterError,
)

from mlcops import github as gh
from mlcops.errors import MlcopsError, UsageError
from mlcops.fleet import aws as awsmod
from mlcops.fleet import config as cfg
from mlcops.fleet import github_glue, userdata
from mlcops.fleet.pricing import PriceTable

# Errors after which a spot request is retried on-demand (with a new ClientToken): capacity or
# price, not bad input. Anything else fails the launch as it is.
SPOT_FALLBACK_CODES = frozenset(
    {
        "InsufficientInstanceCapacity",
        "SpotMaxPriceTooLow",
        "MaxSpotInstanceCountExceeded",
        "InsufficientCapacity",
        "UnfulfillableCapacity",
        "CapacityNotAvailable",
    }
)


@dataclass
class Instance:
    """One launched instance and what was done for it."""

    instance_id: str
    runner_name: str
    market: str
    parameter: str | None = None
    runner_id: int | None = None


@dataclass
class LaunchResult:
    """What ``fleet up`` did or, in a dry run, would do."""

    spec: cfg.LaunchSpec
    region: str
    expires_at: str
    dry_run: bool
    hourly: float | None
    existing_in_fleet: int
    existing_total: int
    requests: list[dict[str, Any]] = field(default_factory=list)  # one per RunInstances call
    instances: list[Instance] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON view (no secrets: the secrets never enter this object)."""
        spec = self.spec
        return {
            "dry_run": self.dry_run,
            "region": self.region,
            "fleet": spec.fleet,
            "count": spec.count,
            "instance_type": spec.instance_type,
            "gpu": spec.gpu,
            "spot": spec.spot,
            "expires_at": self.expires_at,
            "usd_per_hour": self.hourly,
            "requests": self.requests,
            "instances": [vars(i) for i in self.instances],
        }


def _check_type(aws: awsmod.Aws, instance_type: str) -> None:
    try:
        found = aws.ec2.describe_instance_types(InstanceTypes=[instance_type])
    except ClientError as exc:
        if awsmod.error_code(exc) in ("InvalidInstanceType", "InvalidParameterValue"):
            raise UsageError(
                f"--instance-type {instance_type}: not offered in {aws.region} "
                "(check the spelling, e.g. g5.xlarge)"
            ) from None
        raise
    if not found.get("InstanceTypes"):
        raise UsageError(f"--instance-type {instance_type}: not offered in {aws.region}")


def _check_ami(aws: awsmod.Aws, ami: str) -> None:
    try:
        found = aws.ec2.describe_images(ImageIds=[ami])
    except ClientError as exc:
        if awsmod.error_code(exc).startswith("InvalidAMIID"):
            raise UsageError(f"--ami {ami}: no such image in {aws.region}") from None
        raise
    if not found.get("Images"):
        raise UsageError(f"--ami {ami}: no such image in {aws.region}")


def count_existing(aws: awsmod.Aws, fleet: str) -> tuple[int, int]:
    """Live (pending/running) project instances: ``(in this fleet, in the region)``."""
    filters = [
        {"Name": f"tag:{cfg.TAG_PROJECT}", "Values": [cfg.PROJECT]},
        {"Name": "instance-state-name", "Values": list(cfg.LIVE_STATES)},
    ]
    in_fleet = total = 0
    for instance in awsmod.instances(aws, filters):
        total += 1
        in_fleet += awsmod.tags(instance).get(cfg.TAG_FLEET) == fleet
    return in_fleet, total


def run_instances_params(
    spec: cfg.LaunchSpec, *, count: int, spot: bool, user_data: str, expires_at: str
) -> dict[str, Any]:
    """Build the RunInstances request for ``count`` instances (ClientToken added per call)."""
    tags = {
        "Name": spec.prefix,
        cfg.TAG_PROJECT: cfg.PROJECT,
        cfg.TAG_OWNER: spec.owner,
        cfg.TAG_FLEET: spec.fleet,
        cfg.TAG_EXPIRES: expires_at,
        cfg.TAG_RUNNER_PREFIX: spec.prefix,
        cfg.TAG_GPU: spec.gpu,
        cfg.TAG_MARKET: "spot" if spot else "on-demand",
        cfg.TAG_EPHEMERAL: "true" if spec.ephemeral else "false",
    }
    tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
    params: dict[str, Any] = {
        "ImageId": spec.ami,
        "InstanceType": spec.instance_type,
        "MinCount": count,
        "MaxCount": count,
        "UserData": user_data,
        # The instance terminates itself when the runner is done (ephemeral) or gives up.
        "InstanceInitiatedShutdownBehavior": "terminate",
        # IMDSv2 only. Hop limit 2 by default so that job containers can reach IMDS as well.
        "MetadataOptions": {
            "HttpTokens": "required",
            "HttpEndpoint": "enabled",
            "HttpPutResponseHopLimit": spec.hop_limit,
        },
        "TagSpecifications": [
            {"ResourceType": "instance", "Tags": tag_list},
            {"ResourceType": "volume", "Tags": tag_list},
        ],
        "BlockDeviceMappings": [
            {
                "DeviceName": "/dev/sda1",
                "Ebs": {
                    "VolumeSize": spec.volume_size,
                    "VolumeType": "gp3",
                    "DeleteOnTermination": True,
                    "Encrypted": True,
                },
            }
        ],
    }
    if spec.subnet:
        params["SubnetId"] = spec.subnet
    if spec.security_groups:
        params["SecurityGroupIds"] = list(spec.security_groups)
    if spec.key_name:
        params["KeyName"] = spec.key_name
    if spec.instance_profile:
        params["IamInstanceProfile"] = {"Name": spec.instance_profile}
    if spec.tenancy != "default":
        params["Placement"] = {"Tenancy": spec.tenancy}
    if spec.capacity_reservation:
        params["CapacityReservationSpecification"] = {
            "CapacityReservationTarget": {"CapacityReservationId": spec.capacity_reservation}
        }
    if spot:
        params["InstanceMarketOptions"] = {
            "MarketType": "spot",
            "SpotOptions": {
                "SpotInstanceType": "one-time",
                "InstanceInterruptionBehavior": "terminate",
            },
        }
    return params


class _Launcher:
    """One ``fleet up`` run: remembers everything it created, to undo it on failure."""

    def __init__(
        self,
        aws: awsmod.Aws,
        spec: cfg.LaunchSpec,
        github: gh.GitHubClient,
        where: gh.Scope,
        api_url: str,
        log: Callable[[str], None],
    ) -> None:
        self.aws, self.spec, self.github, self.where = aws, spec, github, where
        self.api_url, self.log = api_url, log
        self.started: list[Instance] = []
        self.parameters: list[str] = []
        self.runner_ids: list[int] = []
        self.requests: list[dict[str, Any]] = []
        self.spot = spec.spot
        self.unanswered: list[str] = []  # ClientTokens of requests that got no answer

    def run_batch(self, params: dict[str, Any], count: int) -> list[str]:
        """One RunInstances call (a second, on-demand, when spot has no capacity)."""
        token = awsmod.client_token()
        self.requests.append({"market": "spot" if self.spot else "on-demand", "count": count})
        try:
            # botocore's own retries resend the same ClientToken, so a retry never doubles a batch.
            response = self.aws.ec2.run_instances(**params, ClientToken=token)
        except BotoCoreError:
            # No answer (timeout, connection reset): the instances may exist. Remember the token
            # so that the rollback can find them by it.
            self.unanswered.append(token)
            raise
        except ClientError as exc:
            code = awsmod.error_code(exc)
            if not (self.spot and self.spec.spot_fallback and code in SPOT_FALLBACK_CODES):
                raise
            self.log(f"spot: {code}; falling back to on-demand (new request, new ClientToken)")
            self.requests[-1]["error"] = code
            self.spot = False  # sticky: capacity does not come back within seconds
            params = {k: v for k, v in params.items() if k != "InstanceMarketOptions"}
            for spec in params["TagSpecifications"]:
                for tag in spec["Tags"]:
                    if tag["Key"] == cfg.TAG_MARKET:
                        tag["Value"] = "on-demand"
            self.requests.append({"market": "on-demand", "count": count})
            response = self.aws.ec2.run_instances(**params, ClientToken=awsmod.client_token())
        return [str(i["InstanceId"]) for i in response["Instances"]]

    def rollback(self) -> list[str]:
        """Undo everything: runners, parameters, instances. Return the failures (one line each)."""
        problems: list[str] = []
        if self.unanswered:
            try:
                filters = [{"Name": "client-token", "Values": self.unanswered}]
                for found in awsmod.instances(self.aws, filters):
                    self.started.append(Instance(str(found["InstanceId"]), "", "unknown"))
            except (ClientError, BotoCoreError) as exc:
                problems.append(f"looking up unanswered launches: {awsmod.describe(exc)}")
        for runner_id in self.runner_ids:
            try:
                self.github.delete_runner(self.where, runner_id)
            except gh.GitHubNotFound:
                pass
            except gh.GitHubError as exc:
                problems.append(str(exc))
        try:
            awsmod.delete_parameters(self.aws, self.parameters)
        except ClientError as exc:
            problems.append(awsmod.describe(exc))
        try:
            awsmod.terminate(self.aws, [i.instance_id for i in self.started])
        except (ClientError, WaiterError) as exc:
            problems.append(awsmod.describe(exc))
        return problems


def launch(
    aws: awsmod.Aws,
    spec: cfg.LaunchSpec,
    *,
    github: gh.GitHubClient | None,
    where: gh.Scope | None,
    api_url: str,
    max_per_fleet: int,
    max_total: int,
    prices: PriceTable,
    dry_run: bool,
    wait: bool = True,
    log: Callable[[str], None] = lambda _: None,
    now: datetime | None = None,
) -> LaunchResult:
    """Launch a fleet (or say what would be launched).

    Raises:
        UsageError: Unknown instance type or image, or a cap would be exceeded.
        MlcopsError: The launch failed; everything it had started was terminated.

    """
    cfg.check_launch(spec, max_per_fleet=max_per_fleet, max_total=max_total)
    _check_type(aws, spec.instance_type)
    _check_ami(aws, spec.ami)
    in_fleet, total = count_existing(aws, spec.fleet)
    if in_fleet + spec.count > max_per_fleet:
        raise UsageError(
            f"--count {spec.count}: fleet {spec.fleet} has {in_fleet} live instance(s) and the "
            f"per-fleet cap is {max_per_fleet} (raise --max-per-fleet, or run fleet down/reap)"
        )
    if total + spec.count > max_total:
        raise UsageError(
            f"--count {spec.count}: {total} mlcops instance(s) are live in {aws.region} and the "
            f"per-region cap is {max_total} (raise --max-total, or run fleet down/reap)"
        )
    expires_at = cfg.iso_utc((now or datetime.now(UTC)) + spec.ttl)
    script = userdata.render(
        region=aws.region,
        parameter_root=f"{cfg.PARAMETER_ROOT}/{spec.fleet}",
        runner_dir=spec.runner_dir,
        runner_user=spec.runner_user,
        ephemeral=spec.ephemeral,
    )
    batch = spec.batch_size or spec.count
    result = LaunchResult(
        spec=spec,
        region=aws.region,
        expires_at=expires_at,
        dry_run=dry_run,
        hourly=prices.hourly(spec.instance_type, spot=spec.spot, count=spec.count),
        existing_in_fleet=in_fleet,
        existing_total=total,
    )
    if dry_run:
        left = spec.count
        while left:
            n = min(batch, left)
            result.requests.append({"market": "spot" if spec.spot else "on-demand", "count": n})
            left -= n
        return result
    if github is None or where is None:
        raise UsageError("fleet up needs --repo, --org or --enterprise to register its runners")
    launcher = _Launcher(aws, spec, github, where, api_url, log)
    labels = [*spec.runner_labels(), f"aws-{aws.region}"]
    try:
        group_id = github.runner_group_id(where, spec.runner_group) if spec.ephemeral else 0
        token = None if spec.ephemeral else github.registration_token(where)
        left = spec.count
        while left:
            n = min(batch, left)
            params = run_instances_params(
                spec, count=n, spot=launcher.spot, user_data=script, expires_at=expires_at
            )
            ids = launcher.run_batch(params, n)
            market = "spot" if launcher.spot else "on-demand"
            batch_instances = [Instance(i, cfg.runner_name(spec.prefix, i), market) for i in ids]
            launcher.started += batch_instances
            left -= n
            log(f"launched {len(ids)} {market} instance(s): {', '.join(ids)}")
            for instance in batch_instances:
                if token is None:
                    secret = github_glue.jit_secret(
                        github, where, instance.runner_name, labels, group_id
                    )
                else:
                    secret = github_glue.registration_secret(
                        token,
                        where.url(github_glue.server_url(api_url)),
                        instance.runner_name,
                        labels,
                        spec.runner_group,
                    )
                if secret.runner_id is not None:
                    launcher.runner_ids.append(secret.runner_id)
                    instance.runner_id = secret.runner_id
                name = cfg.parameter_name(spec.fleet, instance.instance_id)
                launcher.parameters.append(name)
                aws.ssm.put_parameter(
                    Name=name,
                    Description=f"mlcops runner secret for {instance.instance_id} (read once)",
                    Value=secret.value,
                    Type="SecureString",
                    # JIT configs can pass 4 KB: let SSM pick standard or advanced per value.
                    Tier="Intelligent-Tiering",
                    Tags=[
                        {"Key": cfg.TAG_PROJECT, "Value": cfg.PROJECT},
                        {"Key": cfg.TAG_FLEET, "Value": spec.fleet},
                    ],
                )
                instance.parameter = name
        if wait:
            waiter = aws.ec2.get_waiter("instance_running")
            for chunk in awsmod.chunks([i.instance_id for i in launcher.started], 500):
                waiter.wait(InstanceIds=chunk, WaiterConfig={"Delay": 5, "MaxAttempts": 120})
    except BaseException as exc:
        started = len(launcher.started)
        if not started and not launcher.runner_ids and not launcher.unanswered:
            if isinstance(exc, ClientError | WaiterError):
                raise awsmod.AwsError(f"fleet up failed: {awsmod.describe(exc)}") from None
            raise  # nothing was created: the error speaks for itself
        problems = launcher.rollback()
        started = len(launcher.started)
        if isinstance(exc, KeyboardInterrupt):
            raise
        cause = awsmod.describe(exc) if isinstance(exc, ClientError | WaiterError) else str(exc)
        undone = f"terminated the {started} instance(s) it had started"
        if problems:
            undone += "; cleanup problems: " + "; ".join(problems)
        raise MlcopsError(f"fleet up failed ({cause}); {undone}") from None
    result.requests = launcher.requests
    result.instances = launcher.started
    return result
