"""A small GitHub REST client for self-hosted runners: urllib only, retries, pagination, Apps.

Authentication is a token (PAT, fine-grained token, or anything GitHub accepts as ``Bearer``)
or a GitHub App (JWT signed with the app's private key, exchanged for an installation token
that is cached and refreshed). No token is ever logged or put into an exception, str or repr.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import re
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from mlcops import __version__
from mlcops.errors import MlcopsError, UsageError

API_VERSION = "2022-11-28"
MAX_WAIT = 60.0  # seconds: no single retry waits longer
REFRESH_BEFORE = timedelta(minutes=5)  # installation tokens are renewed this long before expiry
_SCOPE_PATH = re.compile(r"^/(repos/[^/]+/[^/]+|orgs/[^/]+|enterprises/[^/]+)(?:/|$)")
_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="([^"]+)"')


class GitHubError(MlcopsError):
    """A GitHub API call failed; ``str()`` names method, endpoint and status, never a token."""

    def __init__(self, method: str, endpoint: str, status: int, message: str) -> None:
        self.method, self.endpoint, self.status, self.message = method, endpoint, status, message
        super().__init__(f"GitHub {method} {endpoint}: {status} {message}")


class GitHubAuthError(GitHubError):
    """Bad or missing credentials (401), or not allowed (403 that is no rate limit)."""


class GitHubNotFound(GitHubError):
    """The resource does not exist, or the credentials may not see it (404)."""


class GitHubConflict(GitHubError):
    """The request conflicts with the current state or was rejected as invalid (409, 422)."""


_ERRORS: dict[int, type[GitHubError]] = {
    401: GitHubAuthError,
    403: GitHubAuthError,
    404: GitHubNotFound,
    409: GitHubConflict,
    422: GitHubConflict,
}


@dataclass(frozen=True)
class Scope:
    """Where runners are registered: a repository, an organization or an enterprise."""

    kind: Literal["repo", "org", "enterprise"]
    name: str  # "owner/repo" | "org" | "enterprise"

    @property
    def path(self) -> str:
        """The REST path prefix: ``repos/o/r``, ``orgs/o`` or ``enterprises/e``."""
        prefix = {"repo": "repos", "org": "orgs", "enterprise": "enterprises"}[self.kind]
        return f"{prefix}/{self.name}"

    def url(self, server_url: str) -> str:
        """Return the URL that ``config.sh --url`` takes for this scope.

        Args:
            server_url: The GitHub server, e.g. ``https://github.com``.

        """
        base = server_url.rstrip("/")
        return (
            f"{base}/enterprises/{self.name}"
            if self.kind == "enterprise"
            else f"{base}/{self.name}"
        )

    @classmethod
    def parse(
        cls, repo: str | None = None, org: str | None = None, enterprise: str | None = None
    ) -> Scope:
        """Build the scope from exactly one of repo, org and enterprise.

        Args:
            repo: ``owner/repo``.
            org: An organization login.
            enterprise: An enterprise slug.

        Raises:
            UsageError: None or more than one is given, or a name is malformed.

        """
        kinds: tuple[Literal["repo", "org", "enterprise"], ...] = ("repo", "org", "enterprise")
        given = [(k, v) for k, v in zip(kinds, (repo, org, enterprise), strict=True) if v]
        if len(given) != 1:
            names = ", ".join(f"github_{k}" for k, _ in given) or "none"
            raise UsageError(
                f"set exactly one of github_repo, github_org, github_enterprise (got {names})"
            )
        kind, name = given[0]
        parts = name.split("/")
        if len(parts) != (2 if kind == "repo" else 1) or not all(
            re.fullmatch(r"[A-Za-z0-9_.-]+", p) for p in parts
        ):
            shape = "OWNER/REPO" if kind == "repo" else kind.upper()
            raise UsageError(f"github_{kind} {name!r}: expected {shape}")
        return cls(kind, name)


@dataclass(frozen=True)
class Token:
    """A short-lived token (registration, remove or installation token)."""

    token: str = field(repr=False)
    expires_at: datetime

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Token:
        """Build from GitHub's ``{"token", "expires_at"}``."""
        return cls(str(data["token"]), datetime.fromisoformat(str(data["expires_at"])))


