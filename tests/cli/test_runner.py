"""The ansible-runner wrapper on small playbooks: events, stats, failures, cancel, secrets."""

from __future__ import annotations

import os
import re
import stat
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from mlcops import report
from mlcops.runner import PlaybookRun, RunState, find_run, forwarded_env, list_runs
from tests.cli.conftest import INVENTORY_DIR, PLAYBOOKS

INVENTORY = INVENTORY_DIR / "hosts.yml"


def run(playbook: str, state: Path, **kwargs: object) -> PlaybookRun:
    return PlaybookRun(
        PLAYBOOKS / playbook,
        INVENTORY,
        runs_dir=state / "runs",
        **kwargs,  # type: ignore[arg-type]
    )


def test_events_become_per_host_status_and_stats(state: Path) -> None:
    """Counts, results, published records and found versions come from the event stream."""
    seen: list[str] = []
    r = run("events.yml", state, listeners=[lambda _s, e: seen.append(str(e.get("event")))])
    result = r.run()
    assert (result.status, result.rc) == ("ok", 0)
    assert set(result.hosts) == {"local-a", "local-b"}
    for name, host in result.hosts.items():
        assert (host.ok, host.changed, host.skipped, host.failed) == (4, 1, 1, 0), name
        assert result.stats[name] == {"ok": 4, "changed": 1, "skipped": 1}
        assert result.facts[name]["demo_info"] == {"version": "1.2.3"}
    changed = [(x.host, x.task) for x in result.results if x.changed]
    assert sorted(changed) == [("local-a", "Change something"), ("local-b", "Change something")]
    assert result.published == {"mlcops_published": {"wheel_sha256": "0" * 64}}
    assert {"playbook_on_task_start", "runner_on_start", "runner_on_ok"} <= set(seen)
    assert seen[-1] == "playbook_on_stats"


def test_failure_message_reaches_the_report(state: Path) -> None:
    """A failed task's message is in the state, report.json and report.md (mode 0600)."""
    r = run("fail.yml", state)
    result = r.run()
    assert result.status == "failed" and result.rc == 2
    failed = [x for x in result.results if x.status == "failed"]
    assert {x.host for x in failed} == {"local-a", "local-b"}
    assert all(x.message == "the demo failure message" for x in failed)
    data = report.write(result, r.run_dir)
    assert data["failed"][0]["msg"] == "the demo failure message"
    for name in ("report.json", "report.md"):
        assert stat.S_IMODE((r.run_dir / name).stat().st_mode) == 0o600
    md = (r.run_dir / "report.md").read_text()
    assert "## Failed" in md and "the demo failure message" in md
    assert find_run("LAST", state / "runs") == r.run_dir


