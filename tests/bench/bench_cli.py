"""Overhead of the mlcops wrapper: a 200-task no-op playbook, mlcops vs plain ansible-playbook.

Not a test: it prints figures (target: mlcops / ansible-playbook < 1.1). Both sides run the
same generated playbook against localhost with the local connection, in rounds that run
every case once (each round in another order). Each run of a case comes between two runs of
plain ``ansible-playbook`` and its ratio is taken to their mean, so that the load of the
machine, which drifts within seconds, weighs on both sides alike; the median is reported,
with a 95% bootstrap confidence interval: the target is met only when the interval's upper
bound is under it. The ratio of the fastest run of each side is printed too (the load only
ever adds time).

    python tests/bench/bench_cli.py [--tasks 200] [--rounds 3] [--cases mlcops_command,...]
                                    [--json out.json]

Five things are timed: plain ``ansible-playbook``; the whole ``mlcops provision`` command
(inventory check, ansible-runner, event stream, plain progress, report); the wrapper alone
in-process (:class:`mlcops.runner.PlaybookRun`); ``ansible-playbook`` with nothing but
ansible-runner's event callback (``awx_display``) and no reader, what any wrapper that reads
ansible-runner's event stream as shipped pays; and the same with the callback mlcops uses,
``mlcops_events`` (``awx_display`` without two of its costs).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[2]
TARGET = 1.10
#: What is timed against plain ansible-playbook (see the docstring).
CASES = ("mlcops_command", "wrapper", "runner_callback", "mlcops_callback")
sys.path.insert(0, str(PROJECT / "python"))


def write_project(root: Path, tasks: int) -> Path:
    """Write a project whose site.yml is ``tasks`` no-op tasks; return its inventory."""
    play = [
        {
            "name": "Run no-op tasks",
            "hosts": "all",
            "gather_facts": False,
            "tasks": [
                {"name": f"No-op {i}", "ansible.builtin.debug": {"msg": f"task {i}"}}
                for i in range(tasks)
            ],
        }
    ]
    (root / "playbooks").mkdir(parents=True)
    (root / "playbooks" / "site.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    (root / "ansible.cfg").write_text((PROJECT / "ansible.cfg").read_text())
    inventory = root / "hosts.yml"
    hostvars = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
    }
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": hostvars}}}))
    return inventory


def cpu_seconds() -> float:
    """CPU time of this process and its finished children, user plus system."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Run a command to success; return its wall time and CPU time."""
    start, cpu = time.monotonic(), cpu_seconds()
    done = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.monotonic() - start
    if done.returncode:  # its warnings are shown only when it fails (they repeat every run)
        sys.exit(f"{shlex.join(cmd)} failed ({done.returncode}):\n{done.stderr.decode()}")
    return wall, cpu_seconds() - cpu


def median_interval(values: list[float], resamples: int = 5000) -> tuple[float, float]:
    """Return a 95% bootstrap confidence interval of the median of ``values``."""
    rng = random.Random(0)  # the same figures give the same interval
    medians = sorted(
        statistics.median(rng.choices(values, k=len(values))) for _ in range(resamples)
    )
    return medians[int(0.025 * resamples)], medians[int(0.975 * resamples) - 1]


