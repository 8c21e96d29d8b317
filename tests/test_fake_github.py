"""The fake GitHub and the fixture runner must behave like GitHub and actions/runner do.

The Python client and the runner role are tested against ``tests/fakes/github_api.py`` and the
runner package it serves (``tests/fakes/runner``), so these tests pin down the behaviour they rely
on: pagination with ``Link`` headers past 100 runners, ``401`` on bad or expired credentials,
injected faults, single-use JIT configurations, labels, download checksums, GitHub App JWTs, and
the fixture runner's register / run a job / go offline / remove cycle on this machine.
(``svc.sh`` needs systemd: the role's container tests cover it.)
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import signal
import stat
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.fakes.github_api import RUNNER_SOURCE, FakeGitHub, build_runner_tarball
from tests.helpers import PROJECT

PAT = "test-pat"
REPO = "repos/octo/widgets"
ORG = "orgs/octo"
APP_ID = 4242

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# --------------------------------------------------------------------------- helpers


def call(
    gh: FakeGitHub,
    method: str,
    path: str,
    body: Any = None,
    *,
    auth: str | None = f"Bearer {PAT}",
) -> tuple[int, Any, dict[str, str]]:
    """Send a request to the fake (``path`` relative to the API base, or a full URL)."""
    if path.startswith("http"):
        url = path
    elif path.startswith("/_"):
        url = gh.url + path
    else:
        url = gh.api_url + path
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if auth:
        request.add_header("Authorization", auth)
    try:
        with _OPENER.open(request, timeout=10) as response:
            raw = response.read()
            status, headers = response.status, dict(response.headers)
    except urllib.error.HTTPError as err:
        raw, status, headers = err.read(), err.code, dict(err.headers)
    ctype = headers.get("Content-Type", "")
    parsed = json.loads(raw) if raw and ctype.startswith("application/json") else raw
    return status, parsed, headers


def links(header: str) -> dict[str, str]:
    """Parse a ``Link`` header into ``{rel: url}``."""
    return {rel: url for url, rel in re.findall(r'<([^>]+)>;\s*rel="([^"]+)"', header)}


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(
    key: rsa.RSAPrivateKey, app_id: int | str, *, iat: int | None = None, life: int = 600
) -> str:
    issued = int(time.time()) - 60 if iat is None else iat
    header = b64url(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    claims = {"iat": issued, "exp": issued + life, "iss": str(app_id)}
    payload = b64url(json.dumps(claims).encode())
    signature = key.sign(f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{payload}.{b64url(signature)}"


def registration_token(gh: FakeGitHub, scope: str = REPO) -> str:
    status, body, _ = call(gh, "POST", f"/{scope}/actions/runners/registration-token")
    assert status == 201, body
    return str(body["token"])


def register(gh: FakeGitHub, name: str, scope: str = REPO, **extra: Any) -> dict[str, Any]:
    """Register a runner through the runner-side endpoint, as config.sh does."""
    token = registration_token(gh, scope)
    owner_repo = scope.split("/", 1)[1]
    body = {"url": f"{gh.url}/{owner_repo}", "name": name, "labels": [], **extra}
    status, registered, _ = call(gh, "POST", "/_runner/register", body, auth=f"RemoteAuth {token}")
    assert status == 201, registered
    return dict(registered)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def gh() -> Iterator[FakeGitHub]:
    with FakeGitHub(tokens=(PAT,)) as fake:
        yield fake


@pytest.fixture(scope="module")
def app_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def app_gh(app_key: rsa.RSAPrivateKey) -> Iterator[FakeGitHub]:
    public = app_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with FakeGitHub(tokens=(PAT,), app_id=APP_ID, app_public_key_pem=public) as fake:
        yield fake


# --------------------------------------------------------------------------- REST API


def test_registration_and_remove_tokens_look_like_githubs(gh: FakeGitHub) -> None:
    for kind in ("registration-token", "remove-token"):
        status, body, _ = call(gh, "POST", f"/{REPO}/actions/runners/{kind}")
        assert status == 201
        assert re.fullmatch(r"[A-Z0-9]{29}", body["token"])
        expires = datetime.fromisoformat(body["expires_at"])
        assert expires.utcoffset() is not None
        assert 3500 < expires.timestamp() - time.time() <= 3600
        assert body["token"] in gh.issued_secrets()


def test_bad_or_missing_credentials_get_401(gh: FakeGitHub) -> None:
    status, body, _ = call(gh, "GET", f"/{REPO}/actions/runners", auth="Bearer wrong")
    assert (status, body["message"]) == (401, "Bad credentials")
    assert body["documentation_url"].startswith("https://docs.github.com")
    status, body, _ = call(gh, "GET", f"/{REPO}/actions/runners", auth=None)
    assert (status, body["message"]) == (401, "Requires authentication")
    status, _, _ = call(gh, "GET", f"/{REPO}/actions/runners", auth=f"token {PAT}")
    assert status == 200
    # The Authorization header is never recorded; paths are, without query strings.
    assert ("GET", f"/api/v3/{REPO}/actions/runners", 401) in gh.requests
    assert "wrong" not in repr(gh.requests)


def test_pagination_past_100_runners_follows_link_headers(gh: FakeGitHub) -> None:
    for i in range(150):
        gh.add_runner(REPO, f"runner-{i:03d}", labels=["gpu"])
    status, page1, headers = call(gh, "GET", f"/{REPO}/actions/runners?per_page=100")
    assert status == 200
    assert page1["total_count"] == 150
    assert len(page1["runners"]) == 100
    rels = links(headers["Link"])
    assert set(rels) == {"next", "last"}
    assert rels["next"].startswith(f"{gh.api_url}/{REPO}/actions/runners?")
    assert "page=2" in rels["next"]
    assert "per_page=100" in rels["next"]

    status, page2, headers = call(gh, "GET", rels["next"])
    assert status == 200
    assert len(page2["runners"]) == 50
    assert set(links(headers["Link"])) == {"prev", "first"}
    ids = [r["id"] for r in page1["runners"] + page2["runners"]]
    assert ids == sorted(ids)
    assert len(set(ids)) == 150

    # GitHub's default page size is 30; the last page is linked.
    _, body, headers = call(gh, "GET", f"/{REPO}/actions/runners")
    assert len(body["runners"]) == 30
    assert "page=5" in links(headers["Link"])["last"]
    # A page in the middle links all four ways.
    _, _, headers = call(gh, "GET", f"/{REPO}/actions/runners?per_page=30&page=3")
    assert set(links(headers["Link"])) == {"prev", "next", "last", "first"}
    # One page: no Link header. The name filter works like GitHub's.
    _, body, headers = call(gh, "GET", f"/{REPO}/actions/runners?name=runner-007")
    assert body["total_count"] == 1
    assert body["runners"][0]["name"] == "runner-007"
    assert "Link" not in headers
    # Scopes are separate.
    _, body, _ = call(gh, "GET", f"/{ORG}/actions/runners")
    assert body == {"total_count": 0, "runners": []}


def test_expired_tokens_are_refused(gh: FakeGitHub) -> None:
    gh.expire_next_tokens(1)
    status, body, _ = call(gh, "POST", f"/{REPO}/actions/runners/registration-token")
    assert status == 201
    assert datetime.fromisoformat(body["expires_at"]).timestamp() < time.time()
    register_body = {"url": f"{gh.url}/octo/widgets", "name": "r1"}
    status, err, _ = call(
        gh, "POST", "/_runner/register", register_body, auth=f"RemoteAuth {body['token']}"
    )
    assert (status, err["message"]) == (401, "Invalid or expired token")
    # The next token is good, and reusable until it expires (as GitHub's are).
    token = registration_token(gh)
    for name in ("r1", "r2"):
        status, _, _ = call(
            gh,
            "POST",
            "/_runner/register",
            {**register_body, "name": name},
            auth=f"RemoteAuth {token}",
        )
        assert status == 201
    # A token of another scope, or a remove token, does not register.
    other = registration_token(gh, ORG)
    status, _, _ = call(gh, "POST", "/_runner/register", register_body, auth=f"RemoteAuth {other}")
    assert status == 401


def test_faults_answer_the_next_matching_requests(gh: FakeGitHub) -> None:
    gh.fail("GET", r"/actions/runners$", 500, count=2)
    path = f"/{REPO}/actions/runners?per_page=5"
    assert call(gh, "GET", path)[:2] == (500, {"message": "fake fault"})
    assert call(gh, "GET", path)[0] == 500
    assert call(gh, "GET", path)[0] == 200
    gh.fail("POST", r"registration-token", 403, headers={"retry-after": "0"})
    status, _, headers = call(gh, "POST", f"/{REPO}/actions/runners/registration-token")
    assert status == 403
    assert headers["retry-after"] == "0"
    assert call(gh, "POST", f"/{REPO}/actions/runners/registration-token")[0] == 201
    statuses = [s for m, p, s in gh.requests if p == f"/api/v3/{REPO}/actions/runners"]
    assert statuses == [500, 500, 200]


def test_jit_configs_are_single_use(gh: FakeGitHub) -> None:
    body = {"name": "jit-1", "runner_group_id": 1, "labels": ["self-hosted", "gpu"]}
    status, jit, _ = call(gh, "POST", f"/{REPO}/actions/runners/generate-jitconfig", body)
    assert status == 201
    runner = jit["runner"]
    assert (runner["name"], runner["status"], runner["ephemeral"]) == ("jit-1", "offline", True)
    assert [(label["name"], label["type"]) for label in runner["labels"]] == [
        ("self-hosted", "read-only"),
        ("gpu", "custom"),
    ]
    assert [r["name"] for r in gh.runners(REPO)] == ["jit-1"]
    encoded = jit["encoded_jit_config"]
    settings = json.loads(base64.b64decode(json.loads(base64.b64decode(encoded))[".runner"]))
    assert settings["agentId"] == runner["id"]
    assert settings["gitHubUrl"] == f"{gh.url}/octo/widgets"

    exchange = {"encoded_jit_config": encoded}
    status, creds, _ = call(gh, "POST", "/_runner/jit", exchange, auth=None)
    assert (status, creds["id"]) == (200, runner["id"])
    assert call(gh, "POST", "/_runner/jit", exchange, auth=None)[0] == 401
    assert {encoded, creds["credential"]} <= gh.issued_secrets()

    assert call(gh, "POST", f"/{REPO}/actions/runners/generate-jitconfig", body)[0] == 409
    bad_bodies = [
        {**body, "name": "jit-2", "labels": []},
        {**body, "name": "jit-2", "labels": ["has space"]},
        {**body, "name": "jit-2", "labels": ["a,b"]},
        {**body, "name": "jit-2", "labels": ["x" * 257]},
        {**body, "name": "has space"},
        {**body, "name": "jit-2", "runner_group_id": 2},  # repos have the Default group only
    ]
    for bad in bad_bodies:
        assert call(gh, "POST", f"/{REPO}/actions/runners/generate-jitconfig", bad)[0] == 422, bad
    org_body = {**body, "runner_group_id": 2}
    assert call(gh, "POST", f"/{ORG}/actions/runners/generate-jitconfig", org_body)[0] == 201


def test_labels_put_post_delete(gh: FakeGitHub) -> None:
    runner_id = gh.add_runner(REPO, "r1", labels=["old"])["id"]
    base = f"/{REPO}/actions/runners/{runner_id}/labels"

    def names(body: dict[str, Any]) -> list[tuple[str, str]]:
        assert body["total_count"] == len(body["labels"])
        return [(label["name"], label["type"]) for label in body["labels"]]

    read_only = [("self-hosted", "read-only"), ("Linux", "read-only"), ("X64", "read-only")]
    status, body, _ = call(gh, "GET", base)
    assert (status, names(body)) == (200, [*read_only, ("old", "custom")])
    status, body, _ = call(gh, "PUT", base, {"labels": ["gpu", "cuda"]})
    assert (status, names(body)) == (200, [*read_only, ("gpu", "custom"), ("cuda", "custom")])
    status, body, _ = call(gh, "POST", base, {"labels": ["cuda", "big"]})
    assert names(body)[-3:] == [("gpu", "custom"), ("cuda", "custom"), ("big", "custom")]
    status, body, _ = call(gh, "DELETE", f"{base}/gpu")
    assert (status, names(body)) == (200, [*read_only, ("cuda", "custom"), ("big", "custom")])
    assert call(gh, "DELETE", f"{base}/nope")[0] == 404
    assert call(gh, "PUT", base, {"labels": ["bad label"]})[0] == 422
    status, body, _ = call(gh, "PUT", base, {"labels": []})
    assert names(body) == read_only
    assert call(gh, "GET", f"/{REPO}/actions/runners/999999/labels")[0] == 404
    ids = {label["name"]: label["id"] for label in gh.runners(REPO)[0]["labels"]}
    assert len(set(ids.values())) == len(ids)


def test_delete_runner_refuses_a_busy_one(gh: FakeGitHub) -> None:
    runner = register(gh, "busy-1")
    cred = f"RunnerCred {runner['credential']}"
    job_id = gh.add_job(REPO, "busy-1", "echo hi")
    status, job, _ = call(gh, "GET", f"/_runner/{runner['id']}/job", auth=cred)
    assert (status, job["id"]) == (200, job_id)
    assert gh.runners(REPO)[0]["busy"] is True
    status, body, _ = call(gh, "DELETE", f"/{REPO}/actions/runners/{runner['id']}")
    assert status == 422
    assert body["message"] == 'Bad request - Runner "busy-1" is still running a job"'
    result = {"result": "succeeded", "output": "hi\n"}
    assert call(gh, "POST", f"/_runner/{runner['id']}/job/{job_id}", result, auth=cred)[0] == 200
    assert gh.job(job_id)["status"] == "completed"
    assert call(gh, "DELETE", f"/{REPO}/actions/runners/{runner['id']}")[0] == 204
    assert call(gh, "GET", f"/{REPO}/actions/runners/{runner['id']}")[0] == 404
    # The runner side learns it is gone.
    assert call(gh, "GET", f"/_runner/{runner['id']}/job", auth=cred)[0] == 404


def test_downloads_checksum_is_the_served_bytes_sha256(gh: FakeGitHub, tmp_path: Path) -> None:
    status, downloads, _ = call(gh, "GET", f"/{REPO}/actions/runners/downloads")
    assert status == 200
    by_platform = {(d["os"], d["architecture"]): d for d in downloads}
    assert {("linux", "x64"), ("linux", "arm64"), ("win", "x64"), ("osx", "x64")} <= set(
        by_platform
    )
    linux = by_platform["linux", "x64"]
    assert linux["filename"] == "actions-runner-linux-x64-2.329.0.tar.gz"
    assert linux["temp_download_token"] is None
    assert by_platform["win", "x64"]["filename"].endswith(".zip")
    status, data, headers = call(gh, "GET", linux["download_url"], auth=None)
    assert status == 200
    assert headers["Content-Type"] == "application/gzip"
    assert hashlib.sha256(data).hexdigest() == linux["sha256_checksum"] == gh.tarball_sha256
    # Deterministic: the same bytes again, from the function tests can use directly.
    path, digest = build_runner_tarball(tmp_path, "2.329.0")
    assert (digest, path.read_bytes()) == (linux["sha256_checksum"], data)
    assert build_runner_tarball(tmp_path / "again", "2.329.0")[1] == digest
    assert build_runner_tarball(tmp_path, "2.330.0")[1] != digest
    assert call(gh, "GET", f"{gh.url}/_downloads/nope.tar.gz", auth=None)[0] == 404


def test_runner_tarball_has_the_real_layout(tmp_path: Path) -> None:
    path, _ = build_runner_tarball(tmp_path, "9.8.7")
    with tarfile.open(path) as tar:
        members = {m.name: m for m in tar.getmembers()}
        listener = tar.extractfile("./bin/Runner.Listener")
        assert listener is not None
        listener_text = listener.read().decode()
    for name in ("./config.sh", "./run.sh", "./env.sh", "./safe_sleep.sh", "./bin/Runner.Listener"):
        assert members[name].mode == 0o755, name
        assert (members[name].uid, members[name].gid, members[name].mtime) == (0, 0, 0)
    for name in ("./run-helper.sh.template", "./bin/runsvc.sh", "./bin/installdependencies.sh"):
        assert members[name].mode == 0o755, name
    for name in ("./bin/actions.runner.service.template", "./bin/systemd.svc.sh.template"):
        assert members[name].mode == 0o644, name
    assert "./externals/README" in members
    assert "./svc.sh" not in members  # config.sh writes it, as the real runner's does
    assert not any("__pycache__" in name for name in members)
    assert listener_text.startswith("#!/usr/bin/env python3\n")
    assert 'VERSION = "9.8.7"' in listener_text


def test_runner_groups(gh: FakeGitHub) -> None:
    status, body, _ = call(gh, "GET", f"/{ORG}/actions/runner-groups")
    assert status == 200
    groups = [(g["id"], g["name"], g["default"]) for g in body["runner_groups"]]
    assert groups == [(1, "Default", True), (2, "gpu", False)]
    assert body["total_count"] == 2
    assert call(gh, "GET", "/enterprises/acme/actions/runner-groups")[0] == 200
    assert call(gh, "GET", f"/{REPO}/actions/runner-groups")[0] == 404


def test_github_app_jwt_and_installation_tokens(
    app_gh: FakeGitHub, app_key: rsa.RSAPrivateKey
) -> None:
    gh = app_gh
    jwt = f"Bearer {make_jwt(app_key, APP_ID)}"
    for scope in (REPO, ORG, "enterprises/acme"):
        status, body, _ = call(gh, "GET", f"/{scope}/installation", auth=jwt)
        assert (status, body["id"], body["app_id"]) == (200, 42, APP_ID)
    status, body, _ = call(gh, "POST", "/app/installations/42/access_tokens", auth=jwt)
    assert status == 201
    assert body["token"].startswith("ghs_")
    assert (
        datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00")).timestamp() > time.time()
    )
    installation = f"token {body['token']}"
    assert call(gh, "GET", f"/{REPO}/actions/runners", auth=installation)[0] == 200
    gh.revoke_installation_tokens()
    assert call(gh, "GET", f"/{REPO}/actions/runners", auth=installation)[0] == 401

    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    bad_jwts = [
        make_jwt(other_key, APP_ID),  # wrong key
        make_jwt(app_key, 1),  # wrong issuer
        make_jwt(app_key, APP_ID, life=700),  # too long
        make_jwt(app_key, APP_ID, iat=int(time.time()) - 1000),  # expired
        make_jwt(app_key, APP_ID, iat=int(time.time()) + 300),  # issued in the future
        "not.a.jwt",
    ]
    for bad in bad_jwts:
        status, _, _ = call(gh, "POST", "/app/installations/42/access_tokens", auth=f"Bearer {bad}")
        assert status == 401, bad
    # A PAT is not a JWT, a JWT is not a token; unknown installations are not found.
    assert call(gh, "POST", "/app/installations/42/access_tokens")[0] == 401
    assert call(gh, "GET", f"/{REPO}/actions/runners", auth=jwt)[0] == 401
    assert call(gh, "POST", "/app/installations/7/access_tokens", auth=jwt)[0] == 404


def test_control_endpoints_drive_the_fake_over_http(gh: FakeGitHub) -> None:
    fault = {"method": "GET", "path_regex": "/actions/runners$", "status": 502, "count": 1}
    assert call(gh, "POST", "/_fake/faults", fault, auth=None)[0] == 201
    assert call(gh, "GET", f"/{REPO}/actions/runners")[0] == 502
    assert call(gh, "POST", "/_fake/expire-tokens", {"count": 1}, auth=None)[0] == 200
    _, token, _ = call(gh, "POST", f"/{REPO}/actions/runners/registration-token")
    assert datetime.fromisoformat(token["expires_at"]).timestamp() < time.time()
    seed = {"scope": REPO, "name": "seeded", "labels": ["gpu"], "status": "online"}
    status, runner, _ = call(gh, "POST", "/_fake/runners", seed, auth=None)
    assert (status, runner["status"]) == (201, "online")
    status, job, _ = call(
        gh,
        "POST",
        "/_fake/jobs",
        {"scope": REPO, "runner_name": "seeded", "run": "true"},
        auth=None,
    )
    assert status == 201
    status, body, _ = call(gh, "GET", f"/_fake/jobs/{job['id']}", auth=None)
    assert (status, body["status"], body["runner"]) == (200, "queued", "seeded")
    _, state, _ = call(gh, "GET", "/_fake/state", auth=None)
    assert [r["name"] for r in state["scopes"][REPO]] == ["seeded"]
    assert ["GET", f"/api/v3/{REPO}/actions/runners", 502] in state["requests"]
    assert state["secrets_issued_count"] == len(gh.issued_secrets())
    _, secrets, _ = call(gh, "GET", "/_fake/secrets", auth=None)
    assert token["token"] in secrets["secrets"]
    assert not any(path.startswith("/_fake/") for _, path, _ in gh.requests)


def test_cli_prints_ready_and_stops_on_sigterm(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "tests.fakes.github_api", "--port", "0", "--token", "cli-pat"]
    process = subprocess.Popen(
        [*command, "--state-dir", str(tmp_path)],
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.fullmatch(r"READY (http://127\.0\.0\.1:\d+)\n", line)
        assert match, line
        url = match.group(1)
        request = urllib.request.Request(
            f"{url}/api/v3/{REPO}/actions/runners", headers={"Authorization": "token cli-pat"}
        )
        with _OPENER.open(request, timeout=10) as response:
            assert json.load(response)["total_count"] == 0
        assert json.loads((tmp_path / "server.json").read_text())["url"] == url
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        state = json.loads((tmp_path / "state.json").read_text())
        assert state["requests"] == [["GET", f"/api/v3/{REPO}/actions/runners", 200]]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


# --------------------------------------------------------------------------- fixture runner


def runner_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACTIONS_RUNNER_INPUT_")}
    env["RUNNER_ALLOW_RUNASROOT"] = "1"  # the tests may run as root
    env.update(extra)
    return env


def kill_session(session_id: int) -> None:
    """SIGKILL what is left of a process session this test started (run.sh and its children)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            if os.getsid(pid) == session_id:
                os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


