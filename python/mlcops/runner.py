"""The one ansible-runner wrapper that every ``mlcops`` play command goes through.

It runs a playbook with an inventory, limit, tags, check mode and extra variables, reads
ansible-runner's event stream (never stdout) into a :class:`RunState` of per-host and
per-task status, can be cancelled from another thread (Ctrl-C), and keeps the last N run
directories.

Secrets never reach the disk. ansible-runner writes ``envvars``/``extravars``/``passwords``
given to its ``interface.run`` into ``env/`` files, and dumps the whole environment of the
run into ``artifacts/<id>/command``. So this wrapper builds the :class:`RunnerConfig`
itself (no ``env/`` files), forwards only ``ANSIBLE_*`` and named variables, and turns the
``command`` file into a FIFO whose reader writes the file back with every secret redacted:
the secret passes through a kernel pipe, never through a file.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shlex
import signal
import stat
import threading
import time
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ansible_runner.runner
import pexpect  # type: ignore[import-untyped]
from ansible_runner.config.runner import RunnerConfig
from ansible_runner.runner import Runner

from mlcops.errors import MlcopsError, UsageError


class _ReaderSpawn(pexpect.spawn):  # type: ignore[misc]
    """pexpect's ``spawn`` without the pauses it makes for interactive programs.

    pexpect sleeps after every read (0.1 ms asked, a scheduler tick in practice) and
    ptyprocess 0.1 s after closing the terminal. ansible-runner only reads ansible-playbook's
    output, thousands of times a run, and those pauses cost about 5% of a run of short tasks
    (``tests/bench/bench_cli.py``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.delayafterread = None
        self.ptyproc.delayafterclose = 0.0


# ansible-runner spawns ansible-playbook through its module's own name for pexpect: that name
# now gives the spawn above. pexpect itself, and anything else using it, is unchanged.
ansible_runner.runner.pexpect = types.SimpleNamespace(**{**vars(pexpect), "spawn": _ReaderSpawn})

#: Variables forwarded to the run besides ``ANSIBLE_*`` and the prefixes below.
FORWARDED_ENV = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "LANG",
        "LC_ALL",
        "LC_CTYPE",
        "TZ",
        "TMPDIR",
        "SSH_AUTH_SOCK",
        "VIRTUAL_ENV",
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "REQUESTS_CA_BUNDLE",
        "SSL_CERT_FILE",
    }
)
#: Prefixes of forwarded variables: Ansible itself, Docker, AWS, GitHub and our own.
FORWARDED_PREFIXES = ("ANSIBLE_", "DOCKER_", "AWS_", "GITHUB_", "MLCOPS_")
#: Variables that hold secrets even though their names do not say so.
SECRET_ENV = frozenset({"AWS_ACCESS_KEY_ID", "GITHUB_APP_PRIVATE_KEY"})
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_SECRET_NAME = re.compile(r"TOKEN|PASSWORD|PASSWD|SECRET|PRIVATE_KEY|CREDENTIAL", re.I)
REDACTED = "<redacted>"
#: The Ansible Vault password, handed to ansible-playbook through a password client script.
VAULT_PASSWORD_ENV = "MLCOPS_VAULT_PASSWORD"  # noqa: S105 (the variable's name)

#: Where the ``mlcops_preflight`` callback lives (it refuses an inventory with no host).
CALLBACKS_DIR = Path(__file__).with_name("ansible_callbacks")

#: Events that carry a task result for one host, and the status each one means.
RESULT_EVENTS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "unreachable",
    "runner_on_skipped": "skipped",
    "runner_item_on_failed": "failed",
}
#: Events whose JSON ansible-runner keeps under ``job_events/`` (the others are in the report).
KEPT_EVENTS = frozenset(
    {
        "runner_on_failed",
        "runner_on_unreachable",
        "runner_item_on_failed",
        "runner_on_async_failed",
        "warning",
        "error",
        "playbook_on_stats",
    }
)
#: ansible-runner's final status of a run, mapped to ours.
_STATUS = {"successful": "ok", "failed": "failed", "canceled": "cancelled", "timeout": "failed"}


def is_secret_name(name: str) -> bool:
    """Tell whether an environment variable holds a secret (by its name)."""
    return name in SECRET_ENV or bool(_SECRET_NAME.search(name))


def forwarded_env(environ: Mapping[str, str]) -> dict[str, str]:
    """Return the variables of ``environ`` that a run gets: ``ANSIBLE_*`` and named ones."""
    return {
        k: v for k, v in environ.items() if k in FORWARDED_ENV or k.startswith(FORWARDED_PREFIXES)
    }


