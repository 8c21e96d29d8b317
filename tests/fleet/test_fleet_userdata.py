"""The user data a fleet instance boots with really turns it into a runner.

The script that ``fleet up`` launched (read back from EC2) runs here with the instance's world
replaced at its edges: ``curl`` answers as IMDS does with HttpTokens=required (no session token,
no metadata), ``aws`` is the AWS CLI's ssm get/delete-parameter against moto, ``runuser``,
``logger`` and ``shutdown`` are recorders. The runner is the fixture runner, talking to the fake
GitHub. The job must run, the parameter must be gone, and the secret on no command line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.fakes.github_api import RUNNER_SOURCE, FakeGitHub
from tests.fleet.conftest import SCOPE, parameters, user_data

CURL = r"""#!/bin/bash
echo "curl $*" >> "$STUB_LOG"
method=GET; token=''; url=''
while [ $# -gt 0 ]; do
  case "$1" in
    -X) method=$2; shift 2 ;;
    -H) case "$2" in X-aws-ec2-metadata-token:*) token=${2#*: } ;; esac; shift 2 ;;
    http*) url=$1; shift ;;
    *) shift ;;
  esac
done
case "$method $url" in
  "PUT http://169.254.169.254/latest/api/token") echo imds-session-token ;;
  "GET http://169.254.169.254/latest/meta-data/instance-id")
    [ "$token" = imds-session-token ] || exit 22  # IMDSv1 is off: 401
    echo "$FAKE_INSTANCE_ID" ;;
  *) exit 22 ;;
esac
"""

AWS = r"""#!{python}
import os, sys
import boto3
with open(os.environ["STUB_LOG"], "a") as log:
    log.write("aws " + " ".join(sys.argv[1:]) + "\n")
args = sys.argv[1:]
opt = lambda name: args[args.index(name) + 1]
ssm = boto3.client("ssm", region_name=opt("--region"))
if args[:2] == ["ssm", "get-parameter"]:
    assert "--with-decryption" in args and opt("--query") == "Parameter.Value"
    try:
        value = ssm.get_parameter(Name=opt("--name"), WithDecryption=True)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        sys.exit(254)
    print(value)
elif args[:2] == ["ssm", "delete-parameter"]:
    ssm.delete_parameter(Name=opt("--name"))
else:
    sys.exit(f"aws stub: unexpected {args}")
"""

RUNUSER = r"""#!/bin/bash
echo "runuser $*" >> "$STUB_LOG"
while [ "$1" != -- ]; do shift; done
shift
exec "$@"
"""

LOGGER = """#!/bin/bash\ncat >> "$STUB_DIR/console.log"\n"""
SHUTDOWN = """#!/bin/bash\necho "shutdown $*" >> "$STUB_LOG"\n"""


def stubs(directory: Path) -> Path:
    directory.mkdir()
    for name, body in {
        "curl": CURL,
        "aws": AWS.replace("{python}", sys.executable),
        "runuser": RUNUSER,
        "logger": LOGGER,
        "shutdown": SHUTDOWN,
    }.items():
        path = directory / name
        path.write_text(body)
        path.chmod(0o755)
    return directory


def test_user_data_boots_an_ephemeral_runner(
    fleet: Any, ec2: Any, ssm: Any, fake: FakeGitHub, ami: str, tmp_path: Path
) -> None:
    """IMDSv2 id, read-and-delete the parameter, JIT runner via env, one job, then shutdown."""
    runner_dir = tmp_path / "actions-runner"
    shutil.copytree(RUNNER_SOURCE, runner_dir, symlinks=True)
    result = fleet(
        "up",
        "--count",
        "1",
        "--instance-type",
        "g5.xlarge",
        "--ami",
        ami,
        "--ephemeral",
        "--fleet",
        "boot",
        "--runner-dir",
        str(runner_dir),
        "--json",
    )
    assert result.code == 0, result.err
    instance_id = result.json()["instances"][0]["instance_id"]
    runner = f"mlcops-boot-{instance_id}"
    job = fake.add_job(SCOPE, runner, run="echo built on $(hostname)")
    script = tmp_path / "user-data.sh"
    script.write_text(user_data(ec2, instance_id))
    bin_dir = stubs(tmp_path / "stubs")
    log = tmp_path / "stubs.log"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "STUB_LOG": str(log),
        "STUB_DIR": str(tmp_path),
        "FAKE_INSTANCE_ID": instance_id,
        "RUNNER_ALLOW_RUNASROOT": "1",  # the test runs as root; the real one runs as `runner`
    }
    done = subprocess.run(["bash", str(script)], env=env, timeout=120, check=False)
    console = (tmp_path / "console.log").read_text() if (tmp_path / "console.log").exists() else ""
    assert done.returncode == 0, console
    assert fake.job(job)["status"] == "completed" and fake.job(job)["result"] == "succeeded"
    assert parameters(ssm) == []  # read once, then deleted by the instance itself
    calls = log.read_text()
    assert "curl -fsS -X PUT http://169.254.169.254/latest/api/token" in calls
    assert (
        f"aws ssm delete-parameter --region us-east-1 --name /mlcops/boot/{instance_id}/runner"
        in calls
    )
    assert "runuser -u runner -- ./run.sh" in calls
    assert "shutdown -h now" in calls
    assert not any(secret in calls for secret in fake.issued_secrets())  # no secret in argv
    assert runner not in {r["name"] for r in fake.runners(SCOPE)}  # ephemeral: gone after its job
