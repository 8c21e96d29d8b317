"""Verify two persistent runners registered with the fake GitHub API: user, files, services,
labels, a job really served, and no GitHub secret left anywhere on the host."""

import json
import os
import shlex
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

ROLE = Path(__file__).resolve().parents[3]
DEFAULTS = yaml.safe_load((ROLE / "defaults/main.yml").read_text())
SCENARIO = yaml.safe_load((Path(__file__).resolve().parents[1] / "molecule.yml").read_text())
VARS = SCENARIO["provisioner"]["inventory"]["group_vars"]["linux_runners"]
FAKE = f"http://127.0.0.1:{os.environ.get('MLCOPS_FAKE_GITHUB_PORT', '18443')}"
SCOPE = f"repos/{VARS['github_repo']}"
USER = DEFAULTS["github_runner_user"]
NAMES = [f"{VARS['github_runner_name']}-{i}" for i in range(1, VARS["github_runner_count"] + 1)]
# What prepare recorded as the cuda and vulkan facts.
DERIVED = ["cuda", "cuda-11.8", "sm_80", "sm_90", "vulkan"]


def fake(path, body=None):
    """Call a control endpoint of the fake GitHub API."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{FAKE}{path}", data=data, method="POST" if data else "GET")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read() or b"null")


@pytest.fixture(scope="module")
def runners():
    """The runners the fake GitHub lists for the scope, by name."""
    return {r["name"]: r for r in fake("/_fake/state")["scopes"].get(SCOPE, [])}


def test_runner_user_is_dedicated_and_unprivileged(host):
    """Jobs run arbitrary code: never as root, never with sudo unless asked."""
    user = host.user(USER)
    assert user.exists
    assert user.uid != 0
    assert "sudo" not in user.groups
    assert not host.file("/etc/sudoers.d/github-runner").exists
    assert host.run(f"runuser -u {USER} -- sudo -n true").rc != 0


@pytest.mark.parametrize("name", NAMES)
def test_runner_is_registered_online_with_labels(runners, name):
    """GitHub sends a job only to an online runner whose labels match runs-on."""
    runner = runners[name]
    assert runner["status"] == "online"
    labels = {label["name"] for label in runner["labels"]}
    assert set(VARS["github_runner_labels"] + DERIVED) <= labels
    assert {"self-hosted", "Linux", "X64"} <= labels


def test_no_other_runner_registered(runners):
    """github_runner_count is what the host serves: no stray registration."""
    assert sorted(runners) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_runner_service_enabled_and_running(host, name):
    """The runner's own svc.sh unit survives reboots and keeps the listener up."""
    directory = f"{DEFAULTS['github_runner_dir']}/{name}"
    unit = host.file(f"{directory}/.service").content_string.strip()
    assert unit == f"actions.runner.{VARS['github_repo'].replace('/', '-')}.{name}.service"
    service = host.service(unit)
    assert service.is_running
    assert service.is_enabled
    assert f"User={USER}" in host.file(f"/etc/systemd/system/{unit}").content_string


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    ("path", "mode"), [("", 0o750), (".credentials", 0o600), (".credentials_rsaparams", 0o600)]
)
def test_runner_files_belong_to_the_runner_user(host, name, path, mode):
    """The runner's own credential is readable by its user only."""
    f = host.file(f"{DEFAULTS['github_runner_dir']}/{name}/{path}")
    assert f.exists
    assert f.user == USER
    assert f.mode == mode


@pytest.mark.parametrize("name", NAMES)
def test_runner_serves_a_job_as_its_user(name):
    """The whole point: a queued job runs on the host, as the runner user."""
    job = fake("/_fake/jobs", {"scope": SCOPE, "runner_name": name, "run": "id -un; pwd"})["id"]
    for _ in range(60):
        state = fake(f"/_fake/jobs/{job}")
        if state["status"] == "completed":
            break
        time.sleep(1)
    assert state["status"] == "completed", state
    assert state["result"] == "succeeded", state
    assert state["output"].split()[0] == USER


def test_no_github_secret_on_the_host(host):
    """Tokens and JIT configs never outlive their hand-over: no file, unit or process has one."""
    secrets = [s for s in fake("/_fake/secrets")["secrets"] if s] + [VARS["github_token"]]
    assert secrets, "the fake handed out no secret: the check below would prove nothing"
    host.run(f"printf '%s\\n' {' '.join(shlex.quote(s) for s in secrets)} > /root/.mlcops-canaries")
    try:
        paths = "/opt /etc /home /root /run /tmp /var/log /var/lib/systemd"
        found = host.run(
            f"grep -rIlF -f /root/.mlcops-canaries {paths} --exclude=.mlcops-canaries "
            "--exclude=.credentials --exclude=.credentials_rsaparams"
        )
        assert found.stdout.strip() == "", found.stdout
        procs = host.run(
            "ps -eo args= | grep -F -f /root/.mlcops-canaries | grep -v grep; "
            "cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n' "
            "| grep -F -f /root/.mlcops-canaries"
        )
        assert procs.stdout.strip() == "", "a secret is on a command line or in an environment"
        journal = host.run("journalctl --no-pager -o cat | grep -cF -f /root/.mlcops-canaries")
        assert journal.stdout.strip() in ("", "0")
    finally:
        host.run("rm -f /root/.mlcops-canaries")
