"""The command line: every bad input is one line and exit code 2, before anything runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlcops import cli
from tests.helpers import PROJECT


def bad(capsys: pytest.CaptureFixture[str], state: Path, *argv: str) -> str:
    """Run mlcops in-process; assert exit 2, one stderr line, no run made. Return the line."""
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:  # argparse's own errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert len(err.strip().splitlines()) == 1, err
    assert not (state / "runs").exists() or not any((state / "runs").iterdir())
    return err.strip()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["provision", "-i", "/no/such/inventory"], "--inventory /no/such/inventory: no such file"),
        (["verify", "-i", "/no/such/inventory"], "--inventory /no/such/inventory: no such file"),
        (["provision", "-l", "no-such-host"], "--limit no-such-host matches no host"),
        (["provision", "-i", "{broken}"], "does not parse: Failed to parse inventory"),
        (["provision", "-l", "local-*,!local-a,!local-b"], "matches no host"),
        (["provision", "-i", "{empty}"], "has no host: add hosts to it"),
        (["build", "-i", "{empty}"], "has no host: add hosts to it"),
        (["release"], "the following arguments are required: --ref"),
        (["release", "--ref", "--oops"], "--ref"),
        (
            ["build", "--ref", "v1", "-e", "mlc_llm_ref=v2"],
            "--ref v1 conflicts with -e mlc_llm_ref=v2",
        ),
        (["build", "-e", "novalue"], "-e 'novalue': write it as KEY=VALUE"),
        (["build", "-e", "github_token=abc"], "pass it in the environment"),
        (["provision", "--json", "--progress", "live"], "--json with --progress live"),
        (["provision", "--keep", "0"], "--keep 0"),
        (["verify", "--json", "--markdown"], "--json and --markdown both given"),
        (["image"], "image.yml does not exist"),
        (["report", "LAST"], "no run report under"),
        (["report", "../etc"], "is not a run id"),
        (["provision", "--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
    state: Path,
    project: Path,
    argv: list[str],
    expected: str,
) -> None:
    """Each mistake is named with its fix, and nothing runs."""
    broken = project / "broken.yml"
    broken.write_text("all: [unclosed\n")
    empty = project / "empty.yml"
    empty.write_text("all:\n  hosts: {}\n")
    argv = [a.replace("{broken}", str(broken)).replace("{empty}", str(empty)) for a in argv]
    if argv[0] in ("provision", "build", "release", "verify", "image") and "-i" not in argv:
        argv = [*argv, "-i", str(project / "inventory" / "hosts.yml")]
    line = bad(capsys, state, *argv)
    assert expected in line
    assert line.startswith("mlcops")


def mlcops(project: Path, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    inventory = str(project / "inventory" / "hosts.yml")
    return subprocess.run(  # type: ignore[call-overload,no-any-return]
        [sys.executable, "-m", "mlcops", *args, "-i", inventory],
        capture_output=True,
        text=True,
        check=False,
        cwd=PROJECT,
        **kwargs,
    )


def test_play_prints_plain_lines_off_a_tty_and_a_report(state: Path, project: Path) -> None:
    """Off a terminal each result is a line; the report is kept and printed again."""
    proc = mlcops(project, "provision", "-l", "local-a")
    assert proc.returncode == 0, proc.stderr
    assert "local-a  changed  Change something" in proc.stdout
    assert "local-b" not in proc.stdout
    assert "run " in proc.stdout and ": ok" in proc.stdout
    again = subprocess.run(
        [sys.executable, "-m", "mlcops", "report", "LAST", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(again.stdout)
    assert data["status"] == "ok" and list(data["hosts"]) == ["local-a"]
    assert data["published"]["mlcops_published"]["wheel_sha256"] == "0" * 64
    md = subprocess.run(
        [sys.executable, "-m", "mlcops", "report"], capture_output=True, text=True, check=True
    ).stdout
    assert "## Published" in md and "mlcops_published.wheel_sha256" in md


def test_failed_play_exits_1_with_the_message(state: Path, project: Path) -> None:
    """A failed task: exit 1, the task and its message on the output and in --json."""
    proc = mlcops(project, "build", "--json", "--ref", "v0.1.0")
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert data["status"] == "failed"
    assert data["extravars"] == {"mlc_llm_ref": "v0.1.0"}
    assert {f["msg"] for f in data["failed"]} == {"the demo failure message"}


def test_ctrl_c_cancels_with_exit_130(state: Path, project: Path) -> None:
    """SIGINT stops the run cleanly: exit 130 and a report with status cancelled."""
    inventory = str(project / "inventory" / "hosts.yml")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlcops", "test", "-i", inventory, "--progress", "plain"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=PROJECT,
        # A shell without job control starts background jobs with SIGINT ignored, and Python
        # keeps it ignored: give the command the disposition a terminal would.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if sum("Pass first" in x for x in lines) == 2:
            break
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "cancelled" in rest
    report = json.loads(next((state / "runs").glob("*/report.json")).read_text())
    assert report["status"] == "cancelled"
    assert {c["task"] for c in report["failed"]} <= {"Sleep a long time"}
    # And nothing of the run is left: ansible-playbook, its workers and the sleep.
    marker = f"MLCOPS_STATE_DIR={state}".encode()
    deadline = time.monotonic() + 10
    while (left := _processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, "processes of the cancelled run are still there"


def _processes_with(marker: bytes) -> list[int]:
    """Processes whose environment holds ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_runners_list_and_up_still_parse() -> None:
    """The earlier commands keep their options."""
    parser = cli.build_parser()
    args = parser.parse_args(["runners", "list", "--repo", "o/r", "--json"])
    assert args.repo == "o/r" and args.json
    assert parser.parse_args(["up", "-l", "x"]).limit == "x"
    assert parser.parse_args(["base-image"]).func is not None


def test_check_mode_changes_nothing(state: Path, project: Path) -> None:
    """--check reaches ansible-playbook: the command task is skipped, nothing changed."""
    proc = mlcops(project, "provision", "--check", "--json", "-t", "all", "-e", "demo=1")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["check"] is True and data["tags"] == "all"
    assert data["extravars"] == {"demo": "1"}
    assert data["changed"] == []
    assert all(h["changed"] == 0 and h["skipped"] == 2 for h in data["hosts"].values())


def test_a_play_that_stops_before_any_host_says_why(
    capsys: pytest.CaptureFixture[str], state: Path, project: Path
) -> None:
    """An Ansible error before the first task (not bad input) is exit 1 with its message."""
    (project / "playbooks" / "wheel.yml").write_text(
        "- name: A play whose hosts do not template\n"
        "  hosts: '{{ no_such_group_variable }}'\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - name: Never\n"
        "      ansible.builtin.debug:\n"
        "        msg: never\n"
    )
    code = cli.main(["wheel", "-i", str(project / "inventory" / "hosts.yml")])
    out, _ = capsys.readouterr()
    assert code == 1, out
    assert any(
        line.startswith("ERROR ") and "no_such_group_variable" in line for line in out.splitlines()
    ), out
    report = json.loads(next((state / "runs").glob("*/report.json")).read_text())
    assert report["status"] == "failed" and report["hosts"] == {}
    assert any("no_such_group_variable" in e for e in report["errors"])
    assert "## Errors" in next((state / "runs").glob("*/report.md")).read_text()
