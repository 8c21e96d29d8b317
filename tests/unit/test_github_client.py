"""The GitHub client and ``mlcops runners list`` against the fake GitHub (GHES-shaped, local)."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from tests.fakes.github_api import FakeGitHub

from mlcops import cli
from mlcops.errors import UsageError
from mlcops.github import (
    GitHubAuthError,
    GitHubClient,
    GitHubConflict,
    GitHubError,
    GitHubNotFound,
    Runner,
    Scope,
    Token,
)

PAT = "test-pat"
REPO = Scope("repo", "octo/hello")
ORG = Scope("org", "octo")
RUNNERS_PATH = "/api/v3/repos/octo/hello/actions/runners"
APP_ID = 4242


@pytest.fixture(scope="module")
def server() -> Iterator[FakeGitHub]:
    with FakeGitHub() as started:
        yield started


@pytest.fixture
def fake(server: FakeGitHub) -> FakeGitHub:
    """The module's fake GitHub, emptied for each test (stopping one takes half a second)."""
    server.reset()
    return server


@pytest.fixture
def sleeps() -> list[float]:
    return []


def make_client(fake: FakeGitHub, sleeps: list[float], **kwargs: Any) -> GitHubClient:
    kwargs.setdefault("token", PAT)
    return GitHubClient(fake.api_url, insecure=True, sleep=sleeps.append, **kwargs)


@pytest.fixture
def client(fake: FakeGitHub, sleeps: list[float]) -> GitHubClient:
    return make_client(fake, sleeps)


def calls(fake: FakeGitHub, method: str, path: str) -> list[int]:
    """Statuses of the fake's requests with this method and path."""
    return [status for m, p, status in fake.requests if m == method and p == path]


def rsa_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.fixture(scope="module")
def app_key() -> tuple[str, str]:
    return rsa_pair()


# -- scopes, URLs, settings ---------------------------------------------------------------------


def test_scope_parse_and_paths() -> None:
    assert Scope.parse(repo="octo/hello") == REPO
    assert Scope.parse(org="octo").path == "orgs/octo"
    ent = Scope.parse(enterprise="big-co")
    assert ent.path == "enterprises/big-co"
    assert REPO.path == "repos/octo/hello"
    assert REPO.url("https://github.com/") == "https://github.com/octo/hello"
    assert ORG.url("https://ghe.example") == "https://ghe.example/octo"
    assert ent.url("https://ghe.example") == "https://ghe.example/enterprises/big-co"


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"repo": "o/r", "org": "o"}, {"org": "o", "enterprise": "e"}, {"repo": "", "org": None}],
)
def test_scope_parse_needs_exactly_one(kwargs: dict[str, str | None]) -> None:
    with pytest.raises(UsageError, match="exactly one of github_repo, github_org, github_enter"):
        Scope.parse(**kwargs)


@pytest.mark.parametrize("kwargs", [{"repo": "just-owner"}, {"repo": "a/b/c"}, {"org": "o/r"}])
def test_scope_parse_rejects_malformed_names(kwargs: dict[str, str]) -> None:
    with pytest.raises(UsageError, match="expected"):
        Scope.parse(**kwargs)


