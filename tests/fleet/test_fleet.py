"""``mlcops fleet`` against moto's EC2/SSM server and the fake GitHub: launch, caps, rollback,
spot fallback, down and reap. Each test says what would cost money or break a job if it failed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.github_api import FakeGitHub
from tests.fleet.conftest import (
    REGION,
    SCOPE,
    Calls,
    boot_runner,
    client_error,
    fleet_instances,
    make_busy,
    parameters,
    tags_of,
    user_data,
)


def up(fleet: Any, ami: str, *extra: str) -> Any:
    return fleet("up", "--instance-type", "g5.xlarge", "--ami", ami, *extra)


def runner_names(fake: FakeGitHub) -> set[str]:
    return {r["name"] for r in fake.runners(SCOPE)}


def test_up_launches_tagged_imdsv2_instances_with_one_secret_each(
    fleet: Any, ec2: Any, ssm: Any, fake: FakeGitHub, calls: Calls, ami: str
) -> None:
    """Five instances in one request, each tagged, IMDSv2-only, with its own one-time secret."""
    result = up(fleet, ami, "--count", "5", "--ephemeral", "--fleet", "gpu", "--ttl", "1h30m")
    assert result.code == 0, result.err
    assert calls.count("RunInstances") == 1
    request = calls.params("RunInstances")[0]
    assert request["MinCount"] == request["MaxCount"] == 5
    assert request["ClientToken"]
    instances = fleet_instances(ec2)
    assert len(instances) == 5
    ids = {i["InstanceId"] for i in instances}
    expected_names = {f"mlcops-gpu-{i}" for i in ids}
    for instance in instances:
        tags = tags_of(instance)
        assert tags["mlcops:project"] == "mlcops"
        assert tags["mlcops:fleet"] == "gpu"
        assert tags["mlcops:gpu"] == "a10g"
        assert tags["mlcops:owner"]
        assert tags["mlcops:runner-prefix"] == "mlcops-gpu"
        expires = datetime.fromisoformat(tags["mlcops:expires-at"].replace("Z", "+00:00"))
        assert timedelta(minutes=85) < expires - datetime.now(UTC) <= timedelta(minutes=90)
        assert instance["MetadataOptions"]["HttpTokens"] == "required"
        assert instance["State"]["Name"] == "running"
        script = user_data(ec2, instance["InstanceId"])
        assert script.startswith("#!/bin/bash")
        assert not any(secret in script for secret in fake.issued_secrets())
    names = sorted(parameters(ssm))
    assert names == sorted(f"/mlcops/gpu/{i}/runner" for i in ids)
    described = ssm.describe_parameters()["Parameters"]
    assert {p["Type"] for p in described} == {"SecureString"}
    assert runner_names(fake) == expected_names
    for runner in fake.runners(SCOPE):
        labels = {label["name"] for label in runner["labels"]}
        assert {"self-hosted", "gpu-a10g", "cuda", f"aws-{REGION}", "fleet-gpu"} <= labels
    # No secret in what the command printed.
    assert not any(secret in result.out + result.err for secret in fake.issued_secrets())


def test_registration_token_mode_writes_one_parameter_per_instance(
    fleet: Any, ec2: Any, ssm: Any, fake: FakeGitHub, ami: str
) -> None:
    """Without --ephemeral: one registration token for the launch, one parameter per instance."""
    result = up(fleet, ami, "--count", "2", "--json")
    assert result.code == 0, result.err
    ids = [i["instance_id"] for i in result.json()["instances"]]
    assert len(ids) == 2
    assert sorted(parameters(ssm)) == sorted(f"/mlcops/default/{i}/runner" for i in ids)
    assert [r[1] for r in fake.requests].count(
        f"/api/v3/{SCOPE}/actions/runners/registration-token"
    ) == 1
    assert runner_names(fake) == set()  # they register themselves on boot


def test_cap_refuses_the_sixth(fleet: Any, ec2: Any, calls: Calls, ami: str) -> None:
    """The per-fleet cap counts what already runs: a sixth instance is refused, nothing starts."""
    assert up(fleet, ami, "--count", "5", "--max-per-fleet", "5").code == 0
    result = up(fleet, ami, "--count", "1", "--max-per-fleet", "5")
    assert result.code == 2
    assert "--max-per-fleet" in result.err and "has 5 live" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert len(fleet_instances(ec2)) == 5
    assert calls.count("RunInstances") == 1


def test_region_cap_counts_every_fleet(fleet: Any, ec2: Any, ami: str) -> None:
    """The per-region cap counts instances of all fleets."""
    assert up(fleet, ami, "--count", "3", "--fleet", "a", "--max-total", "4").code == 0
    result = up(fleet, ami, "--count", "2", "--fleet", "b", "--max-total", "4")
    assert result.code == 2 and "--max-total" in result.err
    assert len(fleet_instances(ec2)) == 3


def test_failure_on_the_third_launch_leaves_nothing_running(
    fleet: Any, ec2: Any, ssm: Any, fake: FakeGitHub, calls: Calls, ami: str
) -> None:
    """A launch that dies half-way terminates what it started: no orphan bills by the hour."""
    seen: list[int] = []

    def third_fails(**_: Any) -> None:
        seen.append(1)
        if len(seen) == 3:
            raise client_error("InternalError", "RunInstances")

    calls.on("before-call.ec2.RunInstances", third_fails)
    result = up(fleet, ami, "--count", "5", "--batch-size", "1", "--ephemeral")
    assert result.code == 1
    assert "InternalError" in result.err and "terminated the 2 instance(s)" in result.err
    assert calls.count("RunInstances") == 3
    assert fleet_instances(ec2) == []
    assert len(fleet_instances(ec2, ("terminated",))) == 2
    assert parameters(ssm) == []
    assert runner_names(fake) == set()


def test_failure_in_the_third_instance_setup_rolls_back(
    fleet: Any, ec2: Any, ssm: Any, fake: FakeGitHub, calls: Calls, ami: str
) -> None:
    """A failed secret write for the third instance undoes all five instances and three runners."""
    seen: list[int] = []

    def third_fails(**_: Any) -> None:
        seen.append(1)
        if len(seen) == 3:
            raise client_error("ThrottlingException", "PutParameter")

    calls.on("before-call.ssm.PutParameter", third_fails)
    result = up(fleet, ami, "--count", "5", "--ephemeral")
    assert result.code == 1, result.err
    assert "terminated the 5 instance(s)" in result.err
    assert fleet_instances(ec2) == []
    assert parameters(ssm) == []
    assert runner_names(fake) == set()
    assert "TerminateInstances" in {op for op, _ in calls.made}


def test_spot_capacity_error_falls_back_to_on_demand_with_a_new_token(
    fleet: Any, ec2: Any, calls: Calls, ami: str
) -> None:
    """No spot capacity: the same launch goes on-demand, as a new request (new ClientToken)."""

    def no_spot(params: dict[str, Any], **_: Any) -> None:
        if params.get("InstanceMarketOptions", {}).get("MarketType") == "spot":
            raise client_error("InsufficientInstanceCapacity", "RunInstances")

    calls.on("provide-client-params.ec2.RunInstances", no_spot)
    result = up(fleet, ami, "--count", "3", "--spot")
    assert result.code == 0, result.err
    requests = calls.params("RunInstances")
    assert len(requests) == 2
    assert requests[0]["InstanceMarketOptions"]["MarketType"] == "spot"
    assert "InstanceMarketOptions" not in requests[1]
    assert requests[0]["ClientToken"] != requests[1]["ClientToken"]
    instances = fleet_instances(ec2)
    assert len(instances) == 3
    assert {tags_of(i)["mlcops:market"] for i in instances} == {"on-demand"}
    assert all(i.get("InstanceLifecycle") != "spot" for i in instances)


def test_spot_without_fallback_fails_cleanly(fleet: Any, ec2: Any, calls: Calls, ami: str) -> None:
    """--no-fallback: a spot capacity error is the answer, and nothing runs."""
    calls.on(
        "before-call.ec2.RunInstances",
        lambda **_: (_ for _ in ()).throw(client_error("InsufficientInstanceCapacity", "x")),
    )
    result = up(fleet, ami, "--count", "2", "--spot", "--no-fallback")
    assert result.code == 1 and "InsufficientInstanceCapacity" in result.err
    assert fleet_instances(ec2) == []


def set_tag(ec2: Any, instance_id: str, key: str, value: str) -> None:
    ec2.create_tags(Resources=[instance_id], Tags=[{"Key": key, "Value": value}])


def test_reap_terminates_expired_and_orphans_but_never_a_busy_runner(
    fleet: Any, ec2: Any, ssm: Any, fake: FakeGitHub, ami: str
) -> None:
    """Expired and runner-less instances go; a busy runner's instance stays; stale runners go."""
    result = up(fleet, ami, "--count", "4", "--ephemeral", "--json")
    assert result.code == 0, result.err
    busy, idle, orphan, healthy = (i["instance_id"] for i in result.json()["instances"])
    past = "2020-01-01T00:00:00Z"
    set_tag(ec2, busy, "mlcops:expires-at", past)
    set_tag(ec2, idle, "mlcops:expires-at", past)
    runner_id, credential = boot_runner(fake, ssm, "default", busy)
    make_busy(fake, runner_id, credential, f"mlcops-default-{busy}")
    # The orphan's runner is gone (its job ended, or it never came up).
    orphan_runner = next(r for r in fake.runners(SCOPE) if r["name"].endswith(orphan))
    from mlcops.github import GitHubClient, Scope

    client = GitHubClient(fake.api_url, token="fleet-test-pat", insecure=True)
    client.delete_runner(Scope("repo", "octo/gpus"), orphan_runner["id"])
    # Runners left by instances that are gone: ours (removed) and someone else's (kept).
    fake.add_runner(SCOPE, "mlcops-default-i-0123456789abcdef0", labels=[f"aws-{REGION}"])
    fake.add_runner(SCOPE, "mlcops-default-i-0fedcba987654321f", labels=["aws-eu-west-1"])
    fake.add_runner(SCOPE, "build-box-1")

    dry = fleet("reap", "--grace", "0", "--dry-run", "--json")
    assert dry.code == 0, dry.err
    planned = {(a["action"], a["instance_id"]) for a in dry.json()["actions"]}
    assert ("terminate", idle) in planned and ("terminate", orphan) in planned
    assert len(fleet_instances(ec2)) == 4  # a dry run changes nothing

    result = fleet("reap", "--grace", "0", "--json")
    assert result.code == 0, result.err
    actions = {a["instance_id"]: a for a in result.json()["actions"]}
    assert actions[busy]["action"] == "keep"
    assert actions[idle]["action"] == "terminate" and actions[idle]["done"]
    assert actions[orphan]["action"] == "terminate"
    assert healthy not in actions
    running = {i["InstanceId"] for i in fleet_instances(ec2)}
    assert running == {busy, healthy}
    names = runner_names(fake)
    assert f"mlcops-default-{busy}" in names and f"mlcops-default-{healthy}" in names
    assert f"mlcops-default-{idle}" not in names
    assert "mlcops-default-i-0123456789abcdef0" not in names
    assert {"mlcops-default-i-0fedcba987654321f", "build-box-1"} <= names
    assert not any(idle in p or orphan in p for p in parameters(ssm))


