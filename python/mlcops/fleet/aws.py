"""boto3 sessions and clients for the fleet, checked before the first call."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import boto3  # type: ignore[import-untyped]  # no stubs installed
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

from mlcops.errors import MlcopsError, UsageError

# Retries with botocore's adaptive mode: throttling (RequestLimitExceeded) is retried with backoff
# by botocore itself, never by a loop here.
_CONFIG = Config(retries={"max_attempts": 8, "mode": "adaptive"}, user_agent_extra="mlcops-fleet")


def make_session(*, profile: str | None, region: str | None) -> boto3.session.Session:
    """Create the boto3 session (standard credential chain; a profile when given).

    Kept as its own function so that one place builds sessions (tests wrap it to register
    botocore event hooks that count or fail calls).
    """
    return boto3.session.Session(profile_name=profile, region_name=region)


@dataclass
class Aws:
    """The clients one fleet command uses."""

    session: boto3.session.Session
    region: str
    ec2: Any
    ssm: Any


def connect(
    *, region: str | None, profile: str | None = None, endpoint_url: str | None = None
) -> Aws:
    """Build EC2 and SSM clients; name the missing setting before any call is made.

    Args:
        region: ``--region``; None reads ``AWS_REGION``/``AWS_DEFAULT_REGION``/the profile.
        profile: ``--profile``; None uses the standard chain (``AWS_PROFILE`` included).
        endpoint_url: ``--endpoint-url``; None leaves it to boto3 (``AWS_ENDPOINT_URL``).

    Raises:
        UsageError: No region, no credentials, or an unknown profile.

    """
    # botocore itself reads AWS_DEFAULT_REGION only; AWS_REGION is what the CLI v2 and most SDKs
    # read, so take it too (the flag wins, then AWS_REGION, then botocore's chain).
    region = region or os.environ.get("AWS_REGION") or None
    try:
        session = make_session(profile=profile, region=region)
    except BotoCoreError as exc:  # ProfileNotFound and friends
        raise UsageError(f"--profile {profile}: {exc}") from None
    name = session.region_name
    if not name:
        raise UsageError("no AWS region: pass --region or set AWS_REGION (or AWS_DEFAULT_REGION)")
    try:
        credentials = session.get_credentials()
    except BotoCoreError as exc:
        raise UsageError(f"AWS credentials: {exc}") from None
    if credentials is None:
        raise UsageError(
            "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            "or AWS_PROFILE (or --profile), or run where an instance role is available"
        )
    endpoint = endpoint_url or None
    ec2 = session.client("ec2", endpoint_url=endpoint, config=_CONFIG)
    ssm = session.client("ssm", endpoint_url=endpoint, config=_CONFIG)
    return Aws(session=session, region=name, ec2=ec2, ssm=ssm)


def client_token() -> str:
    """Return a fresh idempotency token for one launch request (64 characters at most)."""
    return f"mlcops-{uuid.uuid4()}"


def error_code(exc: ClientError) -> str:
    """Return the AWS error code of a ClientError (``InsufficientInstanceCapacity``...)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def describe(exc: Exception) -> str:
    """One line for an AWS failure: code and message, never request parameters."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        operation = getattr(exc, "operation_name", "AWS")
        return f"{operation}: {error.get('Code', '?')}: {error.get('Message', '')}".strip()
    return str(exc)


class AwsError(MlcopsError):
    """An AWS call failed; the message is the operation, code and AWS's message."""


def instances(
    aws: Aws, filters: Sequence[dict[str, Any]], *, page_size: int = 100
) -> Iterator[dict[str, Any]]:
    """Yield every instance matching ``filters`` (DescribeInstances paginator)."""
    paginator = aws.ec2.get_paginator("describe_instances")
    pages = paginator.paginate(
        Filters=list(filters), PaginationConfig={"PageSize": max(5, min(page_size, 1000))}
    )
    for page in pages:
        for reservation in page.get("Reservations", []):
            yield from reservation.get("Instances", [])


def tags(instance: dict[str, Any]) -> dict[str, str]:
    """Return an instance's tags as a dict."""
    return {str(t["Key"]): str(t["Value"]) for t in instance.get("Tags", [])}


def chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    """Split ``items`` into lists of at most ``size``."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def terminate(aws: Aws, instance_ids: Sequence[str], *, wait: bool = True) -> None:
    """Terminate instances (batches of 500) and wait for ``instance_terminated``."""
    ids = list(dict.fromkeys(instance_ids))
    for batch in chunks(ids, 500):
        aws.ec2.terminate_instances(InstanceIds=batch)
    if wait and ids:
        waiter = aws.ec2.get_waiter("instance_terminated")
        for batch in chunks(ids, 500):
            waiter.wait(InstanceIds=batch, WaiterConfig={"Delay": 5, "MaxAttempts": 120})


def delete_parameters(aws: Aws, names: Sequence[str]) -> None:
    """Delete SSM parameters (DeleteParameters takes ten at a time; missing ones are fine)."""
    for batch in chunks(list(dict.fromkeys(names)), 10):
        aws.ssm.delete_parameters(Names=batch)


def existing_parameters(aws: Aws, path: str) -> list[str]:
    """Names of the parameters below ``path`` (DescribeParameters paginator, no values read)."""
    paginator = aws.ssm.get_paginator("describe_parameters")
    pages = paginator.paginate(
        ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": [path]}],
        PaginationConfig={"PageSize": 50},
    )
    return [str(p["Name"]) for page in pages for p in page.get("Parameters", [])]


def env_endpoint() -> str | None:
    """``AWS_ENDPOINT_URL`` if set (boto3 reads it too; shown in dry runs)."""
    return os.environ.get("AWS_ENDPOINT_URL") or None
