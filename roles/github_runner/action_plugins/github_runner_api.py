"""Action plugin: the github_runner role's calls to the GitHub REST API, made on the controller.

It runs in the controller's Python with the ``mlcops`` package (``python/mlcops/github.py``), so the
GitHub credential never travels to the runner host. The credential and the scope come from the
shared ``github_*`` inventory variables (``github_token`` or ``github_app_id`` +
``github_app_private_key``; ``github_repo`` | ``github_org`` | ``github_enterprise``), read from the
task variables: they never appear in the task's arguments, so a failed task can show its error.
Results that carry a secret (registration, remove and JIT tokens) are marked ``no_log``.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

try:
    from mlcops.errors import MlcopsError
    from mlcops.github import GitHubClient, GitHubNotFound, Runner, Scope, client_from_settings
except ImportError as exc:  # pragma: no cover - depends on the controller's environment
    MLCOPS_IMPORT_ERROR: ImportError | None = exc
else:
    MLCOPS_IMPORT_ERROR = None

COMMANDS = (
    "find",
    "downloads",
    "group_id",
    "registration_token",
    "remove_token",
    "jitconfig",
    "set_labels",
    "delete",
)
SECRET_RESULTS = {"registration_token", "remove_token", "jitconfig"}


def _runner_dict(runner: Runner | None) -> dict[str, Any] | None:
    if runner is None:
        return None
    return {
        "id": runner.id,
        "name": runner.name,
        "status": runner.status,
        "busy": runner.busy,
        "ephemeral": runner.ephemeral,
        "labels": list(runner.labels),
        "custom_labels": list(runner.custom_labels),
        "runner_group_id": runner.runner_group_id,
    }


class ActionModule(ActionBase):  # type: ignore[misc]
    """Call the GitHub REST API for the github_runner role."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def _var(self, task_vars: dict[str, Any], name: str) -> Any:
        value = task_vars.get(name)
        return self._templar.template(value) if value is not None else None

    def _client(self, task_vars: dict[str, Any]) -> tuple[GitHubClient, Scope]:
        return client_from_settings(lambda name: self._var(task_vars, name))

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run one command against the API and return what it found or changed."""
        result: dict[str, Any] = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        if MLCOPS_IMPORT_ERROR is not None:
            raise AnsibleActionFail(
                f"github_runner needs the mlcops package on the controller "
                f"({MLCOPS_IMPORT_ERROR}): run `pip install -e .` in the mlcops checkout"
            )
        args = dict(self._task.args)
        command = args.pop("command", None)
        if command not in COMMANDS:
            raise AnsibleActionFail(
                f"command must be one of {', '.join(COMMANDS)}, not {command!r}"
            )
        if command in SECRET_RESULTS:
            result["_ansible_no_log"] = True
        if command in ("registration_token", "remove_token", "jitconfig") and self._task.check_mode:
            result.update(changed=command == "jitconfig", token="", encoded_jit_config="")
            return result
        try:
            client, scope = self._client(task_vars)
            result.update(self._run(command, args, client, scope))
        except MlcopsError as exc:
            raise AnsibleActionFail(str(exc)) from None
        return result

    def _run(
        self, command: str, args: dict[str, Any], client: GitHubClient, scope: Scope
    ) -> dict[str, Any]:
        if command == "find":
            return {
                "changed": False,
                "runner": _runner_dict(client.runner_by_name(scope, args["name"])),
            }
        if command == "downloads":
            wanted = [
                d
                for d in client.downloads(scope)
                if d.os == args["os"] and d.architecture == args["architecture"]
            ]
            if not wanted:
                raise AnsibleActionFail(
                    f"GitHub lists no runner package for {args['os']}/{args['architecture']}"
                )
            d = wanted[0]
            return {"changed": False, "url": d.url, "filename": d.filename, "sha256": d.sha256}
        if command == "group_id":
            return {"changed": False, "id": client.runner_group_id(scope, args["name"])}
        if command in ("registration_token", "remove_token"):
            token = (
                client.registration_token(scope)
                if command == "registration_token"
                else client.remove_token(scope)
            )
            return {
                "changed": False,
                "token": token.token,
                "expires_at": token.expires_at.isoformat(),
            }
        if command == "jitconfig":
            runner, encoded = client.jit_config(
                scope,
                args["name"],
                list(args["labels"]),
                runner_group_id=int(args.get("runner_group_id", 1)),
                work_folder=args.get("work_folder", "_work"),
            )
            return {"changed": True, "runner": _runner_dict(runner), "encoded_jit_config": encoded}
        if command == "set_labels":
            current = client.runner_by_name(scope, args["name"])
            if current is None:
                raise AnsibleActionFail(f"runner {args['name']} is not registered in {scope.path}")
            wanted = sorted(set(args["labels"]))
            if sorted(current.custom_labels) == wanted:
                return {"changed": False, "labels": wanted}
            if self._task.check_mode:
                return {
                    "changed": True,
                    "labels": wanted,
                    "previous": sorted(current.custom_labels),
                }
            labels = client.set_labels(scope, current.id, wanted)
            return {
                "changed": True,
                "labels": sorted(labels),
                "previous": sorted(current.custom_labels),
            }
        # delete
        current = client.runner_by_name(scope, args["name"])
        if current is None:
            return {"changed": False, "runner": None}
        if current.busy and not args.get("force", False):
            raise AnsibleActionFail(
                f"runner {current.name} is running a job; wait for it to finish or set "
                "github_runner_remove_busy: true"
            )
        if self._task.check_mode:
            return {"changed": True, "runner": _runner_dict(current)}
        try:
            client.delete_runner(scope, current.id)
        except GitHubNotFound:
            return {"changed": False, "runner": None}
        return {"changed": True, "runner": _runner_dict(current)}
