"""The GitHub workflows: gates, least privilege, runner labels and commands that really exist.

Each rule is a function run on every workflow in ``.github/workflows`` and on the caller in
``examples/github``; each is also shown to catch a workflow that breaks it, so none of them
passes by accident.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlcops.cli import build_parser
from tests.helpers import PROJECT

WORKFLOWS = sorted((PROJECT / ".github/workflows").glob("*.yml"))
CALLERS = sorted((PROJECT / "examples/github").glob("*.yml"))
IDS = [p.name for p in WORKFLOWS]

# GitHub adds these to every self-hosted runner; github_runner derives the rest.
DEFAULT_LABELS = {"self-hosted", "linux", "windows", "macos", "x64", "arm64", "arm"}
DERIVED_PATTERNS = [r"cuda-\d+\.\d+", r"sm_\d+[af]?", r"rocm-\d+\.\d+", r"gfx[0-9a-f]+"]
TEST_COMMAND = re.compile(r"playbooks/(test|wheel|release)\.yml|pytest|make test")
PUBLISH_COMMAND = re.compile(r"playbooks/(release|image)\.yml|mlcops (release|image)\b")


def parse(text: str) -> dict[str, Any]:
    data: dict[Any, Any] = yaml.safe_load(text)
    # YAML 1.1 reads the key `on` as True.
    if True in data:
        data["on"] = data.pop(True)
    return data


def load(path: Path) -> dict[str, Any]:
    return parse(path.read_text())


def run_scripts(job: dict[str, Any]) -> Iterator[str]:
    for step in job.get("steps", []):
        if "run" in step:
            yield step["run"]


def is_test_job(job: dict[str, Any]) -> bool:
    return any(TEST_COMMAND.search(script) for script in run_scripts(job))


def is_publish_job(job: dict[str, Any]) -> bool:
    perms = job.get("permissions") or {}
    writes = isinstance(perms, dict) and "write" in {perms.get("contents"), perms.get("packages")}
    return writes or any(PUBLISH_COMMAND.search(script) for script in run_scripts(job))


def ancestors(jobs: dict[str, Any], name: str) -> set[str]:
    needs = jobs[name].get("needs", [])
    direct = {needs} if isinstance(needs, str) else set(needs)
    found = set(direct)
    for parent in direct:
        found |= ancestors(jobs, parent)
    return found


def gate_problems(workflow: dict[str, Any]) -> list[str]:
    """Publishing jobs need every test job; tests never soften their failures."""
    jobs = workflow.get("jobs", {})
    problems = []
    tests = {name for name, job in jobs.items() if is_test_job(job) and not is_publish_job(job)}
    for name, job in jobs.items():
        if is_publish_job(job):
            missing = tests - ancestors(jobs, name)
            if missing:
                problems.append(f"{name} publishes without needing {sorted(missing)}")
        if is_test_job(job) or "uses" in job:
            if job.get("continue-on-error"):
                problems.append(f"{name} has continue-on-error")
            for step in job.get("steps", []):
                if step.get("continue-on-error"):
                    problems.append(f"{name}: step {step.get('name')} has continue-on-error")
            for script in run_scripts(job):
                for line in script.splitlines():
                    if TEST_COMMAND.search(line) and re.search(r"\|\|\s*(true|:)\b", line):
                        problems.append(f"{name}: a test command ends in || true: {line.strip()}")
    return problems


def privilege_problems(workflow: dict[str, Any]) -> list[str]:
    """Read-only by default; write permissions and secrets only where publishing or on AWS."""
    problems = []
    top = workflow.get("permissions")
    if not isinstance(top, dict) or set(top.values()) - {"read", "none"}:
        problems.append(f"top-level permissions are not read-only: {top}")
    for name, job in workflow.get("jobs", {}).items():
        perms = job.get("permissions") or {}
        writes = {k for k, v in perms.items() if v == "write"} if isinstance(perms, dict) else set()
        publishes = any(PUBLISH_COMMAND.search(script) for script in run_scripts(job))
        allowed = {"contents", "packages"} if publishes else set()
        if "id-token" in writes and "configure-aws-credentials" in json.dumps(job):
            allowed.add("id-token")
        if writes - allowed:
            problems.append(f"{name} writes {sorted(writes - allowed)} without publishing")
        uses_secrets = "secrets." in json.dumps(job)
        needs_secrets = publishes or "id-token" in writes or "MLCOPS_WINRM" in json.dumps(job)
        if uses_secrets and not needs_secrets:
            problems.append(f"{name} reads secrets it does not need")
    return problems


def pin_problems(workflow: dict[str, Any]) -> list[str]:
    problems = []
    for name, job in workflow.get("jobs", {}).items():
        for step in job.get("steps", []):
            uses = step.get("uses")
            if uses and not uses.startswith("./") and not re.search(r"@[0-9a-f]{40}$", uses):
                problems.append(f"{name}: {uses} is not pinned to a commit")
    return problems


def role_labels() -> set[str]:
    """The literal labels github_runner derives from toolchain facts (tasks/labels*.yml)."""
    found: set[str] = set()
    for path in (PROJECT / "roles/github_runner").rglob("labels*.yml"):
        found |= set(re.findall(r"'([a-z][a-z0-9-]*)'", path.read_text()))
    return found


def runs_on_labels(workflow: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(job, label) for every self-hosted job, matrix expressions expanded."""
    inputs = (
        (workflow["on"].get("workflow_call") or {}).get("inputs", {})
        if isinstance(workflow["on"], dict)
        else {}
    )
    for name, job in workflow.get("jobs", {}).items():
        runs_on = job.get("runs-on", [])
        labels = [runs_on] if isinstance(runs_on, str) else list(runs_on)
        if "self-hosted" not in labels:
            continue
        for label in labels:
            m = re.fullmatch(r"\$\{\{\s*matrix\.(\w+)\s*\}\}", label)
            if not m:
                yield name, label
                continue
            values = job["strategy"]["matrix"][m.group(1)]
            if isinstance(values, str):  # ${{ fromJSON(inputs.x) }}: the input's default
                key = re.search(r"inputs\.(\w+)", values)
                assert key, values
                values = json.loads(inputs[key.group(1)]["default"])
            for value in values:
                yield name, value