@dataclass(frozen=True)
class Runner:
    """A self-hosted runner as GitHub reports it."""

    id: int
    name: str
    status: str
    busy: bool
    ephemeral: bool
    labels: tuple[str, ...]
    custom_labels: tuple[str, ...]
    runner_group_id: int | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Runner:
        """Build from GitHub's runner object."""
        labels = data.get("labels") or []
        group = data.get("runner_group_id")
        return cls(
            id=int(data["id"]),
            name=str(data["name"]),
            status=str(data.get("status", "")),
            busy=bool(data.get("busy", False)),
            ephemeral=bool(data.get("ephemeral", False)),
            labels=tuple(str(lb["name"]) for lb in labels),
            custom_labels=tuple(str(lb["name"]) for lb in labels if lb.get("type") == "custom"),
            runner_group_id=None if group is None else int(group),
        )


@dataclass(frozen=True)
class Download:
    """A runner release package for one OS and architecture."""

    os: str
    architecture: str
    url: str
    filename: str
    sha256: str


@dataclass(frozen=True)
class _Wire:
    """How a request is sent and its answer read, when it is not JSON both ways."""

    data: bytes | None = None  # the raw body (an asset upload)
    content_type: str = "application/json"
    accept: str = "application/vnd.github+json"
    binary: bool = False  # return the raw body of a success (an asset download)


@dataclass(frozen=True)
class ReleaseAsset:
    """A file attached to a release."""

    id: int
    name: str
    size: int
    digest: str  # "sha256:<hex>" (GitHub computes it at upload since 2025); "" when absent
    url: str  # the API URL of the asset
    browser_download_url: str

    @property
    def sha256(self) -> str:
        """The hex SHA-256 from ``digest``, or "" when GitHub gave none."""
        algorithm, _, value = self.digest.partition(":")
        return value.lower() if algorithm == "sha256" else ""

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ReleaseAsset:
        """Build from GitHub's release asset object."""
        return cls(
            id=int(data["id"]),
            name=str(data["name"]),
            size=int(data.get("size") or 0),
            digest=str(data.get("digest") or ""),
            url=str(data.get("url") or ""),
            browser_download_url=str(data.get("browser_download_url") or ""),
        )


@dataclass(frozen=True)
class Release:
    """A GitHub release (published or draft)."""

    id: int
    tag_name: str
    name: str
    body: str
    draft: bool
    prerelease: bool
    html_url: str
    upload_url: str  # without GitHub's ``{?name,label}`` URI template
    assets: tuple[ReleaseAsset, ...]

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Release:
        """Build from GitHub's release object."""
        return cls(
            id=int(data["id"]),
            tag_name=str(data.get("tag_name") or ""),
            name=str(data.get("name") or ""),
            body=str(data.get("body") or ""),
            draft=bool(data.get("draft")),
            prerelease=bool(data.get("prerelease")),
            html_url=str(data.get("html_url") or ""),
            upload_url=re.sub(r"\{[^}]*\}$", "", str(data.get("upload_url") or "")),
            assets=tuple(ReleaseAsset.from_api(a) for a in data.get("assets") or []),
        )