@pytest.fixture
def runner_dir(gh: FakeGitHub, tmp_path: Path) -> Path:
    root = tmp_path / "actions-runner"
    root.mkdir()
    assert gh.tarball_path is not None
    with tarfile.open(gh.tarball_path) as tar:
        tar.extractall(root, filter="tar")
    return root


@pytest.fixture
def start_run_sh(runner_dir: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []

    def start(*args: str, **env: str) -> subprocess.Popen[str]:
        log = (runner_dir / "run.log").open("w")
        process = subprocess.Popen(
            ["./run.sh", *args],
            cwd=runner_dir,
            env=runner_env(**env),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        log.close()
        started.append(process)
        return process

    yield start
    for process in started:
        kill_session(process.pid)
        process.wait(timeout=10)


def config_sh(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["./config.sh", *args],
        cwd=root,
        env=runner_env(**env),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def read_runner_json(root: Path, name: str) -> dict[str, Any]:
    return dict(json.loads((root / name).read_text(encoding="utf-8-sig")))


def test_fixture_runner_registers_runs_a_job_and_is_removed(
    gh: FakeGitHub, runner_dir: Path, start_run_sh: Callable[..., subprocess.Popen[str]]
) -> None:
    token = registration_token(gh)
    url = f"{gh.url}/octo/widgets"
    config_args = ["--url", url, "--name", "gpu-1", "--labels", "gpu,cuda-12", "--unattended"]
    configured = config_sh(
        runner_dir, *config_args, "--work", "_work", ACTIONS_RUNNER_INPUT_TOKEN=token
    )
    assert configured.returncode == 0, configured.stdout + configured.stderr
    assert "\u221a Runner successfully added" in configured.stdout
    assert "\u221a Settings Saved." in configured.stdout

    # .runner as the real runner writes it: JSON with a UTF-8 BOM, false values left out.
    assert (runner_dir / ".runner").read_bytes().startswith(b"\xef\xbb\xbf{")
    settings = read_runner_json(runner_dir, ".runner")
    runner_id = settings["agentId"]
    assert settings == {
        "agentId": runner_id,
        "agentName": "gpu-1",
        "poolId": 1,
        "poolName": "Default",
        "serverUrl": f"{gh.url}/",
        "gitHubUrl": url,
        "workFolder": "_work",
    }
    for name in (".credentials", ".credentials_rsaparams"):
        assert stat.S_IMODE((runner_dir / name).stat().st_mode) == 0o600, name
    assert (runner_dir / ".path").read_text().strip() == runner_env()["PATH"]
    svc = (runner_dir / "svc.sh").read_text()
    assert 'SVC_NAME="actions.runner.octo-widgets.gpu-1.service"' in svc
    assert subprocess.run(["bash", "-n", str(runner_dir / "svc.sh")], check=False).returncode == 0

    [runner] = gh.runners(REPO)
    assert (runner["id"], runner["name"], runner["status"]) == (runner_id, "gpu-1", "offline")
    assert [label["name"] for label in runner["labels"]] == [
        "self-hosted",
        "Linux",
        "X64",
        "gpu",
        "cuda-12",
    ]

    again = config_sh(runner_dir, *config_args, ACTIONS_RUNNER_INPUT_TOKEN=token)
    assert again.returncode == 1
    assert "Cannot configure the runner because it is already configured" in again.stdout

    process = start_run_sh()
    wait_for(lambda: gh.runners(REPO)[0]["status"] == "online", what="the runner online")
    job_id = gh.add_job(REPO, "gpu-1", 'echo "hello from $RUNNER_NAME"; pwd')
    job = wait_for(
        lambda: gh.job(job_id)["status"] == "completed" and gh.job(job_id), what="the job"
    )
    assert job["result"] == "succeeded"
    assert job["output"] == f"hello from gpu-1\n{runner_dir / '_work'}\n"
    failing = gh.add_job(REPO, "gpu-1", "echo partial; false; echo never")
    job = wait_for(
        lambda: gh.job(failing)["status"] == "completed" and gh.job(failing), what="job 2"
    )
    assert (job["result"], job["output"]) == ("failed", "partial\n")

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0
    assert gh.runners(REPO)[0]["status"] == "offline"
    log = (runner_dir / "run.log").read_text()
    assert "Listening for Jobs" in log
    assert f"Running job: {job_id}" in log

    remove_status, remove_token, _ = call(gh, "POST", f"/{REPO}/actions/runners/remove-token")
    assert remove_status == 201
    removed = config_sh(runner_dir, "remove", "--token", remove_token["token"])
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert "\u221a Runner removed successfully" in removed.stdout
    assert gh.runners(REPO) == []
    for name in (".runner", ".credentials", ".credentials_rsaparams"):
        assert not (runner_dir / name).exists(), name

    outputs = configured.stdout + configured.stderr + log + removed.stdout + removed.stderr
    for secret in gh.issued_secrets():
        assert secret not in outputs


def test_fixture_runner_jit_is_ephemeral_and_writes_no_credentials(
    gh: FakeGitHub, runner_dir: Path, start_run_sh: Callable[..., subprocess.Popen[str]]
) -> None:
    body = {"name": "jit-1", "runner_group_id": 1, "labels": ["self-hosted", "gpu"]}
    _, jit, _ = call(gh, "POST", f"/{REPO}/actions/runners/generate-jitconfig", body)
    job_id = gh.add_job(REPO, "jit-1", "echo once")
    process = start_run_sh(ACTIONS_RUNNER_INPUT_JITCONFIG=jit["encoded_jit_config"])
    assert process.wait(timeout=20) == 0
    assert gh.job(job_id)["output"] == "once\n"
    assert gh.runners(REPO) == []  # ephemeral: gone once its job is done
    for name in (".runner", ".credentials", ".credentials_rsaparams"):
        assert not (runner_dir / name).exists(), name
    log = (runner_dir / "run.log").read_text()
    assert jit["encoded_jit_config"] not in log
    # The configuration was used: a second run is refused.
    again = start_run_sh("--jitconfig", jit["encoded_jit_config"])
    assert again.wait(timeout=20) == 0
    assert "Invalid or already used JIT configuration" in (runner_dir / "run.log").read_text()


def test_config_remove_when_the_runner_is_already_gone(gh: FakeGitHub, runner_dir: Path) -> None:
    token = registration_token(gh, ORG)
    configured = config_sh(runner_dir, "--url", f"{gh.url}/octo", "--token", token, "--unattended")
    assert configured.returncode == 0, configured.stdout
    [runner] = gh.runners(ORG)
    assert runner["name"] == os.uname().nodename
    assert call(gh, "DELETE", f"/{ORG}/actions/runners/{runner['id']}")[0] == 204
    _, remove_token, _ = call(gh, "POST", f"/{ORG}/actions/runners/remove-token")
    removed = config_sh(runner_dir, "remove", ACTIONS_RUNNER_INPUT_TOKEN=remove_token["token"])
    assert removed.returncode == 0, removed.stdout
    assert "Does not exist. Skipping Removing runner from the server" in removed.stdout
    assert not (runner_dir / ".runner").exists()


def test_config_reports_server_errors(gh: FakeGitHub, runner_dir: Path) -> None:
    gh.expire_next_tokens(1)
    expired = registration_token(gh)
    result = config_sh(runner_dir, "--url", f"{gh.url}/octo/widgets", "--token", expired)
    assert result.returncode == 1
    assert "Http response code: Unauthorized from 'POST" in result.stdout
    assert "Invalid or expired token" in result.stdout
    assert expired not in result.stdout + result.stderr
    token = registration_token(gh)
    result = config_sh(
        runner_dir, "--url", f"{gh.url}/octo/widgets", "--token", token, "--runnergroup", "gpu"
    )
    assert result.returncode == 1
    assert 'Could not find any self-hosted runner group named "gpu".' in result.stdout
    assert not (runner_dir / ".runner").exists()
    gh.add_runner(REPO, "taken")
    args = ["--url", f"{gh.url}/octo/widgets", "--token", token, "--name", "taken"]
    result = config_sh(runner_dir, *args)
    assert result.returncode == 1
    assert "A runner exists with the same name taken." in result.stdout
    old_id = gh.runners(REPO)[0]["id"]
    result = config_sh(runner_dir, *args, "--replace")
    assert result.returncode == 0, result.stdout
    assert [r["id"] for r in gh.runners(REPO)] == [old_id]  # replaced in place, as GitHub does


@pytest.mark.skipif(os.geteuid() != 0, reason="checks the refusal to run as root")
def test_config_refuses_root_without_runner_allow_runasroot(
    gh: FakeGitHub, runner_dir: Path
) -> None:
    env = {k: v for k, v in runner_env().items() if k != "RUNNER_ALLOW_RUNASROOT"}
    result = subprocess.run(
        ["./config.sh", "--url", f"{gh.url}/octo/widgets", "--token", "x"],
        cwd=runner_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (result.returncode, result.stdout.strip()) == (1, "Must not run with sudo")
    assert gh.requests == []


def test_runner_shell_scripts_parse() -> None:
    scripts = [
        path
        for path in sorted(RUNNER_SOURCE.rglob("*"))
        if path.is_file() and path.read_bytes().startswith(b"#!/bin/bash")
    ]
    names = {path.relative_to(RUNNER_SOURCE).as_posix() for path in scripts}
    assert names >= {
        "config.sh",
        "env.sh",
        "run.sh",
        "run-helper.sh.template",
        "safe_sleep.sh",
        "bin/runsvc.sh",
        "bin/installdependencies.sh",
        "bin/systemd.svc.sh.template",
    }
    for path in scripts:
        result = subprocess.run(
            ["bash", "-n", str(path)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, f"{path}: {result.stderr}"
    listener = RUNNER_SOURCE / "bin/Runner.Listener"
    compiled = subprocess.run(
        [
            sys.executable,
            "-c",
            "import ast, sys; ast.parse(open(sys.argv[1]).read())",
            str(listener),
        ],
        check=False,
    )
    assert compiled.returncode == 0
