"""Test double of the GitHub REST API for self-hosted runners (GitHub Enterprise Server shaped).

Nothing here talks to GitHub: this is a fake, served over HTTP on 127.0.0.1, that the project's
Python client (``mlcops.github``), the Ansible role and the fixture runner (``tests/fakes/runner``,
packed into a tarball at start and served under ``/_downloads/``) are tested against. It behaves
like GitHub where the project relies on it: tokens that expire, pagination with ``Link`` headers,
``401`` on bad credentials, single-use JIT configurations, runner labels, the runner downloads list
and its checksums, GitHub App JWTs and installation tokens. Faults (a ``500``, a ``403`` rate limit
with ``retry-after``...) can be injected for the next N matching requests.

Server URL ``http://127.0.0.1:PORT``; API base ``http://127.0.0.1:PORT/api/v3``. URLs the fake hands
out (``Link`` headers, ``download_url``, the server URL in a JIT configuration) are built from the
request's ``Host`` header, so a container that reaches the fake under another address gets URLs it
can use.

Three families of endpoints:

* GitHub's REST API under ``/api/v3`` (``SCOPE`` is ``repos/OWNER/REPO``, ``orgs/ORG`` or
  ``enterprises/ENTERPRISE``; any name is accepted, names are case-insensitive)::

      POST   SCOPE/actions/runners/registration-token | remove-token | generate-jitconfig
      GET    SCOPE/actions/runners[?per_page&page&name]
      GET    SCOPE/actions/runners/ID                  DELETE SCOPE/actions/runners/ID
      GET|PUT|POST SCOPE/actions/runners/ID/labels     DELETE SCOPE/actions/runners/ID/labels/NAME
      GET    SCOPE/actions/runners/downloads
      GET    orgs/ORG|enterprises/ENTERPRISE/actions/runner-groups
      GET    SCOPE/installation (JWT)                  POST app/installations/ID/access_tokens (JWT)

* Releases of a repository (``REPO`` is ``repos/OWNER/REPO``), as GitHub serves them: drafts
  are listed but ``releases/tags/TAG`` sees published releases only; each asset carries its
  ``digest`` (``sha256:HEX``) unless ``asset_digests`` is off (GitHub before mid-2025)::

      GET|POST REPO/releases[?per_page&page]       GET REPO/releases/tags/TAG
      GET|PATCH|DELETE REPO/releases/ID            GET REPO/releases/ID/assets[?per_page&page]
      GET|PATCH|DELETE REPO/releases/assets/ID     (Accept: application/octet-stream: the bytes)
      POST /api/uploads/REPO/releases/ID/assets?name=N[&label=L]   (the release's upload_url;
           raw body; 422 already_exists for a name the release has)
      GET  /OWNER/REPO/releases/download/TAG/NAME  (browser_download_url; published only, no auth)

* The runner side under ``/_runner/`` (register, jit, remove, session, job), spoken only by the
  fixture runner's ``bin/Runner.Listener``; not part of GitHub's public API.
* Control endpoints under ``/_fake/`` for a test in another process (molecule, pytest)::

      POST /_fake/faults {"method", "path_regex", "status", "count", "headers"}
      POST /_fake/expire-tokens {"count"}       POST /_fake/revoke-installation-tokens
      POST /_fake/jobs {"scope", "runner_name", "run"} -> {"id"}      GET /_fake/jobs/ID
      POST /_fake/runners {"scope", "name", "labels", "runner_group_id", "ephemeral", "status"}
      GET  /_fake/state -> {"scopes", "requests", "secrets_issued_count"}
      GET  /_fake/secrets -> {"secrets": [...]}

Every request outside ``/_fake/`` is recorded as ``(method, path, status)``: the path without
its query string, never a header. Registration and remove tokens are reusable until they expire,
as GitHub's are.

From Python::

    with FakeGitHub(tokens=("test-pat",)) as gh:
        client = GitHubClient(gh.api_url, token="test-pat", insecure=True)
        gh.fail("GET", r"/actions/runners$", 500)
        ...

Command line (runs in the foreground until SIGTERM or SIGINT; prints ``READY URL`` once
listening)::

    python -m tests.fakes.github_api --port 18443 [--host 0.0.0.0] [--token T ...]
        [--state-dir DIR] [--app-id ID --app-public-key PEM_FILE] [--runner-version V]

``--state-dir`` keeps the runner tarballs (``DIR/downloads/``), ``DIR/server.json`` (url, pid)
and, at exit, ``DIR/state.json`` (the ``/_fake/state`` view) for a post-mortem.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import dataclasses
import gzip
import hashlib
import io
import json
import math
import os
import re
import secrets
import shutil
import signal
import string
import sys
import tarfile
import tempfile
import threading
import time
import traceback
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

RUNNER_SOURCE = Path(__file__).resolve().parent / "runner"
DOCS_URL = "https://docs.github.com/rest"
INSTALLATION_ID = 42
JWT_LEEWAY_S = 60
JWT_MAX_LIFETIME_S = 600
READ_ONLY_LABELS = {"self-hosted", "linux", "windows", "macos", "x64", "arm", "arm64"}
# Files of the runner package that are executable (like the real package's).
RUNNER_EXECUTABLES = {
    "config.sh",
    "env.sh",
    "run.sh",
    "run-helper.sh.template",
    "safe_sleep.sh",
    "bin/Runner.Listener",
    "bin/runsvc.sh",
    "bin/installdependencies.sh",
}
VERSION_PLACEHOLDER = "@RUNNER_VERSION@"
SCOPE = r"(?P<scope>repos/[^/]+/[^/]+|orgs/[^/]+|enterprises/[^/]+)"
RUNNERS = rf"/api/v3/{SCOPE}/actions/runners"
REPO = r"(?P<scope>repos/[^/]+/[^/]+)"
RELEASES = rf"/api/v3/{REPO}/releases"
UPLOADS = rf"/api/uploads/{REPO}/releases/(?P<id>\d+)/assets"


# --------------------------------------------------------------------------- runner tarball


def build_runner_tarball(dest_dir: Path, version: str) -> tuple[Path, str]:
    """Pack the fixture runner (``tests/fakes/runner``) the way actions/runner ships its package.

    The archive is deterministic: entries sorted, named ``./config.sh``, ``./bin/...``, mtime 0,
    owner 0:0, scripts 0755, other files 0644, and a gzip header without name or time. The
    listener's version placeholder is replaced with ``version``.

    Args:
        dest_dir: Where to write ``actions-runner-linux-x64-VERSION.tar.gz`` (created if missing).
        version: The runner version, e.g. ``2.329.0``.

    Returns:
        The archive's path and the SHA-256 hex digest of its bytes.
    """
    data = _runner_tarball_bytes(version)
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / f"actions-runner-linux-x64-{version}.tar.gz"
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def _runner_tarball_bytes(version: str) -> bytes:
    files: list[tuple[str, bytes]] = []
    dirs: set[str] = set()
    for path in sorted(RUNNER_SOURCE.rglob("*")):
        rel = path.relative_to(RUNNER_SOURCE).as_posix()
        if "__pycache__" in rel or rel.endswith(".pyc"):
            continue
        if path.is_dir():
            dirs.add(rel)
            continue
        content = path.read_bytes()
        if rel == "bin/Runner.Listener":
            content = content.replace(VERSION_PLACEHOLDER.encode(), version.encode())
        files.append((rel, content))

    def info(
        name: str, *, size: int = 0, mode: int, kind: bytes = tarfile.REGTYPE
    ) -> tarfile.TarInfo:
        entry = tarfile.TarInfo(name)
        entry.size, entry.mode, entry.type = size, mode, kind
        entry.mtime, entry.uid, entry.gid, entry.uname, entry.gname = 0, 0, 0, "", ""
        return entry

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        tar.addfile(info(".", mode=0o755, kind=tarfile.DIRTYPE))
        entries: list[tuple[str, bytes | None]] = [(d, None) for d in dirs]
        entries += [(rel, content) for rel, content in files]
        for rel, data in sorted(entries, key=lambda e: e[0]):
            if data is None:
                tar.addfile(info(f"./{rel}", mode=0o755, kind=tarfile.DIRTYPE))
            else:
                mode = 0o755 if rel in RUNNER_EXECUTABLES else 0o644
                tar.addfile(info(f"./{rel}", size=len(data), mode=mode), io.BytesIO(data))
    packed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=packed, mtime=0) as gz:
        gz.write(raw.getvalue())
    return packed.getvalue()


# --------------------------------------------------------------------------- state


@dataclasses.dataclass
class _Runner:
    id: int
    scope: str
    name: str
    os: str
    arch: str
    group_id: int
    ephemeral: bool
    read_only: list[str]
    custom: list[str]
    credential: str
    session: str = "offline"  # what the listener last said: online | offline
    last_seen: float = 0.0  # time.monotonic() of its last call; math.inf pins it online
    busy: bool = False


@dataclasses.dataclass
class _Token:
    kind: str  # registration | remove
    scope: str
    expires_at: datetime


@dataclasses.dataclass
class _Job:
    id: int
    scope: str
    runner_name: str
    run: str
    status: str = "queued"
    result: str | None = None
    output: str = ""
    runner_id: int | None = None


@dataclasses.dataclass
class _Fault:
    method: str
    regex: re.Pattern[str]
    status: int
    remaining: int
    headers: dict[str, str]


class ApiError(Exception):
    """An error response: ``status`` with ``{"message": message, ...}`` as body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        docs: bool = True,
        errors: Sequence[Mapping[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        self.docs = docs
        self.errors = [dict(e) for e in errors]


@dataclasses.dataclass
class Request:
    """One HTTP request, as the route handlers see it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names in lower case
    raw_body: bytes
    base_url: str  # http://HOST[:PORT] as the client addressed the fake
    params: dict[str, str] = dataclasses.field(default_factory=dict)

    def json(self) -> Any:
        """Return the body parsed as JSON (``{}`` when empty); 400 when it is not JSON."""
        if not self.raw_body:
            return {}
        try:
            return json.loads(self.raw_body)
        except ValueError:
            raise ApiError(400, "Problems parsing JSON") from None

    def body(self) -> dict[str, Any]:
        """Return the body as a JSON object; 400 for anything else."""
        data = self.json()
        if not isinstance(data, dict):
            raise ApiError(400, "Problems parsing JSON")
        return data


@dataclasses.dataclass
class Response:
    """What a route handler returns: a JSON-able body, raw bytes, or nothing."""

    status: int
    body: Any = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"


Handler = Callable[[Request], Response]


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def _iso_z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _random(length: int, alphabet: str = string.ascii_uppercase + string.digits) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _b64json(obj: Any) -> str:
    return base64.b64encode(json.dumps(obj).encode()).decode()


def _norm_scope(scope: str) -> str:
    """Return ``repos/o/r`` | ``orgs/o`` | ``enterprises/e`` in lower case; ValueError otherwise."""
    scope = scope.strip("/").lower()
    if not re.fullmatch(SCOPE, scope):
        raise ValueError(f"not a runner scope: {scope!r} (repos/O/R, orgs/O or enterprises/E)")
    return scope


def _scope_from_url(url: str) -> str | None:
    """Map a runner URL (``http://host/o/r``, ``/o``, ``/enterprises/e``) to its scope."""
    parts = [p for p in urllib.parse.urlsplit(url).path.split("/") if p]
    if len(parts) == 2 and parts[0].lower() == "enterprises":
        return f"enterprises/{parts[1]}".lower()
    if len(parts) == 2:
        return f"repos/{parts[0]}/{parts[1]}".lower()
    if len(parts) == 1:
        return f"orgs/{parts[0]}".lower()
    return None


def _scope_path(scope: str) -> str:
    """Return the path of a scope's web URL: ``o/r``, ``o`` or ``enterprises/e``."""
    kind, _, rest = scope.partition("/")
    return f"enterprises/{rest}" if kind == "enterprises" else rest


def _groups(scope: str) -> list[dict[str, Any]]:
    groups = [{"id": 1, "name": "Default", "default": True}]
    if not scope.startswith("repos/"):
        groups.append({"id": 2, "name": "gpu", "default": False})
    return groups


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not 1 <= len(name) <= 64 or re.search(r"\s", name):
        raise ApiError(422, "Invalid request.\n\nRunner name must be 1-64 characters, no spaces.")
    return name


def _check_labels(labels: Any, *, least: int, most: int = 100) -> list[str]:
    if not isinstance(labels, list) or not least <= len(labels) <= most:
        raise ApiError(
            422, f"Invalid request.\n\nlabels must be a list of {least} to {most} labels."
        )
    for label in labels:
        if not isinstance(label, str) or not 1 <= len(label) <= 256 or re.search(r"[\s,]", label):
            raise ApiError(
                422,
                f"Invalid request.\n\nLabel {label!r} is invalid: 1-256 characters, "
                "no spaces or commas.",
            )
    unique: list[str] = []
    for label in labels:
        if label.lower() not in {u.lower() for u in unique}:
            unique.append(label)
    return unique


def _os_arch_labels(os_name: str, arch: str) -> list[str]:
    return ["self-hosted", os_name, arch]


# --------------------------------------------------------------------------- the fake


class FakeGitHub:
    """The fake GitHub server: its state, its routes and the Python API tests drive it with.

    Args:
        host: Address to listen on (``0.0.0.0`` to be reachable from containers).
        port: Port to listen on; 0 picks a free one.
        tokens: Personal access tokens the REST API accepts.
        app_id: The GitHub App whose JWTs the app endpoints accept (None: no app).
        app_public_key_pem: The app's public key (a private key PEM works too).
        runner_version: Version of the runner package served by the downloads endpoint.
        token_ttl: Lifetime in seconds of registration, remove and installation tokens.
        state_dir: Where to keep the runner tarballs and state files (None: a temporary dir).
        heartbeat_timeout: A runner that has not polled for this long shows as offline.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tokens: Sequence[str] = ("test-pat",),
        app_id: int | str | None = None,
        app_public_key_pem: str | bytes | None = None,
        runner_version: str = "2.329.0",
        token_ttl: int = 3600,
        state_dir: Path | None = None,
        heartbeat_timeout: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port
        self.tokens = tuple(tokens)
        self.app_id = None if app_id is None else str(app_id)
        self._app_key = _load_public_key(app_public_key_pem) if app_public_key_pem else None
        self.runner_version = runner_version
        self.token_ttl = token_ttl
        self.heartbeat_timeout = heartbeat_timeout
        self.installation_id = INSTALLATION_ID
        self._state_dir = state_dir
        self._tmp_dir: str | None = None
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._downloads: dict[str, bytes] = {}
        self.tarball_path: Path | None = None
        self.tarball_sha256 = ""
        self.reset()
        self._routes = self._build_routes()

    # ----------------------------------------------------------------- lifecycle

    def reset(self) -> None:
        """Forget every runner, token, job, fault and recorded request."""
        with self._lock:
            self._next_id = 1
            self._runners: dict[int, _Runner] = {}
            self._tokens: dict[str, _Token] = {}
            self._installation_tokens: dict[str, datetime] = {}
            self._jit: dict[str, int] = {}
            self._jit_used: set[str] = set()
            self._jobs: dict[int, _Job] = {}
            self._label_ids: dict[str, int] = {}
            self._faults: list[_Fault] = []
            self._requests: list[tuple[str, str, int]] = []
            self._secrets: set[str] = set()
            self._expire_next = 0
            self._releases: dict[int, dict[str, Any]] = {}
            self._assets: dict[int, tuple[int, dict[str, Any], bytes]] = {}
            self.asset_digests = True

    def start(self) -> FakeGitHub:
        """Build the runner tarball, start serving in a background thread; return self."""
        if self._state_dir is None:
            self._tmp_dir = tempfile.mkdtemp(prefix="fake-github-")
            self._state_dir = Path(self._tmp_dir)
        self._state_dir.mkdir(parents=True, exist_ok=True)
        self.tarball_path, self.tarball_sha256 = build_runner_tarball(
            self._state_dir / "downloads", self.runner_version
        )
        data = self.tarball_path.read_bytes()
        self._downloads = {entry["filename"]: data for entry in self._download_entries("")}
        server = ThreadingHTTPServer((self.host, self.port), _HTTPHandler)
        server.daemon_threads = True
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-github",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; keep the state (the Python API still answers)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._tmp_dir is not None:
            shutil.rmtree(self._tmp_dir, ignore_errors=True)
            self._tmp_dir = None
            self._state_dir = None

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (the server URL, what ``config.sh --url`` starts with)."""
        host = "127.0.0.1" if self.host in ("", "0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        """``http://127.0.0.1:PORT/api/v3``."""
        return f"{self.url}/api/v3"

    @property
    def state_dir(self) -> Path | None:
        """Where the tarballs and state files are (None before start)."""
        return self._state_dir

    # ----------------------------------------------------------------- Python API

    def fail(
        self,
        method: str,
        path_regex: str,
        status: int,
        count: int = 1,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next ``count`` requests matching ``method`` and ``path_regex``.

        They get ``status`` with body ``{"message": "fake fault"}`` and ``headers`` (e.g.
        ``retry-after``). The regex is searched in the path without its query string; the method
        ``*`` matches any.
        Control endpoints (``/_fake/``) are never faulted.
        """
        fault = _Fault(method.upper(), re.compile(path_regex), status, count, dict(headers or {}))
        with self._lock:
            self._faults.append(fault)

    def expire_next_tokens(self, count: int = 1) -> None:
        """Issue the next ``count`` registration/remove tokens already expired."""
        with self._lock:
            self._expire_next += count

    def revoke_installation_tokens(self) -> None:
        """Make every installation token issued so far invalid (401), whatever its expiry says."""
        with self._lock:
            self._installation_tokens.clear()

    def add_job(self, scope: str, runner_name: str, run: str = "true") -> int:
        """Queue a job (``run``: a bash script) for runner ``runner_name``; return its id."""
        with self._lock:
            job = _Job(self._new_id(), _norm_scope(scope), runner_name, run)
            self._jobs[job.id] = job
            return job.id

    def job(self, job_id: int) -> dict[str, Any]:
        """Return a job (``id``, ``runner``, ``status``, ``result``, ``output``); KeyError."""
        with self._lock:
            return self._job_view(self._jobs[int(job_id)])

    def runners(self, scope: str) -> list[dict[str, Any]]:
        """Return the runners of ``scope`` as the REST API shows them, by id."""
        scope = _norm_scope(scope)
        with self._lock:
            return [self._runner_view(r) for r in self._scope_runners(scope)]

    def add_runner(
        self,
        scope: str,
        name: str,
        *,
        labels: Sequence[str] = (),
        runner_group_id: int = 1,
        ephemeral: bool = False,
        status: str = "offline",
        os_name: str = "Linux",
        arch: str = "X64",
    ) -> dict[str, Any]:
        """Seed a runner as if one had registered (``status="online"`` keeps it online)."""
        scope = _norm_scope(scope)
        with self._lock:
            if self._find(scope, name) is not None:
                raise ValueError(f"a runner named {name!r} exists in {scope}")
            runner = self._create_runner(
                scope,
                _check_name(name),
                os_name=os_name,
                arch=arch,
                group_id=runner_group_id,
                ephemeral=ephemeral,
                read_only=_os_arch_labels(os_name, arch),
                custom=_check_labels(list(labels), least=0),
            )
            if status == "online":
                runner.session, runner.last_seen = "online", math.inf
            return self._runner_view(runner)

    def releases(self, repo: str) -> list[dict[str, Any]]:
        """Return every release of ``repo`` (``repos/O/R`` or ``O/R``), drafts too, by id."""
        scope = _norm_scope(repo if repo.startswith("repos/") else f"repos/{repo}")
        with self._lock:
            return [
                self._release_view(r, self.url)
                for r in sorted(self._releases.values(), key=lambda r: r["id"])
                if r["scope"] == scope
            ]

    def asset_bytes(self, asset_id: int) -> bytes:
        """Return the uploaded bytes of an asset; KeyError when there is none."""
        with self._lock:
            return self._assets[int(asset_id)][2]

    @property
    def requests(self) -> list[tuple[str, str, int]]:
        """``(method, path, status)`` of every request outside ``/_fake/``, in order."""
        with self._lock:
            return list(self._requests)

    def issued_secrets(self) -> set[str]:
        """Every token, JIT configuration and runner credential the fake has handed out."""
        with self._lock:
            return set(self._secrets)

    def state(self) -> dict[str, Any]:
        """Return what ``GET /_fake/state`` returns."""
        with self._lock:
            scopes = sorted({r.scope for r in self._runners.values()})
            return {
                "scopes": {
                    s: [self._runner_view(r) for r in self._scope_runners(s)] for s in scopes
                },
                "requests": [list(r) for r in self._requests],
                "secrets_issued_count": len(self._secrets),
            }

    # ----------------------------------------------------------------- state helpers

    def _new_id(self) -> int:
        value = self._next_id
        self._next_id += 1
        return value

    def _label_id(self, name: str) -> int:
        return self._label_ids.setdefault(name.lower(), len(self._label_ids) + 1)

    def _issue_secret(self, value: str) -> str:
        self._secrets.add(value)
        return value

    def _scope_runners(self, scope: str) -> list[_Runner]:
        return sorted((r for r in self._runners.values() if r.scope == scope), key=lambda r: r.id)

    def _find(self, scope: str, name: str) -> _Runner | None:
        for runner in self._runners.values():
            if runner.scope == scope and runner.name.lower() == name.lower():
                return runner
        return None

    def _create_runner(
        self,
        scope: str,
        name: str,
        *,
        os_name: str,
        arch: str,
        group_id: int,
        ephemeral: bool,
        read_only: list[str],
        custom: list[str],
    ) -> _Runner:
        runner = _Runner(
            id=self._new_id(),
            scope=scope,
            name=name,
            os=os_name,
            arch=arch,
            group_id=group_id,
            ephemeral=ephemeral,
            read_only=read_only,
            custom=[c for c in custom if c.lower() not in {r.lower() for r in read_only}],
            credential=self._issue_secret(_random(40, string.ascii_letters + string.digits)),
        )
        self._runners[runner.id] = runner
        return runner

    def _status(self, runner: _Runner) -> str:
        if runner.session != "online":
            return "offline"
        fresh = time.monotonic() - runner.last_seen <= self.heartbeat_timeout
        return "online" if runner.busy or fresh else "offline"

    def _labels_view(self, runner: _Runner) -> list[dict[str, Any]]:
        labels = [(n, "read-only") for n in runner.read_only] + [
            (n, "custom") for n in runner.custom
        ]
        return [{"id": self._label_id(n), "name": n, "type": t} for n, t in labels]

    def _runner_view(self, runner: _Runner) -> dict[str, Any]:
        return {
            "id": runner.id,
            "name": runner.name,
            "os": runner.os,
            "status": self._status(runner),
            "busy": runner.busy,
            "ephemeral": runner.ephemeral,
            "runner_group_id": runner.group_id,
            "labels": self._labels_view(runner),
        }

    def _job_view(self, job: _Job) -> dict[str, Any]:
        return {
            "id": job.id,
            "runner": job.runner_name,
            "status": job.status,
            "result": job.result,
            "output": job.output,
        }

    def _issue_token(self, scope: str, kind: str) -> dict[str, str]:
        expires = _now() + timedelta(seconds=self.token_ttl)
        if self._expire_next > 0:
            self._expire_next -= 1
            expires = _now() - timedelta(seconds=1)
        value = self._issue_secret(_random(29))
        self._tokens[value] = _Token(kind, scope, expires)
        return {"token": value, "expires_at": _iso(expires)}

    def _valid_token(self, value: str, kind: str, scope: str | None) -> _Token | None:
        token = self._tokens.get(value)
        if token is None or token.kind != kind or _now() >= token.expires_at:
            return None
        if scope is not None and token.scope != scope:
            return None
        return token

    def _runner_in(self, req: Request) -> _Runner:
        scope = _norm_scope(req.params["scope"])
        runner = self._runners.get(int(req.params["id"]))
        if runner is None or runner.scope != scope:
            raise ApiError(404, "Not Found")
        return runner

    def _delete_runner(self, runner: _Runner) -> None:
        if runner.busy:
            raise ApiError(422, f'Bad request - Runner "{runner.name}" is still running a job"')
        del self._runners[runner.id]

    def _download_entries(self, base_url: str) -> list[dict[str, Any]]:
        version = self.runner_version
        platforms = [
            ("osx", "x64", "tar.gz"),
            ("osx", "arm64", "tar.gz"),
            ("linux", "x64", "tar.gz"),
            ("linux", "arm", "tar.gz"),
            ("linux", "arm64", "tar.gz"),
            ("win", "x64", "zip"),
            ("win", "arm64", "zip"),
        ]
        entries = []
        for os_name, arch, ext in platforms:
            filename = f"actions-runner-{os_name}-{arch}-{version}.{ext}"
            entries.append(
                {
                    "os": os_name,
                    "architecture": arch,
                    "download_url": f"{base_url}/_downloads/{filename}",
                    "filename": filename,
                    "temp_download_token": None,
                    "sha256_checksum": self.tarball_sha256,
                }
            )
        return entries

    # ----------------------------------------------------------------- auth

    def _authorize(self, req: Request, auth: str) -> None:
        if auth == "none":
            return
        header = req.headers.get("authorization")
        if not header:
            raise ApiError(401, "Requires authentication")
        scheme, _, credential = header.strip().partition(" ")
        credential = credential.strip()
        if auth == "jwt":
            if scheme.lower() != "bearer":
                raise ApiError(401, "A JSON web token could not be decoded")
            self._verify_jwt(credential)
            return
        if scheme.lower() not in ("bearer", "token") or not self._token_ok(credential):
            raise ApiError(401, "Bad credentials")

    def _token_ok(self, credential: str) -> bool:
        if credential in self.tokens:
            return True
        expires = self._installation_tokens.get(credential)
        return expires is not None and _now() < expires

    def _verify_jwt(self, jwt: str) -> None:
        undecodable = ApiError(401, "A JSON web token could not be decoded")
        if self._app_key is None or self.app_id is None:
            raise undecodable
        try:
            header_b64, payload_b64, signature_b64 = jwt.split(".")
            header = json.loads(_b64url_decode(header_b64))
            payload = json.loads(_b64url_decode(payload_b64))
            signature = _b64url_decode(signature_b64)
        except (ValueError, binascii.Error):
            raise undecodable from None
        if not isinstance(header, dict) or header.get("alg") != "RS256":
            raise undecodable
        if not isinstance(payload, dict):
            raise undecodable
        try:
            self._app_key.verify(
                signature,
                f"{header_b64}.{payload_b64}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except InvalidSignature:
            raise ApiError(401, "'Signature' is invalid.") from None
        now = time.time()
        iat, exp = payload.get("iat"), payload.get("exp")
        if not isinstance(iat, int) or iat > now + JWT_LEEWAY_S:
            raise ApiError(
                401,
                "'Issued at' claim ('iat') must be an Integer representing the time that the "
                "assertion was issued.",
            )
        if not isinstance(exp, int) or exp < now - JWT_LEEWAY_S or exp - iat > JWT_MAX_LIFETIME_S:
            raise ApiError(
                401,
                "'Expiration time' claim ('exp') must be a numeric value representing the future "
                "time at which the assertion expires.",
            )
        if str(payload.get("iss")) != self.app_id:
            raise ApiError(401, "'Issuer' claim ('iss') must be the App's id.")

    def _runner_credential(self, req: Request) -> _Runner:
        """Authenticate ``RunnerCred <credential>`` for the runner ``req.params['id']``."""
        runner = self._runners.get(int(req.params["id"]))
        if runner is None:
            raise ApiError(404, "Runner not found", docs=False)
        scheme, _, credential = (req.headers.get("authorization") or "").partition(" ")
        if scheme != "RunnerCred" or not secrets.compare_digest(
            credential.strip(), runner.credential
        ):
            raise ApiError(401, "Invalid runner credential", docs=False)
        runner.last_seen = max(runner.last_seen, time.monotonic())
        return runner

    @staticmethod
    def _remote_auth(req: Request) -> str:
        scheme, _, token = (req.headers.get("authorization") or "").partition(" ")
        if scheme != "RemoteAuth" or not token.strip():
            raise ApiError(401, "Invalid or expired token", docs=False)
        return token.strip()

    # ----------------------------------------------------------------- routes

    def _build_routes(self) -> list[tuple[str, re.Pattern[str], Handler, str]]:
        table: list[tuple[str, str, Handler, str]] = [
            ("POST", rf"{RUNNERS}/registration-token", self._h_registration_token, "token"),
            ("POST", rf"{RUNNERS}/remove-token", self._h_remove_token, "token"),
            ("POST", rf"{RUNNERS}/generate-jitconfig", self._h_generate_jitconfig, "token"),
            ("GET", rf"{RUNNERS}/downloads", self._h_downloads, "token"),
            ("GET", RUNNERS, self._h_list_runners, "token"),
            ("GET", rf"{RUNNERS}/(?P<id>\d+)", self._h_get_runner, "token"),
            ("DELETE", rf"{RUNNERS}/(?P<id>\d+)", self._h_delete_runner, "token"),
            ("GET", rf"{RUNNERS}/(?P<id>\d+)/labels", self._h_get_labels, "token"),
            ("PUT", rf"{RUNNERS}/(?P<id>\d+)/labels", self._h_set_labels, "token"),
            ("POST", rf"{RUNNERS}/(?P<id>\d+)/labels", self._h_add_labels, "token"),
            (
                "DELETE",
                rf"{RUNNERS}/(?P<id>\d+)/labels/(?P<label>[^/]+)",
                self._h_del_label,
                "token",
            ),
            (
                "GET",
                r"/api/v3/(?P<scope>(?:orgs|enterprises)/[^/]+)/actions/runner-groups",
                self._h_runner_groups,
                "token",
            ),
            ("GET", rf"/api/v3/{SCOPE}/installation", self._h_installation, "jwt"),
            (
                "POST",
                r"/api/v3/app/installations/(?P<iid>\d+)/access_tokens",
                self._h_access_token,
                "jwt",
            ),
            ("GET", RELEASES, self._h_list_releases, "token"),
            ("POST", RELEASES, self._h_create_release, "token"),
            ("GET", rf"{RELEASES}/tags/(?P<tag>.+)", self._h_release_by_tag, "token"),
            ("GET", rf"{RELEASES}/(?P<id>\d+)", self._h_get_release, "token"),
            ("PATCH", rf"{RELEASES}/(?P<id>\d+)", self._h_update_release, "token"),
            ("DELETE", rf"{RELEASES}/(?P<id>\d+)", self._h_delete_release, "token"),
            ("GET", rf"{RELEASES}/(?P<id>\d+)/assets", self._h_list_assets, "token"),
            ("GET", rf"{RELEASES}/assets/(?P<aid>\d+)", self._h_get_asset, "token"),
            ("PATCH", rf"{RELEASES}/assets/(?P<aid>\d+)", self._h_update_asset, "token"),
            ("DELETE", rf"{RELEASES}/assets/(?P<aid>\d+)", self._h_delete_asset, "token"),
            ("POST", UPLOADS, self._h_upload_asset, "token"),
            (
                "GET",
                r"/(?P<owner>[^/_][^/]*)/(?P<repo>[^/]+)/releases/download/(?P<tag>[^/]+)/(?P<name>[^/]+)",
                self._h_browser_download,
                "none",
            ),
            ("GET", r"/_downloads/(?P<filename>[^/]+)", self._h_download, "none"),
            ("POST", r"/_runner/register", self._h_runner_register, "none"),
            ("POST", r"/_runner/jit", self._h_runner_jit, "none"),
            ("POST", r"/_runner/remove", self._h_runner_remove, "none"),
            ("POST", r"/_runner/(?P<id>\d+)/session", self._h_runner_session, "none"),
            ("GET", r"/_runner/(?P<id>\d+)/job", self._h_runner_next_job, "none"),
            ("POST", r"/_runner/(?P<id>\d+)/job/(?P<job>\d+)", self._h_runner_job_done, "none"),
            ("POST", r"/_fake/faults", self._c_faults, "none"),
            ("POST", r"/_fake/expire-tokens", self._c_expire_tokens, "none"),
            ("POST", r"/_fake/revoke-installation-tokens", self._c_revoke, "none"),
            ("POST", r"/_fake/jobs", self._c_add_job, "none"),
            ("GET", r"/_fake/jobs/(?P<id>\d+)", self._c_job, "none"),
            ("POST", r"/_fake/runners", self._c_add_runner, "none"),
            ("GET", r"/_fake/state", self._c_state, "none"),
            ("GET", r"/_fake/secrets", self._c_secrets, "none"),
        ]
        return [
            (method, re.compile(regex), handler, auth) for method, regex, handler, auth in table
        ]

    def handle(self, req: Request) -> Response:
        """Answer one request: an injected fault, a route's response, or an error."""
        try:
            with self._lock:
                fault = self._take_fault(req)
                if fault is not None:
                    return Response(fault.status, {"message": "fake fault"}, dict(fault.headers))
                method = "GET" if req.method == "HEAD" else req.method
                for route_method, pattern, handler, auth in self._routes:
                    match = pattern.fullmatch(req.path)
                    if match and route_method == method:
                        self._authorize(req, auth)
                        req.params = match.groupdict()
                        return handler(req)
                raise ApiError(404, "Not Found")
        except ApiError as err:
            body: dict[str, Any] = {"message": err.message}
            if err.errors:
                body["errors"] = err.errors
            if err.docs:
                body["documentation_url"] = DOCS_URL
            return Response(err.status, body, err.headers)
        except Exception as err:  # a bug in the fake: say so loudly, as a 500
            traceback.print_exc()
            return Response(500, {"message": f"fake internal error: {err!r}"})

    def _take_fault(self, req: Request) -> _Fault | None:
        if req.path.startswith("/_fake/"):
            return None
        for fault in self._faults:
            if (
                fault.remaining > 0
                and fault.method in ("*", req.method)
                and fault.regex.search(req.path)
            ):
                fault.remaining -= 1
                return fault
        return None

    def record(self, method: str, path: str, status: int) -> None:
        """Record a served request (not ``/_fake/`` ones)."""
        if not path.startswith("/_fake/"):
            with self._lock:
                self._requests.append((method, path, status))

    # ----------------------------------------------------------------- REST handlers

    def _h_registration_token(self, req: Request) -> Response:
        return Response(201, self._issue_token(_norm_scope(req.params["scope"]), "registration"))

    def _h_remove_token(self, req: Request) -> Response:
        return Response(201, self._issue_token(_norm_scope(req.params["scope"]), "remove"))

    def _h_generate_jitconfig(self, req: Request) -> Response:
        scope = _norm_scope(req.params["scope"])
        body = req.body()
        name = _check_name(body.get("name"))
        labels = _check_labels(body.get("labels"), least=1)
        group_id = body.get("runner_group_id")
        groups = {g["id"]: g for g in _groups(scope)}
        if not isinstance(group_id, int) or group_id not in groups:
            raise ApiError(422, f"Invalid request.\n\nNo runner group with id {group_id!r}.")
        work_folder = body.get("work_folder") or "_work"
        if self._find(scope, name) is not None:
            raise ApiError(409, f"Already exists - A runner with the name {name} already exists.")
        runner = self._create_runner(
            scope,
            name,
            os_name="Linux",
            arch="X64",
            group_id=group_id,
            ephemeral=True,
            read_only=[label for label in labels if label.lower() in READ_ONLY_LABELS],
            custom=[label for label in labels if label.lower() not in READ_ONLY_LABELS],
        )
        settings = {
            "agentId": runner.id,
            "agentName": runner.name,
            "poolId": group_id,
            "poolName": groups[group_id]["name"],
            "serverUrl": f"{req.base_url}/",
            "gitHubUrl": f"{req.base_url}/{_scope_path(scope)}",
            "workFolder": work_folder,
            "ephemeral": True,
            "disableUpdate": True,
        }
        credentials = {"scheme": "OAuth", "data": {"clientId": str(uuid.uuid4())}}
        encoded = _b64json({".runner": _b64json(settings), ".credentials": _b64json(credentials)})
        self._jit[self._issue_secret(encoded)] = runner.id
        return Response(201, {"runner": self._runner_view(runner), "encoded_jit_config": encoded})

    def _h_list_runners(self, req: Request) -> Response:
        scope = _norm_scope(req.params["scope"])
        per_page = min(max(_int(req.query.get("per_page"), 30), 1), 100)
        page = max(_int(req.query.get("page"), 1), 1)
        items = self._scope_runners(scope)
        name = req.query.get("name")
        if name:
            items = [r for r in items if r.name.lower() == name.lower()]
        pages = max(1, math.ceil(len(items) / per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        headers: dict[str, str] = {}
        if pages > 1:

            def link(p: int, rel: str) -> str:
                query = {"per_page": str(per_page), "page": str(p)}
                if name:
                    query["name"] = name
                return f'<{req.base_url}{req.path}?{urllib.parse.urlencode(query)}>; rel="{rel}"'

            links = []
            if page > 1:
                links.append(link(min(page - 1, pages), "prev"))
            if page < pages:
                links += [link(page + 1, "next"), link(pages, "last")]
            if page > 1:
                links.append(link(1, "first"))
            headers["Link"] = ", ".join(links)
        body = {"total_count": len(items), "runners": [self._runner_view(r) for r in chunk]}
        return Response(200, body, headers)

    def _h_get_runner(self, req: Request) -> Response:
        return Response(200, self._runner_view(self._runner_in(req)))

    def _h_delete_runner(self, req: Request) -> Response:
        self._delete_runner(self._runner_in(req))
        return Response(204)

    def _labels_response(self, runner: _Runner) -> Response:
        labels = self._labels_view(runner)
        return Response(200, {"total_count": len(labels), "labels": labels})

    def _h_get_labels(self, req: Request) -> Response:
        return self._labels_response(self._runner_in(req))

    def _h_set_labels(self, req: Request) -> Response:
        runner = self._runner_in(req)
        labels = _check_labels(req.body().get("labels"), least=0)
        read_only = {r.lower() for r in runner.read_only}
        runner.custom = [label for label in labels if label.lower() not in read_only]
        return self._labels_response(runner)

    def _h_add_labels(self, req: Request) -> Response:
        runner = self._runner_in(req)
        labels = _check_labels(req.body().get("labels"), least=1)
        known = {r.lower() for r in runner.read_only + runner.custom}
        runner.custom += [label for label in labels if label.lower() not in known]
        return self._labels_response(runner)

    def _h_del_label(self, req: Request) -> Response:
        runner = self._runner_in(req)
        name = urllib.parse.unquote(req.params["label"])
        if name.lower() in {r.lower() for r in runner.read_only}:
            raise ApiError(422, f"Cannot remove read-only label {name}.")
        remaining = [c for c in runner.custom if c.lower() != name.lower()]
        if len(remaining) == len(runner.custom):
            raise ApiError(404, "Not Found")
        runner.custom = remaining
        return self._labels_response(runner)

    def _h_downloads(self, req: Request) -> Response:
        return Response(200, self._download_entries(req.base_url))

    def _h_runner_groups(self, req: Request) -> Response:
        scope = _norm_scope(req.params["scope"])
        groups_url = f"{req.base_url}/api/v3/{scope}/actions/runner-groups"
        groups = [
            {
                **group,
                "visibility": "all",
                "inherited": False,
                "allows_public_repositories": False,
                "restricted_to_workflows": False,
                "selected_workflows": [],
                "runners_url": f"{groups_url}/{group['id']}/runners",
            }
            for group in _groups(scope)
        ]
        return Response(200, {"total_count": len(groups), "runner_groups": groups})

    def _h_installation(self, req: Request) -> Response:
        scope = _norm_scope(req.params["scope"])
        login = scope.split("/")[1]
        app_id: int | str = (
            int(self.app_id) if self.app_id and self.app_id.isdigit() else str(self.app_id)
        )
        return Response(
            200,
            {
                "id": self.installation_id,
                "app_id": app_id,
                "account": {"login": login},
                "target_type": "Enterprise" if scope.startswith("enterprises/") else "Organization",
            },
        )

    def _h_access_token(self, req: Request) -> Response:
        if int(req.params["iid"]) != self.installation_id:
            raise ApiError(404, "Not Found")
        expires = _now() + timedelta(seconds=self.token_ttl)
        token = self._issue_secret("ghs_" + _random(36, string.ascii_letters + string.digits))
        self._installation_tokens[token] = expires
        body = {
            "token": token,
            "expires_at": _iso_z(expires),
            "permissions": {"administration": "write", "organization_self_hosted_runners": "write"},
            "repository_selection": "all",
        }
        return Response(201, body)

    def _h_download(self, req: Request) -> Response:
        data = self._downloads.get(req.params["filename"])
        if data is None:
            raise ApiError(404, "Not Found", docs=False)
        content_type = "application/zip" if req.path.endswith(".zip") else "application/gzip"
        return Response(200, data, content_type=content_type)

    # ----------------------------------------------------------------- release handlers

    def _asset_view(self, asset_id: int, base_url: str) -> dict[str, Any]:
        release_id, meta, data = self._assets[asset_id]
        release = self._releases[release_id]
        owner_repo = _scope_path(release["scope"])
        view = {
            "id": asset_id,
            "url": f"{base_url}/api/v3/{release['scope']}/releases/assets/{asset_id}",
            "browser_download_url": (
                f"{base_url}/{owner_repo}/releases/download/{release['tag_name']}/{meta['name']}"
            ),
            "name": meta["name"],
            "label": meta.get("label") or "",
            "state": "uploaded",
            "content_type": meta["content_type"],
            "size": len(data),
            "digest": f"sha256:{hashlib.sha256(data).hexdigest()}" if self.asset_digests else None,
            "download_count": meta.get("download_count", 0),
            "created_at": meta["created_at"],
            "updated_at": meta["created_at"],
        }
        return view

    def _release_view(self, release: dict[str, Any], base_url: str) -> dict[str, Any]:
        rid, scope = release["id"], release["scope"]
        owner_repo = _scope_path(scope)
        assets = sorted(a for a, (r, _, _) in self._assets.items() if r == rid)
        tag_or_untagged = release["tag_name"] if not release["draft"] else f"untagged-{rid}"
        return {
            "id": rid,
            "url": f"{base_url}/api/v3/{scope}/releases/{rid}",
            "assets_url": f"{base_url}/api/v3/{scope}/releases/{rid}/assets",
            "upload_url": f"{base_url}/api/uploads/{scope}/releases/{rid}/assets{{?name,label}}",
            "html_url": f"{base_url}/{owner_repo}/releases/tag/{tag_or_untagged}",
            "tag_name": release["tag_name"],
            "target_commitish": release["target_commitish"],
            "name": release["name"],
            "body": release["body"],
            "draft": release["draft"],
            "prerelease": release["prerelease"],
            "created_at": release["created_at"],
            "published_at": release["published_at"],
            "assets": [self._asset_view(a, base_url) for a in assets],
        }

    def _release_in(self, req: Request) -> dict[str, Any]:
        scope = _norm_scope(req.params["scope"])
        release = self._releases.get(int(req.params["id"]))
        if release is None or release["scope"] != scope:
            raise ApiError(404, "Not Found")
        return release

    def _asset_in(self, req: Request) -> int:
        scope = _norm_scope(req.params["scope"])
        asset_id = int(req.params["aid"])
        entry = self._assets.get(asset_id)
        if entry is None or self._releases[entry[0]]["scope"] != scope:
            raise ApiError(404, "Not Found")
        return asset_id

    @staticmethod
    def _page(req: Request, items: list[Any]) -> tuple[list[Any], dict[str, str]]:
        per_page = min(max(_int(req.query.get("per_page"), 30), 1), 100)
        page = max(_int(req.query.get("page"), 1), 1)
        pages = max(1, math.ceil(len(items) / per_page))
        links = []

        def link(p: int, rel: str) -> str:
            query = urllib.parse.urlencode({"per_page": per_page, "page": p})
            return f'<{req.base_url}{req.path}?{query}>; rel="{rel}"'

        if page < pages:
            links += [link(page + 1, "next"), link(pages, "last")]
        if page > 1:
            links += [link(page - 1, "prev"), link(1, "first")]
        headers = {"Link": ", ".join(links)} if links else {}
        return items[(page - 1) * per_page : page * per_page], headers

    @staticmethod
    def _validation_failed(resource: str, field: str, code: str) -> ApiError:
        return ApiError(
            422, "Validation Failed", errors=[{"resource": resource, "code": code, "field": field}]
        )

    def _check_release_fields(self, scope: str, body: dict[str, Any], rid: int | None) -> None:
        for key in ("name", "body", "target_commitish"):
            if key in body and body[key] is not None and not isinstance(body[key], str):
                raise ApiError(
                    422, f"Invalid request.\n\nFor '{key}', {body[key]!r} is not a string."
                )
        for key in ("draft", "prerelease"):
            if key in body and not isinstance(body[key], bool):
                raise ApiError(
                    422, f"Invalid request.\n\nFor '{key}', {body[key]!r} is not a boolean."
                )

    def _published_with_tag(self, scope: str, tag: str, other_than: int | None) -> bool:
        return any(
            r["scope"] == scope
            and r["tag_name"] == tag
            and not r["draft"]
            and r["id"] != other_than
            for r in self._releases.values()
        )

    def _h_list_releases(self, req: Request) -> Response:
        scope = _norm_scope(req.params["scope"])
        items = sorted(
            (r for r in self._releases.values() if r["scope"] == scope),
            key=lambda r: r["id"],
            reverse=True,
        )
        chunk, headers = self._page(req, items)
        return Response(200, [self._release_view(r, req.base_url) for r in chunk], headers)

    def _h_create_release(self, req: Request) -> Response:
        scope = _norm_scope(req.params["scope"])
        body = req.body()
        tag = body.get("tag_name")
        if not isinstance(tag, str) or not tag or re.search(r"[\s~^:?*\[\\]|\.\.|//", tag):
            raise self._validation_failed("Release", "tag_name", "invalid")
        self._check_release_fields(scope, body, None)
        draft = bool(body.get("draft", False))
        if not draft and self._published_with_tag(scope, tag, None):
            raise self._validation_failed("Release", "tag_name", "already_exists")
        now = _iso_z(_now())
        release = {
            "id": self._new_id(),
            "scope": scope,
            "tag_name": tag,
            "target_commitish": body.get("target_commitish") or "main",
            "name": body.get("name") or tag,
            "body": body.get("body") or "",
            "draft": draft,
            "prerelease": bool(body.get("prerelease", False)),
            "created_at": now,
            "published_at": None if draft else now,
        }
        self._releases[release["id"]] = release
        return Response(201, self._release_view(release, req.base_url))

    def _h_release_by_tag(self, req: Request) -> Response:
        scope = _norm_scope(req.params["scope"])
        tag = urllib.parse.unquote(req.params["tag"])
        for release in sorted(self._releases.values(), key=lambda r: r["id"]):
            if release["scope"] == scope and release["tag_name"] == tag and not release["draft"]:
                return Response(200, self._release_view(release, req.base_url))
        raise ApiError(404, "Not Found")

    def _h_get_release(self, req: Request) -> Response:
        return Response(200, self._release_view(self._release_in(req), req.base_url))

    def _h_update_release(self, req: Request) -> Response:
        release = self._release_in(req)
        body = req.body()
        self._check_release_fields(release["scope"], body, release["id"])
        tag = body.get("tag_name", release["tag_name"])
        draft = bool(body.get("draft", release["draft"]))
        if not draft and self._published_with_tag(release["scope"], tag, release["id"]):
            raise self._validation_failed("Release", "tag_name", "already_exists")
        for key in ("name", "body", "target_commitish", "prerelease"):
            if key in body and body[key] is not None:
                release[key] = body[key]
        release["tag_name"] = tag
        if release["draft"] and not draft:
            release["published_at"] = _iso_z(_now())
        release["draft"] = draft
        return Response(200, self._release_view(release, req.base_url))

    def _h_delete_release(self, req: Request) -> Response:
        release = self._release_in(req)
        for asset_id in [a for a, (r, _, _) in self._assets.items() if r == release["id"]]:
            del self._assets[asset_id]
        del self._releases[release["id"]]
        return Response(204)

    def _h_list_assets(self, req: Request) -> Response:
        release = self._release_in(req)
        ids = sorted(a for a, (r, _, _) in self._assets.items() if r == release["id"])
        chunk, headers = self._page(req, ids)
        return Response(200, [self._asset_view(a, req.base_url) for a in chunk], headers)

    def _h_get_asset(self, req: Request) -> Response:
        asset_id = self._asset_in(req)
        if "application/octet-stream" in req.headers.get("accept", ""):
            _, meta, data = self._assets[asset_id]
            meta["download_count"] = meta.get("download_count", 0) + 1
            return Response(200, data, content_type="application/octet-stream")
        return Response(200, self._asset_view(asset_id, req.base_url))

    def _h_update_asset(self, req: Request) -> Response:
        asset_id = self._asset_in(req)
        release_id, meta, _ = self._assets[asset_id]
        body = req.body()
        name = body.get("name")
        if name is not None and name != meta["name"]:
            if any(r == release_id and m["name"] == name for r, m, _ in self._assets.values()):
                raise self._validation_failed("ReleaseAsset", "name", "already_exists")
            meta["name"] = str(name)
        if "label" in body:
            meta["label"] = str(body["label"] or "")
        return Response(200, self._asset_view(asset_id, req.base_url))

    def _h_delete_asset(self, req: Request) -> Response:
        del self._assets[self._asset_in(req)]
        return Response(204)

    def _h_upload_asset(self, req: Request) -> Response:
        release = self._release_in(req)
        name = req.query.get("name")
        if not name:
            raise ApiError(422, "Bad Content-Length or name parameter missing")
        if not req.headers.get("content-type"):
            raise ApiError(422, "Bad Content-Type")
        # GitHub renames special characters in asset names to dots.
        name = re.sub(r"[^A-Za-z0-9._+-]", ".", name)
        if any(r == release["id"] and m["name"] == name for r, m, _ in self._assets.values()):
            raise self._validation_failed("ReleaseAsset", "name", "already_exists")
        meta = {
            "name": name,
            "label": req.query.get("label") or "",
            "content_type": req.headers["content-type"],
            "created_at": _iso_z(_now()),
        }
        asset_id = self._new_id()
        self._assets[asset_id] = (release["id"], meta, req.raw_body)
        return Response(201, self._asset_view(asset_id, req.base_url))

    def _h_browser_download(self, req: Request) -> Response:
        scope = _norm_scope(f"repos/{req.params['owner']}/{req.params['repo']}")
        tag, name = req.params["tag"], urllib.parse.unquote(req.params["name"])
        for release_id, meta, data in self._assets.values():
            release = self._releases[release_id]
            if (
                release["scope"] == scope
                and release["tag_name"] == tag
                and not release["draft"]
                and meta["name"] == name
            ):
                meta["download_count"] = meta.get("download_count", 0) + 1
                return Response(200, data, content_type="application/octet-stream")
        raise ApiError(404, "Not Found", docs=False)

    # ----------------------------------------------------------------- runner-side handlers

    def _h_runner_register(self, req: Request) -> Response:
        token = self._remote_auth(req)
        body = req.body()
        scope = _scope_from_url(str(body.get("url") or ""))
        if scope is None:
            raise ApiError(
                404, f"'{body.get('url')}' should point to an org or repository.", docs=False
            )
        if self._valid_token(token, "registration", scope) is None:
            raise ApiError(401, "Invalid or expired token", docs=False)
        name = _check_name(body.get("name"))
        custom = _check_labels(list(body.get("labels") or []), least=0)
        group_name = str(body.get("runner_group") or "Default")
        group = next((g for g in _groups(scope) if g["name"].lower() == group_name.lower()), None)
        if group is None:
            raise ApiError(
                404,
                f'Could not find any self-hosted runner group named "{group_name}".',
                docs=False,
            )
        os_name, arch = str(body.get("os") or "Linux"), str(body.get("arch") or "X64")
        ephemeral = bool(body.get("ephemeral"))
        existing = self._find(scope, name)
        if existing is not None and not body.get("replace"):
            raise ApiError(409, f"A runner exists with the same name {name}.", docs=False)
        if existing is not None:
            # Replaced in place, as GitHub does: same id, new credential and settings.
            runner = existing
            read_only = _os_arch_labels(os_name, arch)
            runner.os, runner.arch, runner.group_id, runner.ephemeral = (
                os_name,
                arch,
                group["id"],
                ephemeral,
            )
            runner.read_only = read_only
            runner.custom = [c for c in custom if c.lower() not in {r.lower() for r in read_only}]
            runner.credential = self._issue_secret(
                _random(40, string.ascii_letters + string.digits)
            )
            runner.session, runner.busy = "offline", False
        else:
            runner = self._create_runner(
                scope,
                name,
                os_name=os_name,
                arch=arch,
                group_id=group["id"],
                ephemeral=ephemeral,
                read_only=_os_arch_labels(os_name, arch),
                custom=custom,
            )
        return Response(
            201,
            {
                "id": runner.id,
                "name": runner.name,
                "credential": runner.credential,
                "runner_group_id": group["id"],
                "runner_group_name": group["name"],
                "replaced": existing is not None,
            },
        )

    def _h_runner_jit(self, req: Request) -> Response:
        encoded = str(req.body().get("encoded_jit_config") or "")
        runner_id = self._jit.get(encoded)
        runner = self._runners.get(runner_id) if runner_id is not None else None
        if runner is None or encoded in self._jit_used:
            raise ApiError(401, "Invalid or already used JIT configuration", docs=False)
        self._jit_used.add(encoded)
        return Response(
            200, {"id": runner.id, "name": runner.name, "credential": runner.credential}
        )

    def _h_runner_remove(self, req: Request) -> Response:
        token = self._valid_token(self._remote_auth(req), "remove", None)
        if token is None:
            raise ApiError(401, "Invalid or expired token", docs=False)
        body = req.body()
        runner = self._runners.get(_int(body.get("id"), 0))
        if runner is None or runner.scope != token.scope:
            raise ApiError(404, "Runner not found", docs=False)
        credential = body.get("credential")
        if credential is not None and not secrets.compare_digest(
            str(credential), runner.credential
        ):
            raise ApiError(401, "Invalid runner credential", docs=False)
        self._delete_runner(runner)
        return Response(204)

    def _h_runner_session(self, req: Request) -> Response:
        runner = self._runner_credential(req)
        status = req.body().get("status")
        if status not in ("online", "offline"):
            raise ApiError(422, "status must be online or offline", docs=False)
        runner.session = str(status)
        return Response(200, {"id": runner.id, "status": self._status(runner)})

    def _h_runner_next_job(self, req: Request) -> Response:
        runner = self._runner_credential(req)
        runner.session = "online"
        if runner.busy:
            return Response(204)
        for job in sorted(self._jobs.values(), key=lambda j: j.id):
            if (
                job.status == "queued"
                and job.scope == runner.scope
                and job.runner_name.lower() == runner.name.lower()
            ):
                job.status, job.runner_id, runner.busy = "in_progress", runner.id, True
                return Response(200, {"id": job.id, "run": job.run})
        return Response(204)

    def _h_runner_job_done(self, req: Request) -> Response:
        runner = self._runner_credential(req)
        job = self._jobs.get(int(req.params["job"]))
        if job is None or job.runner_id != runner.id:
            raise ApiError(404, "Job not found", docs=False)
        body = req.body()
        result = body.get("result")
        if result not in ("succeeded", "failed"):
            raise ApiError(422, "result must be succeeded or failed", docs=False)
        job.status, job.result, job.output = "completed", str(result), str(body.get("output") or "")
        runner.busy = False
        if runner.ephemeral:
            del self._runners[runner.id]
        return Response(200, self._job_view(job))

    # ----------------------------------------------------------------- control handlers

    def _c_faults(self, req: Request) -> Response:
        body = req.body()
        self.fail(
            str(body.get("method") or "*"),
            str(body["path_regex"]),
            int(body["status"]),
            int(body.get("count") or 1),
            body.get("headers") or {},
        )
        return Response(201, {})

    def _c_expire_tokens(self, req: Request) -> Response:
        self.expire_next_tokens(int(req.body().get("count") or 1))
        return Response(200, {})

    def _c_revoke(self, req: Request) -> Response:
        self.revoke_installation_tokens()
        return Response(200, {})

    def _c_add_job(self, req: Request) -> Response:
        body = req.body()
        try:
            job_id = self.add_job(
                str(body["scope"]), str(body["runner_name"]), str(body.get("run", "true"))
            )
        except (KeyError, ValueError) as err:
            raise ApiError(422, f"bad job: {err}", docs=False) from None
        return Response(201, {"id": job_id})

    def _c_job(self, req: Request) -> Response:
        job = self._jobs.get(int(req.params["id"]))
        if job is None:
            raise ApiError(404, "Job not found", docs=False)
        return Response(200, self._job_view(job))

    def _c_add_runner(self, req: Request) -> Response:
        body = req.body()
        try:
            view = self.add_runner(
                str(body["scope"]),
                str(body["name"]),
                labels=list(body.get("labels") or []),
                runner_group_id=int(body.get("runner_group_id") or 1),
                ephemeral=bool(body.get("ephemeral")),
                status=str(body.get("status") or "offline"),
            )
        except (KeyError, ValueError) as err:
            raise ApiError(422, f"bad runner: {err}", docs=False) from None
        return Response(201, view)

    def _c_state(self, req: Request) -> Response:
        return Response(200, self.state())

    def _c_secrets(self, req: Request) -> Response:
        return Response(200, {"secrets": sorted(self._secrets)})


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _load_public_key(pem: str | bytes) -> rsa.RSAPublicKey:
    data = pem.encode() if isinstance(pem, str) else pem
    if b"PRIVATE KEY" in data:
        key: Any = serialization.load_pem_private_key(data, password=None).public_key()
    else:
        key = serialization.load_pem_public_key(data)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the GitHub App key must be an RSA key")
    return key


# --------------------------------------------------------------------------- HTTP


class _HTTPHandler(BaseHTTPRequestHandler):
    server_version = "FakeGitHub/1.0"
    protocol_version = "HTTP/1.0"

    def _serve(self) -> None:
        fake: FakeGitHub = self.server.fake  # type: ignore[attr-defined]
        split = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length > 0 else b""
        host = self.headers.get("Host") or urllib.parse.urlsplit(fake.url).netloc
        req = Request(
            method=self.command,
            path=split.path,
            query=dict(urllib.parse.parse_qsl(split.query)),
            headers={key.lower(): value for key, value in self.headers.items()},
            raw_body=raw_body,
            base_url=f"http://{host}",
        )
        resp = fake.handle(req)
        if isinstance(resp.body, bytes):
            payload = resp.body
        elif resp.body is None:
            payload = b""
        else:
            payload = json.dumps(resp.body, indent=2).encode()
        fake.record(self.command, split.path, resp.status)
        self.send_response(resp.status)
        if resp.status != 204:
            self.send_header("Content-Type", resp.content_type)
            self.send_header("Content-Length", str(len(payload)))
        for key, value in resp.headers.items():
            self.send_header(key, value)
        self.end_headers()
        if payload and self.command != "HEAD" and resp.status != 204:
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:
        if os.environ.get("FAKE_GITHUB_VERBOSE"):
            # The request line without its query string; never a header.
            sys.stderr.write(
                f"fake-github: {self.command} {urllib.parse.urlsplit(self.path).path}\n"
            )


# --------------------------------------------------------------------------- CLI


@contextlib.contextmanager
def _terminated_by_signals() -> Iterator[None]:
    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the fake in the foreground until SIGTERM/SIGINT; print ``READY URL`` when listening."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.github_api", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", action="append", dest="tokens", help="accepted PAT (repeatable)")
    parser.add_argument("--state-dir", type=Path)
    parser.add_argument("--app-id")
    parser.add_argument("--app-public-key", type=Path, help="PEM file of the GitHub App's key")
    parser.add_argument("--runner-version", default="2.329.0")
    parser.add_argument("--token-ttl", type=int, default=3600)
    args = parser.parse_args(argv)
    fake = FakeGitHub(
        host=args.host,
        port=args.port,
        tokens=args.tokens or ("test-pat",),
        app_id=args.app_id,
        app_public_key_pem=args.app_public_key.read_bytes() if args.app_public_key else None,
        runner_version=args.runner_version,
        token_ttl=args.token_ttl,
        state_dir=args.state_dir,
    )
    with _terminated_by_signals():
        fake.start()
        try:
            if args.state_dir:
                info = {"url": fake.url, "api_url": fake.api_url, "pid": os.getpid()}
                (args.state_dir / "server.json").write_text(json.dumps(info, indent=2) + "\n")
            print(f"READY {fake.url}", flush=True)
            while True:
                time.sleep(3600)
        except (SystemExit, KeyboardInterrupt):
            pass
        finally:
            fake.stop()
            if args.state_dir:
                (args.state_dir / "state.json").write_text(
                    json.dumps(fake.state(), indent=2) + "\n"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
