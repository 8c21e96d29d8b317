"""Provisioning benchmark: cold run vs re-run, and four hosts at once vs one.

Not a test: it prints figures. Every ratio is taken within one run of this script, on fresh
container hosts, so that the machine's background load affects both sides alike.

    make bench                      # all of it
    python tests/bench/bench_provision.py --playbook playbooks/linux_runner.yml --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
RECAP = re.compile(
    r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M
)


def write_inventory(directory: Path, hosts: list[str]) -> Path:
    """Write an inventory of local container hosts that reuses the local group_vars."""
    members = {h: None for h in hosts}
    inventory = {
        "all": {
            "children": {
                "local_containers": {"hosts": members},
                "linux_runners": {"hosts": members},
                "build_hosts": {"hosts": members},
            }
        }
    }
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "hosts.yml").write_text(json.dumps(inventory))
    shutil.copytree(
        PROJECT / "inventory/local/group_vars", directory / "group_vars", dirs_exist_ok=True
    )
    return directory


def mlcops(*args: str) -> None:
    """Run an mlcops subcommand, failing loudly."""
    subprocess.run([sys.executable, "-m", "mlcops", *args], check=True, cwd=PROJECT)


def play(inventory: Path, playbook: str) -> tuple[float, dict[str, int]]:
    """Run the playbook; return wall seconds and changed count per host."""
    start = time.monotonic()
    proc = subprocess.run(
        ["ansible-playbook", "-i", str(inventory), playbook],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.monotonic() - start
    recap = {m[0]: (int(m[2]), int(m[3]) + int(m[4])) for m in RECAP.findall(proc.stdout)}
    if proc.returncode != 0 or any(bad for _, bad in recap.values()):
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-2000:])
        raise SystemExit(f"{playbook} failed on {inventory}")
    return elapsed, {host: changed for host, (changed, _) in recap.items()}


def container_cpu_seconds(names: list[str]) -> float | None:
    """CPU seconds the hosts' containers have used so far (cgroup v1 or v2), None if unknown."""
    total = 0.0
    for name in names:
        proc = subprocess.run(
            ["docker", "inspect", "--format", "{{.Id}}", f"mlcops-{name}"],
            capture_output=True,
            text=True,
            check=False,
        )
        cid = proc.stdout.strip()
        v1 = Path(f"/sys/fs/cgroup/cpuacct/docker/{cid}/cpuacct.usage")
        v2 = [
            Path(f"/sys/fs/cgroup/system.slice/docker-{cid}.scope/cpu.stat"),
            Path(f"/sys/fs/cgroup/docker/{cid}/cpu.stat"),
        ]
        if cid and v1.exists():
            total += int(v1.read_text()) / 1e9
            continue
        stat = next((path for path in v2 if cid and path.exists()), None)
        if stat is None:
            return None
        usage = re.search(r"^usage_usec (\d+)", stat.read_text(), re.M)
        if usage is None:
            return None
        total += int(usage[1]) / 1e6
    return total


def fresh(inventory: Path) -> None:
    """Remove and start again the hosts of an inventory."""
    mlcops("down", "-i", str(inventory))
    mlcops("up", "-i", str(inventory))


def main() -> int:
    """Measure and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--playbook", default="playbooks/linux_runner.yml")
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="leave the hosts running")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="mlcops-bench-"))
    one = write_inventory(work / "one", ["bench-1"])
    many = write_inventory(work / "many", [f"bench-par-{i}" for i in range(1, args.parallel + 1)])
    try:
        fresh(one)
        cold, _ = play(one, args.playbook)
        rerun, changed = play(one, args.playbook)
        fresh(one)
        cold_again, _ = play(one, args.playbook)
        # What one cold host costs in CPU: with N cores, `parallel` hosts need at least
        # parallel * cpu / N seconds however they are scheduled.
        cpu_one = container_cpu_seconds(["bench-1"])
        fresh(many)
        parallel, _ = play(many, args.playbook)
    finally:
        if not args.keep:
            mlcops("down", "-i", str(one))
            mlcops("down", "-i", str(many))
        shutil.rmtree(work, ignore_errors=True)

    single = (cold + cold_again) / 2
    figures = {
        "playbook": args.playbook,
        "cold_seconds": round(cold, 1),
        "rerun_seconds": round(rerun, 1),
        "rerun_over_cold": round(rerun / cold, 3),
        "rerun_changed": sum(changed.values()),
        "one_host_seconds": round(single, 1),
        f"{args.parallel}_hosts_seconds": round(parallel, 1),
        f"{args.parallel}_hosts_over_one": round(parallel / single, 3),
    }
    cores = os.cpu_count() or 1
    if cpu_one is not None:
        # The CPU seconds of the fresh host's boot and second cold run.
        figures["one_host_cpu_seconds"] = round(cpu_one, 1)
        figures["cores"] = cores
        figures[f"{args.parallel}_hosts_over_one_cpu_bound"] = round(
            max(1.0, args.parallel * cpu_one / cores / single), 3
        )
    for key, value in figures.items():
        print(f"{key:>28}: {value}")
    print(
        f"targets: rerun changed=0 {'OK' if figures['rerun_changed'] == 0 else 'MISSED'}, "
        f"rerun/cold < 0.15 {'OK' if figures['rerun_over_cold'] < 0.15 else 'MISSED'}, "
        f"{args.parallel} hosts/one < 1.5 "
        f"{'OK' if figures[f'{args.parallel}_hosts_over_one'] < 1.5 else 'MISSED'}"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
