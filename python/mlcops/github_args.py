"""The command-line options that name a GitHub scope, shared by ``runners list`` and ``fleet``."""

from __future__ import annotations

import argparse
import os


def add_scope_arguments(
    parser: argparse.ArgumentParser, *, required: bool, title: str | None = None
) -> None:
    """Add ``--repo``/``--org``/``--enterprise`` (one of them), ``--api-url`` and ``--insecure``.

    Credentials are never options: they come from the environment (``GITHUB_TOKEN``, or
    ``GITHUB_APP_ID`` with its private key).
    """
    group = parser.add_argument_group(title) if title else parser
    where = group.add_mutually_exclusive_group(required=required)
    where.add_argument("--repo", metavar="OWNER/REPO", help="a repository's runners")
    where.add_argument("--org", metavar="ORG", help="an organization's runners")
    where.add_argument("--enterprise", metavar="ENT", help="an enterprise's runners")
    parser.add_argument(
        "--api-url",
        default=os.environ.get("GITHUB_API_URL") or "https://api.github.com",
        help="GitHub API base (default: $GITHUB_API_URL or https://api.github.com)",
    )
    parser.add_argument(
        "--insecure", action="store_true", help="allow http:// and skip TLS verification"
    )