class GitHubClient:
    """GitHub REST API client for self-hosted runner administration and releases."""

    def __init__(
        self,
        api_url: str,
        *,
        token: str | None = None,
        app_id: int | str | None = None,
        app_private_key: str | None = None,
        app_installation_id: int | None = None,
        insecure: bool = False,
        ca_bundle: str | None = None,
        timeout: float = 30,
        retries: int = 5,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Check the settings and prepare the connection; nothing is sent yet.

        Args:
            api_url: The API base, e.g. ``https://api.github.com`` or ``https://ghe/api/v3``.
            token: A token for ``Authorization: Bearer``.
            app_id: GitHub App id (with ``app_private_key``), instead of ``token``.
            app_private_key: The App's private key, PEM text.
            app_installation_id: The App installation; looked up per scope when not given.
            insecure: Allow ``http://`` and skip TLS certificate verification.
            ca_bundle: A CA bundle file to verify the server with.
            timeout: Seconds per HTTP request.
            retries: Retries after the first attempt for transient failures.
            backoff: First retry wait in seconds; doubled each retry, capped at 60 s.
            sleep: Called to wait between retries (tests pass a recorder).

        Raises:
            UsageError: Bad URL, or not exactly one kind of credentials.

        """
        parsed = urllib.parse.urlsplit(api_url)
        if parsed.scheme not in ("https", "http") or not parsed.netloc:
            raise UsageError(f"github_api_url {api_url!r} is not an http(s) URL")
        if parsed.scheme == "http" and not insecure:
            raise UsageError(
                f"github_api_url {api_url} is plain http: "
                "use https or set github_api_insecure: true"
            )
        has_app = app_id is not None or app_private_key is not None
        if bool(token) == has_app:
            raise UsageError(
                "give either github_token or github_app_id with github_app_private_key"
                + (", not both" if token else "")
            )
        self._key: rsa.RSAPrivateKey | None = None
        if has_app:
            if app_id is None or not app_private_key:
                raise UsageError("github_app_id and github_app_private_key must both be set")
            try:
                key = serialization.load_pem_private_key(app_private_key.encode(), password=None)
            except (ValueError, TypeError):
                raise UsageError("github_app_private_key is not a PEM private key") from None
            if not isinstance(key, rsa.RSAPrivateKey):
                raise UsageError("github_app_private_key is not an RSA key")
            self._key = key
        self.api_url = api_url.rstrip("/")
        self._base_path = parsed.path.rstrip("/")
        self._origin = (parsed.scheme, parsed.netloc)
        self._token = token
        self._app_id = None if app_id is None else str(app_id)
        self._installation_id = app_installation_id
        self._installations: dict[str, int] = {}
        self._installation_tokens: dict[int, Token] = {}
        self.timeout, self.retries, self.backoff, self._sleep = timeout, retries, backoff, sleep
        try:
            context = ssl.create_default_context(cafile=ca_bundle)
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(f"github_ca_bundle {ca_bundle}: {exc.strerror or exc}") from None
        if insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        self._opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context))

    def __repr__(self) -> str:
        """Name the API and the kind of credentials, never the credentials."""
        auth = f"app {self._app_id}" if self._app_id else "token"
        return f"GitHubClient({self.api_url!r}, {auth})"

    @staticmethod
    def api_url_for(server_url: str) -> str:
        """Return the API base of a GitHub server.

        Args:
            server_url: ``https://github.com``, ``https://NAME.ghe.com`` or a GHES server URL.

        Returns:
            ``https://api.github.com``, ``https://api.NAME.ghe.com`` or ``<server>/api/v3``.

        """
        server = server_url.rstrip("/")
        host = urllib.parse.urlsplit(server).hostname or ""
        if host in ("github.com", "www.github.com"):
            return "https://api.github.com"
        if host.endswith(".ghe.com"):
            return f"https://api.{host}"
        return f"{server}/api/v3"

    # -- transport -------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: Mapping[str, str | int] | None = None,
    ) -> tuple[int, Any, Mapping[str, str]]:
        """Call the API with retries and authentication.

        Args:
            method: HTTP method.
            path: A path below the API base (``repos/o/r/...``) or a full URL on the API host.
            body: Sent as JSON when not None.
            params: Query parameters, added to any already in ``path``.

        Returns:
            The status, the decoded JSON body (None when empty) and lower-cased headers.

        Raises:
            GitHubError: The call failed (a subclass for 401/403, 404, 409/422).

        """
        return self._request(method, path, body, params, None)

    def _request(
        self,
        method: str,
        path: str,
        body: Any,
        params: Mapping[str, str | int] | None,
        scope_path: str | None,
        *,
        wire: _Wire | None = None,
        origin: tuple[str, str] | None = None,
    ) -> tuple[int, Any, Mapping[str, str]]:
        """Do `request`; ``scope_path`` names the App installation when the path does not.

        GitHub's pagination links name repositories by id (``/repositories/123/...``).
        ``wire`` sends raw bytes or reads a raw body (release assets); ``origin`` is another host
        the call may go to (the uploads host of a release).
        """
        url, endpoint = self._url(method, path, params, origin)
        if self._token is not None:
            return self._call(method, url, endpoint, body, f"Bearer {self._token}", wire)
        if endpoint.startswith("/app/"):
            return self._call(method, url, endpoint, body, f"Bearer {self._jwt()}", wire)
        installation = self._installation(scope_path or _scope_path(endpoint), endpoint)
        try:
            return self._call(method, url, endpoint, body, self._app_auth(installation), wire)
        except GitHubAuthError as exc:
            if exc.status != 401:
                raise
            self._installation_tokens.pop(installation, None)  # revoked early: fetch a new one
            return self._call(method, url, endpoint, body, self._app_auth(installation), wire)

    def paginate(self, path: str, key: str, *, per_page: int = 100) -> Iterator[dict[str, Any]]:
        """Yield the items of a list endpoint, following ``Link: rel="next"``.

        Args:
            path: The list endpoint.
            key: The field of the response that holds the items (``runners``).
            per_page: Page size (GitHub allows up to 100).

        """
        next_url: str | None = path
        params: Mapping[str, str | int] | None = {"per_page": per_page}
        scope_path = _scope_path("/" + path.lstrip("/"))
        seen: set[str] = set()
        while next_url and next_url not in seen:
            seen.add(next_url)
            _, data, headers = self._request("GET", next_url, None, params, scope_path)
            yield from data[key] if isinstance(data, dict) else data
            params = None  # the next link carries them
            links = {rel: url for url, rel in _LINK.findall(headers.get("link", ""))}
            next_url = links.get("next")

    def _url(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | int] | None,
        origin: tuple[str, str] | None = None,
    ) -> tuple[str, str]:
        """Return the full URL and the endpoint (path below the API base, no query).

        A full URL must be on the API's host, or on ``origin`` when given.
        """
        parts = urllib.parse.urlsplit(path)
        target = self._origin
        if parts.scheme or parts.netloc:
            target = (parts.scheme, parts.netloc)
            if target not in (self._origin, origin):
                raise GitHubError(method, parts.path, 0, "refusing a link to another host")
            full_path = parts.path
        else:
            full_path = f"{self._base_path}/{parts.path.lstrip('/')}"
        query = urllib.parse.parse_qsl(parts.query) + [
            (k, str(v)) for k, v in (params or {}).items()
        ]
        url = urllib.parse.urlunsplit((*target, full_path, urllib.parse.urlencode(query), ""))
        endpoint = full_path.removeprefix(self._base_path) or "/"
        return url, endpoint

    def _call(
        self,
        method: str,
        url: str,
        endpoint: str,
        body: Any,
        auth: str,
        wire: _Wire | None = None,
    ) -> tuple[int, Any, Mapping[str, str]]:
        """Send one request, retrying transient failures; raise a typed error on failure."""
        wire = wire or _Wire()
        data = (
            wire.data
            if wire.data is not None
            else (None if body is None else json.dumps(body).encode())
        )
        attempt = 0
        while True:
            request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 (http(s) only)
            request.add_header("Accept", wire.accept)
            request.add_header("X-GitHub-Api-Version", API_VERSION)
            request.add_header("User-Agent", f"mlcops/{__version__}")
            if data is not None:
                request.add_header("Content-Type", wire.content_type)
            # Unredirected: urllib must not carry the credentials to a redirect target.
            request.add_unredirected_header("Authorization", auth)
            try:
                with self._opener.open(request, timeout=self.timeout) as response:
                    status, raw = response.status, response.read()
                    headers = {k.lower(): v for k, v in response.headers.items()}
            except urllib.error.HTTPError as exc:
                status, raw = exc.code, exc.read()
                headers = {k.lower(): v for k, v in exc.headers.items()}
            except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
                reason = getattr(exc, "reason", exc)
                if isinstance(reason, ssl.SSLCertVerificationError):
                    raise GitHubError(
                        method,
                        endpoint,
                        0,
                        f"TLS verification failed ({reason.verify_message}): "
                        "set github_ca_bundle, or github_api_insecure: true for a test server",
                    ) from None
                if attempt >= self.retries:
                    raise GitHubError(method, endpoint, 0, f"connection failed: {reason}") from None
                self._sleep(self._backoff(attempt))
                attempt += 1
                continue
            if status < 400 and wire.binary:
                return status, raw, headers
            decoded = _decode(raw)
            if status < 400:
                return status, decoded, headers
            wait = self._retry_wait(status, headers, attempt)
            if wait is None or attempt >= self.retries:
                raise self._error(method, endpoint, status, decoded, transient=wait is not None)
            self._sleep(wait)
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff * 2.0**attempt, MAX_WAIT)

    def _retry_wait(self, status: int, headers: Mapping[str, str], attempt: int) -> float | None:
        """Seconds to wait before retrying, or None when the failure is final."""
        retry_after = headers.get("retry-after")
        limited = headers.get("x-ratelimit-remaining") == "0"
        if status >= 500 or status == 429 or (status == 403 and (retry_after or limited)):
            if retry_after and retry_after.strip().isdigit():
                return min(float(retry_after), MAX_WAIT)
            reset = headers.get("x-ratelimit-reset", "")
            if limited and reset.isdigit():
                return min(max(int(reset) - time.time(), 0.0) + 1, MAX_WAIT)
            return self._backoff(attempt)
        return None

    def _error(
        self, method: str, endpoint: str, status: int, body: Any, *, transient: bool
    ) -> GitHubError:
        """Build the typed error for a final failure, its message scrubbed of our secrets."""
        message = body.get("message", "") if isinstance(body, dict) else str(body or "")
        if isinstance(body, dict) and body.get("errors"):
            message = f"{message} {json.dumps(body['errors'])}"
        for secret in self._secrets():
            message = message.replace(secret, "***")
        cls = GitHubError if transient else _ERRORS.get(status, GitHubError)
        return cls(method, endpoint, status, " ".join(message.split())[:500] or "(no message)")

    def _secrets(self) -> list[str]:
        tokens = [t.token for t in self._installation_tokens.values()]
        return [s for s in (self._token, *tokens) if s]

    # -- GitHub App --------------------------------------------------------------------------

    def _jwt(self) -> str:
        """Sign a GitHub App JWT (RS256), valid for 10 minutes from a minute ago."""
        assert self._key is not None and self._app_id is not None  # app mode only
        now = int(time.time())
        header = {"alg": "RS256", "typ": "JWT"}
        claims = {"iat": now - 60, "exp": now + 540, "iss": self._app_id}
        signing_input = ".".join(_b64url(json.dumps(p).encode()) for p in (header, claims))
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"

    def _app_call(self, method: str, path: str) -> tuple[int, Any, Mapping[str, str]]:
        """Call an endpoint as the App itself (JWT), not as an installation."""
        url, endpoint = self._url(method, path, None)
        return self._call(method, url, endpoint, None, f"Bearer {self._jwt()}")

    def _installation(self, scope_path: str | None, endpoint: str) -> int:
        """Return the installation to act as for a scope: given, cached, or looked up."""
        if self._installation_id is not None:
            return self._installation_id
        if scope_path is None:
            raise UsageError(
                f"{endpoint}: no scope to find the GitHub App installation of; "
                "set github_app_installation_id"
            )
        if scope_path not in self._installations:
            _, data, _ = self._app_call("GET", f"{scope_path}/installation")
            self._installations[scope_path] = int(data["id"])
        return self._installations[scope_path]

    def _app_auth(self, installation: int) -> str:
        """Return ``Authorization`` for an installation, renewing its token when near expiry."""
        cached = self._installation_tokens.get(installation)
        if cached is None or cached.expires_at - REFRESH_BEFORE <= datetime.now(UTC):
            _, data, _ = self._app_call("POST", f"app/installations/{installation}/access_tokens")
            cached = self._installation_tokens[installation] = Token.from_api(data)
        return f"Bearer {cached.token}"

    # -- runners -----------------------------------------------------------------------------

    def runners(self, scope: Scope) -> list[Runner]:
        """List every runner of a scope (all pages)."""
        return [
            Runner.from_api(r) for r in self.paginate(f"{scope.path}/actions/runners", "runners")
        ]

    def runner_by_name(self, scope: Scope, name: str) -> Runner | None:
        """Return the runner with this exact name, or None."""
        query = urllib.parse.urlencode({"name": name})
        for data in self.paginate(f"{scope.path}/actions/runners?{query}", "runners"):
            if data.get("name") == name:
                return Runner.from_api(data)
        return None

    def registration_token(self, scope: Scope) -> Token:
        """Create a token for ``config.sh`` (valid one hour)."""
        _, data, _ = self.request("POST", f"{scope.path}/actions/runners/registration-token")
        return Token.from_api(data)

    def remove_token(self, scope: Scope) -> Token:
        """Create a token for ``config.sh remove``."""
        _, data, _ = self.request("POST", f"{scope.path}/actions/runners/remove-token")
        return Token.from_api(data)

    def jit_config(
        self,
        scope: Scope,
        name: str,
        labels: Sequence[str],
        runner_group_id: int = 1,
        work_folder: str = "_work",
    ) -> tuple[Runner, str]:
        """Register a just-in-time runner; return it and its (secret) encoded JIT config.

        Raises:
            GitHubConflict: The name is taken (409) or the input was rejected (422).

        """
        body = {
            "name": name,
            "runner_group_id": runner_group_id,
            "labels": list(labels),
            "work_folder": work_folder,
        }
        _, data, _ = self.request("POST", f"{scope.path}/actions/runners/generate-jitconfig", body)
        return Runner.from_api(data["runner"]), str(data["encoded_jit_config"])

    def runner_group_id(self, scope: Scope, name: str) -> int:
        """Return the id of a runner group by name.

        Repositories have only the Default group (id 1).

        Raises:
            GitHubNotFound: No group of that name in the scope.

        """
        endpoint = f"/{scope.path}/actions/runner-groups"
        if scope.kind == "repo":
            if name.lower() == "default":
                return 1
            raise GitHubNotFound(
                "GET", endpoint, 404, f"runner group {name!r}: repositories have only 'Default'"
            )
        groups = list(self.paginate(endpoint, "runner_groups"))
        for group in groups:
            if group.get("name") == name or (name.lower() == "default" and group.get("default")):
                return int(group["id"])
        known = ", ".join(str(g.get("name")) for g in groups) or "none"
        raise GitHubNotFound(
            "GET", endpoint, 404, f"runner group {name!r} not found in {scope.path} (has: {known})"
        )

    def set_labels(self, scope: Scope, runner_id: int, labels: Sequence[str]) -> tuple[str, ...]:
        """Replace a runner's custom labels; return all its labels afterwards."""
        path = f"{scope.path}/actions/runners/{runner_id}/labels"
        _, data, _ = self.request("PUT", path, {"labels": list(labels)})
        return tuple(str(lb["name"]) for lb in data.get("labels", []))

    def delete_runner(self, scope: Scope, runner_id: int) -> None:
        """Remove a runner from GitHub.

        Raises:
            GitHubNotFound: No such runner.
            GitHubConflict: The runner is running a job.

        """
        self.request("DELETE", f"{scope.path}/actions/runners/{runner_id}")

    def downloads(self, scope: Scope) -> list[Download]:
        """List the runner packages GitHub offers for this scope."""
        _, data, _ = self.request("GET", f"{scope.path}/actions/runners/downloads")
        return [
            Download(
                os=str(d["os"]),
                architecture=str(d["architecture"]),
                url=str(d["download_url"]),
                filename=str(d["filename"]),
                sha256=str(d.get("sha256_checksum") or ""),
            )
            for d in data
        ]

    # -- releases ----------------------------------------------------------------------------

    @staticmethod
    def _repo(scope: Scope) -> str:
        if scope.kind != "repo":
            raise UsageError(
                f"releases belong to a repository: set github_repo, not github_{scope.kind}"
            )
        return scope.path

    def releases(self, scope: Scope) -> list[Release]:
        """List every release of a repository, drafts included (all pages, newest first)."""
        return [Release.from_api(r) for r in self.paginate(f"{self._repo(scope)}/releases", "")]

    def release_by_tag(self, scope: Scope, tag: str) -> Release | None:
        """Return the release of a tag, draft or published, or None.

        ``GET /releases/tags/{tag}`` does not see drafts, so the list is searched; a published
        release wins over drafts of the same tag, then the oldest draft.
        """
        found = [r for r in self.releases(scope) if r.tag_name == tag]
        found.sort(key=lambda r: (r.draft, r.id))
        return found[0] if found else None

    def release(self, scope: Scope, release_id: int) -> Release:
        """Return one release by id (drafts too)."""
        _, data, _ = self.request("GET", f"{self._repo(scope)}/releases/{release_id}")
        return Release.from_api(data)

    def create_release(
        self,
        scope: Scope,
        tag: str,
        *,
        name: str = "",
        body: str = "",
        draft: bool = True,
        prerelease: bool = False,
        target_commitish: str | None = None,
    ) -> Release:
        """Create a release (a draft by default: nothing is public until `update_release`).

        Raises:
            GitHubConflict: A published release of this tag exists, or the input was rejected.

        """
        fields: dict[str, Any] = {
            "tag_name": tag,
            "name": name or tag,
            "body": body,
            "draft": draft,
            "prerelease": prerelease,
        }
        if target_commitish:
            fields["target_commitish"] = target_commitish
        _, data, _ = self.request("POST", f"{self._repo(scope)}/releases", fields)
        return Release.from_api(data)

    def update_release(self, scope: Scope, release_id: int, **fields: Any) -> Release:
        """Change a release: ``draft=False`` publishes it; ``prerelease``, ``name``, ``body``."""
        _, data, _ = self.request("PATCH", f"{self._repo(scope)}/releases/{release_id}", fields)
        return Release.from_api(data)

    def delete_release(self, scope: Scope, release_id: int) -> None:
        """Delete a release (its tag stays)."""
        self.request("DELETE", f"{self._repo(scope)}/releases/{release_id}")

    def release_assets(self, scope: Scope, release_id: int) -> list[ReleaseAsset]:
        """List the assets of a release (all pages)."""
        path = f"{self._repo(scope)}/releases/{release_id}/assets"
        return [ReleaseAsset.from_api(a) for a in self.paginate(path, "")]

    def upload_release_asset(
        self,
        scope: Scope,
        release: Release,
        name: str,
        data: bytes,
        *,
        label: str = "",
        content_type: str = "application/octet-stream",
    ) -> ReleaseAsset:
        """Upload one asset to the release's ``upload_url`` (``uploads.github.com`` on github.com).

        Raises:
            GitHubConflict: An asset of that name exists (422 ``already_exists``).

        """
        if not release.upload_url:
            raise GitHubError(
                "POST", f"/releases/{release.id}/assets", 0, "release has no upload_url"
            )
        params: dict[str, str | int] = {"name": name}
        if label:
            params["label"] = label
        _, answer, _ = self._request(
            "POST",
            release.upload_url,
            None,
            params,
            self._repo(scope),
            wire=_Wire(data=data, content_type=content_type),
            origin=self._upload_origin(release.upload_url),
        )
        return ReleaseAsset.from_api(answer)

    def delete_release_asset(self, scope: Scope, asset_id: int) -> None:
        """Delete one asset of a release."""
        self.request("DELETE", f"{self._repo(scope)}/releases/assets/{asset_id}")

    def download_release_asset(self, scope: Scope, asset_id: int) -> bytes:
        """Return the bytes of an asset (drafts too), through the API with the credentials.

        GitHub answers with a redirect to its storage; the credentials are not carried there.
        """
        _, data, _ = self._request(
            "GET",
            f"{self._repo(scope)}/releases/assets/{asset_id}",
            None,
            None,
            self._repo(scope),
            wire=_Wire(accept="application/octet-stream", binary=True),
        )
        return bytes(data)

    def _upload_origin(self, upload_url: str) -> tuple[str, str] | None:
        """Return the uploads host of this API (``uploads.X`` for ``api.X``), else None."""
        parts = urllib.parse.urlsplit(upload_url)
        scheme, netloc = self._origin
        if netloc.startswith("api.") and (parts.scheme, parts.netloc) == (
            scheme,
            "uploads." + netloc.removeprefix("api."),
        ):
            return (parts.scheme, parts.netloc)
        return None


@dataclass
class ReleaseChanges:
    """What `sync_release` did (or would do in check mode) to a release."""

    release: Release | None = None
    created: bool = False
    uploaded: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    published: bool = False

    @property
    def changed(self) -> bool:
        """True when anything was (or would be) changed."""
        return bool(
            self.created
            or self.uploaded
            or self.replaced
            or self.deleted
            or self.updated
            or self.published
        )


def sha256_file(path: Path) -> str:
    """Return the hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def client_from_settings(
    setting: Callable[[str], Any], *, repo_only: bool = False
) -> tuple[GitHubClient, Scope]:
    """Build a client and its scope from the roles' ``github_*`` settings.

    Args:
        setting: returns the (templated) value of a variable such as ``github_token``.
        repo_only: read only ``github_repo`` as the scope (a release belongs to a repository).

    Returns:
        The client and the scope it acts on.

    """

    def text(name: str) -> str | None:
        value = setting(name)
        return str(value) if value not in (None, "") else None

    scope = Scope.parse(
        repo=text("github_repo"),
        org=None if repo_only else text("github_org"),
        enterprise=None if repo_only else text("github_enterprise"),
    )
    app_id = text("github_app_id")
    installation = text("github_app_installation_id")
    insecure = setting("github_api_insecure")
    client = GitHubClient(
        str(setting("github_api_url")),
        token=None if app_id else text("github_token"),
        app_id=app_id,
        app_private_key=text("github_app_private_key") if app_id else None,
        app_installation_id=int(installation) if installation else None,
        insecure=insecure is True or str(insecure).lower() in ("true", "1", "yes"),
        ca_bundle=text("github_ca_bundle"),
    )
    return client, scope


def sync_release(
    client: GitHubClient,
    scope: Scope,
    tag: str,
    files: Sequence[Path],
    *,
    name: str = "",
    notes: str = "",
    prerelease: bool = False,
    publish: bool = True,
    prune: bool = True,
    check_mode: bool = False,
) -> ReleaseChanges:
    """Make the release of ``tag`` hold exactly ``files``, then publish it.

    The release is found by tag among drafts too, or created as a draft; assets are uploaded
    while it is a draft, so a failure half-way leaves a draft, never a half-published release.
    A re-run for the same tag finds the same release: an asset whose SHA-256 matches is kept, a
    changed one is replaced, one no longer wanted is deleted (``prune``). GitHub's asset
    ``digest`` identifies the content; where it is missing the asset is downloaded and hashed.
    The release is published (``draft: false``) last, and only when ``publish``.

    Args:
        client: The API client.
        scope: The repository.
        tag: The git tag, e.g. ``v1.2.3``.
        files: The asset files; their base names are the asset names.
        name: The release title (default: the tag).
        notes: The release body (Markdown).
        prerelease: Mark the release as a pre-release.
        publish: Publish the release at the end (a published release stays published).
        prune: Delete assets that are not in ``files``.
        check_mode: Report what would change, change nothing.

    Raises:
        UsageError: Two files have the same base name, or a file is missing.
        GitHubError: An API call failed.

    """
    wanted: dict[str, Path] = {}
    for path in files:
        if not path.is_file():
            raise UsageError(f"release asset {path} does not exist")
        if path.name in wanted:
            raise UsageError(
                f"two release assets are named {path.name}: {wanted[path.name]} and {path}"
            )
        wanted[path.name] = path
    title = name or tag
    changes = ReleaseChanges()
    release = client.release_by_tag(scope, tag)
    if release is None:
        changes.created = True
        if check_mode:
            changes.uploaded = sorted(wanted)
            changes.published = publish
            return changes
        release = client.create_release(
            scope, tag, name=title, body=notes, draft=True, prerelease=prerelease
        )
    assets = {a.name: a for a in client.release_assets(scope, release.id)}
    for asset_name, path in sorted(wanted.items()):
        current = assets.get(asset_name)
        local = sha256_file(path)
        if current is not None:
            remote = current.sha256
            if not remote and current.size == path.stat().st_size:
                remote = hashlib.sha256(
                    client.download_release_asset(scope, current.id)
                ).hexdigest()
            if remote == local:
                continue
            changes.replaced.append(asset_name)
            if not check_mode:
                client.delete_release_asset(scope, current.id)
        else:
            changes.uploaded.append(asset_name)
        if not check_mode:
            client.upload_release_asset(scope, release, asset_name, path.read_bytes())
    if prune:
        for asset_name, asset in sorted(assets.items()):
            if asset_name not in wanted:
                changes.deleted.append(asset_name)
                if not check_mode:
                    client.delete_release_asset(scope, asset.id)
    fields: dict[str, Any] = {}
    if not changes.created:
        if release.name != title:
            fields["name"] = title
        if release.body != notes:
            fields["body"] = notes
        if release.prerelease != prerelease:
            fields["prerelease"] = prerelease
    changes.updated = sorted(fields)
    if publish and release.draft:
        fields["draft"] = False
        changes.published = True
    if fields and not check_mode:
        release = client.update_release(scope, release.id, **fields)
    changes.release = release
    return changes


def _scope_path(endpoint: str) -> str | None:
    """Return ``repos/o/r``, ``orgs/o`` or ``enterprises/e`` from an endpoint, if it has one."""
    match = _SCOPE_PATH.match(endpoint)
    return match.group(1) if match else None


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode(raw: bytes) -> Any:
    """JSON when it parses, else the text; None when empty."""
    if not raw:
        return None
    text = raw.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text
