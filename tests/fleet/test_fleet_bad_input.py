"""Bad input to ``mlcops fleet``: one line naming the option, exit code 2, nothing launched."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fleet.conftest import Calls, fleet_instances

CHANGING = ("RunInstances", "PutParameter", "TerminateInstances", "CreateTags")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--count", "0"], "--count 0"),
        (["--count", "21"], "--max-per-fleet"),
        (["--count", "3", "--max-total", "2"], "--max-total"),
        (["--count", "1", "--instance-type", "g9.xlarge"], "--instance-type g9.xlarge"),
        (["--count", "1", "--instance-type", "G5 XL"], "--instance-type"),
        (["--count", "1", "--ttl", "8 hours"], "--ttl"),
        (["--count", "1", "--ttl", "0m"], "--ttl"),
        (["--count", "1", "--spot", "--capacity-reservation", "cr-123"], "--capacity-reservation"),
        (["--count", "1", "--spot", "--tenancy", "host"], "--tenancy host"),
        (["--count", "1", "--no-fallback"], "--no-fallback"),
        (["--count", "1", "--fleet", "Bad_Name"], "--fleet"),
        (["--count", "1", "--ami", "ami-00000000"], "--ami ami-00000000"),
    ],
)
def test_up_refuses_bad_input(
    fleet: Any, ec2: Any, calls: Calls, ami: str, extra: list[str], expected: str
) -> None:
    """Each mistake is named in one line before anything is launched."""
    args = ["up", "--instance-type", "g5.xlarge", "--ami", ami, *extra]
    # argparse keeps the last of a repeated option, so the extra wins.
    result = fleet(*args)
    assert result.code == 2, result.out + result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlcops: error: ")
    assert expected in lines[0]
    assert not [op for op, _ in calls.made if op in CHANGING]
    assert fleet_instances(ec2) == []


@pytest.mark.parametrize(
    ("unset", "expected"),
    [
        (("AWS_REGION",), "no AWS region"),
        (("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), "no AWS credentials"),
    ],
)
@pytest.mark.parametrize("command", ["up", "list", "down", "reap"])
def test_missing_region_or_credentials_is_one_line(
    fleet: Any,
    calls: Calls,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    unset: tuple[str, ...],
    expected: str,
) -> None:
    """No region or no credentials: the missing setting is named, and no call is made."""
    for name in unset:
        monkeypatch.delenv(name, raising=False)
    args = {
        "up": ["up", "--count", "1", "--instance-type", "g5.xlarge", "--ami", "ami-12345678"],
        "list": ["list"],
        "down": ["down", "--all"],
        "reap": ["reap"],
    }[command]
    result = fleet(*args)
    assert result.code == 2
    assert result.err.strip().splitlines() == [result.err.strip()]
    assert expected in result.err
    assert "testing" not in result.err  # no key material in the message
    assert calls.made == []


def test_down_needs_ids_or_all(fleet: Any) -> None:
    """fleet down with neither ids nor --all is refused."""
    result = fleet("down")
    assert result.code == 2 and "--all" in result.err


def test_down_refuses_malformed_ids(fleet: Any) -> None:
    """A malformed id is named."""
    result = fleet("down", "web-1")
    assert result.code == 2 and "web-1" in result.err


def test_github_scope_is_required(fleet: Any, ami: str) -> None:
    """Launching runners needs to know where they register."""
    result = fleet("up", "--count", "1", "--instance-type", "g5.xlarge", "--ami", ami, github=False)
    assert result.code == 2 and "--repo" in result.err


def test_bad_price_file(fleet: Any, ami: str, tmp_path: Any) -> None:
    """A price override of the wrong shape is named."""
    prices = tmp_path / "p.yml"
    prices.write_text("g5.xlarge: cheap\n")
    result = fleet(
        "up",
        "--count",
        "1",
        "--instance-type",
        "g5.xlarge",
        "--ami",
        ami,
        "--dry-run",
        "--prices",
        str(prices),
    )
    assert result.code == 2 and "--prices" in result.err and "g5.xlarge" in result.err
