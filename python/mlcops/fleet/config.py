"""Fleet settings: tags, limits, TTLs, GPU types; every check raises one clear UsageError."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from mlcops.errors import UsageError

PROJECT = "mlcops"
# Tag keys. Everything the reaper and the inventory need is on the instance from its first second
# (TagSpecifications), so an instance is never untagged, not even when the launch dies half-way.
TAG_PROJECT = "mlcops:project"
TAG_OWNER = "mlcops:owner"
TAG_FLEET = "mlcops:fleet"
TAG_EXPIRES = "mlcops:expires-at"
TAG_RUNNER_PREFIX = "mlcops:runner-prefix"
TAG_GPU = "mlcops:gpu"
TAG_MARKET = "mlcops:market"
TAG_EPHEMERAL = "mlcops:ephemeral"

# Instance states that count against the caps and that the reaper looks at.
LIVE_STATES = ("pending", "running")
PRESENT_STATES = ("pending", "running", "stopping", "stopped", "shutting-down")

DEFAULT_MAX_PER_FLEET = 20
DEFAULT_MAX_TOTAL = 50
PARAMETER_ROOT = "/mlcops"

_TTL_PART = re.compile(r"(\d+)([smhd])")
_TTL_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$")
_INSTANCE_ID = re.compile(r"^i-[0-9a-f]{8,17}$")

# Accelerator by instance family (the part before the first dot, generation suffixes included).
# Used for the gpu tag, the runner labels and the inventory's keyed groups.
GPU_BY_FAMILY: dict[str, str] = {
    "g3": "m60",
    "g3s": "m60",
    "g4dn": "t4",
    "g4ad": "v520",
    "g5": "a10g",
    "g5g": "t4g",
    "g6": "l4",
    "gr6": "l4",
    "g6e": "l40s",
    "p3": "v100",
    "p3dn": "v100",
    "p4d": "a100",
    "p4de": "a100",
    "p5": "h100",
    "p5e": "h200",
    "p5en": "h200",
}
NVIDIA_GPUS = frozenset({"m60", "t4", "t4g", "a10g", "l4", "l40s", "v100", "a100", "h100", "h200"})


def parse_ttl(text: str) -> timedelta:
    """Parse a TTL such as ``30m``, ``8h``, ``2d`` or ``1h30m``.

    Raises:
        UsageError: The text is not one or more ``<number><s|m|h|d>`` parts, or is zero.

    """
    value = text.strip().lower()
    parts = _TTL_PART.findall(value)
    if not value or "".join(n + u for n, u in parts) != value:
        raise UsageError(f"--ttl {text!r}: expected a duration like 30m, 8h, 2d or 1h30m")
    seconds = sum(int(n) * _TTL_UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise UsageError(f"--ttl {text!r}: must be longer than zero")
    if seconds > 30 * 86400:
        raise UsageError(f"--ttl {text!r}: at most 30d; relaunch instead of keeping GPUs forever")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """Format a duration as ``1h30m`` (whole minutes; seconds when under a minute)."""
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"{seconds}s"
    days, rest = divmod(seconds // 60, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m")]
    return "".join(f"{n}{u}" for n, u in parts if n) or "0m"


def iso_utc(moment: datetime) -> str:
    """Return ``2026-01-02T03:04:05Z`` (the expiry tag's format)."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso_utc(text: str) -> datetime | None:
    """Parse the expiry tag; None when it is missing or malformed (the reaper treats as expired)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def gpu_for(instance_type: str) -> str:
    """Return the accelerator of an instance type (``g5.xlarge`` -> ``a10g``), or ``none``."""
    return GPU_BY_FAMILY.get(instance_type.split(".", 1)[0], "none")


def check_name(option: str, value: str) -> str:
    """Check a fleet or owner name: lower-case letters, digits and dashes, at most 32."""
    if not _NAME.match(value):
        raise UsageError(
            f"{option} {value!r}: use 1-32 lower-case letters, digits and dashes "
            "(starting and ending with a letter or digit)"
        )
    return value


def check_instance_type(value: str) -> str:
    """Check the shape of an instance type; existence is asked of EC2 later."""
    if not _INSTANCE_TYPE.match(value):
        raise UsageError(f"--instance-type {value!r}: expected FAMILY.SIZE such as g5.xlarge")
    return value


def check_instance_ids(values: list[str]) -> list[str]:
    """Check instance ids given on the command line."""
    for value in values:
        if not _INSTANCE_ID.match(value):
            raise UsageError(f"instance id {value!r}: expected i- followed by 8-17 hex digits")
    return values


def runner_prefix(fleet: str) -> str:
    """Return the runner-name prefix of a fleet: ``mlcops-<fleet>``."""
    return f"{PROJECT}-{fleet}"


def runner_name(prefix: str, instance_id: str) -> str:
    """Return the runner name of an instance: ``<prefix>-<instance id>``.

    The instance id is not known before RunInstances returns, so the name is not a tag: the prefix
    is tagged at launch, and the name is derived from prefix and id wherever it is needed. That
    keeps launch to one call (no CreateTags afterwards) and no instance ever exists without it.
    """
    return f"{prefix}-{instance_id}"


_RUNNER_NAME = re.compile(rf"^{PROJECT}-(?P<fleet>.+)-(?P<id>i-[0-9a-f]{{8,17}})$")


def instance_of_runner(name: str) -> tuple[str, str] | None:
    """Return ``(fleet, instance id)`` of a fleet runner's name, or None for other runners."""
    match = _RUNNER_NAME.match(name)
    return (match.group("fleet"), match.group("id")) if match else None


def parameter_name(fleet: str, instance_id: str) -> str:
    """Return the SSM parameter that carries one instance's runner secret."""
    return f"{PARAMETER_ROOT}/{fleet}/{instance_id}/runner"


@dataclass(frozen=True)
class LaunchSpec:
    """Everything ``fleet up`` launches, checked."""

    fleet: str
    owner: str
    count: int
    instance_type: str
    ami: str
    ttl: timedelta
    spot: bool = False
    spot_fallback: bool = True
    ephemeral: bool = False
    subnet: str | None = None
    security_groups: tuple[str, ...] = ()
    key_name: str | None = None
    instance_profile: str | None = None
    tenancy: str = "default"
    capacity_reservation: str | None = None
    volume_size: int = 200
    hop_limit: int = 2
    batch_size: int | None = None
    labels: tuple[str, ...] = field(default_factory=tuple)
    runner_group: str = "Default"
    runner_dir: str = "/opt/actions-runner"
    runner_user: str = "runner"

    @property
    def gpu(self) -> str:
        """The accelerator of the instance type."""
        return gpu_for(self.instance_type)

    @property
    def prefix(self) -> str:
        """The runner-name prefix."""
        return runner_prefix(self.fleet)

    def runner_labels(self) -> list[str]:
        """Labels of every runner of the fleet: OS, arch, accelerator, fleet, and extras."""
        arch = "arm64" if self.instance_type.split(".")[0].endswith("g") else "x64"
        labels = ["self-hosted", "linux", arch, f"fleet-{self.fleet}"]
        if self.gpu != "none":
            labels += ["gpu", f"gpu-{self.gpu}"]
        if self.gpu in NVIDIA_GPUS:
            labels.append("cuda")
        return labels + [label for label in self.labels if label not in labels]


def check_launch(spec: LaunchSpec, *, max_per_fleet: int, max_total: int) -> None:
    """Check a launch spec on its own (no AWS call): count, caps, spot options.

    Raises:
        UsageError: Naming the option and the fix.

    """
    if max_per_fleet < 1:
        raise UsageError(f"--max-per-fleet {max_per_fleet}: must be at least 1")
    if max_total < 1:
        raise UsageError(f"--max-total {max_total}: must be at least 1")
    if spec.count < 1:
        raise UsageError(f"--count {spec.count}: launch at least one instance")
    if spec.count > max_per_fleet:
        raise UsageError(
            f"--count {spec.count} is above the per-fleet cap of {max_per_fleet} "
            "(raise --max-per-fleet if you mean it)"
        )
    if spec.count > max_total:
        raise UsageError(
            f"--count {spec.count} is above the per-region cap of {max_total} "
            "(raise --max-total if you mean it)"
        )
    if spec.batch_size is not None and spec.batch_size < 1:
        raise UsageError(f"--batch-size {spec.batch_size}: must be at least 1")
    if spec.spot and spec.capacity_reservation:
        raise UsageError(
            "--spot cannot use --capacity-reservation (reservations are on-demand only): "
            "drop one of them"
        )
    if spec.spot and spec.tenancy == "host":
        raise UsageError(
            "--spot cannot use --tenancy host (dedicated hosts are on-demand only): drop one"
        )
    if not 1 <= spec.hop_limit <= 64:
        raise UsageError(f"--metadata-hop-limit {spec.hop_limit}: must be 1-64")
    if spec.volume_size < 8:
        raise UsageError(f"--volume-size {spec.volume_size}: at least 8 GiB")
