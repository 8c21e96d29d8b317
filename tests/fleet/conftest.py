"""Fixtures for the EC2 fleet tests: moto's server on 127.0.0.1 and the fake GitHub.

moto runs as a real HTTP server in its own process (``moto_server``), so boto3 and the
``amazon.aws.aws_ec2`` inventory plugin reach it by endpoint URL exactly as they would reach AWS.
It is started once per session and reset (``POST /moto-api/reset``) before every test.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from mlcops import cli
from mlcops.fleet import aws as fleet_aws
from tests.fakes.github_api import FakeGitHub

REGION = "us-east-1"
PAT = "fleet-test-pat"
REPO = "octo/gpus"
SCOPE = f"repos/{REPO}"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    exe = Path(sys.executable).parent / "moto_server"
    binary = str(exe) if exe.exists() else shutil.which("moto_server")
    assert binary, "moto_server not found (pip install 'moto[server]')"
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [binary, "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with _OPENER.open(f"{url}/moto-api/", timeout=2):
                break
        except OSError as exc:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"moto_server did not start: {log.read_text()[-2000:]}") from exc
            time.sleep(0.2)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def github_server() -> Iterator[FakeGitHub]:
    with FakeGitHub(tokens=(PAT,)) as server:
        yield server


@pytest.fixture
def fake(github_server: FakeGitHub) -> FakeGitHub:
    github_server.reset()
    return github_server


@pytest.fixture
def aws_env(moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """Point every AWS client of the test (and of ansible) at moto; reset moto."""
    request = urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")
    with _OPENER.open(request, timeout=10):
        pass
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return moto_url


@pytest.fixture
def ec2(aws_env: str) -> Any:
    return boto3.client("ec2", region_name=REGION, endpoint_url=aws_env)


@pytest.fixture
def ssm(aws_env: str) -> Any:
    return boto3.client("ssm", region_name=REGION, endpoint_url=aws_env)


@pytest.fixture(scope="session")
def _moto_ami(moto_url: str) -> str:
    # Listing moto's images takes seconds; its built-in images survive a reset with the same ids.
    client = boto3.client(
        "ec2",
        region_name=REGION,
        endpoint_url=moto_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return str(client.describe_images(Owners=["amazon"])["Images"][0]["ImageId"])


@pytest.fixture
def ami(aws_env: str, _moto_ami: str) -> str:
    return _moto_ami


@dataclass
class Calls:
    """AWS calls the code under test made, seen through botocore's event system."""

    made: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    hooks: list[tuple[str, Callable[..., Any]]] = field(default_factory=list)

    def count(self, operation: str) -> int:
        return sum(1 for op, _ in self.made if op == operation)

    def params(self, operation: str) -> list[dict[str, Any]]:
        return [p for op, p in self.made if op == operation]

    def on(self, event: str, handler: Callable[..., Any]) -> None:
        """Register ``handler`` on every session the fleet code creates from now on."""
        self.hooks.append((event, handler))


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    """Record (and let tests fail) the fleet code's AWS calls; the code does not know."""
    record = Calls()
    real = fleet_aws.make_session

    def make_session(**kwargs: Any) -> Any:
        session = real(**kwargs)

        def before(model: Any, params: Any, **_: Any) -> None:
            record.made.append((model.name, dict(params)))

        session.events.register("provide-client-params.*.*", before)
        for event, handler in record.hooks:
            session.events.register(event, handler)
        return session

    monkeypatch.setattr(fleet_aws, "make_session", make_session)
    return record


def client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"injected {code}"}}, operation)


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def fleet(
    aws_env: str,
    fake: FakeGitHub,
    calls: Calls,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Callable[..., Result]:
    """Run ``mlcops fleet ...`` in-process against moto and the fake GitHub."""
    monkeypatch.setenv("GITHUB_TOKEN", PAT)
    for name in ("GITHUB_APP_ID", "GITHUB_APP_PRIVATE_KEY", "GITHUB_APP_PRIVATE_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)

    def run(*args: str, github: bool = True) -> Result:
        argv = ["fleet", *args]
        if github:
            argv += ["--repo", REPO, "--api-url", fake.api_url, "--insecure"]
        capsys.readouterr()
        code = cli.main(argv)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def fleet_instances(ec2: Any, states: tuple[str, ...] = ("pending", "running")) -> list[Any]:
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=[
            {"Name": "tag:mlcops:project", "Values": ["mlcops"]},
            {"Name": "instance-state-name", "Values": list(states)},
        ]
    )
    return [i for page in pages for r in page["Reservations"] for i in r["Instances"]]


def parameters(ssm: Any) -> list[str]:
    pages = ssm.get_paginator("describe_parameters").paginate()
    return [p["Name"] for page in pages for p in page["Parameters"]]


def tags_of(instance: Any) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in instance.get("Tags", [])}


def user_data(ec2: Any, instance_id: str) -> str:
    attr = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")
    return base64.b64decode(attr["UserData"]["Value"]).decode()


def boot_runner(fake: FakeGitHub, ssm: Any, fleet: str, instance_id: str) -> tuple[int, str]:
    """Do what the instance's user data does: read and delete its parameter, start the runner.

    Returns the runner's id and credential (as the fixture runner would hold them).
    """
    name = f"/mlcops/{fleet}/{instance_id}/runner"
    secret = json.loads(ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])
    ssm.delete_parameter(Name=name)
    assert secret["kind"] == "jit"
    body = json.dumps({"encoded_jit_config": secret["jit_config"]}).encode()
    request = urllib.request.Request(f"{fake.url}/_runner/jit", data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    with _OPENER.open(request, timeout=10) as response:
        data = json.loads(response.read())
    return int(data["id"]), str(data["credential"])


def make_busy(fake: FakeGitHub, runner_id: int, credential: str, runner_name: str) -> None:
    """Queue a job for the runner and let it pick the job up (GitHub then reports it busy)."""
    fake.add_job(SCOPE, runner_name, run="sleep 600")
    request = urllib.request.Request(f"{fake.url}/_runner/{runner_id}/job", method="GET")
    request.add_header("Authorization", f"RunnerCred {credential}")
    with _OPENER.open(request, timeout=10) as response:
        assert response.status == 200
    assert next(r for r in fake.runners(SCOPE) if r["name"] == runner_name)["busy"]