def label_problems(workflow: dict[str, Any], produced: set[str]) -> list[str]:
    bad = []
    for job, label in runs_on_labels(workflow):
        if label in DEFAULT_LABELS or label in produced:
            continue
        if any(re.fullmatch(p, label) for p in DERIVED_PATTERNS):
            continue
        bad.append(f"{job}: runs-on label {label!r} is one github_runner never gives a runner")
    return bad


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (PROJECT / "Makefile").read_text(), re.M))


def mlcops_commands() -> set[tuple[str, ...]]:
    """Every `mlcops <command> [<action>]` the CLI accepts."""
    found: set[tuple[str, ...]] = set()

    def walk(parser: argparse.ArgumentParser, prefix: tuple[str, ...]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found.add((*prefix, name))
                    walk(sub, (*prefix, name))

    walk(build_parser(), ())
    return found


def command_problems(workflow: dict[str, Any], root: Path = PROJECT) -> list[str]:
    problems = []
    targets, commands = make_targets(), mlcops_commands()
    for name, job in workflow.get("jobs", {}).items():
        for script in run_scripts(job):
            for path in re.findall(r"\b((?:playbooks|inventory|tests|examples)/[\w./-]+)", script):
                if not (root / path).exists():
                    problems.append(f"{name}: {path} does not exist")
            for line in script.splitlines():
                m = re.search(r"\bmake ((?:[a-z][a-z-]* ?)+)", line)
                if m:
                    for target in m.group(1).split():
                        if target not in targets:
                            problems.append(f"{name}: make {target} is no Makefile target")
                m = re.search(r"\bmlcops ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?", line)
                if m:
                    words = tuple(w for w in m.groups() if w)
                    takes_action = any(len(c) == 2 and c[0] == words[0] for c in commands)
                    known = words[:1] in commands and (not takes_action or words in commands)
                    if not known:
                        problems.append(f"{name}: mlcops {' '.join(words)} is no command")
    return problems


@pytest.mark.parametrize("path", WORKFLOWS, ids=IDS)
def test_publishing_jobs_need_every_test_job(path: Path) -> None:
    assert gate_problems(load(path)) == []


@pytest.mark.parametrize("path", WORKFLOWS, ids=IDS)
def test_least_privilege_and_secrets_only_where_needed(path: Path) -> None:
    assert privilege_problems(load(path)) == []


@pytest.mark.parametrize("path", WORKFLOWS, ids=IDS)
def test_actions_are_pinned_by_commit(path: Path) -> None:
    assert pin_problems(load(path)) == []


@pytest.mark.parametrize("path", WORKFLOWS, ids=IDS)
def test_self_hosted_labels_are_ones_github_runner_gives(path: Path) -> None:
    assert label_problems(load(path), role_labels()) == []


def test_actionlint_labels_are_ones_github_runner_gives() -> None:
    config = yaml.safe_load((PROJECT / ".github/actionlint.yaml").read_text())
    labels = set(config["self-hosted-runner"]["labels"])
    assert labels <= role_labels() | DEFAULT_LABELS


@pytest.mark.parametrize("path", WORKFLOWS + CALLERS, ids=[p.name for p in WORKFLOWS + CALLERS])
def test_every_command_a_workflow_runs_exists(path: Path) -> None:
    assert command_problems(load(path)) == []


def test_callers_use_workflows_that_exist_and_are_reusable() -> None:
    for path in CALLERS:
        for job in load(path)["jobs"].values():
            target = job["uses"].split("/.github/workflows/")[1].split("@")[0]
            called = load(PROJECT / ".github/workflows" / target)
            assert "workflow_call" in called["on"], target
            assert set(job.get("with", {})) <= set(called["on"]["workflow_call"]["inputs"])


def test_pipeline_workflows_are_reusable_and_dispatchable() -> None:
    for path in (PROJECT / ".github/workflows").glob("mlc-llm-*.yml"):
        on = load(path)["on"]
        assert "workflow_call" in on and "workflow_dispatch" in on, path.name


def test_actionlint_and_zizmor_are_clean() -> None:
    for argv in (["actionlint"], ["zizmor", "--offline", "--quiet", ".github/workflows"]):
        proc = subprocess.run(argv, cwd=PROJECT, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, shlex.join(argv) + "\n" + proc.stdout + proc.stderr


# The rules catch what they are there to catch.
BAD = parse(
    """
on: {workflow_call: {inputs: {backends: {type: string, default: '["cuda", "tpu"]'}}}}
permissions: {contents: write}
jobs:
  test:
    runs-on: [self-hosted, linux, x64, "${{ matrix.backend }}"]
    strategy: {matrix: {backend: "${{ fromJSON(inputs.backends) }}"}}
    steps:
      - uses: actions/checkout@v4
      - run: ansible-playbook playbooks/test.yml || true
        continue-on-error: true
  release:
    runs-on: [self-hosted, linux, x64, docker]
    steps:
      - run: ansible-playbook playbooks/release.yml && make nosuchtarget && mlcops nosuch
      - run: mlcops fleet nosuch && ansible-playbook playbooks/nosuch.yml
        env: {TOKEN: "${{ secrets.X }}"}
  lint:
    runs-on: ubuntu-24.04
    steps:
      - run: echo "${{ secrets.Y }}"
  docs:
    runs-on: ubuntu-24.04
    permissions: {packages: write}
    steps:
      - run: echo docs
"""
)


def test_the_rules_catch_a_bad_workflow() -> None:
    gates = gate_problems(BAD)
    assert any("release publishes without needing ['test']" in p for p in gates)
    assert any("continue-on-error" in p for p in gates)
    assert any("|| true" in p for p in gates)
    privileges = privilege_problems(BAD)
    assert any("top-level permissions" in p for p in privileges)
    assert any("lint reads secrets" in p for p in privileges)
    assert any("docs writes ['packages'] without publishing" in p for p in privileges)
    assert pin_problems(BAD) == ["test: actions/checkout@v4 is not pinned to a commit"]
    assert label_problems(BAD, role_labels()) == [
        "test: runs-on label 'tpu' is one github_runner never gives a runner"
    ]
    commands = command_problems(BAD)
    assert "release: make nosuchtarget is no Makefile target" in commands
    assert "release: mlcops nosuch is no command" in commands
    assert "release: mlcops fleet nosuch is no command" in commands
    assert "release: playbooks/nosuch.yml does not exist" in commands
