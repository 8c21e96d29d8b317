"""Pipeline benchmark: ccache-warm rebuild vs cold build, and the plays vs a shell script.

Not a test: it prints figures. On one local container host provisioned for Vulkan, with the
example project (examples/mini-mlc-llm) served over git:// on 127.0.0.1:

- cold build (empty ccache, new workspace) vs a rebuild of the same ref with build/ removed
  (ccache warm): play wall time and the compile step alone (target < 0.3);
- build.yml + test.yml + wheel.yml's work (wheel.yml) vs tests/bench/pipeline.sh, the same
  commands as a plain script, both from an empty ccache and a new workspace (target < 1.3).

    make bench
    python tests/bench/bench_pipeline.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT))

from tests.helpers import free_port, load_example_publisher  # noqa: E402

HOST = "bench-pipe"
SECONDS = re.compile(r"build_seconds: ([0-9.]+)")


def sh(command: str) -> None:
    """Run a command in the bench host."""
    subprocess.run(["docker", "exec", f"mlcops-{HOST}", "bash", "-c", command], check=True)


def play(inventory: Path, playbook: str, **extra: object) -> tuple[float, str]:
    """Run a playbook; return its wall seconds and output."""
    start = time.monotonic()
    proc = subprocess.run(
        ["ansible-playbook", "-i", str(inventory), "-e", json.dumps(extra), playbook],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-5000:] + proc.stderr[-2000:])
        raise SystemExit(f"{playbook} failed")
    return elapsed, proc.stdout


def main() -> int:
    """Measure and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="leave the host running")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="mlcops-bench-pipe-"))
    publisher = load_example_publisher()
    publisher.publish(work / "git")
    port = free_port()
    daemon = publisher.serve(work / "git", port)
    repo = f"git://127.0.0.1:{port}/mini-mlc-llm.git"
    inventory = work / "inventory"
    (inventory / "group_vars").mkdir(parents=True)
    members = {HOST: None}
    groups = {g: {"hosts": members} for g in ("local_containers", "linux_runners", "build_hosts")}
    (inventory / "hosts.yml").write_text(json.dumps({"all": {"children": groups}}))
    for f in (PROJECT / "inventory/local/group_vars").glob("*.yml"):
        (inventory / "group_vars" / f.name).write_text(f.read_text())
    common = {
        "mlc_llm_repo": repo,
        "mlc_llm_ref": "main",
        "mlc_llm_backends": ["vulkan"],
        "mlc_llm_min_disk_gib": 2,
        "mlc_llm_artifacts_dir": str(work / "artifacts"),
    }
    mlcops = [sys.executable, "-m", "mlcops"]
    try:
        subprocess.run([*mlcops, "down", "-i", str(inventory)], check=True, cwd=PROJECT)
        subprocess.run([*mlcops, "up", "-i", str(inventory)], check=True, cwd=PROJECT)
        play(
            inventory,
            "playbooks/linux_runner.yml",
            runner_toolchains=["vulkan"],
            runner_docker=False,
        )

        sh("ccache -C >/dev/null")
        cold, out = play(
            inventory, "playbooks/build.yml", mlc_llm_workspace_root="/srv/b1", **common
        )
        cold_compile = float(SECONDS.findall(out)[-1])
        warm, out = play(
            inventory,
            "playbooks/build.yml",
            mlc_llm_workspace_root="/srv/b1",
            mlc_llm_clean_build=True,
            **common,
        )
        warm_compile = float(SECONDS.findall(out)[-1])

        sh("ccache -C >/dev/null")
        plays, _ = play(
            inventory, "playbooks/wheel.yml", mlc_llm_workspace_root="/srv/p1", **common
        )
        subprocess.run(
            [
                "docker",
                "cp",
                str(PROJECT / "tests/bench/pipeline.sh"),
                f"mlcops-{HOST}:/srv/pipeline.sh",
            ],
            check=True,
        )
        sh("ccache -C >/dev/null")
        start = time.monotonic()
        sh(f"/srv/pipeline.sh {repo} main /srv/s1")
        script = time.monotonic() - start
    finally:
        if not args.keep:
            subprocess.run([*mlcops, "down", "-i", str(inventory)], check=False, cwd=PROJECT)
        daemon.terminate()

    figures = {
        "cold_build_seconds": round(cold, 1),
        "warm_build_seconds": round(warm, 1),
        "warm_over_cold": round(warm / cold, 3),
        "cold_compile_seconds": cold_compile,
        "warm_compile_seconds": warm_compile,
        "warm_over_cold_compile": round(warm_compile / cold_compile, 3),
        "plays_seconds": round(plays, 1),
        "script_seconds": round(script, 1),
        "plays_over_script": round(plays / script, 3),
    }
    for key, value in figures.items():
        print(f"{key:>24}: {value}")
    print(
        f"targets: warm/cold < 0.3 {'OK' if figures['warm_over_cold'] < 0.3 else 'MISSED'} "
        f"(compile step {'OK' if figures['warm_over_cold_compile'] < 0.3 else 'MISSED'}), "
        f"plays/script < 1.3 {'OK' if figures['plays_over_script'] < 1.3 else 'MISSED'}"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