@pytest.mark.parametrize(
    ("server", "api"),
    [
        ("https://github.com", "https://api.github.com"),
        ("https://github.com/", "https://api.github.com"),
        ("https://octo.ghe.com", "https://api.octo.ghe.com"),
        ("https://ghe.example/", "https://ghe.example/api/v3"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/api/v3"),
    ],
)
def test_api_url_for(server: str, api: str) -> None:
    assert GitHubClient.api_url_for(server) == api


def test_http_url_refused_without_insecure() -> None:
    with pytest.raises(UsageError, match=r"plain http.*github_api_insecure: true"):
        GitHubClient("http://127.0.0.1:1/api/v3", token=PAT)
    GitHubClient("http://127.0.0.1:1/api/v3", token=PAT, insecure=True)
    with pytest.raises(UsageError, match="not an http"):
        GitHubClient("file:///etc/passwd", token=PAT, insecure=True)


def test_credentials_must_be_exactly_one_kind(app_key: tuple[str, str]) -> None:
    url = "https://api.github.com"
    with pytest.raises(UsageError, match="github_token or github_app_id"):
        GitHubClient(url)
    with pytest.raises(UsageError, match="not both"):
        GitHubClient(url, token=PAT, app_id=1, app_private_key=app_key[0])
    with pytest.raises(UsageError, match="github_app_private_key"):
        GitHubClient(url, app_id=1)
    with pytest.raises(UsageError, match="not a PEM private key"):
        GitHubClient(url, app_id=1, app_private_key="-----BEGIN nonsense-----")


def test_ca_bundle_must_be_readable(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="github_ca_bundle"):
        GitHubClient("https://api.github.com", token=PAT, ca_bundle=str(tmp_path / "none.pem"))


def test_links_to_another_host_are_refused(client: GitHubClient) -> None:
    with pytest.raises(GitHubError, match="another host"):
        client.request("GET", "https://evil.example/api/v3/repos/o/r/actions/runners")


def test_no_token_in_repr() -> None:
    client = GitHubClient("https://api.github.com", token="ghp_secretsecret")
    assert "ghp_secretsecret" not in repr(client)
    token = Token("AAAASECRET", datetime.now(UTC))
    assert "AAAASECRET" not in repr(token)
    assert "AAAASECRET" not in str(token)


def test_error_str_names_method_endpoint_status() -> None:
    err = GitHubNotFound("DELETE", "/repos/o/r/actions/runners/7", 404, "Not Found")
    assert str(err) == "GitHub DELETE /repos/o/r/actions/runners/7: 404 Not Found"
    assert (err.method, err.status, err.message) == ("DELETE", 404, "Not Found")
    assert isinstance(err, GitHubError)


# -- listing and pagination --------------------------------------------------------------------


def test_pagination_past_100_runners(
    fake: FakeGitHub, client: GitHubClient, sleeps: list[float]
) -> None:
    names = [f"r-{i:03d}" for i in range(250)]
    for name in names:
        fake.add_runner("repos/octo/hello", name, labels=["gpu"])
    runners = client.runners(REPO)
    assert sorted(r.name for r in runners) == names
    assert len({r.id for r in runners}) == 250
    assert calls(fake, "GET", RUNNERS_PATH) == [200, 200, 200]  # 100 + 100 + 50
    pages = client.paginate("repos/octo/hello/actions/runners", "runners", per_page=30)
    assert len(list(pages)) == 250
    assert calls(fake, "GET", RUNNERS_PATH)[3:] == [200] * 9
    assert sleeps == []


def test_runner_fields_and_lookup_by_name(fake: FakeGitHub, client: GitHubClient) -> None:
    assert client.runners(REPO) == []
    fake.add_runner("repos/octo/hello", "gpu-1", labels=["gpu", "cuda"], runner_group_id=1)
    (runner,) = client.runners(REPO)
    assert runner.name == "gpu-1"
    assert runner.status == "offline"
    assert not runner.busy
    assert not runner.ephemeral
    assert runner.runner_group_id == 1
    assert runner.custom_labels == ("gpu", "cuda")
    assert {"self-hosted", "Linux", "X64"} < set(runner.labels)
    assert client.runner_by_name(REPO, "gpu-1") == runner
    assert client.runner_by_name(REPO, "gpu-2") is None
    assert client.runner_by_name(ORG, "gpu-1") is None  # scopes are separate


# -- retries -----------------------------------------------------------------------------------


def test_server_error_then_success_is_retried(
    fake: FakeGitHub, client: GitHubClient, sleeps: list[float]
) -> None:
    fake.fail("GET", r"/actions/runners$", 500, count=2)
    assert client.runners(REPO) == []
    assert calls(fake, "GET", RUNNERS_PATH) == [500, 500, 200]
    assert sleeps == [1.0, 2.0]  # backoff * 2**n


def test_secondary_rate_limit_waits_retry_after(
    fake: FakeGitHub, client: GitHubClient, sleeps: list[float]
) -> None:
    fake.fail("POST", "registration-token", 403, headers={"retry-after": "7"})
    assert client.registration_token(REPO).token
    assert sleeps == [7.0]
    fake.fail("POST", "registration-token", 429, headers={"retry-after": "600"})
    client.registration_token(REPO)
    assert sleeps == [7.0, 60.0]  # capped


def test_primary_rate_limit_waits_for_reset(
    fake: FakeGitHub, client: GitHubClient, sleeps: list[float]
) -> None:
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "0"}  # reset is in the past
    fake.fail("GET", r"/actions/runners$", 403, headers=headers)
    assert client.runners(REPO) == []
    assert sleeps == [1.0]