def test_reap_respects_the_boot_grace(fleet: Any, ec2: Any, fake: FakeGitHub, ami: str) -> None:
    """A fresh instance whose runner has not registered yet is left alone during --grace."""
    assert up(fleet, ami, "--count", "2").code == 0  # registration mode: no runner yet
    result = fleet("reap", "--grace", "10m", "--json")
    assert result.code == 0 and result.json()["actions"] == []
    assert len(fleet_instances(ec2)) == 2


def test_down_deregisters_first_and_keeps_busy_runners(
    fleet: Any, ec2: Any, ssm: Any, fake: FakeGitHub, calls: Calls, ami: str
) -> None:
    """fleet down removes the runner from GitHub before the instance; a busy one is kept."""
    result = up(fleet, ami, "--count", "3", "--ephemeral", "--json")
    busy, *_ = (i["instance_id"] for i in result.json()["instances"])
    runner_id, credential = boot_runner(fake, ssm, "default", busy)
    make_busy(fake, runner_id, credential, f"mlcops-default-{busy}")

    result = fleet("down", "--all", "--dry-run")
    assert result.code == 1 and "would terminate" in result.out and "$" in result.out
    assert len(fleet_instances(ec2)) == 3

    deleted_before_terminate: list[int] = []

    def on_terminate(**_: Any) -> None:
        deleted_before_terminate.append(sum(1 for m, _p, _s in fake.requests if m == "DELETE"))

    calls.on("provide-client-params.ec2.TerminateInstances", on_terminate)
    result = fleet("down", "--all")
    assert result.code == 1  # one kept
    assert f"keep {busy}" in result.out
    assert {i["InstanceId"] for i in fleet_instances(ec2)} == {busy}
    assert runner_names(fake) == {f"mlcops-default-{busy}"}
    deletes = [p for m, p, s in fake.requests if m == "DELETE"]
    assert len(deletes) == 2
    assert calls.count("TerminateInstances") == 1
    assert deleted_before_terminate == [2]  # both runners were gone before any terminate
    assert parameters(ssm) == []

    result = fleet("down", busy, "--force")
    assert result.code == 0, result.out + result.err
    assert fleet_instances(ec2) == []


