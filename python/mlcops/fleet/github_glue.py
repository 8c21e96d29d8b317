"""GitHub side of the fleet: the client, runner secrets, and deregistration."""

from __future__ import annotations

import argparse
import json
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass

from mlcops import github as gh


def client(args: argparse.Namespace) -> gh.GitHubClient:
    """Build the GitHub client from the environment's credentials, as ``runners list`` does."""
    # Imported here: mlcops.cli imports this package while it is being imported itself.
    from mlcops.cli import _github_client

    return _github_client(args.api_url, insecure=args.insecure)


def scope(args: argparse.Namespace) -> gh.Scope:
    """Return the runners' scope from ``--repo``/``--org``/``--enterprise``."""
    return gh.Scope.parse(repo=args.repo, org=args.org, enterprise=args.enterprise)


def has_scope(args: argparse.Namespace) -> bool:
    """Whether any of ``--repo``/``--org``/``--enterprise`` was given."""
    return bool(args.repo or args.org or args.enterprise)


def server_url(api_url: str) -> str:
    """Return the server URL (``config.sh --url`` base) of an API URL."""
    parts = urllib.parse.urlsplit(api_url.rstrip("/"))
    if parts.netloc == "api.github.com":
        return "https://github.com"
    if parts.netloc.startswith("api.") and parts.netloc.endswith(".ghe.com"):
        return f"{parts.scheme}://{parts.netloc.removeprefix('api.')}"
    path = parts.path.removesuffix("/api/v3")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


@dataclass(frozen=True)
class Secret:
    """One instance's runner secret: what goes into its SSM parameter."""

    value: str  # JSON; holds a JIT config or a registration token
    runner_id: int | None  # registered already (JIT), None for registration tokens

    def __repr__(self) -> str:
        """Never show the value."""
        return f"Secret(runner_id={self.runner_id})"


def jit_secret(
    github: gh.GitHubClient, where: gh.Scope, name: str, labels: list[str], group_id: int
) -> Secret:
    """Register a just-in-time (ephemeral) runner; the secret is its encoded JIT config."""
    runner, config = github.jit_config(where, name, labels, runner_group_id=group_id)
    return Secret(json.dumps({"kind": "jit", "jit_config": config}), runner.id)


def registration_secret(
    token: gh.Token, url: str, name: str, labels: list[str], group: str
) -> Secret:
    """Build a ``config.sh`` registration secret (one token, reusable for an hour, serves all)."""
    body = {
        "kind": "registration",
        "token": token.token,
        "url": url,
        "name": name,
        "labels": ",".join(labels),
        "runner_group": group,
    }
    return Secret(json.dumps(body), None)


def by_name(runners: Iterable[gh.Runner]) -> dict[str, gh.Runner]:
    """Index runners by name."""
    return {r.name: r for r in runners}


def deregister(github: gh.GitHubClient, where: gh.Scope, runner: gh.Runner) -> str | None:
    """Delete a runner from GitHub; return None when done, else why it was not.

    A runner that is gone already counts as done. A busy runner is refused by GitHub (422/409).
    """
    try:
        github.delete_runner(where, runner.id)
    except gh.GitHubNotFound:
        return None
    except gh.GitHubError as exc:
        return str(exc)
    return None