def test_retries_exhausted(fake: FakeGitHub, sleeps: list[float]) -> None:
    client = make_client(fake, sleeps, retries=2, backoff=0.5)
    fake.fail("GET", r"/actions/runners$", 502, count=10)
    with pytest.raises(GitHubError) as caught:
        client.runners(REPO)
    err = caught.value
    assert type(err) is GitHubError
    assert (err.method, err.endpoint, err.status) == (
        "GET",
        "/repos/octo/hello/actions/runners",
        502,
    )
    assert str(err) == "GitHub GET /repos/octo/hello/actions/runners: 502 fake fault"
    assert sleeps == [0.5, 1.0]


def test_rate_limit_exhausted_is_no_auth_error(fake: FakeGitHub, sleeps: list[float]) -> None:
    client = make_client(fake, sleeps, retries=1)
    fake.fail("GET", r"/actions/runners$", 403, count=5, headers={"retry-after": "1"})
    with pytest.raises(GitHubError) as caught:
        client.runners(REPO)
    assert type(caught.value) is GitHubError
    assert caught.value.status == 403


def test_forbidden_is_auth_error_and_not_retried(
    fake: FakeGitHub, client: GitHubClient, sleeps: list[float]
) -> None:
    fake.fail("GET", r"/actions/runners$", 403)
    with pytest.raises(GitHubAuthError, match="403"):
        client.runners(REPO)
    assert sleeps == []


def test_connection_errors_are_retried(sleeps: list[float]) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = GitHubClient(
        f"http://127.0.0.1:{port}/api/v3", token=PAT, insecure=True, retries=3, sleep=sleeps.append
    )
    with pytest.raises(GitHubError, match="connection failed") as caught:
        client.runners(REPO)
    assert caught.value.status == 0
    assert sleeps == [1.0, 2.0, 4.0]


def test_wrong_token_is_auth_error_without_the_token(fake: FakeGitHub, sleeps: list[float]) -> None:
    wrong = "ghp_WRONGwrongWRONGwrong1234"
    client = make_client(fake, sleeps, token=wrong)
    with pytest.raises(GitHubAuthError) as caught:
        client.runners(REPO)
    err = caught.value
    assert err.status == 401
    assert "Bad credentials" in str(err)
    assert wrong not in str(err)
    assert wrong not in repr(err)
    assert sleeps == []


# -- tokens, JIT, labels, deletion -------------------------------------------------------------


def test_registration_and_remove_tokens(fake: FakeGitHub, client: GitHubClient) -> None:
    reg = client.registration_token(REPO)
    rem = client.remove_token(ORG)
    for token in (reg, rem):
        assert len(token.token) == 29
        assert token.expires_at.tzinfo is not None
        assert token.expires_at > datetime.now(UTC)
        assert token.token in fake.issued_secrets()
    assert reg.token != rem.token
    assert calls(fake, "POST", "/api/v3/orgs/octo/actions/runners/remove-token") == [201]


def test_jit_config(fake: FakeGitHub, client: GitHubClient) -> None:
    group = client.runner_group_id(ORG, "gpu")
    runner, config = client.jit_config(ORG, "jit-1", ["gpu"], runner_group_id=group)
    assert isinstance(runner, Runner)
    assert (runner.name, runner.status, runner.ephemeral) == ("jit-1", "offline", True)
    assert runner.custom_labels == ("gpu",)
    assert runner.runner_group_id == group
    assert config in fake.issued_secrets()
    assert base64.b64decode(config)  # opaque, but base64
    assert [r["name"] for r in fake.runners("orgs/octo")] == ["jit-1"]
    with pytest.raises(GitHubConflict) as caught:
        client.jit_config(ORG, "jit-1", ["gpu"])
    assert caught.value.status == 409
    with pytest.raises(GitHubConflict) as caught:
        client.jit_config(ORG, "jit-2", ["has space"])
    assert caught.value.status == 422


