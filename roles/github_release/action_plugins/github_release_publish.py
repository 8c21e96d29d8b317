"""Action plugin: make the GitHub release of a tag hold the given files, then publish it.

It runs on the controller with the ``mlcops`` package (``mlcops.github.sync_release``): the
release is found by tag among drafts too or created as a draft, missing or changed assets are
uploaded (identity: GitHub's SHA-256 ``digest``), stale ones deleted, and the release is
published last, so a failure half-way leaves a draft and a re-run finishes it without creating a
second release or duplicate assets. Credentials and the repository come from the shared
``github_*`` inventory variables (``github_token``, or ``github_app_id`` with
``github_app_private_key``; ``github_repo``), read from the task variables, never from the task's
arguments.

Arguments: ``tag``, ``files`` (paths on the controller), ``name``, ``notes``, ``prerelease``,
``publish`` (default true), ``prune`` (default true).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

try:
    from mlcops.errors import MlcopsError
    from mlcops.github import GitHubClient, Scope, client_from_settings, sync_release
except ImportError as exc:  # pragma: no cover - depends on the controller's environment
    MLCOPS_IMPORT_ERROR: ImportError | None = exc
else:
    MLCOPS_IMPORT_ERROR = None

ARGS = {"tag", "files", "name", "notes", "prerelease", "publish", "prune"}


class ActionModule(ActionBase):  # type: ignore[misc]
    """Create or update a GitHub release and its assets, publishing it last."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def _client(self, task_vars: dict[str, Any]) -> tuple[GitHubClient, Scope]:
        def setting(name: str) -> Any:
            value = task_vars.get(name)
            return self._templar.template(value) if value is not None else None

        return client_from_settings(setting, repo_only=True)

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        """Sync the release of ``tag`` with ``files`` and report what changed."""
        result: dict[str, Any] = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        if MLCOPS_IMPORT_ERROR is not None:
            raise AnsibleActionFail(
                f"github_release needs the mlcops package on the controller "
                f"({MLCOPS_IMPORT_ERROR}): run `pip install -e .` in the mlcops checkout"
            )
        args = dict(self._task.args)
        unknown = sorted(set(args) - ARGS)
        if unknown or not args.get("tag"):
            raise AnsibleActionFail(
                f"github_release_publish takes {', '.join(sorted(ARGS))} (tag required); "
                f"unknown: {', '.join(unknown) or 'none'}"
            )
        try:
            client, scope = self._client(task_vars)
            changes = sync_release(
                client,
                scope,
                str(args["tag"]),
                [Path(str(f)) for f in args.get("files") or []],
                name=str(args.get("name") or ""),
                notes=str(args.get("notes") or ""),
                prerelease=bool(args.get("prerelease", False)),
                publish=bool(args.get("publish", True)),
                prune=bool(args.get("prune", True)),
                check_mode=bool(self._task.check_mode),
            )
        except MlcopsError as exc:
            raise AnsibleActionFail(str(exc)) from None
        release = changes.release
        result.update(
            changed=changes.changed,
            created=changes.created,
            uploaded=changes.uploaded,
            replaced=changes.replaced,
            deleted=changes.deleted,
            updated=changes.updated,
            published=changes.published,
            release=None
            if release is None
            else {
                "id": release.id,
                "tag": release.tag_name,
                "name": release.name,
                "url": release.html_url,
                "draft": release.draft,
                "prerelease": release.prerelease,
            },
        )
        return result