def state_dir() -> Path:
    """Return where run directories live: ``$MLCOPS_STATE_DIR`` or ``~/.local/state/mlcops``."""
    env = os.environ.get("MLCOPS_STATE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "mlcops"


@dataclass
class TaskResult:
    """One task's result on one host."""

    host: str
    task: str
    role: str
    status: str
    changed: bool
    duration: float
    message: str = ""


@dataclass
class HostState:
    """What one host is doing and has done so far."""

    name: str
    task: str = ""
    role: str = ""
    ok: int = 0
    changed: int = 0
    failed: int = 0
    skipped: int = 0
    unreachable: bool = False
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    @property
    def elapsed(self) -> float:
        """Seconds since the host's first event (until the end of the run)."""
        return (self.finished or time.monotonic()) - self.started

    @property
    def status(self) -> str:
        """``running``, ``ok``, ``failed`` or ``unreachable``."""
        if self.unreachable:
            return "unreachable"
        if self.failed:
            return "failed"
        return "ok" if self.finished is not None else "running"


@dataclass
class RunState:
    """Everything the event stream told about a run; progress views and reports read it."""

    run_id: str
    playbook: str
    inventory: str
    limit: str | None = None
    tags: str | None = None
    check: bool = False
    extravars: dict[str, str] = field(default_factory=dict)
    status: str = "running"
    rc: int | None = None
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    started: float = field(default_factory=time.monotonic)
    duration: float = 0.0
    hosts: dict[str, HostState] = field(default_factory=dict)
    results: list[TaskResult] = field(default_factory=list)
    stats: dict[str, dict[str, int]] = field(default_factory=dict)
    published: dict[str, Any] = field(default_factory=dict)
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    play: str = ""

    def elapsed(self) -> float:
        """Seconds since the run started (its duration once it is over)."""
        return self.duration or time.monotonic() - self.started

    def host(self, name: str) -> HostState:
        """Return the host's state, creating it on its first event."""
        if name not in self.hosts:
            self.hosts[name] = HostState(name)
        return self.hosts[name]

    def apply(self, event: Mapping[str, Any]) -> None:
        """Fold one ansible-runner event into the state."""
        kind = str(event.get("event", ""))
        data: Mapping[str, Any] = event.get("event_data") or {}
        if kind == "playbook_on_play_start":
            self.play = str(data.get("play", ""))
        elif kind == "runner_on_start":
            host = self.host(str(data.get("host")))
            host.task = str(data.get("task", ""))
            host.role = str(data.get("role", ""))
        elif kind in RESULT_EVENTS:
            self._result(kind, data)
        elif kind == "playbook_on_stats":
            self._stats(data)
        elif kind in ("warning", "error", "verbose") and event.get("stdout"):
            self._message(kind, str(event["stdout"]))

    def _message(self, kind: str, stdout: str) -> None:
        # A warning or an error a worker shows reaches ansible-runner as a "verbose" event
        # (awx_display tags only what the controller shows): its prefix says which it is.
        text = _ANSI.sub("", stdout).strip()
        if kind == "warning" or text.startswith("[WARNING]"):
            self.warnings.append(text)
        elif kind == "error" or text.startswith(("[ERROR]", "ERROR!")):
            self.errors.append(text)

    def _result(self, kind: str, data: Mapping[str, Any]) -> None:
        status = RESULT_EVENTS[kind]
        res: Mapping[str, Any] = data.get("res") or {}
        host = self.host(str(data.get("host")))
        if kind == "runner_item_on_failed":
            return  # the task's own runner_on_failed follows and counts it
        if data.get("ignore_errors") and status == "failed":
            status = "ignored"
        changed = bool(res.get("changed")) and status == "ok"
        if status == "ok":
            host.ok += 1
            host.changed += int(changed)
        elif status == "failed":
            host.failed += 1
        elif status == "skipped":
            host.skipped += 1
        elif status == "unreachable":
            host.unreachable = True
        facts = res.get("ansible_facts")
        if isinstance(facts, Mapping):
            found = {k: v for k, v in facts.items() if k.endswith("_info") or k == "ansible_local"}
            self.facts.setdefault(host.name, {}).update(found)
        self.results.append(
            TaskResult(
                host=host.name,
                task=str(data.get("task", "")),
                role=str(data.get("role", "")),
                status=status,
                changed=changed,
                duration=float(data.get("duration") or 0.0),
                message=_message(res) if status in ("failed", "unreachable", "ignored") else "",
            )
        )

    def _stats(self, data: Mapping[str, Any]) -> None:
        for key in ("ok", "changed", "failures", "dark", "skipped", "rescued", "ignored"):
            for host, count in (data.get(key) or {}).items():
                self.stats.setdefault(host, {})[key] = int(count)
        artifact = data.get("artifact_data")
        if isinstance(artifact, Mapping):
            self.published.update(artifact)

    def role_durations(self) -> dict[str, dict[str, float]]:
        """Seconds spent per role (``(play)`` for tasks outside roles), per host."""
        out: dict[str, dict[str, float]] = {}
        for r in self.results:
            per_host = out.setdefault(r.host, {})
            role = r.role or "(play)"
            per_host[role] = per_host.get(role, 0.0) + r.duration
        return out


def _message(res: Mapping[str, Any]) -> str:
    """Return the one-line reason of a failed result."""
    for key in ("msg", "stderr", "reason", "module_stderr"):
        value = res.get(key)
        if value:
            text = str(value).strip()
            return text.splitlines()[-1] if key != "msg" else " ".join(text.split())
    return ""


EventListener = Callable[[RunState, Mapping[str, Any]], None]


def _run_processes(marker: bytes) -> list[int]:
    """Return every process whose environment holds ``marker``, this one excepted.

    ansible-runner kills only the process group of ansible-playbook, but Ansible's workers
    start their own sessions, so the modules they run (a ``command: sleep``) would outlive a
    cancelled run; and a worker forked while ansible-playbook was being stopped, or a process
    a task detached, is no descendant of this process any more. All of them inherited the
    run's artifact path in their environment, so they are found by it.
    """
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def _stop_processes(marker: bytes, grace: float = 3.0) -> None:
    """SIGTERM the run's processes, then SIGKILL those still there after ``grace`` seconds.

    The search is repeated until none is left, so that one started meanwhile is stopped too.
    """
    signalled: set[int] = set()
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        alive = [p for p in _run_processes(marker) if not _zombie(p)]
        if not alive:
            return
        for pid in set(alive) - signalled:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
            signalled.add(pid)
        time.sleep(0.05)
    for _ in range(100):
        alive = [p for p in _run_processes(marker) if not _zombie(p)]
        if not alive:
            return
        for pid in alive:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


class _RedactingFifo:
    """Catch ansible-runner's ``command`` file in a FIFO and write it back redacted."""

    def __init__(self, path: Path, secret_names: set[str]) -> None:
        self.path = path
        self.secret_names = secret_names
        os.mkfifo(path, 0o600)
        self.thread = threading.Thread(target=self._read, name="mlcops-command-fifo", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        with open(self.path, encoding="utf-8") as fifo:
            text = fifo.read()
        try:
            data = json.loads(text)
            env = data.get("env") or {}
            data["env"] = {k: (REDACTED if k in self.secret_names else v) for k, v in env.items()}
            text = json.dumps(data)
        except (ValueError, AttributeError):
            text = json.dumps({"error": "unreadable command record, dropped"})
        tmp = self.path.with_name("command.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, self.path)

    def close(self) -> None:
        """Unblock the reader when ansible-runner never opened the FIFO, then wait for it."""
        if self.thread.is_alive() and stat.S_ISFIFO(os.stat(self.path).st_mode):
            with contextlib.suppress(OSError):
                os.close(os.open(self.path, os.O_WRONLY | os.O_NONBLOCK))
        self.thread.join(timeout=5)


class PlaybookRun:
    """One playbook run through ansible-runner.

    Build it, then call :meth:`run` (blocking; ``KeyboardInterrupt`` cancels the run
    cleanly), or :meth:`start` and :meth:`wait`. :meth:`cancel` may be called from any thread.
    """

    def __init__(
        self,
        playbook: Path,
        inventory: Path,
        *,
        limit: str | None = None,
        tags: str | None = None,
        check: bool = False,
        extravars: Mapping[str, str] | None = None,
        environ: Mapping[str, str] | None = None,
        project_dir: Path | None = None,
        runs_dir: Path | None = None,
        keep: int = 10,
        listeners: Sequence[EventListener] = (),
    ) -> None:
        """Prepare a run; nothing is started yet.

        Args:
            playbook: the playbook file.
            inventory: inventory file or directory.
            limit: Ansible ``--limit`` pattern.
            tags: comma-separated tags.
            check: run in check mode.
            extravars: ``-e`` variables (never secrets: they are on the command line).
            environ: where variables and secrets come from (default ``os.environ``).
            project_dir: working directory of the run (where ansible.cfg is).
            runs_dir: where run directories go (default ``<state dir>/runs``).
            keep: how many run directories to keep, this one included.
            listeners: called with the state and each event, in the runner's thread.

        """
        if keep < 1:
            raise UsageError(f"--keep {keep}: keep at least 1 run directory")
        if not playbook.is_file():
            raise UsageError(f"playbook {playbook} does not exist")
        if not inventory.exists():
            raise UsageError(f"--inventory {inventory}: no such file or directory")
        self.playbook = playbook.resolve()
        self.inventory = inventory.resolve()
        self.project_dir = (project_dir or self.playbook.parent.parent).resolve()
        self.runs_dir = (runs_dir or state_dir() / "runs").resolve()
        self.keep = keep
        self.listeners = list(listeners)
        env = dict(os.environ if environ is None else environ)
        self.env = forwarded_env(env)
        self.env.setdefault("ANSIBLE_CONFIG", str(self.project_dir / "ansible.cfg"))
        self.env.setdefault("ANSIBLE_ROLES_PATH", str(self.project_dir / "roles"))
        self.secret_names = {k for k in self.env if is_secret_name(k)}
        run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)
        self.state = RunState(
            run_id=run_id,
            playbook=str(self.playbook),
            inventory=str(self.inventory),
            limit=limit,
            tags=tags,
            check=check,
            extravars=dict(extravars or {}),
        )
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self._runner: Runner | None = None
        self._fifo: _RedactingFifo | None = None
        self._error: BaseException | None = None
        self._stopped = False

    @property
    def run_id(self) -> str:
        """The run's id (its directory name under ``runs_dir``)."""
        return self.state.run_id

    @property
    def run_dir(self) -> Path:
        """The run's directory: ansible-runner's artifacts plus our report."""
        return self.runs_dir / self.state.run_id

    @property
    def secret_values(self) -> list[str]:
        """Values of the secret variables this run got (to scrub them from reports)."""
        return [self.env[k] for k in sorted(self.secret_names)]

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._cancel.is_set()

    def cancel(self) -> None:
        """Ask the run to stop; ansible-runner terminates ansible-playbook within a second."""
        self._cancel.set()

    def _config(self) -> RunnerConfig:
        private = self.runs_dir.parent
        for d in (private, self.runs_dir):
            # Directories made here are private; an existing one keeps its mode (it may
            # be one the user chose, such as MLCOPS_STATE_DIR=/srv/mlcops).
            try:
                d.mkdir(parents=True, mode=0o700)
                d.chmod(0o700)  # mkdir's mode is masked by the umask
            except FileExistsError:
                pass
        args = ["--check"] if self.state.check else []
        if self.env.get(VAULT_PASSWORD_ENV):
            args += ["--vault-password-file", str(self._vault_script())]
        cmdline = shlex.join(args) or None
        config = RunnerConfig(
            private_data_dir=str(private),
            artifact_dir=str(self.runs_dir),
            ident=self.state.run_id,
            project_dir=str(self.project_dir),
            playbook=str(self.playbook),
            inventory=str(self.inventory),
            limit=self.state.limit,
            tags=self.state.tags,
            extravars=dict(self.state.extravars) or None,
            cmdline=cmdline,
            envvars=dict(self.env),
            rotate_artifacts=self.keep,
            quiet=True,
            fact_cache_type="memory",
            settings={"pexpect_timeout": 0.5, "suppress_ansible_output": True},
        )
        config.prepare()
        # prepare() seeds the environment with all of os.environ: keep only what we forward
        # and what ansible-runner itself set (callback plugins, artifact paths).
        runner_keys = {"AWX_ISOLATED_DATA_DIR", "PYTHONPATH", "ORIGINAL_STDOUT_CALLBACK"}
        # Values come from config.env: ansible-runner has merged its callback plugin path
        # into ANSIBLE_CALLBACK_PLUGINS and set the stdout callback there.
        config.env = {
            k: v
            for k, v in config.env.items()
            if k in self.env or k.startswith("ANSIBLE_") or k in runner_keys
        }
        # The inventory is checked by ansible-playbook, which reads it anyway: a --limit that
        # matches nothing and (with this) an inventory that does not parse are its errors,
        # an inventory with no host is refused by mlcops_preflight. All before any play.
        config.env.setdefault("ANSIBLE_INVENTORY_UNPARSED_FAILED", "true")
        config.env["MLCOPS_REQUIRE_HOSTS"] = "1"
        plugins = config.env.get("ANSIBLE_CALLBACK_PLUGINS")
        config.env["ANSIBLE_CALLBACK_PLUGINS"] = os.pathsep.join(
            p for p in (str(CALLBACKS_DIR), plugins) if p
        )
        # ansible-runner's own event callback (awx_display), lightened: see mlcops_events.
        config.env["ANSIBLE_STDOUT_CALLBACK"] = "mlcops_events"
        return config

    def _vault_script(self) -> Path:
        """Write the run's vault password client: a script that prints the variable.

        Ansible runs an executable ``--vault-password-file`` and reads the password from its
        output; the script holds no secret, the password stays in the run's environment.
        """
        self.run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.run_dir / "vault-password-client"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o700)
        with os.fdopen(fd, "w") as f:
            f.write(f"#!/bin/sh\nprintf '%s\\n' \"${VAULT_PASSWORD_ENV}\"\n")
        return path

    def _should_stop(self) -> bool:
        """ansible-runner's cancel callback: on cancel, stop every process of the run."""
        if not self._cancel.is_set():
            return False
        if not self._stopped:
            self._stopped = True
            marker = f"AWX_ISOLATED_DATA_DIR={self.run_dir}".encode()
            _stop_processes(marker)
        return True

    def _on_event(self, event: dict[str, Any]) -> bool:
        """Fold the event in; tell ansible-runner to keep its file only when it says why.

        ansible-runner writes every event it is told to keep to ``job_events/`` as JSON: for
        a run of many tasks, that was most of this process's work. The report holds what ok
        events said; the files kept are those of failures, warnings, errors and the stats.
        """
        self.state.apply(event)
        for listener in self.listeners:
            listener(self.state, event)
        return event.get("event") in KEPT_EVENTS

    def start(self) -> None:
        """Start the run in a background thread."""
        config = self._config()
        Path(config.artifact_dir).mkdir(mode=0o700, exist_ok=True)
        self._fifo = _RedactingFifo(Path(config.artifact_dir) / "command", self.secret_names)
        self._runner = Runner(
            config,
            event_handler=self._on_event,
            cancel_callback=self._should_stop,
        )

        def target() -> None:
            try:
                assert self._runner is not None
                self._runner.run()
            except BaseException as exc:
                self._error = exc
            finally:
                self._done.set()

        self._thread = threading.Thread(target=target, name=f"mlcops-run-{self.run_id}")
        self._thread.start()

    def wait(self) -> RunState:
        """Wait for the end of the run; Ctrl-C (``KeyboardInterrupt``) cancels it cleanly."""
        assert self._thread is not None and self._runner is not None and self._fifo is not None
        # Not Thread.join: in CPython 3.11, a KeyboardInterrupt that lands in join() can mark
        # the thread as stopped while it runs on (is_alive() turns False), and the run would
        # be reported cancelled while ansible-playbook went on. An Event has no such state.
        while True:
            try:
                if self._done.wait(timeout=0.2):
                    break
            except KeyboardInterrupt:
                self.cancel()
        self._thread.join()
        self._fifo.close()
        if self._error is not None:
            raise MlcopsError(f"ansible-runner failed: {self._error}") from self._error
        state = self.state
        state.rc = self._runner.rc
        state.status = _STATUS.get(str(self._runner.status), "failed")
        if self.cancelled:
            state.status = "cancelled"
        state.duration = time.monotonic() - state.started
        end = time.monotonic()
        for host in state.hosts.values():
            host.finished = host.finished or end
        return state

    def run(self) -> RunState:
        """Start the run and wait for it."""
        self.start()
        return self.wait()


def list_runs(runs_dir: Path | None = None) -> list[Path]:
    """Run directories that hold a report, oldest first."""
    base = runs_dir or state_dir() / "runs"
    if not base.is_dir():
        return []
    found = [p for p in base.iterdir() if (p / "report.json").is_file()]
    return sorted(found, key=lambda p: (p / "report.json").stat().st_mtime)


def find_run(which: str, runs_dir: Path | None = None) -> Path:
    """Return the run directory of a run id, or of the latest run for ``LAST``."""
    base = runs_dir or state_dir() / "runs"
    runs = list_runs(base)
    if which.upper() == "LAST":
        if not runs:
            raise UsageError(f"no run report under {base} yet: run a play first")
        return runs[-1]
    if "/" in which or which.startswith("."):
        raise UsageError(f"run id {which!r} is not a run id: use LAST or a name under {base}")
    path = base / which
    if not (path / "report.json").is_file():
        raise UsageError(f"run {which!r} has no report under {base}: see `ls {base}`")
    return path