def test_set_labels(fake: FakeGitHub, client: GitHubClient) -> None:
    runner = Runner.from_api(fake.add_runner("repos/octo/hello", "lab", labels=["old"]))
    labels = client.set_labels(REPO, runner.id, ["gpu", "cuda-12"])
    assert {"self-hosted", "gpu", "cuda-12"} <= set(labels)
    assert "old" not in labels
    found = client.runner_by_name(REPO, "lab")
    assert found is not None
    assert found.custom_labels == ("gpu", "cuda-12")
    with pytest.raises(GitHubConflict):
        client.set_labels(REPO, runner.id, ["bad,label"])


def test_delete_runner(fake: FakeGitHub, client: GitHubClient) -> None:
    runner, _ = client.jit_config(REPO, "gone", ["x"])
    client.delete_runner(REPO, runner.id)
    assert client.runners(REPO) == []
    with pytest.raises(GitHubNotFound) as caught:
        client.delete_runner(REPO, runner.id)
    assert caught.value.endpoint == f"/repos/octo/hello/actions/runners/{runner.id}"
    assert caught.value.method == "DELETE"


def test_delete_busy_runner_conflicts(fake: FakeGitHub, client: GitHubClient) -> None:
    runner, config = client.jit_config(REPO, "busy", ["x"])

    def runner_call(path: str, auth: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            fake.url + path, data=data, method="POST" if data else "GET"
        )
        request.add_header("Authorization", auth)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    cred = runner_call("/_runner/jit", "", {"encoded_jit_config": config})["credential"]
    fake.add_job("repos/octo/hello", "busy", run="sleep 0")
    assert runner_call(f"/_runner/{runner.id}/job", f"RunnerCred {cred}")  # now busy
    with pytest.raises(GitHubConflict, match="still running a job") as caught:
        client.delete_runner(REPO, runner.id)
    assert caught.value.status == 422


def test_runner_group_id(client: GitHubClient) -> None:
    assert client.runner_group_id(ORG, "Default") == 1
    assert client.runner_group_id(ORG, "gpu") == 2
    assert client.runner_group_id(Scope("enterprise", "big"), "gpu") == 2
    assert client.runner_group_id(REPO, "Default") == 1
    with pytest.raises(GitHubNotFound, match="'nope'"):
        client.runner_group_id(ORG, "nope")
    with pytest.raises(GitHubNotFound, match="'gpu'"):
        client.runner_group_id(REPO, "gpu")


def test_downloads(client: GitHubClient) -> None:
    downloads = client.downloads(REPO)
    linux = {d.architecture: d for d in downloads if d.os == "linux"}
    assert {"x64", "arm64"} <= set(linux)
    x64 = linux["x64"]
    assert x64.filename == "actions-runner-linux-x64-2.329.0.tar.gz"
    with urllib.request.urlopen(x64.url, timeout=10) as response:
        assert hashlib.sha256(response.read()).hexdigest() == x64.sha256


# -- GitHub App --------------------------------------------------------------------------------


def test_github_app_flow(app_key: tuple[str, str], sleeps: list[float]) -> None:
    private, public = app_key
    with FakeGitHub(app_id=APP_ID, app_public_key_pem=public) as fake:
        client = make_client(fake, sleeps, token=None, app_id=APP_ID, app_private_key=private)
        client.jit_config(REPO, "app-1", ["gpu"])
        assert [r.name for r in client.runners(REPO)] == ["app-1"]
        assert calls(fake, "GET", "/api/v3/repos/octo/hello/installation") == [200]
        tokens = "/api/v3/app/installations/42/access_tokens"
        assert calls(fake, "POST", tokens) == [201]  # cached
        # a token revoked before its expiry: one 401, then a new installation token
        fake.revoke_installation_tokens()
        assert len(client.runners(REPO)) == 1
        assert calls(fake, "POST", tokens) == [201, 201]
        assert calls(fake, "GET", RUNNERS_PATH) == [200, 401, 200]
        assert sleeps == []