def test_down_refuses_unknown_ids(fleet: Any, ec2: Any, ami: str) -> None:
    """An id that is not ours is refused before anything changes."""
    assert up(fleet, ami, "--count", "1").code == 0
    other = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    result = fleet("down", other)
    assert result.code == 2 and other in result.err and "nothing was changed" in result.err
    assert len(fleet_instances(ec2)) == 1


def test_dry_run_up_launches_nothing_and_prices_it(
    fleet: Any, ec2: Any, fake: FakeGitHub, calls: Calls, ami: str, tmp_path: Any
) -> None:
    """A dry run says what it would launch and what it costs, and touches nothing."""
    prices = tmp_path / "prices.yml"
    prices.write_text("g5.xlarge: {on_demand: 2.0, spot: 0.5}\n")
    result = up(fleet, ami, "--count", "3", "--spot", "--dry-run", "--prices", str(prices))
    assert result.code == 0, result.err
    assert "would launch 3 x g5.xlarge" in result.out and "$1.500/h" in result.out
    assert calls.count("RunInstances") == 0
    assert fleet_instances(ec2) == [] and fake.requests == []


def test_list_shows_instances_and_runner_state(fleet: Any, fake: FakeGitHub, ami: str) -> None:
    """fleet list joins instances with their GitHub runners."""
    assert up(fleet, ami, "--count", "2", "--ephemeral").code == 0
    result = fleet("list", "--json")
    assert result.code == 0, result.err
    items = result.json()
    assert len(items) == 2
    assert {i["gpu"] for i in items} == {"a10g"}
    assert {i["runner_state"] for i in items} == {"offline"}
    table = fleet("list")
    assert "2 instance(s)" in table.out and "$2.012/h" in table.out