def main() -> int:
    """Time both sides and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--cases",
        default=",".join(CASES),
        help="comma-separated cases to time against plain ansible-playbook",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    chosen = args.cases.split(",")
    names = [c for c in CASES if c in chosen]
    if not names or set(chosen) - set(CASES):
        parser.error(f"--cases {args.cases}: choose among {','.join(CASES)}")
    import ansible_runner

    from mlcops.runner import CALLBACKS_DIR, PlaybookRun

    with tempfile.TemporaryDirectory(prefix="mlcops-bench-cli-") as tmp:
        root = Path(tmp) / "project"
        inventory = write_project(root, args.tasks)
        playbook = root / "playbooks" / "site.yml"
        env = {
            **os.environ,
            "ANSIBLE_CONFIG": str(root / "ansible.cfg"),
            "MLCOPS_PROJECT_DIR": str(root),
            "MLCOPS_STATE_DIR": str(Path(tmp) / "state"),
        }
        plain_cmd = ["ansible-playbook", "-i", str(inventory), str(playbook)]
        mlcops_cmd = [sys.executable, "-m", "mlcops", "provision", "-i", str(inventory)]
        mlcops_cmd += ["--progress", "plain"]
        events_dir = Path(tmp) / "callback-only"
        (events_dir / "job_events").mkdir(parents=True)
        awx_dir = Path(ansible_runner.__file__).parent / "display_callback" / "callback"
        callback_env = {
            **env,
            "ANSIBLE_STDOUT_CALLBACK": "awx_display",
            "ANSIBLE_CALLBACK_PLUGINS": str(awx_dir),
            "AWX_ISOLATED_DATA_DIR": str(events_dir),
        }
        lightened_env = {
            **callback_env,
            "ANSIBLE_STDOUT_CALLBACK": "mlcops_events",
            "ANSIBLE_CALLBACK_PLUGINS": f"{CALLBACKS_DIR}{os.pathsep}{awx_dir}",
        }

        def wrapper() -> tuple[float, float]:
            start, cpu = time.monotonic(), cpu_seconds()
            run = PlaybookRun(
                playbook,
                inventory,
                project_dir=root,
                runs_dir=Path(tmp) / "state" / "runs",
                environ=env,
            )
            state = run.run()
            assert state.status == "ok", state.status
            assert len(state.results) == args.tasks
            return time.monotonic() - start, cpu_seconds() - cpu

        cases: dict[str, Callable[[], tuple[float, float]]] = {
            "ansible_playbook": lambda: timed(plain_cmd, env, root),
            "mlcops_command": lambda: timed(mlcops_cmd, env, root),
            "wrapper": wrapper,
            "runner_callback": lambda: timed(plain_cmd, callback_env, root),
            "mlcops_callback": lambda: timed(plain_cmd, lightened_env, root),
        }
        timed(plain_cmd, env, root)  # warm the page cache and Ansible's caches
        # Each round runs every case once, starting one further along each time; plain
        # ansible-playbook runs before the first case and after each one (see the docstring).
        shifts = [i % len(names) for i in range(args.rounds)]
        order = [n for i in shifts for n in names[i:] + names[:i]]
        plain = [cases["ansible_playbook"]()]
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
        ratios: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
        for name in order:
            wall, cpu = cases[name]()
            plain.append(cases["ansible_playbook"]())
            samples[name].append((wall, cpu))
            around = plain[-2:]
            ratios[name].append(
                (
                    wall / statistics.mean(p[0] for p in around),
                    cpu / statistics.mean(p[1] for p in around),
                )
            )
        samples["ansible_playbook"] = plain
    figures: dict[str, float] = {"tasks": args.tasks, "rounds": args.rounds}
    # The load only ever adds time: the fastest runs of each side are a second estimate.
    fastest = min(s[0] for s in samples["ansible_playbook"])
    for name, runs in samples.items():
        figures[f"{name}_s"] = statistics.median(s[0] for s in runs)
        figures[f"{name}_cpu_s"] = statistics.median(s[1] for s in runs)
        if name == "ansible_playbook":
            continue
        walls = sorted(r[0] for r in ratios[name])
        figures[f"{name}_ratio"] = statistics.median(walls)
        figures[f"{name}_ratio_low"], figures[f"{name}_ratio_high"] = walls[0], walls[-1]
        interval = median_interval(walls)
        figures[f"{name}_ratio_ci_low"], figures[f"{name}_ratio_ci_high"] = interval
        figures[f"{name}_cpu_ratio"] = statistics.median(r[1] for r in ratios[name])
        figures[f"{name}_fastest_ratio"] = min(s[0] for s in runs) / fastest
    print(f"{args.tasks} no-op tasks, {args.rounds} rounds (target: ratio < {TARGET:.2f})")
    print("  ratios: median of the ratios to the ansible-playbook runs around each run")
    print("  [95% confidence interval of the median] (lowest-highest)")
    for name, label in (
        ("ansible_playbook", "ansible-playbook"),
        ("mlcops_command", "mlcops provision"),
        ("wrapper", "wrapper alone"),
        ("runner_callback", "awx_display alone"),
        ("mlcops_callback", "mlcops_events alone"),
    ):
        if name + "_s" not in figures:
            continue
        wall, cpu_s = figures[name + "_s"], figures[name + "_cpu_s"]
        line = f"  {label:<19} wall {wall:6.2f} s  cpu {cpu_s:6.2f} s"
        if name != "ansible_playbook":
            line += (
                f"  wall ratio {figures[name + '_ratio']:.3f}"
                f" [{figures[name + '_ratio_ci_low']:.3f}-{figures[name + '_ratio_ci_high']:.3f}]"
                f" ({figures[name + '_ratio_low']:.2f}-{figures[name + '_ratio_high']:.2f})"
                f"  cpu ratio {figures[name + '_cpu_ratio']:.3f}"
                f"  fastest/fastest {figures[name + '_fastest_ratio']:.3f}"
            )
        print(line)
    if "mlcops_command_ratio" in figures:
        high = figures["mlcops_command_ratio_ci_high"]
        verdict = "met" if high < TARGET else "not shown"
        print(f"  target < {TARGET:.2f} for mlcops provision: {verdict} (upper bound {high:.3f})")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
