"""The committed ``inventory/aws/aws_ec2.yml`` lists the fleet, grouped by GPU type and fleet.

The plugin runs for real (``ansible-inventory``) against moto: boto3 inside it finds moto through
``AWS_ENDPOINT_URL``, so the file under test is the committed one, unchanged.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

from tests.fleet.conftest import tags_of
from tests.helpers import PROJECT

INVENTORY = PROJECT / "inventory" / "aws" / "aws_ec2.yml"


def plain(value: Any) -> Any:
    """Unwrap ``{"__ansible_unsafe": v}`` (how ansible-inventory marks values from AWS)."""
    return value["__ansible_unsafe"] if isinstance(value, dict) else value


def test_inventory_groups_the_fleet_by_gpu_type(fleet: Any, ec2: Any, ami: str) -> None:
    """Ansible reaches every running fleet instance through keyed groups, and nothing else."""
    assert fleet("up", "--count", "2", "--instance-type", "g5.xlarge", "--ami", ami).code == 0
    assert (
        fleet(
            "up", "--count", "1", "--instance-type", "g4dn.xlarge", "--ami", ami, "--fleet", "t4s"
        ).code
        == 0
    )
    stranger = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, InstanceType="g5.xlarge")
    stopped = fleet("up", "--count", "1", "--instance-type", "g5.xlarge", "--ami", ami, "--json")
    stopped_id = stopped.json()["instances"][0]["instance_id"]
    ec2.stop_instances(InstanceIds=[stopped_id])

    result = subprocess.run(
        ["ansible-inventory", "-i", str(INVENTORY), "--list"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    inventory = json.loads(result.stdout)
    running = {
        i["InstanceId"]: tags_of(i)
        for r in ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] == "running" and "mlcops:project" in tags_of(i)
    }
    a10g = {k for k, t in running.items() if t["mlcops:gpu"] == "a10g"}
    t4 = {k for k, t in running.items() if t["mlcops:gpu"] == "t4"}
    assert len(a10g) == 2 and len(t4) == 1
    assert set(inventory["gpu_a10g"]["hosts"]) == a10g
    assert set(inventory["gpu_t4"]["hosts"]) == t4
    assert set(inventory["fleet_t4s"]["hosts"]) == t4
    assert set(inventory["fleet_default"]["hosts"]) == a10g
    assert set(inventory["linux_runners"]["hosts"]) == a10g | t4
    hostvars = inventory["_meta"]["hostvars"]
    assert stranger["Instances"][0]["InstanceId"] not in hostvars
    assert stopped_id not in hostvars
    some = next(iter(t4))
    assert plain(hostvars[some]["mlcops_gpu"]) == "t4"
    assert plain(hostvars[some]["mlcops_runner_name"]) == f"mlcops-t4s-{some}"
    assert hostvars[some]["ansible_host"]
