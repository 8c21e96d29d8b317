"""Fleet benchmark: AWS API calls and wall time of ``fleet up --count 50`` and ``fleet reap``.

Not a test: it prints figures. Runs against moto's server on 127.0.0.1 and the fake GitHub, and
counts every AWS call the fleet code makes through botocore's event system
(``provide-client-params.*.*``), so the counts are what the code sent, not an estimate.

    python tests/bench/bench_fleet.py [--count 50] [--reap 500] [--json out.json]

Shows: one RunInstances for 50 instances (against 50 when launched one per request), and a reap
over 500 instances that pages DescribeInstances and terminates in one batched call.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "python"))

import boto3  # noqa: E402
from tests.fakes.github_api import FakeGitHub  # noqa: E402

from mlcops import cli  # noqa: E402
from mlcops.fleet import aws as fleet_aws  # noqa: E402

REGION = "us-east-1"
PAT = "bench-pat"
REPO = "octo/bench"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """Start ``moto_server`` on a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    binary = Path(sys.executable).parent / "moto_server"
    proc = subprocess.Popen(
        [str(binary), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                with _OPENER.open(f"{url}/moto-api/", timeout=2):
                    break
            except OSError:
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def reset(url: str) -> None:
    """Forget every AWS resource."""
    with _OPENER.open(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=30):
        pass


class Counter:
    """Counts AWS operations on every session the fleet code creates."""

    def __init__(self) -> None:
        self.ops: collections.Counter[str] = collections.Counter()
        real = fleet_aws.make_session

        def make_session(**kwargs: Any) -> Any:
            session = real(**kwargs)
            session.events.register("provide-client-params.*.*", self._count)
            return session

        fleet_aws.make_session = make_session  # type: ignore[method-assign]

    def _count(self, model: Any, **_: Any) -> None:
        self.ops[model.name] += 1

    def take(self) -> dict[str, int]:
        """Return and clear the counts."""
        counts = dict(sorted(self.ops.items()))
        self.ops.clear()
        return counts


def fleet(fake: FakeGitHub, *args: str) -> tuple[int, float, str]:
    """Run ``mlcops fleet ...`` in-process; return exit code, seconds and stdout."""
    argv = ["fleet", *args, "--repo", REPO, "--api-url", fake.api_url, "--insecure"]
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    elapsed = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"fleet {' '.join(args)} failed ({code}): {err.getvalue()}")
    return code, elapsed, out.getvalue()


def main() -> int:
    """Run the scenarios and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=50, help="instances for fleet up")
    parser.add_argument("--reap", type=int, default=500, help="instances for fleet reap")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures: dict[str, Any] = {}
    with moto_server() as url, FakeGitHub(tokens=(PAT,)) as fake:
        os.environ.update(
            {
                "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench",
                "AWS_REGION": REGION,
                "AWS_ENDPOINT_URL": url,
                "AWS_EC2_METADATA_DISABLED": "true",
                "GITHUB_TOKEN": PAT,
                "NO_PROXY": "127.0.0.1,localhost",
            }
        )
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
            os.environ.pop(name, None)
        ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=url)
        ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        counter = Counter()
        cap = ["--max-per-fleet", str(max(args.count, 1)), "--max-total", str(args.reap * 2)]
        up = ["up", "--count", str(args.count), "--instance-type", "g5.xlarge", "--ami", ami]
        up += ["--ephemeral", *cap]

        # Warm moto up (its first DescribeInstanceTypes loads data) so both launches run warm.
        fleet(fake, *up, "--dry-run")
        counter.take()
        for label, extra in (("batched", []), ("one per request", ["--batch-size", "1"])):
            reset(url)
            fake.reset()
            _, seconds, _ = fleet(fake, *up, *extra)
            figures[f"up {args.count} ({label})"] = {
                "seconds": round(seconds, 2),
                "aws_calls": counter.take(),
                "github_calls": len(fake.requests),
            }

        # Reap: args.reap instances, one reservation each (so moto pages them, as AWS would);
        # half expired without runners, half alive with online runners.
        reset(url)
        fake.reset()
        setup = time.perf_counter()
        past, future = "2020-01-01T00:00:00Z", "2099-01-01T00:00:00Z"
        for n in range(args.reap):
            expired = n % 2 == 0
            tags = {
                "mlcops:project": "mlcops",
                "mlcops:fleet": "big",
                "mlcops:runner-prefix": "mlcops-big",
                "mlcops:gpu": "a10g",
                "mlcops:market": "on-demand",
                "mlcops:expires-at": past if expired else future,
            }
            spec = [
                {
                    "ResourceType": "instance",
                    "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
                }
            ]
            made = ec2.run_instances(
                ImageId=ami,
                InstanceType="g5.xlarge",
                MinCount=1,
                MaxCount=1,
                TagSpecifications=spec,
            )
            if not expired:
                instance_id = made["Instances"][0]["InstanceId"]
                fake.add_runner(f"repos/{REPO}", f"mlcops-big-{instance_id}", status="online")
        setup_seconds = time.perf_counter() - setup
        before = len(fake.requests)
        _, seconds, out = fleet(fake, "reap", "--json")
        result = json.loads(out)
        terminated = sum(1 for a in result["actions"] if a["action"] == "terminate" and a["done"])
        figures[f"reap {args.reap}"] = {
            "seconds": round(seconds, 2),
            "setup_seconds": round(setup_seconds, 2),
            "terminated": terminated,
            "aws_calls": counter.take(),
            "github_calls": len(fake.requests) - before,
        }

    width = max(len(k) for k in figures)
    print(f"{'scenario'.ljust(width)}  seconds  AWS calls (by operation)                  GitHub")
    for name, fig in figures.items():
        ops = ", ".join(f"{op}={n}" for op, n in fig["aws_calls"].items())
        print(f"{name.ljust(width)}  {fig['seconds']:7.2f}  {ops}  github={fig['github_calls']}")
    batched = figures[f"up {args.count} (batched)"]["aws_calls"].get("RunInstances", 0)
    single = figures[f"up {args.count} (one per request)"]["aws_calls"].get("RunInstances", 0)
    reap = figures[f"reap {args.reap}"]
    print(
        f"RunInstances for {args.count} instances: {batched} batched vs {single} one per request; "
        f"reap over {args.reap}: {reap['aws_calls'].get('DescribeInstances', 0)} DescribeInstances "
        f"(pages + waiter), {reap['aws_calls'].get('TerminateInstances', 0)} TerminateInstances, "
        f"{reap['terminated']} terminated"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