def _sleepers(marker: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cmdline[:2] == [b"sleep", marker.encode()]:
                pids.append(int(entry.name))
    return pids


def _start_until_sleeping(playbook: Path, state: Path) -> PlaybookRun:
    """Start a run and return once its task "Sleep a long time" has begun."""
    sleeping = threading.Event()

    def listener(s: RunState, _event: object) -> None:
        if any(h.task == "Sleep a long time" for h in s.hosts.values()):
            sleeping.set()

    r = PlaybookRun(playbook, INVENTORY, runs_dir=state / "runs", listeners=[listener])
    r.start()
    assert sleeping.wait(60), "the sleep task never started"
    return r


def test_cancel_stops_the_run_and_keeps_what_ran(state: Path, tmp_path: Path) -> None:
    """cancel() from another thread ends the run: status cancelled, earlier tasks kept."""
    marker = "3127"
    playbook = tmp_path / "sleep.yml"
    playbook.write_text(
        (PLAYBOOKS / "sleep.yml").read_text().replace("sleep 300", f"sleep {marker}")
    )
    r = _start_until_sleeping(playbook, state)
    deadline = time.monotonic() + 20
    while not _sleepers(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _sleepers(marker), "sleep never ran"
    started = time.monotonic()
    threading.Timer(0.5, r.cancel).start()
    result = r.wait()
    assert time.monotonic() - started < 30
    assert result.status == "cancelled"
    assert {(x.host, x.task) for x in result.results} == {
        ("local-a", "Pass first"),
        ("local-b", "Pass first"),
    }
    data = report.write(result, r.run_dir)
    assert data["status"] == "cancelled"
    deadline = time.monotonic() + 10
    while _sleepers(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _sleepers(marker), "the task's process outlived the cancelled run"


def test_secrets_stay_off_disk(state: Path) -> None:
    """Secrets reach the play through the environment, and no file of the run holds them."""
    token, password = "canary-ghp-7f3a9c1e", "canary-registry-5d2b8e"
    environ = {
        **os.environ,
        "GITHUB_TOKEN": token,
        "MLCOPS_REGISTRY_PASSWORD": password,
        "UNRELATED_VARIABLE": "not-forwarded",
    }
    r = run("secret.yml", state, environ=environ)
    result = r.run()
    assert result.status == "ok", result.results  # the play saw both secrets
    report.write(result, r.run_dir, secrets=r.secret_values)
    files = [p for p in state.rglob("*") if p.is_file()]
    assert any(p.name == "command" for p in files)
    assert any(p.parent.name == "job_events" for p in files)
    for path in files:
        data = path.read_bytes()
        assert token.encode() not in data, path
        assert password.encode() not in data, path
        assert b"not-forwarded" not in data, path
    assert not (state / "env").exists(), "ansible-runner env/ files were written"
    assert b"<redacted>" in (r.run_dir / "command").read_bytes()
    for d in (state, state / "runs", r.run_dir):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d


def test_only_named_variables_are_forwarded() -> None:
    """ANSIBLE_* and named variables reach the run; everything else stays behind."""
    env = forwarded_env({"ANSIBLE_FORKS": "5", "GITHUB_TOKEN": "t", "PATH": "/bin", "X": "y"})
    assert env == {"ANSIBLE_FORKS": "5", "GITHUB_TOKEN": "t", "PATH": "/bin"}


def test_old_runs_are_rotated(state: Path) -> None:
    """Only the last --keep run directories stay."""
    ids = []
    for _ in range(3):
        r = run("events.yml", state, keep=2, limit="local-a")
        result = r.run()
        report.write(result, r.run_dir)
        ids.append(r.run_id)
        time.sleep(0.05)
    assert sorted(p.name for p in list_runs(state / "runs")) == sorted(ids[1:])


def test_keep_must_be_positive(state: Path) -> None:
    """keep=0 would delete the run being made."""
    from mlcops.errors import UsageError

    with pytest.raises(UsageError, match="--keep 0"):
        run("events.yml", state, keep=0)


def test_live_table_shows_a_row_per_host(state: Path) -> None:
    """The rich view has a row per host with its counts once the run is over."""
    import io

    from rich.console import Console

    from mlcops.progress import LiveProgress

    r = run("events.yml", state)
    buffer = io.StringIO()
    view = LiveProgress(r.state, Console(file=buffer, force_terminal=True, width=160))
    r.listeners.append(view)
    with view:
        r.run()
    text = Console(file=io.StringIO(), width=160)
    text.print(view.render())
    rendered = text.file.getvalue()  # type: ignore[attr-defined]
    for host in ("local-a", "local-b"):
        line = next(x for x in rendered.splitlines() if host in x)
        assert "ok" in line and " 4 " in line and " 1 " in line, line
    assert "local-a" in buffer.getvalue()


def test_vault_password_comes_from_the_environment(state: Path, tmp_path: Path) -> None:
    """MLCOPS_VAULT_PASSWORD decrypts vaulted variables without landing in any file."""
    import subprocess

    import yaml

    password = "canary-vault-9e41b7"
    pwfile = tmp_path / "pw"
    pwfile.write_text(password)
    vaulted = subprocess.run(
        ["ansible-vault", "encrypt_string", "--vault-password-file", str(pwfile), "sekrit"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pwfile.unlink()
    playbook = tmp_path / "vault.yml"
    play = (
        "- name: Decrypt a vaulted variable\n"
        "  hosts: all\n"
        "  gather_facts: false\n"
        "  vars:\n"
        "    demo_secret: " + vaulted.replace("\n", "\n      ").rstrip() + "\n"
        "  tasks:\n"
        "    - name: Check the decrypted value\n"
        "      ansible.builtin.assert:\n"
        "        that: demo_secret == 'sekrit'\n"
    )
    yaml.safe_load(play.replace("!vault", ""))  # well-formed
    playbook.write_text(play)
    environ = {**os.environ, "MLCOPS_VAULT_PASSWORD": password}
    r = PlaybookRun(playbook, INVENTORY, runs_dir=state / "runs", environ=environ, limit="local-a")
    result = r.run()
    assert result.status == "ok", [x.message for x in result.results]
    for path in (p for p in state.rglob("*") if p.is_file()):
        assert password.encode() not in path.read_bytes(), path


def test_report_scrubs_secret_values(tmp_path: Path) -> None:
    """A secret echoed by a careless task is replaced in report.json and report.md."""
    from mlcops.runner import TaskResult

    secret = "canary-echoed-31c5"
    result = RunState(run_id="r1", playbook="p.yml", inventory="hosts.yml", status="failed")
    result.host("h1").failed = 1
    result.results.append(
        TaskResult("h1", "Log in", "registry", "failed", False, 0.5, f"bad password {secret}")
    )
    result.published = {"login": {f"user:{secret}": secret}}
    data = report.write(result, tmp_path / "r1", secrets=[secret])
    assert data["failed"][0]["msg"] == "bad password <redacted>"
    for name in ("report.json", "report.md"):
        assert secret not in (tmp_path / "r1" / name).read_text()
    assert "## Published" in (tmp_path / "r1" / "report.md").read_text()


def test_an_inventory_without_hosts_stops_the_run_before_any_play(
    state: Path, tmp_path: Path
) -> None:
    """ansible-playbook would run localhost plays on the controller; mlcops_preflight stops it."""
    stamp = tmp_path / "a-play-ran"
    playbook = tmp_path / "local.yml"
    playbook.write_text(
        "- name: Run on the controller\n"
        "  hosts: localhost\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - name: Touch\n"
        "      ansible.builtin.file:\n"
        f"        path: {stamp}\n"
        "        state: touch\n"
    )
    empty = tmp_path / "empty.yml"
    empty.write_text("all:\n  hosts: {}\n")
    result = PlaybookRun(playbook, empty, runs_dir=state / "runs").run()
    assert result.status == "failed" and not result.hosts and not result.results
    assert not stamp.exists(), "a play ran against an inventory without hosts"
    # The same playbook through plain ansible-playbook, with the callback on its path but
    # without MLCOPS_REQUIRE_HOSTS: the callback is idle and the localhost play runs.
    import subprocess

    from mlcops.runner import CALLBACKS_DIR

    env = {**os.environ, "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACKS_DIR)}
    env.pop("MLCOPS_REQUIRE_HOSTS", None)
    subprocess.run(
        ["ansible-playbook", "-i", str(empty), str(playbook)],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert stamp.exists()


def test_cancel_also_stops_processes_that_left_the_tree(state: Path, tmp_path: Path) -> None:
    """A process a task detached (its parent is init now) is part of the run and is stopped."""
    marker = "4129"
    playbook = tmp_path / "detach.yml"
    playbook.write_text(
        "- name: Detach a process, then sleep\n"
        "  hosts: local-a\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - name: Detach\n"
        "      ansible.builtin.shell:\n"
        f"        cmd: (setsid sleep {marker} >/dev/null 2>&1 </dev/null &)\n"
        "      changed_when: false\n"
        "    - name: Sleep a long time\n"
        "      ansible.builtin.command:\n"
        "        cmd: sleep 300\n"
        "      changed_when: false\n"
    )
    r = _start_until_sleeping(playbook, state)
    try:
        detached = _sleepers(marker)
        assert detached, "the detached process never ran"
        assert all(
            Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1] != str(os.getpid())
            for pid in detached
        )
        r.cancel()
        assert r.wait().status == "cancelled"
        deadline = time.monotonic() + 10
        while _sleepers(marker) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _sleepers(marker), "the detached process outlived the cancelled run"
    finally:
        for pid in _sleepers(marker):
            os.kill(pid, 9)


def test_ansible_runner_spawns_without_interactive_pauses() -> None:
    """ansible-runner still spawns through its module's pexpect, which now gives our spawn."""
    import inspect

    import ansible_runner.runner

    from mlcops.runner import _ReaderSpawn

    assert ansible_runner.runner.pexpect.spawn is _ReaderSpawn
    assert "pexpect.spawn(" in inspect.getsource(ansible_runner.runner.Runner.run)
    child = _ReaderSpawn("true", encoding="utf-8")
    try:
        assert child.delayafterread is None and child.ptyproc.delayafterclose == 0
        child.expect(ansible_runner.runner.pexpect.EOF, timeout=10)
    finally:
        child.close()


def _event_summary(events: list[dict[str, object]]) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(kind, host, task, event_data keys) of each event, in a host-independent order."""
    out = []
    for e in events:
        data = e.get("event_data") or {}
        assert isinstance(data, dict)
        keys = tuple(sorted(k for k in data if k not in ("duration", "start", "end")))
        out.append((str(e["event"]), str(data.get("host", "")), str(data.get("task", "")), keys))
    return sorted(out)


def test_lightened_callback_gives_the_events_of_awx_display(
    state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same run with mlcops_events and with ansible-runner's awx_display gives the same
    events with the same fields: results of every kind, a warning, verbose output."""
    playbook = tmp_path / "kinds.yml"
    playbook.write_text(
        (PLAYBOOKS / "events.yml").read_text() + "    - name: Warn\n"
        "      ansible.builtin.debug:\n"
        "        # A lookup of a missing file with errors=warn warns instead of failing.\n"
        "        msg: \"{{ lookup('ansible.builtin.file', '/nonexistent/mlcops',"
        " errors='warn') }}\"\n"
        "    - name: Fail and go on\n"
        "      ansible.builtin.command:\n"
        '        cmd: "false"\n'
        "      changed_when: false\n"
        "      # The comparison needs one failed result that does not end the run.\n"
        "      ignore_errors: true\n"
        "    - name: Say a lot\n"
        "      ansible.builtin.debug:\n"
        "        # An event whose marker takes many reads of the terminal to arrive.\n"
        "        msg: \"{{ 'x' * 300000 }}\"\n"
    )
    runs: dict[str, tuple[RunState, list[dict[str, object]]]] = {}
    for callback in ("mlcops_events", "awx_display"):
        events: list[dict[str, object]] = []
        r = PlaybookRun(
            playbook,
            INVENTORY,
            runs_dir=state / callback,
            extravars={"ansible_verbosity": "1"},
            listeners=[lambda _s, e, events=events: events.append(dict(e))],
        )
        if callback == "awx_display":
            config = r._config

            def stock_callback(config: Any = config) -> Any:
                c = config()
                c.env["ANSIBLE_STDOUT_CALLBACK"] = "awx_display"
                return c

            monkeypatch.setattr(r, "_config", stock_callback)
        runs[callback] = (r.run(), events)
        assert r._runner is not None
        assert r._runner.config.env["ANSIBLE_STDOUT_CALLBACK"] == callback
    (ours, our_events), (stock, stock_events) = runs["mlcops_events"], runs["awx_display"]
    assert ours.status == stock.status == "ok"
    assert _event_summary(our_events) == _event_summary(stock_events)
    # An event's data travels in its marker: a big one arrives whole, on every host.
    said = [
        data["res"]["msg"]
        for e in our_events
        if e["event"] == "runner_on_ok"
        and isinstance(data := e["event_data"], dict)
        and data["task"] == "Say a lot"
    ]
    assert len(said) == len(ours.hosts) and all(m == "x" * 300000 for m in said)
    kinds = {str(e["event"]) for e in our_events}
    assert {"runner_on_ok", "runner_on_skipped", "runner_on_failed"} <= kinds
    assert ours.warnings == stock.warnings
    assert any("/nonexistent/mlcops" in w for w in ours.warnings), ours.warnings


@pytest.mark.parametrize(
    ("debug", "expected"),
    [("0", "Display.debug,event_context.dump_begin"), ("1", "event_context.dump_begin")],
)
def test_lightened_callback_takes_off_what_it_says(
    tmp_path: Path, debug: str, expected: str
) -> None:
    """With the installed ansible-runner, both costs come off (the debug wrapper stays when
    ANSIBLE_DEBUG is on); an upgrade that changes awx_display shows here, not as a slowdown."""
    import subprocess
    import sys

    import ansible_runner

    from mlcops.runner import CALLBACKS_DIR

    awx_dir = Path(ansible_runner.__file__).parent / "display_callback" / "callback"
    code = (
        "from ansible.plugins.loader import callback_loader\n"
        "cb = callback_loader.get('mlcops_events')\n"
        "print('LIGHTENED=' + ','.join(cb.lightened))\n"
    )
    env = {
        **os.environ,
        "ANSIBLE_CALLBACK_PLUGINS": f"{CALLBACKS_DIR}{os.pathsep}{awx_dir}",
        "AWX_ISOLATED_DATA_DIR": str(tmp_path),
        "ANSIBLE_DEBUG": debug,
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    # With ANSIBLE_DEBUG on, awx_display's markers and Ansible's debug lines share stdout.
    assert re.findall(r"LIGHTENED=([\w.,]*)", out) == [expected], out


def test_lightened_callback_without_ansible_runner_says_so() -> None:
    """Chosen outside mlcops, without ansible-runner's callbacks, it fails in one line."""
    import subprocess

    from mlcops.runner import CALLBACKS_DIR

    env = {
        **os.environ,
        "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACKS_DIR),
        "ANSIBLE_STDOUT_CALLBACK": "mlcops_events",
    }
    done = subprocess.run(
        ["ansible-playbook", "-i", str(INVENTORY), str(PLAYBOOKS / "events.yml")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "mlcops_events needs ansible-runner's awx_display callback" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