def test_github_app_token_refreshed_before_expiry(
    app_key: tuple[str, str], sleeps: list[float]
) -> None:
    private, public = app_key
    # tokens live 60 s: always inside the 5 minute refresh window, so every call renews
    with FakeGitHub(app_id=APP_ID, app_public_key_pem=public, token_ttl=60) as fake:
        client = make_client(
            fake,
            sleeps,
            token=None,
            app_id=str(APP_ID),
            app_private_key=private,
            app_installation_id=42,
        )
        for _ in range(3):
            client.runners(ORG)
        assert calls(fake, "POST", "/api/v3/app/installations/42/access_tokens") == [201] * 3
        assert not [p for _, p, _ in fake.requests if p.endswith("/installation")]


def test_github_app_wrong_key_is_auth_error(app_key: tuple[str, str], sleeps: list[float]) -> None:
    _, public = app_key
    other_private, _ = rsa_pair()
    with FakeGitHub(app_id=APP_ID, app_public_key_pem=public) as fake:
        client = make_client(fake, sleeps, token=None, app_id=APP_ID, app_private_key=other_private)
        with pytest.raises(GitHubAuthError) as caught:
            client.runners(REPO)
        assert caught.value.status == 401
        assert "BEGIN" not in str(caught.value)


# -- mlcops runners list -----------------------------------------------------------------------


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (
        "GITHUB_TOKEN",
        "GITHUB_APP_ID",
        "GITHUB_APP_PRIVATE_KEY",
        "GITHUB_APP_PRIVATE_KEY_FILE",
        "GITHUB_APP_INSTALLATION_ID",
        "GITHUB_API_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_cli_runners_list_json(
    fake: FakeGitHub,
    client: GitHubClient,
    env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client.jit_config(REPO, "one", ["gpu"])
    client.jit_config(REPO, "two", ["cpu", "big"])
    env.setenv("GITHUB_TOKEN", PAT)
    argv = ["runners", "list", "--repo", "octo/hello", "--api-url", fake.api_url, "--insecure"]
    assert cli.main([*argv, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["status"], r["busy"]) for r in listed] == [
        ("one", "offline", False),
        ("two", "offline", False),
    ]
    assert listed[1]["custom_labels"] == ["cpu", "big"]

    env.setenv("GITHUB_API_URL", fake.api_url)
    assert cli.main(["runners", "list", "--repo", "octo/hello", "--insecure"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "BUSY", "LABELS"]
    assert lines[2].split()[:3] == ["two", "offline", "no"]
    assert "cpu" in lines[2].split()[3].split(",")
    column = lines[0].index("STATUS")
    assert all(line[column:].startswith("offline ") for line in lines[1:])


def test_cli_runners_list_github_app_key_file(
    app_key: tuple[str, str],
    env: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    private, public = app_key
    key_file = tmp_path / "app.pem"
    key_file.write_text(private)
    env.setenv("GITHUB_APP_ID", str(APP_ID))
    env.setenv("GITHUB_APP_PRIVATE_KEY_FILE", str(key_file))
    with FakeGitHub(app_id=APP_ID, app_public_key_pem=public) as fake:
        argv = ["runners", "list", "--org", "octo", "--api-url", fake.api_url, "--insecure"]
        assert cli.main([*argv, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_cli_runners_list_missing_credentials(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["runners", "list", "--org", "octo"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "GITHUB_TOKEN" in err
    assert "GITHUB_APP_ID" in err


def test_cli_runners_list_refuses_http_and_bad_token(
    fake: FakeGitHub, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("GITHUB_TOKEN", "ghp_notTheRightOne")
    argv = ["runners", "list", "--repo", "octo/hello", "--api-url", fake.api_url]
    assert cli.main(argv) == cli.EXIT_USAGE
    assert "--insecure" in capsys.readouterr().err
    assert cli.main([*argv, "--insecure"]) == cli.EXIT_FAILED
    err = capsys.readouterr().err
    assert "401" in err
    assert "ghp_notTheRightOne" not in err
